import type { Command } from 'commander';
import { loadConfig, type Config } from '../config/config.ts';
import { openDatabase, type Db } from '../db/database.ts';
import { migrateToLatest } from '../db/migrator.ts';
import { createLogger, type Logger } from '../shared/logger.ts';
import { systemClock, type Clock } from '../shared/clock.ts';

/** What a command runs with: config, an open and migrated database, a logger, the clock. */
export interface AppContext {
  readonly config: Config;
  readonly db: Db;
  readonly logger: Logger;
  readonly clock: Clock;
  /** Standard output, for the command's results (tests capture it). */
  readonly out: (line: string) => void;
}

export type Runner = <T>(fn: (ctx: AppContext) => Promise<T>) => Promise<T>;

/** Opens everything a command needs, runs it, and closes the database, whatever happens. */
export function makeRunner(options: { out?: (line: string) => void; migrate?: boolean } = {}): Runner {
  return async (fn) => {
    const config = loadConfig();
    const logger = createLogger({ level: config.logLevel });
    const db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
    try {
      if (options.migrate !== false) await migrateToLatest(db);
      return await fn({ config, db, logger, clock: systemClock, out: options.out ?? ((line) => process.stdout.write(`${line}\n`)) });
    } finally {
      await db.close();
    }
  };
}

/** Each domain's command file exports one of these. */
export type RegisterCommands = (program: Command, run: Runner) => void;

/**
 * Finds or creates a top-level command group, so that two domains can add
 * subcommands to one group (e.g. `import clients` and `import mail`).
 */
export function commandGroup(program: Command, name: string, description: string): Command {
  return program.commands.find((c) => c.name() === name) ?? program.command(name).description(description);
}
