import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { addAccount } from '../../src/mailbox/accounts.ts';
import { parseMessage } from '../../src/mailbox/parse-message.ts';
import { syncAccount } from '../../src/mailbox/sync-account.ts';
import { syncStatus } from '../../src/mailbox/sync-status.ts';
import { parseSyncSettings } from '../../src/mailbox/sync-settings.ts';
import { parseTriageSettings } from '../../src/triage/settings.ts';
import { runTriage } from '../../src/triage/triage-store.ts';
import { bounceCandidatesQuery } from '../../src/outbound/bounces.ts';
import { ManualClock } from '../../src/shared/clock.ts';
import { useTestDb, testBackend } from '../support/test-db.ts';
import { skipWithoutDovecot, startDovecot, type Dovecot } from './support/dovecot.ts';
import { openClient } from './support/imap-helpers.ts';
import { eml } from './support/eml.ts';
import { runSyncChild } from './support/sync-process.ts';

// The initial sync in two passes: header fields first (messages, placements,
// threads, client links), bodies after. These tests stop a sync between the
// passes and look at what is there, then let the body pass fill it in.
const KEY = 'd'.repeat(64);
const config = { secretKey: KEY, sections: {} };
const settings = parseSyncSettings({ batchSize: 4, backoffMs: 10, parseWorkers: 0 });
const noSleep = async (): Promise<void> => undefined;
const BODY_MARK = 'BODY-MARK';

