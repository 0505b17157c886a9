import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { sql } from 'kysely';
import { Migrator, type Migration, type MigrationProvider, type MigrationResultSet } from 'kysely/migration';
import { AppError, describeError } from '../shared/app-error.ts';
import type { Db } from './database.ts';

/** db/migrations/ of this package. */
export const MIGRATIONS_DIR = fileURLToPath(new URL('../../db/migrations', import.meta.url));

const MIGRATION_FILE = /^(\d{4}_[a-z0-9_]+)\.ts$/;

/** Loads db/migrations/NNNN_name.ts files (helpers beside them are not migrations). */
class FolderMigrationProvider implements MigrationProvider {
  async getMigrations(): Promise<Record<string, Migration>> {
    const files = (await readdir(MIGRATIONS_DIR)).filter((f) => MIGRATION_FILE.test(f)).sort();
    const out: Record<string, Migration> = {};
    for (const file of files) {
      const name = MIGRATION_FILE.exec(file)?.[1];
      if (!name) continue;
      out[name] = (await import(pathToFileURL(path.join(MIGRATIONS_DIR, file)).href)) as Migration;
    }
    return out;
  }
}

function makeMigrator(db: Db): Migrator {
  return new Migrator({
    db: db.kysely,
    provider: new FolderMigrationProvider(),
    migrationTableSchema: db.schema,
    // Issues add migrations in their own number ranges; keep a late-numbered one appliable.
    allowUnorderedMigrations: true,
  });
}

export interface MigrationStatus {
  readonly name: string;
  readonly executedAt: Date | null;
}

export async function knownMigrationNames(): Promise<string[]> {
  return Object.keys(await new FolderMigrationProvider().getMigrations()).sort();
}

/** Refuses a database that has migrations this code does not know (written by a newer Rapport). */
async function refuseNewerSchema(db: Db): Promise<void> {
  const known = new Set(await knownMigrationNames());
  let applied: string[] = [];
  try {
    const res = await sql<{ name: string }>`SELECT name FROM ${sql.id(db.schema, 'kysely_migration')}`.execute(db.kysely);
    applied = res.rows.map((r) => r.name);
  } catch {
    return; // no migration table yet: an empty database
  }
  const unknown = applied.filter((n) => !known.has(n));
  if (unknown.length > 0) {
    throw new AppError('DB_SCHEMA_NEWER', `database schema ${db.schema}: written by a newer Rapport (unknown migration ${unknown[0]}); upgrade Rapport instead of using this version`);
  }
}

export async function migrateToLatest(db: Db): Promise<MigrationResultSet> {
  await refuseNewerSchema(db);
  const result = await makeMigrator(db).migrateToLatest();
  if (result.error) {
    const failed = result.results?.find((r) => r.status === 'Error');
    throw new AppError('DB_MIGRATION_FAILED', `migration ${failed?.migrationName ?? '?'}: ${describeError(result.error)}`, { cause: result.error });
  }
  return result;
}

export async function migrationStatus(db: Db): Promise<MigrationStatus[]> {
  await refuseNewerSchema(db);
  const list = await makeMigrator(db).getMigrations();
  return list.map((m) => ({ name: m.name, executedAt: m.executedAt ?? null }));
}
