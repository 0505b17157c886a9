import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { retryOnDeadlock } from '../../src/db/deadlock.ts';
import { createTestDb, testBackend } from '../support/test-db.ts';

describe(`retryOnDeadlock on ${testBackend}`, () => {
  it('runs again a transaction PostgreSQL aborted to break a real deadlock, and it commits', async () => {
    if (testBackend !== 'postgres') return; // one connection (PGlite): no two transactions can wait on each other
    const db = await createTestDb();
    try {
      await sql`CREATE TABLE dl (id int PRIMARY KEY, v text)`.execute(db.kysely);
      await sql`INSERT INTO dl VALUES (1, 'a'), (2, 'b')`.execute(db.kysely);
      let attempts = 0;
      let aHasRow1!: () => void;
      let bHasRow2!: () => void;
      const row1Taken = new Promise<void>((r) => (aHasRow1 = r));
      const row2Taken = new Promise<void>((r) => (bHasRow2 = r));
      // A holds row 1 and asks for row 2, which B holds; then B asks for row 1: a deadlock.
      // B checks for it first (its deadlock_timeout is far shorter), so B is the one aborted,
      // and A, given row 2, commits.
      const a = db.kysely.transaction().execute(async (trx) => {
        await sql`SET LOCAL deadlock_timeout = '20s'`.execute(trx);
        await sql`UPDATE dl SET v = 'A' WHERE id = 1`.execute(trx);
        aHasRow1();
        await row2Taken;
        await sql`UPDATE dl SET v = 'A' WHERE id = 2`.execute(trx);
      });
      await row1Taken;
      const b = retryOnDeadlock(() =>
        db.kysely.transaction().execute(async (trx) => {
          attempts++;
          await sql`SET LOCAL deadlock_timeout = '100ms'`.execute(trx);
          await sql`UPDATE dl SET v = 'B' WHERE id = 2`.execute(trx);
          if (attempts === 1) {
            bHasRow2();
            // A is waiting for row 2 by now
            await new Promise((r) => setTimeout(r, 300));
          }
          await sql`UPDATE dl SET v = 'B' WHERE id = 1`.execute(trx);
          return attempts;
        }),
      );
      await a;
      expect(await b).toBe(2);
      const rows = await sql<{ id: number; v: string }>`SELECT id, v FROM dl ORDER BY id`.execute(db.kysely);
      expect(rows.rows).toEqual([{ id: 1, v: 'B' }, { id: 2, v: 'B' }]);
    } finally {
      await db.drop();
    }
  }, 30_000);

  it('throws any other error at once, and the last deadlock after the attempts', async () => {
    let n = 0;
    await expect(retryOnDeadlock(async () => {
      n++;
      throw Object.assign(new Error('unique violation'), { code: '23505' });
    })).rejects.toThrow('unique violation');
    expect(n).toBe(1);
    n = 0;
    await expect(retryOnDeadlock(async () => {
      n++;
      throw Object.assign(new Error('deadlock detected'), { code: '40P01' });
    }, 3)).rejects.toThrow('deadlock detected');
    expect(n).toBe(3);
  });
});