describe.skipIf(skipWithoutDovecot(`sync passes (${testBackend})`))(`header pass, then body pass, on ${testBackend}`, { timeout: 120_000 }, () => {
  const t = useTestDb();
  let d: Dovecot;
  const users = [{ user: 'passes1', password: 'pw-passes-1' }, { user: 'passes2', password: 'pw-passes-2' }, { user: 'passes3', password: 'pw-passes-3' }, { user: 'passes4', password: 'pw-passes-4' }, { user: 'passes5', password: 'pw-passes-5' }];
  beforeAll(async () => {
    d = await startDovecot({ users });
  }, 60_000);
  afterAll(async () => {
    await d?.stop();
  });
  const count = async (q: string): Promise<number> => (await sql<{ n: number }>`SELECT (${sql.raw(q)})::int AS n`.execute(t.db.kysely)).rows[0]!.n;

  it('after the header pass threads and client links are there and bodies are not; the body pass fills them, nothing doubled; triage waits for the bodies', async () => {
    const u = users[0]!;
    const acme = await t.db.kysely.insertInto('clients').values({ name: 'ACME', name_key: 'acme' }).returning('id').executeTakeFirstOrThrow();
    await t.db.kysely.insertInto('client_domains').values({ domain: 'acme.com', client_id: acme.id }).execute();
    const me = `${u.user}@maker.cn`;
    // 5 conversations of 3 messages (inquiry, our reply in Sent, their answer), newest first in the mailbox order
    for (let c = 0; c < 5; c++) {
      const day = (n: number): Date => new Date(Date.UTC(2026, 2, 1 + c * 3 + n, 9));
      d.deliver(u.user, 'INBOX', eml({ from: `buyer${c}@acme.com`, to: me, subject: `Valves ${c}`, messageId: `q${c}@acme.com`, date: day(0), body: `${BODY_MARK} inquiry ${c}` }));
      d.deliver(u.user, 'Sent', eml({ from: me, to: `buyer${c}@acme.com`, subject: `Re: Valves ${c}`, messageId: `r${c}@maker.cn`, inReplyTo: `q${c}@acme.com`, references: [`q${c}@acme.com`], date: day(1), body: `${BODY_MARK} our answer ${c}` }));
      d.deliver(u.user, 'INBOX', eml({ from: `buyer${c}@acme.com`, to: me, subject: `Re: Valves ${c}`, messageId: `a${c}@acme.com`, inReplyTo: `r${c}@maker.cn`, references: [`q${c}@acme.com`, `r${c}@maker.cn`], date: day(2), body: `${BODY_MARK} can you ship by May? ${c}` }));
    }
    // no Message-ID: its dedupe key needs the body, so it waits for the body pass
    d.deliver(u.user, 'INBOX', eml({ from: 'buyer9@acme.com', to: me, subject: 'No id here', messageId: null, date: new Date(Date.UTC(2026, 3, 1)), body: `${BODY_MARK} no id` }));
    // expunged between the passes
    d.deliver(u.user, 'INBOX', eml({ from: 'gone@acme.com', to: me, subject: 'Soon gone', messageId: 'gone@acme.com', date: new Date(Date.UTC(2026, 3, 2)), body: `${BODY_MARK} gone` }));
    const id = (await addAccount(t.db, config, { name: u.user, email: me, imapHost: d.host, imapPort: d.port, imapTls: 'none', imapUser: u.user, secret: u.password })).id;

    let bodiesParsed = 0;
    const parse = (raw: Buffer, internalDate: Date | null): ReturnType<typeof parseMessage> => {
      if (raw.includes(BODY_MARK)) bodiesParsed++;
      return parseMessage(raw, { internalDate });
    };
    const r1 = await syncAccount(t.db, config, id, { settings, sleep: noSleep, parse, stopAfterHeaders: true });
    expect(r1.ok).toBe(true);
    expect(bodiesParsed).toBe(0); // only header fields were fetched
    const heads = await t.db.kysely.selectFrom('messages').select(['id', 'message_id', 'thread_id', 'body_state', 'parse_error', 'text_body', 'newest_part', 'subject', 'from_address', 'direction']).orderBy('message_id').execute();
    expect(heads).toHaveLength(16); // all but the one without a Message-ID
    for (const h of heads) expect(h).toMatchObject({ body_state: 'headers', parse_error: null, text_body: null, newest_part: null });
    expect((await syncStatus(t.db, new ManualClock(new Date(Date.UTC(2026, 3, 3, 9))))).bodiesWaiting).toBe(16);
    expect(heads.find((h) => h.message_id === 'r0@maker.cn')?.direction).toBe('outbound');
    // threads: each conversation is one thread, linked to ACME by its domain
    for (let c = 0; c < 5; c++) {
      const ts = new Set(heads.filter((h) => [`q${c}@acme.com`, `r${c}@maker.cn`, `a${c}@acme.com`].includes(h.message_id)).map((h) => h.thread_id));
      expect(ts.size).toBe(1);
      const th = await t.db.kysely.selectFrom('threads').selectAll().where('id', '=', [...ts][0]!).executeTakeFirstOrThrow();
      expect(th).toMatchObject({ client_id: acme.id, link_reason: 'client domain', message_count: 3, subject: `Valves ${c}` });
    }
    expect(await count(`SELECT count(*) FROM message_placements`)).toBe(16);
    // the cursor has not moved: the run is not complete
    const inbox = await t.db.kysely.selectFrom('mail_folders').selectAll().where('account_id', '=', id).where('path', '=', 'INBOX').executeTakeFirstOrThrow();
    expect(inbox.uid_next).toBeNull();

    // triage leaves threads whose bodies are not in
    const triage = parseTriageSettings({ company: { names: ['Maker'] } });
    const clock = new ManualClock(new Date(Date.UTC(2026, 3, 3, 9)));
    expect(await runTriage(t.db, triage, clock)).toEqual({ threads: 0, scored: 0, targets: 0 });

    const c = await openClient(d, u.user, u.password);
    try {
      const lock = await c.getMailboxLock('INBOX');
      try {
        const uids = (await c.search({ header: { 'message-id': 'gone@acme.com' } }, { uid: true })) || [];
        expect(uids).toHaveLength(1);
        await c.messageDelete(uidsToSet(uids), { uid: true });
      } finally {
        lock.release();
      }
    } finally {
      await c.logout();
    }

    const passes: string[] = [];
    const r2 = await syncAccount(t.db, config, id, { settings, sleep: noSleep, parse, afterBatch: (_n, pass) => void passes.push(pass) });
    expect(r2.ok).toBe(true);
    expect(passes).toContain('bodies');
    const inboxRes = r2.folders.find((f) => f.path === 'INBOX')?.result;
    expect(inboxRes).toMatchObject({ fetched: 1, created: 1, bodies: 10, expunged: 1 }); // the message without an id is new; 10 bodies filled
    expect(r2.folders.find((f) => f.path === 'Sent')?.result).toMatchObject({ fetched: 0, created: 0, bodies: 5 });
    expect(bodiesParsed).toBe(16); // 15 bodies and the message without an id, each once; never the expunged one

    const full = await t.db.kysely.selectFrom('messages').select(['id', 'message_id', 'thread_id', 'body_state', 'parse_error', 'text_body', 'newest_part']).orderBy('message_id').execute();
    expect(full).toHaveLength(17);
    expect(await count(`SELECT count(DISTINCT (message_id, content_hash)) FROM messages`)).toBe(17);
    expect(await count(`SELECT count(*) FROM message_placements`)).toBe(16);
    for (const h of heads) {
      const f = full.find((x) => x.id === h.id);
      expect(f?.thread_id).toBe(h.thread_id); // filled in place, same row, same thread
      if (h.message_id === 'gone@acme.com') expect(f).toMatchObject({ body_state: 'headers', parse_error: 'expunged from the server before its body was fetched', text_body: null });
      else {
        expect(f).toMatchObject({ body_state: 'full', parse_error: null });
        expect(f?.text_body).toContain(BODY_MARK);
        expect(f?.newest_part).toContain(BODY_MARK);
      }
    }
    expect(full.find((f) => f.text_body?.includes('no id'))?.body_state).toBe('full');
    expect((await syncStatus(t.db, clock)).bodiesWaiting).toBe(0); // the expunged one has its reason, not a wait
    const folder = await t.db.kysely.selectFrom('mail_folders').selectAll().where('id', '=', inbox.id).executeTakeFirstOrThrow();
    expect(folder.uid_next).toBe(13);
    expect(folder.message_count).toBe(11);

    // bodies in: triage scores the threads now
    const scored = await runTriage(t.db, triage, clock);
    expect(scored.threads).toBeGreaterThanOrEqual(5);
    expect(scored.scored).toBeGreaterThanOrEqual(10);

    // and a third run has nothing to do
    const r3 = await syncAccount(t.db, config, id, { settings, sleep: noSleep, parse });
    expect(r3.folders.map((f) => [f.path, f.result?.unchanged])).toEqual([['INBOX', true], ['Sent', true]]);
    expect(bodiesParsed).toBe(16);
  });

  it("the header pass's first batches are small and grow to the batch size (64, 128, then the rest), newest first, on a parse worker; every message once", async () => {
    const u = users[4]!;
    for (let i = 1; i <= 300; i++) d.deliver(u.user, 'INBOX', eml({ from: `buyer${i % 7}@acme.com`, to: `${u.user}@maker.cn`, subject: `Inquiry ${i}`, messageId: `grow${i}@acme.com`, body: `${BODY_MARK} ${i}` }));
    const id = (await addAccount(t.db, config, { name: u.user, email: `${u.user}@maker.cn`, imapHost: d.host, imapPort: d.port, imapTls: 'none', imapUser: u.user, secret: u.password })).id;
    const headerBatches: number[] = [];
    const newestFirst: number[] = [];
    const r = await syncAccount(t.db, config, id, {
      settings: parseSyncSettings({ batchSize: 500, backoffMs: 10, parseWorkers: 1 }),
      sleep: noSleep,
      afterBatch: async (committed, pass) => {
        if (pass !== 'headers') return;
        headerBatches.push(committed - headerBatches.reduce((a, b) => a + b, 0));
        // the batch stored last holds the oldest UIDs so far
        newestFirst.push(Number((await sql<{ uid: number }>`SELECT min(uid) AS uid FROM message_placements`.execute(t.db.kysely)).rows[0]!.uid));
      },
    });
    expect(r.folders.find((f) => f.path === 'INBOX')?.result).toMatchObject({ fetched: 300, created: 300, bodies: 300 });
    expect(headerBatches).toEqual([64, 128, 108]);
    expect(newestFirst).toEqual([237, 109, 1]);
    expect(await count(`SELECT count(*) FROM messages WHERE text_body LIKE '${BODY_MARK}%'`)).toBe(300);
    expect(await count(`SELECT count(*) FROM message_placements`)).toBe(300);
  });

  it('a message already stored from another folder is not fetched again for its body', async () => {
    const u = users[1]!;
    const raw = eml({ from: 'wang@acme.com', to: `${u.user}@maker.cn`, subject: 'Copy', messageId: 'copy2@acme.com', body: `${BODY_MARK} copy` });
    d.deliver(u.user, 'INBOX', raw);
    d.deliver(u.user, 'All', eml({ from: 'li@acme.com', to: `${u.user}@maker.cn`, subject: 'Other', messageId: 'other2@acme.com', body: `${BODY_MARK} other` }));
    const id = (await addAccount(t.db, config, { name: u.user, email: `${u.user}@maker.cn`, imapHost: d.host, imapPort: d.port, imapTls: 'none', imapUser: u.user, secret: u.password, syncFolders: ['All'] })).id;
    let bodiesParsed = 0;
    const parse = (r: Buffer, internalDate: Date | null): ReturnType<typeof parseMessage> => {
      if (r.includes(BODY_MARK)) bodiesParsed++;
      return parseMessage(r, { internalDate });
    };
    expect((await syncAccount(t.db, config, id, { settings, sleep: noSleep, parse })).ok).toBe(true);
    expect(bodiesParsed).toBe(2);
    d.deliver(u.user, 'All', raw);
    const r = await syncAccount(t.db, config, id, { settings, sleep: noSleep, parse });
    expect(r.folders.find((f) => f.path === 'All')?.result).toMatchObject({ fetched: 1, created: 0, bodies: 0 });
    expect(bodiesParsed).toBe(2);
    expect(await count(`SELECT count(*) FROM messages`)).toBe(2);
    expect(await count(`SELECT count(*) FROM message_placements`)).toBe(3);
  });

  it('a bounce report is not read for bounces before its body is in (it would be taken for a note and never read again)', async () => {
    const u = users[3]!;
    const dsn = Buffer.from(
      [
        'From: Mail Delivery System <MAILER-DAEMON@mx.maker.cn>',
        `To: ${u.user}@maker.cn`,
        'Subject: Undelivered Mail Returned to Sender',
        'Date: Mon, 02 Mar 2026 09:00:00 +0000',
        'Message-ID: <dsn-passes@mx.maker.cn>',
        'MIME-Version: 1.0',
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"',
        '',
        '--b1',
        'Content-Type: text/plain',
        '',
        `${BODY_MARK} Your message could not be delivered.`,
        '--b1',
        'Content-Type: message/delivery-status',
        '',
        'Reporting-MTA: dns; mx.maker.cn',
        '',
        'Final-Recipient: rfc822; nobody@acme.com',
        'Action: failed',
        'Status: 5.1.1',
        '--b1--',
        '',
      ].join('\r\n'),
    );
    d.deliver(u.user, 'INBOX', dsn);
    const id = (await addAccount(t.db, config, { name: u.user, email: `${u.user}@maker.cn`, imapHost: d.host, imapPort: d.port, imapTls: 'none', imapUser: u.user, secret: u.password })).id;
    const candidates = async (): Promise<number[]> => (await bounceCandidatesQuery(100).execute(t.db.kysely)).rows.filter((r) => r.account_id !== null && Number(r.account_id) === id).map((r) => Number(r.id));
    expect((await syncAccount(t.db, config, id, { settings, sleep: noSleep, stopAfterHeaders: true })).ok).toBe(true);
    const row = await t.db.kysely.selectFrom('messages').select(['id', 'body_state']).where('message_id', '=', 'dsn-passes@mx.maker.cn').executeTakeFirstOrThrow();
    expect(row.body_state).toBe('headers');
    expect(await candidates()).toEqual([]);
    expect((await syncAccount(t.db, config, id, { settings, sleep: noSleep })).ok).toBe(true);
    expect(await candidates()).toEqual([Number(row.id)]);
  });

  it.skipIf(testBackend === 'pglite')('kill -9 in the body pass after a stop between the passes, then a resume: every message once, every body in (needs PostgreSQL: PGlite is single-process)', async () => {
    const u = users[2]!;
    const N = 300;
    for (let i = 0; i < N; i++) d.deliver(u.user, 'INBOX', eml({ from: `buyer${i % 7}@acme.com`, to: `${u.user}@maker.cn`, subject: `Inquiry ${i % 40}`, messageId: `kb${i}@acme.com`, references: i % 3 === 0 && i > 0 ? [`kb${i - 1}@acme.com`] : undefined, body: `${BODY_MARK} ${'x'.repeat(3000)}` }));
    await addAccount(t.db, config, { name: u.user, email: `${u.user}@maker.cn`, imapHost: d.host, imapPort: d.port, imapTls: 'none', imapUser: u.user, secret: u.password });
    const env = { ...process.env, RAPPORT_TEST_CHILD_URL: t.db.url, RAPPORT_TEST_CHILD_SCHEMA: t.db.schema, RAPPORT_SECRET_KEY: KEY, RAPPORT_TEST_CHILD_SETTINGS: JSON.stringify({ batchSize: 5 }) };
    const run = (extra: NodeJS.ProcessEnv): { done: Promise<number>; kill(): void } => runSyncChild({ ...env, ...extra });

    const bodies = (): Promise<number> => count(`SELECT count(*) FROM messages WHERE body_state = 'full'`);

    expect(await run({ RAPPORT_TEST_CHILD_STOP_AFTER_HEADERS: '1' }).done).toBe(0);
    expect(await count(`SELECT count(*) FROM messages WHERE body_state = 'headers' AND parse_error IS NULL`)).toBe(N);
    expect(await count(`SELECT count(*) FROM messages WHERE thread_id IS NULL`)).toBe(0);
    const threadsBefore = await count(`SELECT count(*) FROM threads WHERE merged_into IS NULL`);

    const second = run({});
    let seen = 0;
    for (let i = 0; i < 600 && seen < 30; i++) {
      await new Promise((r) => setTimeout(r, 25));
      seen = await bodies();
    }
    second.kill();
    await second.done;
    const atKill = await bodies();
    expect(atKill).toBeGreaterThan(0);
    expect(atKill).toBeLessThan(N);

    expect(await run({}).done).toBe(0);
    expect(await bodies()).toBe(N);
    expect(await count(`SELECT count(*) FROM messages WHERE text_body LIKE '${BODY_MARK}%'`)).toBe(N);
    expect(await count(`SELECT count(DISTINCT message_id) FROM messages`)).toBe(N);
    expect(await count(`SELECT count(*) FROM messages`)).toBe(N);
    expect(await count(`SELECT count(*) FROM message_placements`)).toBe(N);
    expect(await count(`SELECT count(*) FROM threads WHERE merged_into IS NULL`)).toBe(threadsBefore);
    const folder = await t.db.kysely.selectFrom('mail_folders').selectAll().where('path', '=', 'INBOX').where('account_id', '=', (await t.db.kysely.selectFrom('mail_accounts').select('id').where('name', '=', u.user).executeTakeFirstOrThrow()).id).executeTakeFirstOrThrow();
    expect(folder.uid_next).toBe(N + 1);
    expect(folder.message_count).toBe(N);
  });
});

function uidsToSet(uids: number[]): string {
  return uids.join(',');
}
