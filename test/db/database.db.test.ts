import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { createTestDb, testBackend } from '../support/test-db.ts';

describe(`the PostgreSQL pool on ${testBackend}`, () => {
  it('every session of the pool runs with JIT off (a short statement the planner misjudges must not compile for 10-150 ms)', async () => {
    if (testBackend !== 'postgres') return; // PGlite has no JIT
    const db = await createTestDb();
    try {
      // several sessions at once: each one the pool opens
      const seen = await Promise.all(Array.from({ length: 3 }, () => db.kysely.transaction().execute(async (trx) => (await sql<{ jit: string }>`SHOW jit`.execute(trx)).rows[0]?.jit)));
      expect(seen).toEqual(['off', 'off', 'off']);
      // the schema's search path still comes with it
      expect((await sql<{ p: string }>`SELECT current_schema() AS p`.execute(db.kysely)).rows[0]?.p).toBe(db.schema);
    } finally {
      await db.drop();
    }
  });
});
