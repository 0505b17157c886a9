import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { AppError } from '../shared/app-error.ts';

/**
 * Rapport's configuration, read once at start (env vars plus an optional
 * config file), validated and frozen. Domain folders validate their own
 * section of `sections` with their own schema (and sane floors), e.g.
 * `parseSegmentSettings(config.sections.segments)`.
 */
export interface Config {
  /** A PostgreSQL URL; when absent, the embedded PGlite database in dataDir is used. */
  readonly databaseUrl: string | undefined;
  /** PGlite data folder (default ./.rapport/db). */
  readonly dataDir: string;
  /** Key for secrets at rest (32 bytes, hex or base64). Never logged. */
  readonly secretKey: string | undefined;
  readonly logLevel: string;
  /** Folder of templates (default ./templates). */
  readonly templatesDir: string;
  /** Folder of campaign files (default ./campaigns). */
  readonly campaignsDir: string;
  /** Raw per-domain sections of the config file, each validated by its domain. */
  readonly sections: Readonly<Record<string, unknown>>;
}

const fileSchema = z
  .object({
    dataDir: z.string().min(1).optional(),
    templatesDir: z.string().min(1).optional(),
    campaignsDir: z.string().min(1).optional(),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional(),
  })
  .passthrough();

function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new AppError('CONFIG_INVALID', `config file ${file}: cannot be read`, { cause });
  }
  let data: unknown;
  try {
    data = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (cause) {
    throw new AppError('CONFIG_INVALID', `config file ${file}: not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'} (${(cause as Error).message.split('\n')[0]})`, { cause });
  }
  if (data === null || data === undefined) return {};
  if (typeof data !== 'object' || Array.isArray(data)) throw new AppError('CONFIG_INVALID', `config file ${file}: must be a mapping of sections`);
  return data as Record<string, unknown>;
}

/** The starter templates shipped with Rapport. */
export const PACKAGE_TEMPLATES_DIR = fileURLToPath(new URL('../../templates', import.meta.url));

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as Record<string, unknown>)) deepFreeze(v);
  }
  return value;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): Config {
  const explicit = env.RAPPORT_CONFIG;
  const candidate = explicit ?? ['rapport.config.yaml', 'rapport.config.yml', 'rapport.config.json'].map((f) => path.join(cwd, f)).find((f) => {
    try {
      readFileSync(f);
      return true;
    } catch {
      return false;
    }
  });
  const raw = candidate ? readConfigFile(path.resolve(cwd, candidate)) : {};
  const parsed = fileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AppError('CONFIG_INVALID', `config file ${candidate}: ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`);
  }
  const file = parsed.data;
  const databaseUrl = env.DATABASE_URL && env.DATABASE_URL.trim() !== '' ? env.DATABASE_URL.trim() : undefined;
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new AppError('CONFIG_INVALID', 'DATABASE_URL: must start with postgres:// or postgresql://');
  }
  const sections: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(file)) if (!['dataDir', 'templatesDir', 'campaignsDir', 'logLevel'].includes(k)) sections[k] = v;
  return deepFreeze({
    databaseUrl,
    dataDir: path.resolve(cwd, env.RAPPORT_DATA_DIR ?? file.dataDir ?? '.rapport/db'),
    secretKey: env.RAPPORT_SECRET_KEY && env.RAPPORT_SECRET_KEY !== '' ? env.RAPPORT_SECRET_KEY : undefined,
    logLevel: env.RAPPORT_LOG_LEVEL ?? file.logLevel ?? 'warn',
    templatesDir: path.resolve(cwd, env.RAPPORT_TEMPLATES_DIR ?? file.templatesDir ?? PACKAGE_TEMPLATES_DIR),
    campaignsDir: path.resolve(cwd, env.RAPPORT_CAMPAIGNS_DIR ?? file.campaignsDir ?? 'campaigns'),
    sections,
  });
}
