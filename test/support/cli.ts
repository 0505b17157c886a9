import { loadConfig } from '../../src/config/config.ts';
import type { Db } from '../../src/db/database.ts';
import { buildProgram } from '../../src/cli/program.ts';
import type { AppContext, Runner } from '../../src/cli/context.ts';
import { silentLogger } from '../../src/shared/logger.ts';
import { systemClock, type Clock } from '../../src/shared/clock.ts';
import { isAppError } from '../../src/shared/app-error.ts';

export interface CliResult {
  readonly out: string;
  /** The one-line error a user would see (without the "rapport: " prefix), or undefined. */
  readonly error: string | undefined;
  json<T = unknown>(): T;
}

/**
 * Runs `rapport ARGS` in-process against a test database, as the real
 * command would (same program, same parsing), capturing standard output.
 */
export async function runCli(db: Db, args: string[], options: { clock?: Clock; env?: NodeJS.ProcessEnv; extra?: Partial<AppContext> } = {}): Promise<CliResult> {
  const lines: string[] = [];
  const run: Runner = (fn) => fn({
    config: loadConfig(options.env ?? {}),
    db,
    logger: silentLogger,
    clock: options.clock ?? systemClock,
    out: (line) => lines.push(line),
    ...options.extra,
  });
  const program = buildProgram(run);
  program.configureOutput({ writeOut: (s) => lines.push(s.trimEnd()), writeErr: () => undefined });
  let error: string | undefined;
  try {
    await program.parseAsync(args, { from: 'user' });
  } catch (e) {
    if (isAppError(e)) error = e.message;
    else if (e instanceof Error && 'code' in e && String((e as { code: unknown }).code).startsWith('commander.')) error = e.message;
    else throw e;
  }
  const out = lines.join('\n');
  return { out, error, json: <T>() => JSON.parse(out) as T };
}
