import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { PGlite } from '@electric-sql/pglite';
import { afterEach, beforeEach } from 'vitest';
import { openDatabase, pgliteParsers, type Backend, type Db } from '../../src/db/database.ts';
import { migrateToLatest } from '../../src/db/migrator.ts';

/**
 * Test databases. Every test gets its own freshly migrated schema, on the
 * backend named by RAPPORT_TEST_BACKEND (pglite by default, postgres in the
 * postgres project), and the schema is dropped afterwards.
 * PGlite: one in-memory instance per test file, loaded from a snapshot the
 * global setup made (a cold PGlite start takes ~5 s here, a load ~1 s).
 */
export const testBackend: Backend = process.env.RAPPORT_TEST_BACKEND === 'postgres' ? 'postgres' : 'pglite';
export const testPgUrl = process.env.RAPPORT_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface TestDb extends Db {
  /** For postgres: a URL whose connections land in this test's schema (for child processes). */
  readonly url: string | undefined;
}

let shared: Promise<PGlite> | undefined;
function sharedPglite(): Promise<PGlite> {
  if (!shared) {
    const snapshot = process.env.RAPPORT_TEST_PGLITE_SNAPSHOT;
    shared = snapshot
      ? PGlite.create({ loadDataDir: new Blob([readFileSync(snapshot)]), parsers: pgliteParsers })
      : PGlite.create({ parsers: pgliteParsers });
  }
  return shared;
}

function newSchemaName(): string {
  return `t_${process.pid}_${randomBytes(5).toString('hex')}`;
}

/** A freshly migrated database in a schema of its own. Call drop() when done. */
export async function createTestDb(options: { migrate?: boolean } = {}): Promise<TestDb & { drop(): Promise<void> }> {
  const schema = newSchemaName();
  let db: Db;
  let url: string | undefined;
  if (testBackend === 'postgres') {
    const u = new URL(testPgUrl);
    u.searchParams.set('options', `-c search_path=${schema},public`);
    url = u.toString();
    db = await openDatabase({ databaseUrl: testPgUrl, schema, poolSize: 5 });
  } else {
    db = await openDatabase({ pglite: await sharedPglite(), schema });
  }
  if (options.migrate !== false) await migrateToLatest(db);
  return {
    ...db,
    url,
    async drop() {
      try {
        const { sql } = await import('kysely');
        await sql.raw(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).execute(db.kysely);
        if (testBackend === 'pglite') await sql.raw('SET search_path TO public').execute(db.kysely);
      } finally {
        await db.close();
      }
    },
  };
}

/** Registers beforeEach/afterEach: `const t = useTestDb(); ... t.db.kysely` */
export function useTestDb(options: { migrate?: boolean } = {}): { readonly db: TestDb } {
  let current: (TestDb & { drop(): Promise<void> }) | undefined;
  beforeEach(async () => {
    current = await createTestDb(options);
  }, 60_000);
  afterEach(async () => {
    await current?.drop();
    current = undefined;
  }, 60_000);
  return {
    get db(): TestDb {
      if (!current) throw new Error('useTestDb: no database outside a test');
      return current;
    },
  };
}
