import { readFileSync } from 'node:fs';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importMessage } from '../../src/mailbox/index.ts';
import { accountSendStatus, enqueueMail, imapRawLoader, parseOutboundSettings, processBatch, processBounces, sentCopy, SmtpTransports, type SenderDeps } from '../../src/outbound/index.ts';
import { ManualClock, type Clock } from '../../src/shared/clock.ts';
import { createLogger } from '../../src/shared/logger.ts';
import { parseTriageSettings, runTriage } from '../../src/triage/index.ts';
import { dovecotUsable, startDovecot, type Dovecot } from '../mailbox/support/dovecot.ts';
import { openClient } from '../mailbox/support/imap-helpers.ts';
import { FIXTURE_DIR } from '../triage/quality-set.ts';
import { testBackend, useTestDb } from '../support/test-db.ts';
import { dsnFixture } from './dsn-fixtures.ts';
import { startSink, type SmtpSink } from './smtp-sink.ts';

const usable = dovecotUsable();
const sh = (local: string): Date => new Date(`${local}+08:00`);

describe.skipIf(!usable)(`after sending, with Dovecot, on ${testBackend}`, () => {
  const t = useTestDb();
  let dovecot: Dovecot;
  let sink: SmtpSink;
  beforeAll(async () => {
    dovecot = await startDovecot({ users: [{ user: 'linda', password: 'pw-linda' }, { user: 'gmailish', password: 'pw-g' }] });
    sink = await startSink();
  }, 60_000);
  afterAll(async () => {
    await sink?.close();
    await dovecot?.stop();
  });

  const target = (user: string, pass: string) => async () => ({ host: dovecot.host, port: dovecot.port, tls: 'none' as const, user, pass });

  async function account(name: string, email: string, savesSent: boolean, owner?: number): Promise<number> {
    const row = await t.db.kysely
      .insertInto('mail_accounts')
      .values({ name, email, imap_host: '127.0.0.1', imap_port: dovecot.port, imap_tls: 'none', imap_user: name, smtp_host: '127.0.0.1', smtp_port: sink.port, smtp_tls: 'none', smtp_user: name, saves_sent: savesSent, ...(owner ? { owner_id: owner } : {}) })
      .returning('id')
      .executeTakeFirstOrThrow();
    return Number(row.id);
  }

  function deps(clock: Clock, afterSent: SenderDeps['afterSent']): SenderDeps {
    const settings = parseOutboundSettings({ throttles: false });
    return { db: t.db, settings, clock, transports: new SmtpTransports(t.db, { settings, credentials: async () => null }), afterSent };
  }

  async function sentFolder(user: string, pass: string): Promise<Array<{ uid: number; messageId: string; seen: boolean; source: Buffer }>> {
    const c = await openClient(dovecot, user, pass);
    try {
      const lock = await c.getMailboxLock('Sent');
      try {
        const out: Array<{ uid: number; messageId: string; seen: boolean; source: Buffer }> = [];
        if ((c.mailbox as { exists: number }).exists === 0) return out;
        for await (const m of c.fetch('1:*', { uid: true, envelope: true, flags: true, source: true })) {
          out.push({ uid: m.uid, messageId: (m.envelope?.messageId ?? '').replace(/^<|>$/g, ''), seen: m.flags?.has('\\Seen') ?? false, source: Buffer.from(m.source!) });
        }
        return out;
      } finally {
        lock.release();
      }
    } finally {
      await c.logout();
    }
  }

  it('appends to Sent for an account that keeps no copy, joins the thread and stops the reply clock; no copy for a provider that keeps its own', async () => {
    const owner = await t.db.kysely.insertInto('owners').values({ name: 'Linda Wu', email: 'linda.wu@hengda-outdoor.com', time_zone: 'Asia/Shanghai' }).returning('id').executeTakeFirstOrThrow();
    const linda = await account('linda', 'linda.wu@hengda-outdoor.com', false, Number(owner.id));
    const gmailish = await account('gmailish', 'sales@hengda-outdoor.com', true);
    const client = await t.db.kysely.insertInto('clients').values({ name: 'Garden World', name_key: 'garden world', owner_id: owner.id, tier_override: 'normal', time_zone: 'Europe/London', status: 'active' }).returning('id').executeTakeFirstOrThrow();
    await t.db.kysely.insertInto('client_domains').values({ domain: 'gardenworld.co.uk', client_id: client.id }).execute();
    // The client's inquiry, synced into Linda's INBOX; triage opens a reply clock on it.
    const inquiry = await importMessage(t.db, readFileSync(path.join(FIXTURE_DIR, '001-en-inq-1to1-01.eml')), { accountId: linda });
    const triage = parseTriageSettings({ company: { names: ['Hengda'], products: ['HD-PH12'] } });
    const later = new ManualClock(sh('2026-12-04T09:30:00'));
    await runTriage(t.db, triage, later);
    const open = await t.db.kysely.selectFrom('reply_targets').selectAll().where('message_id', '=', inquiry.rowId).execute();
    expect(open.length).toBeGreaterThan(0);
    expect(open.every((r) => r.met_at === null)).toBe(true);

    // Queued and sent on the test's own clock: queued at today's date, the mails would not be due on 2 December.
    const sendClock = new ManualClock(sh('2026-12-02T10:00:00'));
    await enqueueMail(t.db, [
      { idempotencyKey: 'reply', accountId: linda, toAddress: 'mark.peters@gardenworld.co.uk', toName: 'Mark Peters', kind: 'reply', subject: 'Re: Patio heaters for our spring range', textBody: 'Dear Mark, our offer for 500 HD-PH12 is attached.', inReplyTo: 'en-inq-1to1-01.1@gardenworld.co.uk', references: ['en-inq-1to1-01.1@gardenworld.co.uk'] },
      { idempotencyKey: 'g', accountId: gmailish, toAddress: 'someone@example.org', kind: 'personal', subject: 'Hello', textBody: 'Hello' },
    ], { clock: sendClock });
    const copy = { linda: sentCopy(t.db, { target: target('linda', 'pw-linda') }), g: sentCopy(t.db, { target: target('gmailish', 'pw-g') }) };
    const d = deps(sendClock, (mail, raw) => (mail.accountId === linda ? copy.linda : copy.g).afterSent(mail, raw));
    try {
      const report = await processBatch(d);
      expect(report.mails.map((m) => m.outcome)).toEqual(['sent', 'sent']);
    } finally {
      await d.transports.closeAll();
      await copy.linda.close();
      await copy.g.close();
    }
    const rows = await t.db.kysely.selectFrom('outbox').select(['idempotency_key', 'message_id', 'sent_copy']).orderBy('id').execute();
    expect(rows[0]!.sent_copy).toMatch(/^in thread \d+; appended to Sent \(uid 1\)$/);
    expect(rows[1]!.sent_copy).toMatch(/^in thread \d+; the provider keeps its own copy in Sent$/);

    // Linda sees it in her own mail client's Sent folder, read; the provider account got no second copy.
    const inSent = await sentFolder('linda', 'pw-linda');
    expect(inSent.map((m) => [m.messageId, m.seen])).toEqual([[rows[0]!.message_id, true]]);
    expect(await sentFolder('gmailish', 'pw-g')).toEqual([]);

    // It joined the client's thread as an outbound message...
    const stored = await t.db.kysely.selectFrom('messages').select(['id', 'thread_id', 'direction']).where('message_id', '=', rows[0]!.message_id).executeTakeFirstOrThrow();
    expect(stored).toMatchObject({ thread_id: inquiry.threadId, direction: 'outbound' });
    // ...and a later sync of the Sent folder stores nothing twice.
    const folder = await sql<{ id: number }>`INSERT INTO mail_folders (account_id, path, role) VALUES (${linda}, 'Sent', 'sent') RETURNING id`.execute(t.db.kysely);
    const again = await importMessage(t.db, inSent[0]!.source, { accountId: linda, folderId: Number(folder.rows[0]!.id), uid: inSent[0]!.uid });
    expect(again).toMatchObject({ rowId: stored.id, created: false });

    // The reply clock stops, met by that message (not only by the outbox row).
    await runTriage(t.db, triage, later);
    const met = await t.db.kysely.selectFrom('reply_targets').selectAll().where('message_id', '=', inquiry.rowId).where('kind', '=', 'reply').execute();
    expect(met).toHaveLength(1);
    expect(met[0]).toMatchObject({ status: 'met', met_by_message_id: stored.id });
    expect(met[0]!.met_at!.toISOString()).toBe(sh('2026-12-02T10:00:00').toISOString());
  });

  it('keeps a copy it could not append to Sent and appends it later, once, even when an earlier append landed unanswered; gives up after the last attempt', async () => {
    const linda = await account('linda', 'linda.wu@hengda-outdoor.com', false);
    const clock = new ManualClock(sh('2026-12-02T10:00:00'));
    // The IMAP server is unreachable (nothing listens on port 1) until `reachable` is set.
    let reachable = false;
    const copy = sentCopy(t.db, {
      target: async () => ({ host: dovecot.host, port: reachable ? dovecot.port : 1, tls: 'none' as const, user: 'linda', pass: 'pw-linda' }),
      clock,
      retry: { baseSeconds: 60, maxSeconds: 3600, maxAttempts: 3 },
    });
    const sendOne = async (key: string): Promise<{ id: number; message_id: string }> => {
      await enqueueMail(t.db, [{ idempotencyKey: key, accountId: linda, toAddress: 'mark.peters@gardenworld.co.uk', kind: 'personal', subject: `Offer ${key}`, textBody: `Dear Mark, ${key}.` }], { clock });
      const d = deps(clock, copy.afterSent);
      try {
        expect((await processBatch(d)).mails.map((m) => m.outcome)).toEqual(['sent']);
      } finally {
        await d.transports.closeAll();
      }
      return t.db.kysely.selectFrom('outbox').select(['id', 'message_id']).where('idempotency_key', '=', key).executeTakeFirstOrThrow();
    };
    const note = async (id: number): Promise<string | null> => (await t.db.kysely.selectFrom('outbox').select('sent_copy').where('id', '=', id).executeTakeFirstOrThrow()).sent_copy;
    const kept = async (): Promise<Array<{ outbox_id: number; attempts: number }>> => (await t.db.kysely.selectFrom('outbound_sent_copies').select(['outbox_id', 'attempts']).orderBy('outbox_id').execute()).map((r) => ({ outbox_id: Number(r.outbox_id), attempts: r.attempts }));
    const copiesOf = async (messageId: string): Promise<number> => (await sentFolder('linda', 'pw-linda')).filter((m) => m.messageId === messageId).length;
    try {
      // 1. The append fails: the mail is sent all the same, and its copy is kept with its bytes.
      const one = await sendOne('one');
      expect(await note(one.id)).toMatch(/failed to append to Sent: .*; will try again$/);
      expect(await kept()).toEqual([{ outbox_id: one.id, attempts: 1 }]);
      expect((await accountSendStatus(t.db)).find((a) => a.account === 'linda')).toMatchObject({ copiesWaiting: 1 });
      expect(await copy.retry()).toEqual({ appended: 0, failed: 0, gaveUp: 0 }); // not due yet
      clock.advance(61_000);
      expect(await copy.retry()).toEqual({ appended: 0, failed: 1, gaveUp: 0 }); // still unreachable: next in 2 minutes
      expect(await kept()).toEqual([{ outbox_id: one.id, attempts: 2 }]);
      reachable = true;
      clock.advance(61_000);
      expect(await copy.retry()).toEqual({ appended: 0, failed: 0, gaveUp: 0 });
      clock.advance(60_000);
      expect(await copy.retry()).toEqual({ appended: 1, failed: 0, gaveUp: 0 });
      expect(await kept()).toEqual([]);
      expect(await copiesOf(one.message_id)).toBe(1);
      expect(await note(one.id)).toMatch(/; appended to Sent \(uid \d+\) on attempt 3$/);
      const events = await t.db.kysely.selectFrom('outbox_events').select('event').where('outbox_id', '=', one.id).orderBy('id').execute();
      expect(events.map((e) => e.event)).toContain('copied to Sent');
      expect(await copy.retry()).toEqual({ appended: 0, failed: 0, gaveUp: 0 });

      // 2. An append that reached the server although its answer was lost is not made a second time.
      reachable = false;
      await copy.close(); // the open connection drops with the server
      const two = await sendOne('two');
      expect(await kept()).toEqual([{ outbox_id: two.id, attempts: 1 }]);
      const raw = (await t.db.kysely.selectFrom('outbound_sent_copies').select('raw').where('outbox_id', '=', two.id).executeTakeFirstOrThrow()).raw;
      const c = await openClient(dovecot, 'linda', 'pw-linda');
      await c.append('Sent', raw, ['\\Seen']);
      await c.logout();
      reachable = true;
      clock.advance(61_000);
      expect(await copy.retry()).toEqual({ appended: 1, failed: 0, gaveUp: 0 });
      expect(await copiesOf(two.message_id)).toBe(1);
      expect(await note(two.id)).toMatch(/; found in Sent \(uid \d+\) on attempt 2$/);

      // 2b. A message in Sent whose Message-ID merely contains this one's is not taken for it.
      reachable = false;
      await copy.close();
      const four = await sendOne('four');
      const decoy = Buffer.from(`From: x@maker.cn\r\nTo: y@acme.com\r\nSubject: decoy\r\nMessage-ID: <re.${four.message_id}>\r\n\r\nnot the mail\r\n`);
      const c2 = await openClient(dovecot, 'linda', 'pw-linda');
      await c2.append('Sent', decoy);
      await c2.logout();
      reachable = true;
      clock.advance(61_000);
      expect(await copy.retry()).toEqual({ appended: 1, failed: 0, gaveUp: 0 });
      expect(await note(four.id)).toMatch(/; appended to Sent \(uid \d+\) on attempt 2$/);
      expect(await copiesOf(four.message_id)).toBe(1);

      // 3. After the last attempt the copy is dropped and the outbox row says so.
      reachable = false;
      await copy.close();
      const three = await sendOne('three');
      for (const wait of [61_000, 121_000]) {
        clock.advance(wait);
        await copy.retry();
      }
      expect(await kept()).toEqual([]);
      expect(await note(three.id)).toMatch(/; gave up appending to Sent after 3 attempts: /);
      expect(await copiesOf(three.message_id)).toBe(0);
    } finally {
      await copy.close();
    }
  });

  it('a Sent copy refused for a wrong password is kept to try again, and the password is never written or logged', async () => {
    const ana = await account('ana', 'ana@hengda-outdoor.com', false);
    const clock = new ManualClock(sh('2026-12-02T10:00:00'));
    const logged: string[] = [];
    const logger = createLogger({ level: 'debug', destination: { write: (x: string) => logged.push(x) } as unknown as NodeJS.WritableStream });
    const copy = sentCopy(t.db, { target: target('linda', 'Wr0ng-Copy-Pw'), clock, logger, retry: { baseSeconds: 60, maxSeconds: 3600, maxAttempts: 3 } });
    try {
      await enqueueMail(t.db, [{ idempotencyKey: 'pw', accountId: ana, toAddress: 'mark.peters@gardenworld.co.uk', kind: 'personal', subject: 'Offer', textBody: 'Dear Mark.' }], { clock });
      const d = deps(clock, copy.afterSent);
      try {
        expect((await processBatch(d)).mails.map((m) => m.outcome)).toEqual(['sent']);
      } finally {
        await d.transports.closeAll();
      }
      clock.advance(61_000);
      expect(await copy.retry()).toEqual({ appended: 0, failed: 1, gaveUp: 0 });
      const row = await t.db.kysely.selectFrom('outbox').select(['id', 'sent_copy']).where('idempotency_key', '=', 'pw').executeTakeFirstOrThrow();
      expect(row.sent_copy).toMatch(/failed to append to Sent: .*; will try again$/);
      const kept = await t.db.kysely.selectFrom('outbound_sent_copies').select(['attempts', 'last_error']).where('outbox_id', '=', row.id).executeTakeFirstOrThrow();
      expect(kept.attempts).toBe(2);
      expect(kept.last_error).toBeTruthy();
      const events = await t.db.kysely.selectFrom('outbox_events').selectAll().where('outbox_id', '=', row.id).execute();
      expect(logged.join('')).toMatch(/append to Sent failed again/);
      const everything = [row.sent_copy, kept.last_error, JSON.stringify(events), ...logged].join('\n');
      expect(everything).not.toContain('Wr0ng-Copy-Pw');
    } finally {
      await copy.close();
    }
  });

  it('fetches a bounce report from IMAP to match it by the returned Message-ID, not just by recipient', async () => {
    const linda = await account('linda', 'linda.wu@hengda-outdoor.com', false);
    await enqueueMail(t.db, [
      { idempotencyKey: 'older', accountId: linda, toAddress: 'wang@acme-gone.com', kind: 'personal', subject: 'older', textBody: 't' },
      { idempotencyKey: 'newer', accountId: linda, toAddress: 'wang@acme-gone.com', kind: 'personal', subject: 'newer', textBody: 't' },
    ]);
    await sql`UPDATE outbox SET state = 'sent', sent_at = CASE idempotency_key WHEN 'older' THEN timestamptz '2026-11-01T00:00:00Z' ELSE timestamptz '2026-11-05T00:00:00Z' END`.execute(t.db.kysely);
    const older = await t.db.kysely.selectFrom('outbox').select(['id', 'message_id']).where('idempotency_key', '=', 'older').executeTakeFirstOrThrow();
    // The report about the older mail arrives in the INBOX; the sync stored it (text only) with its placement.
    const raw = dsnFixture('postfix-user-unknown', older.message_id);
    const c = await openClient(dovecot, 'linda', 'pw-linda');
    const appended = await c.append('INBOX', raw);
    await c.logout();
    const inbox = await sql<{ id: number }>`INSERT INTO mail_folders (account_id, path, role) VALUES (${linda}, 'INBOX', 'inbox') RETURNING id`.execute(t.db.kysely);
    await importMessage(t.db, raw, { accountId: linda, folderId: Number(inbox.rows[0]!.id), uid: (appended as { uid: number }).uid });

    const loader = imapRawLoader(t.db, { target: target('linda', 'pw-linda') });
    try {
      const res = await processBounces(t.db, { loadRaw: loader.loadRaw, clock: new ManualClock('2026-11-15T00:00:00Z') });
      expect(res).toMatchObject({ dsnMessages: 1, hard: 1, unmatched: 0 });
    } finally {
      await loader.close();
    }
    const bounced = await t.db.kysely.selectFrom('outbox').select(['idempotency_key', 'bounced_at']).where('bounced_at', 'is not', null).execute();
    expect(bounced.map((b) => b.idempotency_key)).toEqual(['older']);
  });
});
