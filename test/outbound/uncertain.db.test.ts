import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { importMessage } from '../../src/mailbox/index.ts';
import { claimDue, composeMessage, enqueueMail, parseOutboundSettings, processBatch, recoverExpiredLeases, resolveUncertain, retryOutbox, SmtpTransports } from '../../src/outbound/index.ts';
import { ManualClock } from '../../src/shared/clock.ts';
import { testBackend, useTestDb } from '../support/test-db.ts';
import { addTestAccount } from './helpers.ts';
import { startSink } from './smtp-sink.ts';

describe(`the uncertain rule on ${testBackend}`, () => {
  const t = useTestDb();
  const settings = parseOutboundSettings({ throttles: false, uncertainGraceSeconds: 120 });

  /** A worker claims the rows and dies before recording the answer; the lease runs out. */
  async function orphaned(rows: Array<[accountId: number, key: string]>, clock: ManualClock) {
    const keys = rows.map(([, k]) => k);
    await enqueueMail(t.db, rows.map(([accountId, k]) => ({ idempotencyKey: k, accountId, toAddress: `${k}@client.com`, kind: 'personal' as const, subject: `about ${k}`, textBody: 'text' })), { clock });
    const { claimed } = await claimDue(t.db, { settings, clock, workerId: 'dead-worker' });
    expect(claimed).toHaveLength(keys.length);
    clock.advance(settings.leaseSeconds * 1000 + 1000);
    expect(await recoverExpiredLeases(t.db, clock)).toBe(keys.length);
    return claimed;
  }

  it('a claimed row whose lease ran out becomes uncertain (never planned), and its slot is closed', async () => {
    const acct = await addTestAccount(t.db);
    const clock = new ManualClock('2026-11-20T10:00:00Z');
    await orphaned([[acct.id, 'a']], clock);
    const row = await t.db.kysely.selectFrom('outbox').selectAll().executeTakeFirstOrThrow();
    expect(row.state).toBe('uncertain');
    expect(row.last_error).toBe("the worker stopped before recording the server's answer (lease expired at 2026-11-20T10:05:00Z)");
    const slot = await t.db.kysely.selectFrom('outbound_send_log').select(['finished_at', 'outcome']).executeTakeFirstOrThrow();
    expect(slot).toEqual({ finished_at: new Date('2026-11-20T10:05:00Z'), outcome: 'uncertain' });
    // Nothing claims it again by itself.
    expect((await claimDue(t.db, { settings, clock, workerId: 'w2' })).claimed).toHaveLength(0);
  });

  it('resolves to sent when the Message-ID is in the synced Sent folder; resends only when the account saves every sent mail and it is absent', async () => {
    const sink = await startSink();
    const transports = new SmtpTransports(t.db, { settings, credentials: async () => null });
    try {
      const gmail = await addTestAccount(t.db, { name: 'gmail', smtpPort: sink.port, savesSent: true });
      const plain = await addTestAccount(t.db, { name: 'plain', smtpPort: sink.port, savesSent: false });
      const clock = new ManualClock('2026-11-20T10:00:00Z');
      const claimed = await orphaned([[gmail.id, 'g-found'], [gmail.id, 'g-absent'], [plain.id, 'p-found'], [plain.id, 'p-absent']], clock);
      const uncertainAt = clock.now();
      const sentFolder = async (accountId: number, syncedAt: Date | null) =>
        Number((await sql<{ id: number }>`INSERT INTO mail_folders (account_id, path, role, last_success_at) VALUES (${accountId}, 'Sent', 'sent', ${syncedAt}) RETURNING id`.execute(t.db.kysely)).rows[0]!.id);
      // The provider stored two of them in Sent (the server had accepted them before the worker died); the sync brought them in.
      const gFolder = await sentFolder(gmail.id, null);
      const pFolder = await sentFolder(plain.id, null);
      const mail = (key: string) => claimed.find((c) => c.toAddress.startsWith(`${key}@`))!;
      let uid = 1;
      for (const [key, folder, acct] of [['g-found', gFolder, gmail.id], ['p-found', pFolder, plain.id]] as const) {
        const raw = await composeMessage(mail(key), { subject: `about ${key}`, html: '', text: 'text' }, { date: uncertainAt, unsubscribe: null });
        await importMessage(t.db, raw, { accountId: acct, folderId: folder, uid: uid++ });
      }

      // 1. Before any sync after the uncertain moment: found ones are sent, absent ones wait.
      clock.advance(10_000);
      let res = new Map((await resolveUncertain(t.db, clock, settings)).map((r) => [r.id, r]));
      expect(res.get(mail('g-found').id)).toMatchObject({ to: 'sent' });
      expect(res.get(mail('p-found').id)).toMatchObject({ to: 'sent' });
      expect(res.get(mail('g-absent').id)).toMatchObject({ to: 'uncertain', reason: 'waiting for a sync of the Sent folder after the uncertain moment' });
      expect(res.get(mail('p-absent').id)!.reason).toMatch(/does not store sent mail itself, so absence proves nothing/);

      // 2. A sync within the grace period proves nothing yet (the provider may file it late).
      await sql`UPDATE mail_folders SET last_success_at = ${new Date(uncertainAt.getTime() + 60_000)}`.execute(t.db.kysely);
      res = new Map((await resolveUncertain(t.db, clock, settings)).map((r) => [r.id, r]));
      expect(res.get(mail('g-absent').id)!.to).toBe('uncertain');

      // 3. A sync well after it: absent from a provider that stores every sent mail means not sent: resend.
      //    The plain account's absent row still waits for a person.
      await sql`UPDATE mail_folders SET last_success_at = ${new Date(uncertainAt.getTime() + 300_000)}`.execute(t.db.kysely);
      clock.set(new Date(uncertainAt.getTime() + 301_000));
      res = new Map((await resolveUncertain(t.db, clock, settings)).map((r) => [r.id, r]));
      expect(res.get(mail('g-absent').id)!.to).toBe('planned');
      expect(res.get(mail('p-absent').id)!.to).toBe('uncertain');

      const report = await processBatch({ db: t.db, settings, clock, transports });
      expect(report.mails.map((m) => [m.toAddress, m.outcome])).toEqual([['g-absent@client.com', 'sent']]);
      const rows = new Map((await t.db.kysely.selectFrom('outbox').select(['idempotency_key', 'state', 'resolved_by', 'sent_at']).execute()).map((r) => [r.idempotency_key, r]));
      expect(rows.get('g-found')).toMatchObject({ state: 'sent', resolved_by: 'its Message-ID was found in the synced mailbox (Sent folder)' });
      expect(rows.get('g-found')!.sent_at).toEqual(new Date('2026-11-20T10:05:00Z')); // the lease's end: the latest it can have gone
      expect(rows.get('p-found')!.state).toBe('sent');
      expect(rows.get('g-absent')!.state).toBe('sent');
      expect(rows.get('g-absent')!.resolved_by).toMatch(/^absent from the Sent folder synced at .*: not sent, sending again$/);
      expect(rows.get('p-absent')!.state).toBe('uncertain');
      const events = (await t.db.kysely.selectFrom('outbox_events').select('event').execute()).map((e) => e.event);
      expect(events.filter((e) => e === 'resolved-sent')).toHaveLength(2);
      expect(events.filter((e) => e === 'resolved-resend')).toHaveLength(1);

      // 4. A person decides for the plain account: retry sends it, once.
      await retryOutbox(t.db, mail('p-absent').id, {}, clock);
      await processBatch({ db: t.db, settings, clock, transports });
      await processBatch({ db: t.db, settings, clock, transports });
      expect((await t.db.kysely.selectFrom('outbox').select('state').where('idempotency_key', '=', 'p-absent').executeTakeFirstOrThrow()).state).toBe('sent');
      expect([...sink.counts().values()]).toEqual([1, 1]);
      expect(sink.mails.map((m) => m.to[0]).sort()).toEqual(['g-absent@client.com', 'p-absent@client.com']);
    } finally {
      await transports.closeAll();
      await sink.close();
    }
  });
});
