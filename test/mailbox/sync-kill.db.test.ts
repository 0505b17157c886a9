import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { addAccount } from '../../src/mailbox/accounts.ts';
import { useTestDb, testBackend } from '../support/test-db.ts';
import { skipWithoutDovecot, startDovecot, type Dovecot } from './support/dovecot.ts';
import { eml } from './support/eml.ts';
import { runSyncChild } from './support/sync-process.ts';

const KEY = 'c'.repeat(64);

const runSync = runSyncChild;

describe.skipIf(skipWithoutDovecot(`sync kill -9 (${testBackend})`))(`sync killed mid-batch and resumed, on ${testBackend}`, () => {
  const t = useTestDb();
  let d: Dovecot;
  beforeAll(async () => {
    d = await startDovecot({ users: [{ user: 'kill', password: 'pw-kill' }] });
  }, 60_000);
  afterAll(async () => {
    await d?.stop();
  });

  it.skipIf(testBackend === 'pglite')('kill -9 of `rapport sync` during a batch, then a resume: every message exactly once (needs PostgreSQL: PGlite is single-process)', async () => {
    const N = 400;
    for (let i = 0; i < N; i++) d.deliver('kill', 'INBOX', eml({ from: `buyer${i % 7}@acme.com`, to: 'kill@maker.cn', subject: `Inquiry ${i % 50}`, messageId: `k${i}@acme.com`, references: i % 3 === 0 && i > 0 ? [`k${i - 1}@acme.com`] : undefined, body: 'x'.repeat(3000) }));
    await addAccount(t.db, { secretKey: KEY }, { name: 'kill', email: 'kill@maker.cn', imapHost: d.host, imapPort: d.port, imapTls: 'none', imapUser: 'kill', secret: 'pw-kill' });
    const env = { ...process.env, RAPPORT_TEST_CHILD_URL: t.db.url, RAPPORT_TEST_CHILD_SCHEMA: t.db.schema, RAPPORT_SECRET_KEY: KEY, RAPPORT_TEST_CHILD_SETTINGS: JSON.stringify({ batchSize: 5 }) };
    const placements = async (): Promise<number> => (await t.db.kysely.selectFrom('message_placements').select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow()).n;

    const first = runSync(env);
    let seen = 0;
    for (let i = 0; i < 600 && seen < 40; i++) {
      await new Promise((r) => setTimeout(r, 50));
      seen = await placements();
    }
    first.kill();
    await first.done;
    const atKill = await placements();
    expect(atKill).toBeGreaterThan(0);
    expect(atKill).toBeLessThan(N);

    const second = runSync(env);
    expect(await second.done).toBe(0);
    expect(await placements()).toBe(N);
    const stats = await sql<{ n: number; distinct_ids: number }>`SELECT count(*)::int AS n, count(DISTINCT message_id)::int AS distinct_ids FROM messages`.execute(t.db.kysely);
    expect(stats.rows[0]).toEqual({ n: N, distinct_ids: N });
    const folder = await t.db.kysely.selectFrom('mail_folders').selectAll().where('path', '=', 'INBOX').executeTakeFirstOrThrow();
    expect(folder.uid_next).toBe(N + 1);
    expect(folder.message_count).toBe(N);
  }, 120_000);
});
