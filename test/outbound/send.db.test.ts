import { getEventListeners } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { enqueueMail, parseOutboundSettings, processBatch, runSender, SmtpTransports, type SenderDeps } from '../../src/outbound/index.ts';
import { unsubscribeKey } from '../../src/outbound/unsubscribe-token.ts';
import { ManualClock, systemClock, type Clock } from '../../src/shared/clock.ts';
import { testBackend, useTestDb } from '../support/test-db.ts';
import { addTestAccount } from './helpers.ts';
import { startSink, type SmtpSink } from './smtp-sink.ts';

describe(`sending through SMTP on ${testBackend}`, () => {
  const t = useTestDb();
  let sink: SmtpSink | undefined;
  let transports: SmtpTransports | undefined;
  afterEach(async () => {
    await transports?.closeAll();
    await sink?.close();
    sink = undefined;
  });

  function deps(clock: Clock, raw: unknown = { throttles: false }): SenderDeps {
    const settings = parseOutboundSettings(raw);
    transports = new SmtpTransports(t.db, { settings, credentials: async () => ({ user: 'u', pass: 'p' }) });
    return { db: t.db, settings, clock, transports, unsubscribe: { key: unsubscribeKey('k'.repeat(32)), publicUrl: 'https://rapport.test', mailto: undefined } };
  }

  it('sends each row once, with its Message-ID, and records the server answer', async () => {
    sink = await startSink();
    const acct = await addTestAccount(t.db, { smtpPort: sink.port });
    const rows = Array.from({ length: 12 }, (_, i) => ({ idempotencyKey: `k${i}`, accountId: acct.id, toAddress: `p${i}@client${i % 3}.com`, kind: 'promotion' as const, subject: `Hello ${i}`, html: `<p>Hi ${i}</p>`, textBody: `Hi ${i}` }));
    await enqueueMail(t.db, rows);
    const res = await runSender(deps(systemClock), { once: true, workers: 2 });
    expect(res.sent).toBe(12);
    const stored = await t.db.kysely.selectFrom('outbox').selectAll().orderBy('id').execute();
    expect(stored.every((r) => r.state === 'sent' && r.sent_at !== null && r.smtp_response?.includes('queued as sink'))).toBe(true);
    const counts = sink.counts();
    expect(counts.size).toBe(12);
    for (const r of stored) expect(counts.get(r.message_id)).toBe(1);
    const one = sink.mails[0]!.raw.toString().replace(/\r\n[ \t]+/g, " ");
    expect(one).toMatch(/^List-Unsubscribe: <https:\/\/rapport\.test\/unsubscribe\/v1\.[0-9a-z]+\.[A-Za-z0-9_-]{22}>, <mailto:/m);
    expect(one).toMatch(/^List-Unsubscribe-Post: List-Unsubscribe=One-Click/m);
    // A second run has nothing to send.
    expect((await runSender(deps(systemClock), { once: true })).sent).toBe(0);
    expect(sink.mails).toHaveLength(12);
  });

  it('fails a 5xx row with the server words, suppresses a hard bounce, retries a 4xx with backoff', async () => {
    sink = await startSink({
      rcpt: (a) => (a.startsWith('gone@') ? { code: 550, message: '5.1.1 <gone@acme.com>: user unknown' } : a.startsWith('busy@') ? { code: 451, message: '4.3.0 mailbox busy, try later' } : null),
    });
    const acct = await addTestAccount(t.db, { smtpPort: sink.port });
    const client = await t.db.kysely.insertInto('clients').values({ name: 'ACME', name_key: 'acme' }).returning('id').executeTakeFirstOrThrow();
    const contact = await t.db.kysely.insertInto('contacts').values({ client_id: client.id, name: 'Gone' }).returning('id').executeTakeFirstOrThrow();
    await t.db.kysely.insertInto('contact_emails').values({ contact_id: contact.id, address: 'gone@acme.com' }).execute();
    await enqueueMail(t.db, [
      { idempotencyKey: 'a', accountId: acct.id, toAddress: 'gone@acme.com', contactId: contact.id, kind: 'personal', subject: 's', textBody: 't' },
      { idempotencyKey: 'b', accountId: acct.id, toAddress: 'busy@acme.com', kind: 'personal', subject: 's', textBody: 't' },
      { idempotencyKey: 'c', accountId: acct.id, toAddress: 'ok@acme.com', kind: 'personal', subject: 's', textBody: 't' },
    ]);
    const clock = new ManualClock(new Date());
    const d = deps(clock);
    const report = await processBatch(d);
    const by = new Map(report.mails.map((m) => [m.toAddress, m]));
    expect(by.get('gone@acme.com')?.outcome).toBe('bounced');
    expect(by.get('busy@acme.com')?.outcome).toBe('retry');
    expect(by.get('ok@acme.com')?.outcome).toBe('sent');
    const gone = await t.db.kysely.selectFrom('outbox').selectAll().where('idempotency_key', '=', 'a').executeTakeFirstOrThrow();
    expect(gone.state).toBe('failed');
    expect(gone.last_error).toContain('user unknown');
    expect(await t.db.kysely.selectFrom('suppressions').select(['address_key', 'source']).execute()).toEqual([{ address_key: 'gone@acme.com', source: 'bounce' }]);
    expect((await t.db.kysely.selectFrom('contact_emails').select('status').executeTakeFirstOrThrow()).status).toBe('invalid');
    const busy = await t.db.kysely.selectFrom('outbox').selectAll().where('idempotency_key', '=', 'b').executeTakeFirstOrThrow();
    expect(busy.state).toBe('planned');
    expect(busy.last_error).toContain('mailbox busy');
    const waitS = (busy.due_at.getTime() - clock.now().getTime()) / 1000;
    expect(waitS).toBeGreaterThanOrEqual(48);
    expect(waitS).toBeLessThanOrEqual(72);
    // Nothing is due before the backoff ends; after it, the row is tried again.
    expect((await processBatch(d)).claimed).toBe(0);
    clock.advance(73_000);
    const again = await processBatch(d);
    expect(again.mails.map((m) => m.outcome)).toEqual(['retry']);
    const busy2 = await t.db.kysely.selectFrom('outbox').select(['attempts', 'due_at']).where('idempotency_key', '=', 'b').executeTakeFirstOrThrow();
    expect(busy2.attempts).toBe(2);
    expect(busy2.due_at.getTime() - clock.now().getTime()).toBeGreaterThan(95_000);
  });

  it('checks the suppression list at claim time, and expires rows past their latest send time', async () => {
    sink = await startSink();
    const acct = await addTestAccount(t.db, { smtpPort: sink.port });
    const clock = new ManualClock('2026-12-20T08:00:00Z');
    await enqueueMail(t.db, [
      { idempotencyKey: 'x', accountId: acct.id, toAddress: 'stop@acme.com', kind: 'promotion', subject: 's', textBody: 't' },
      { idempotencyKey: 'card', accountId: acct.id, toAddress: 'card@acme.com', kind: 'greeting', subject: 'Merry Christmas', textBody: 't', notAfter: new Date('2026-12-26T00:00:00Z') },
    ], { clock });
    await t.db.kysely.insertInto('suppressions').values({ address_key: 'stop@acme.com', reason: 'asked to stop', source: 'unsubscribe' }).execute();
    clock.set('2027-01-03T09:00:00Z');
    const report = await processBatch(deps(clock));
    expect(report.mails.map((m) => m.outcome).sort()).toEqual(['expired', 'suppressed']);
    const rows = await t.db.kysely.selectFrom('outbox').select(['idempotency_key', 'state', 'last_error']).orderBy('id').execute();
    expect(rows[0]).toMatchObject({ state: 'suppressed' });
    expect(rows[0]!.last_error).toContain('asked to stop');
    expect(rows[1]).toMatchObject({ state: 'expired' });
    expect(rows[1]!.last_error).toContain('latest send time 2026-12-26T00:00:00.000Z has passed');
    expect(sink.mails).toHaveLength(0);
  });

  it('pauses the account after a run of refused logins, without losing the rows', async () => {
    sink = await startSink({ refuseAuth: true });
    const acct = await addTestAccount(t.db, { smtpPort: sink.port });
    await enqueueMail(t.db, Array.from({ length: 3 }, (_, i) => ({ idempotencyKey: `r${i}`, accountId: acct.id, toAddress: `a${i}@b.com`, kind: 'personal' as const, subject: 's', textBody: 't' })));
    const clock = new ManualClock(new Date());
    const report = await processBatch(deps(clock));
    expect(report.mails.every((m) => m.outcome === 'auth-wait')).toBe(true);
    const settings = await t.db.kysely.selectFrom('outbound_account_settings').selectAll().executeTakeFirstOrThrow();
    expect(settings.paused_at).not.toBeNull();
    expect(settings.paused_reason).toMatch(/SMTP login refused 3 times in a row/);
    const rows = await t.db.kysely.selectFrom('outbox').select(['state', 'attempts']).execute();
    expect(rows.every((r) => r.state === 'planned' && r.attempts === 0)).toBe(true);
    clock.advance(3_600_000);
    expect((await processBatch(deps(clock))).claimed).toBe(0); // paused: nothing claimed
  });

  it('an idle send run polls without piling up listeners on its stop signal, and stops when told', async () => {
    await addTestAccount(t.db);
    const abort = new AbortController();
    const d = { ...deps(systemClock, { throttles: false, pollMs: 50, bounceCheckSeconds: 0 }) };
    const running = runSender(d, { workers: 2, signal: abort.signal });
    await new Promise((r) => setTimeout(r, 1500)); // ~30 idle polls per worker
    expect(getEventListeners(abort.signal, 'abort').length).toBeLessThanOrEqual(2);
    abort.abort();
    await expect(running).resolves.toEqual({ sent: 0, reports: 0 });
  });
});
