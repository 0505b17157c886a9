import type { z } from 'zod';
import { AppError } from '../shared/app-error.ts';

/**
 * Validates one section of the config file with its domain's schema (defaults
 * filled in); the first problem becomes one line naming the key, e.g.
 * `config triage.calendar.zone: Invalid input`.
 */
export function parseConfigSection<S extends z.ZodType>(section: string, schema: S, raw: unknown): z.output<S> {
  const res = schema.safeParse(raw ?? {});
  if (!res.success) {
    const issue = res.error.issues[0];
    const path = [section, ...(issue?.path ?? []).map(String)];
    // An unknown key (a typo such as `fallbacks`) is named in the path, so the line points at it.
    if (issue?.code === 'unrecognized_keys') {
      path.push(issue.keys.join(', '));
      throw new AppError('CONFIG_INVALID', `config ${path.join('.')}: unknown key`);
    }
    throw new AppError('CONFIG_INVALID', `config ${path.join('.')}: ${issue?.message ?? 'invalid'}`);
  }
  return res.data;
}
