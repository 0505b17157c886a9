// Faults and odd mail over a real Dovecot: the fixture corpus and a 30 MB
// message through the whole sync, a connection cut mid-fetch, a provider's
// throttling answer, the server stopped and restarted, new mail during a sync,
// a reply before its parent, Gmail's thread ids, linking, a wrong password in `rapport sync status`,
// `accounts test` messages, and a localized Sent folder without special-use.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { addAccount } from '../../src/mailbox/accounts.ts';
import { encryptSecret } from '../../src/mailbox/secret-box.ts';
import { syncAccount } from '../../src/mailbox/sync-account.ts';
import { parseSyncSettings } from '../../src/mailbox/sync-settings.ts';
import { syncStatus } from '../../src/mailbox/sync-status.ts';
import { buildProgram } from '../../src/cli/program.ts';
import type { Runner } from '../../src/cli/context.ts';
import type { Config } from '../../src/config/config.ts';
import { createLogger, silentLogger } from '../../src/shared/logger.ts';
import { ManualClock, systemClock } from '../../src/shared/clock.ts';
import { useTestDb, testBackend } from '../support/test-db.ts';
import { skipWithoutDovecot, startDovecot, type Dovecot } from './support/dovecot.ts';
import { openClient } from './support/imap-helpers.ts';
import { eml } from './support/eml.ts';
import { startTcpProxy } from './support/tcp-proxy.ts';

const KEY = 'f'.repeat(64);
const config = { secretKey: KEY, sections: {} };
const settings = parseSyncSettings({ batchSize: 7, backoffMs: 10, reconnectAttempts: 4, parseWorkers: 0 });
const pooled = parseSyncSettings({ batchSize: 10, backoffMs: 10, reconnectAttempts: 4, parseWorkers: 2 });
const noSleep = async (): Promise<void> => undefined;
/** An afterBatch hook that runs `fn` once, after the first stored batch. */
const afterFirstBatch = (fn: () => void): (() => void) => {
  let armed = false;
  return () => {
    if (!armed) {
      armed = true;
      fn();
    }
  };
};
const fixtures = path.resolve('test/fixtures/mailbox');

function bigMessage(): Buffer {
  const head = 'From: Big Buyer <big@acme.com>\r\nTo: f1@maker.cn\r\nSubject: Catalogue (30 MB)\r\nDate: Mon, 02 Mar 2026 09:00:00 +0000\r\nMessage-ID: <big30@acme.com>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="B"\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\ncatalogue attached\r\n--B\r\nContent-Type: application/pdf; name="catalogue.pdf"\r\nContent-Transfer-Encoding: base64\r\n\r\n';
  const body = Buffer.alloc(22 * 1024 * 1024, 7).toString('base64').replace(/.{76}/g, '$&\r\n');
  return Buffer.from(`${head}${body}\r\n--B--\r\n`);
}

describe.skipIf(skipWithoutDovecot(`IMAP faults (${testBackend})`))(`IMAP faults and odd mail against Dovecot on ${testBackend}`, { timeout: 180_000 }, () => {
  const t = useTestDb();
  let d: Dovecot;
  const users = Array.from({ length: 13 }, (_, i) => ({ user: `f${i + 1}`, password: `pw-f${i + 1}-S3cret` }));
  beforeAll(async () => {
    d = await startDovecot({ users });
  }, 60_000);
  afterAll(async () => {
    await d?.stop();
  });

  async function account(i: number, extra: { folders?: string[]; password?: string; port?: number } = {}): Promise<number> {
    const u = users[i]!;
    const a = await addAccount(t.db, config, { name: u.user, email: `${u.user}@maker.cn`, imapHost: d.host, imapPort: extra.port ?? d.port, imapTls: 'none', imapUser: u.user, secret: extra.password ?? u.password, syncFolders: extra.folders ?? [] });
    return a.id;
  }
  const count = async (table: 'messages' | 'message_placements'): Promise<number> =>
    (await t.db.kysely.selectFrom(table).select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow()).n;
  const distinctIds = async (): Promise<number> => (await t.db.kysely.selectFrom('messages').select(sql<number>`count(DISTINCT (message_id, content_hash))::int`.as('n')).executeTakeFirstOrThrow()).n;

  async function cli(args: string[], lines: string[] = []): Promise<string> {
    const cfg: Config = { databaseUrl: undefined, dataDir: '', secretKey: KEY, logLevel: 'silent', templatesDir: '', campaignsDir: '', sections: { mailbox: { backoffMs: 10, reconnectAttempts: 0, parseWorkers: 0 } } };
    const run: Runner = async (fn) => fn({ config: cfg, db: t.db, logger: silentLogger, clock: systemClock, out: (l) => lines.push(l) });
    await buildProgram(run).parseAsync(args, { from: 'user' });
    return lines.join('\n');
  }

  it('the whole fixture corpus and a 30 MB message over IMAP, parsed on worker threads: all stored, none crashes or stalls the sync', async () => {
    const files = readdirSync(fixtures).filter((f) => f.endsWith('.eml')).sort();
    for (const f of files) d.deliver('f1', 'INBOX', readFileSync(path.join(fixtures, f)));
    const big = bigMessage();
    expect(big.length).toBeGreaterThan(29 * 1024 * 1024);
    d.deliver('f1', 'INBOX', big);
    const id = await account(0);
    const t0 = performance.now();
    const r = await syncAccount(t.db, config, id, { settings: pooled, sleep: noSleep });
    const ms = performance.now() - t0;
    expect(r.folders.find((f) => f.path === 'INBOX')).toMatchObject({ ok: true, result: { fetched: files.length + 1 } });
    expect(ms).toBeLessThan(120_000);
    expect(await count('message_placements')).toBe(files.length + 1);
    expect(await count('messages')).toBe(files.length + 1);
    const byId = async (mid: string) => t.db.kysely.selectFrom('messages').selectAll().where('message_id', '=', mid).executeTakeFirstOrThrow();
    expect((await byId('big30@acme.com')).attachments).toMatchObject([{ filename: 'catalogue.pdf', size: 22 * 1024 * 1024 }]);
    expect((await byId('big30@acme.com')).text_body).toContain('catalogue attached');
    expect((await byId('11@acme.com')).to_addresses).toHaveLength(5000); // 5,000 recipients
    expect((await byId('08@acme.com')).text_body).toContain('Plain words anyway'); // unknown charset
    // NUL byte: Dovecot serves it as 0x80 (IMAP literals carry no NUL); stored without a NUL either way
    const nul = (await byId('09@acme.com')).text_body ?? '';
    expect(nul).toMatch(/^before.?after/);
    expect(nul).not.toContain('\u0000');
    expect((await byId('10@acme.com')).text_body).toContain('deep text'); // MIME 100 levels deep
    const synthetic = await t.db.kysely.selectFrom('messages').select('message_id').where('message_id', 'like', 'synthetic.%').execute();
    expect(synthetic.length).toBeGreaterThanOrEqual(1); // no Message-ID
    // the next run has nothing to do: nothing refetched, nothing doubled
    const again = await syncAccount(t.db, config, id, { settings: pooled, sleep: noSleep });
    expect(again.folders.find((f) => f.path === 'INBOX')?.result).toMatchObject({ fetched: 0, created: 0 });
    expect(await count('messages')).toBe(files.length + 1);
  });

  it('a message over mailbox.maxMessageBytes is stored from its header only, threaded, and listed in sync status; the others in its batch are whole', async () => {
    const head = eml({ from: 'wang@acme.com', to: 'f9@maker.cn', subject: 'Re: Drawings', messageId: 'huge@acme.com', inReplyTo: 'draw@maker.cn', references: ['draw@maker.cn'], body: 'see attached' });
    const padded = Buffer.concat([head, Buffer.alloc(2 * 1024 * 1024, 'padding line of the drawing set\r\n')]);
    d.deliver('f9', 'INBOX', padded);
    d.deliver('f9', 'INBOX', eml({ from: 'f9@maker.cn', to: 'wang@acme.com', subject: 'Drawings', messageId: 'draw@maker.cn' }));
    const id = await account(8);
    const r = await syncAccount(t.db, config, id, { settings: parseSyncSettings({ batchSize: 7, backoffMs: 10, parseWorkers: 0, maxMessageBytes: 1024 * 1024 }), sleep: noSleep });
    expect(r.folders.find((f) => f.path === 'INBOX')).toMatchObject({ ok: true, result: { fetched: 2, created: 2 } });
    const rows = await t.db.kysely.selectFrom('messages').select(['message_id', 'body_state', 'subject', 'size', 'parse_error', 'text_body', 'thread_id']).orderBy('message_id').execute();
    expect(rows).toMatchObject([
      { message_id: 'draw@maker.cn', body_state: 'full', parse_error: null, text_body: expect.stringContaining('Body text.') },
      { message_id: 'huge@acme.com', body_state: 'headers', subject: 'Re: Drawings', parse_error: expect.stringMatching(/^message of \d+ bytes is over mailbox\.maxMessageBytes: headers only$/) },
    ]);
    expect(rows[1]?.size).toBeGreaterThan(2 * 1024 * 1024);
    expect(rows[1]?.thread_id).toBe(rows[0]?.thread_id);
    const status = await syncStatus(t.db, systemClock);
    expect(status.parseErrors.map((e) => e.messageId)).toEqual(['huge@acme.com']);
  });

  it('a connection cut in the middle of a fetch: reconnects, resumes from the cursor, every message once', async () => {
    for (let i = 0; i < 60; i++) d.deliver('f2', 'INBOX', eml({ from: `buyer${i % 4}@delta.com`, to: 'f2@maker.cn', subject: `Offer ${i}`, messageId: `cut${i}@delta.com`, body: `line ${i}\n`.repeat(400) }));
    const proxy = await startTcpProxy(d.port);
    try {
      const id = await account(1, { port: proxy.port });
      const r = await syncAccount(t.db, config, id, {
        settings,
        sleep: noSleep,
        afterBatch: afterFirstBatch(() => proxy.cutAfter(30_000)), // mid-literal of a later batch's FETCH
      });
      expect(proxy.cuts).toBe(1);
      expect(r.folders.find((f) => f.path === 'INBOX')).toMatchObject({ ok: true });
      expect(await count('message_placements')).toBe(60);
      expect(await count('messages')).toBe(60);
      expect(await distinctIds()).toBe(60);
      const folder = await t.db.kysely.selectFrom('mail_folders').selectAll().where('path', '=', 'INBOX').executeTakeFirstOrThrow();
      expect(folder).toMatchObject({ uid_next: 61, message_count: 60 });
    } finally {
      await proxy.close();
    }
  });

  it('a provider throttling answer (Microsoft 365): waits the suggested time, asks again, every message once', async () => {
    for (let i = 0; i < 30; i++) d.deliver('f11', 'INBOX', eml({ from: `buyer${i % 3}@omega.com`, to: 'f11@maker.cn', subject: `Quote ${i}`, messageId: `thr${i}@omega.com` }));
    const proxy = await startTcpProxy(d.port);
    try {
      const id = await account(10, { port: proxy.port });
      // the header pass's first FETCH and, once a batch is stored, a later one; the suggested time is
      // longer than imapflow's own first retry delay (1 s), so the wait shows the hint was followed
      proxy.throttleFetches(1, 1500);
      const started = performance.now();
      const r = await syncAccount(t.db, config, id, { settings, sleep: noSleep, afterBatch: afterFirstBatch(() => proxy.throttleFetches(1, 1500)) });
      const took = performance.now() - started;
      expect(proxy.throttled).toBe(2);
      expect(r.folders.find((f) => f.path === 'INBOX')).toMatchObject({ ok: true });
      // each throttled FETCH was asked again only after the time the server suggested
      expect(took).toBeGreaterThanOrEqual(3000);
      expect(await count('message_placements')).toBe(30);
      expect(await count('messages')).toBe(30);
      expect(await distinctIds()).toBe(30);
      const folder = await t.db.kysely.selectFrom('mail_folders').selectAll().where('path', '=', 'INBOX').executeTakeFirstOrThrow();
      expect(folder).toMatchObject({ uid_next: 31, message_count: 30, last_error: null });
    } finally {
      await proxy.close();
    }
  });

  it("Gmail's thread id (X-GM-THRID) is asked for and threads messages with no reply headers; X-GM-MSGID is kept; a later run adds to the thread", async () => {
    // Dovecot has no X-GM-EXT-1: the relay in front of it answers as Gmail does (tcp-proxy.ts). Gmail
    // threads by its own rules: here an order, its invoice and a message without a Message-ID (stored
    // whole by the body pass, which asks for the ids too), three subjects, no In-Reply-To or References.
    const gm: Record<number, { thrid: string; msgid: string }> = {
      1: { thrid: '1790000000000000001', msgid: '1790000000000000001' },
      2: { thrid: '1790000000000000001', msgid: '1790000000000000002' },
      3: { thrid: '1790000000000000099', msgid: '1790000000000000099' },
      4: { thrid: '1790000000000000001', msgid: '1790000000000000004' },
      5: { thrid: '1790000000000000001', msgid: '1790000000000000005' },
    };
    d.deliver('f12', 'INBOX', eml({ from: 'li@kappa.com', to: 'f12@maker.cn', subject: 'Order 77', messageId: 'o77@kappa.com', date: '2026-03-02T09:00:00Z' }));
    d.deliver('f12', 'INBOX', eml({ from: 'f12@maker.cn', to: 'li@kappa.com', subject: 'Invoice INV-77', messageId: 'inv77@maker.cn', date: '2026-03-02T10:00:00Z' }));
    d.deliver('f12', 'INBOX', eml({ from: 'li@kappa.com', to: 'f12@maker.cn', subject: 'Catalogue request', messageId: 'cat@kappa.com', date: '2026-03-02T11:00:00Z' }));
    d.deliver('f12', 'INBOX', eml({ from: 'li@kappa.com', to: 'f12@maker.cn', subject: 'Payment sent', messageId: null, date: '2026-03-02T12:00:00Z' }));
    const proxy = await startTcpProxy(d.port, { gmail: (folder, uid) => (folder === 'INBOX' ? (gm[uid] ?? null) : null) });
    try {
      const id = await account(11, { port: proxy.port });
      const r = await syncAccount(t.db, config, id, { settings, sleep: noSleep });
      expect(r.folders.find((f) => f.path === 'INBOX')).toMatchObject({ ok: true, result: { fetched: 4 } });
      expect(proxy.gmailFetches).toBeGreaterThanOrEqual(2); // the header pass and the body pass (the message without a Message-ID)
      const rows = async () =>
        t.db.kysely
          .selectFrom('messages as m')
          .innerJoin('message_placements as p', 'p.message_id', 'm.id')
          .select(['p.uid', 'm.thread_id', 'm.gm_msgid', 'm.body_state'])
          .orderBy('p.uid')
          .execute();
      const first = await rows();
      expect(first.map((m) => [m.uid, m.gm_msgid, m.body_state])).toEqual([
        [1, gm[1]!.msgid, 'full'],
        [2, gm[2]!.msgid, 'full'],
        [3, gm[3]!.msgid, 'full'],
        [4, gm[4]!.msgid, 'full'],
      ]);
      const order = first[0]!.thread_id;
      expect(first.map((m) => m.thread_id === order)).toEqual([true, true, false, true]);
      const thread = await t.db.kysely.selectFrom('threads').select(['gm_thrid', 'message_count']).where('id', '=', order).executeTakeFirstOrThrow();
      expect(thread).toEqual({ gm_thrid: gm[1]!.thrid, message_count: 3 });

      // the next run: a fifth message, again with nothing but Gmail's thread id to go by
      d.deliver('f12', 'INBOX', eml({ from: 'li@kappa.com', to: 'f12@maker.cn', subject: 'Goods received', messageId: 'rcv@kappa.com', date: '2026-03-09T09:00:00Z' }));
      const again = await syncAccount(t.db, config, id, { settings, sleep: noSleep });
      expect(again.folders.find((f) => f.path === 'INBOX')).toMatchObject({ ok: true, result: { fetched: 1 } });
      const second = await rows();
      expect(second.map((m) => m.uid)).toEqual([1, 2, 3, 4, 5]);
      expect(second[4]).toMatchObject({ thread_id: order, gm_msgid: gm[5]!.msgid });
      expect((await t.db.kysely.selectFrom('threads').select('message_count').where('id', '=', order).executeTakeFirstOrThrow()).message_count).toBe(4);
    } finally {
      await proxy.close();
    }
  });

  it("a server with RFC 8474's OBJECTID: imapflow asks for its EMAILID unbidden, which is not kept as Gmail's message id", async () => {
    d.deliver('f13', 'INBOX', eml({ from: 'li@kappa.com', to: 'f13@maker.cn', subject: 'Order 78', messageId: 'o78@kappa.com' }));
    d.deliver('f13', 'INBOX', eml({ from: 'li@kappa.com', to: 'f13@maker.cn', subject: 'Payment sent', messageId: null }));
    const asked: number[] = [];
    const proxy = await startTcpProxy(d.port, {
      objectId: (folder, uid) => {
        asked.push(uid);
        return `M${folder.length}x${uid}`;
      },
    });
    try {
      const id = await account(12, { port: proxy.port });
      const r = await syncAccount(t.db, config, id, { settings, sleep: noSleep });
      expect(r.folders.find((f) => f.path === 'INBOX')).toMatchObject({ ok: true, result: { fetched: 2 } });
      expect(asked.length).toBeGreaterThanOrEqual(2); // the relay did answer with EMAILIDs
      const rows = await t.db.kysely.selectFrom('messages').select(['gm_msgid', 'body_state']).where('to_addresses', '@>', sql<string[]>`ARRAY['f13@maker.cn']`).execute();
      expect(rows).toEqual([
        { gm_msgid: null, body_state: 'full' },
        { gm_msgid: null, body_state: 'full' },
      ]);
    } finally {
      await proxy.close();
    }
  });

  it('Dovecot stopped mid-sync and back a little later: backs off, reconnects, resumes; stopped between runs: the fault shows per folder in sync status, then clears', async () => {
    for (let i = 0; i < 40; i++) d.deliver('f3', 'INBOX', eml({ from: 'x@gamma.de', to: 'f3@maker.cn', subject: `Msg ${i}`, messageId: `stop${i}@gamma.de` }));
    const id = await account(2);
    let stopped = false;
    let sleeps = 0;
    const r = await syncAccount(t.db, config, id, {
      settings,
      afterBatch: async (n) => {
        if (!stopped && n >= 7) {
          stopped = true;
          await d.kill();
        }
      },
      sleep: async () => {
        // the first reconnect attempts meet a closed port; the server is back at the third
        if (++sleeps === 3) await d.restart();
      },
    });
    expect(stopped).toBe(true);
    expect(sleeps).toBeGreaterThanOrEqual(3);
    expect(r.folders.find((f) => f.path === 'INBOX')).toMatchObject({ ok: true });
    expect(await count('message_placements')).toBe(40);
    expect(await distinctIds()).toBe(40);

    // stopped between runs: every folder reports the fault, nothing is lost
    for (let i = 40; i < 50; i++) d.deliver('f3', 'INBOX', eml({ from: 'x@gamma.de', to: 'f3@maker.cn', subject: `Msg ${i}`, messageId: `stop${i}@gamma.de` }));
    await d.kill();
    const down = await syncAccount(t.db, config, id, { settings: parseSyncSettings({ backoffMs: 10, reconnectAttempts: 1, parseWorkers: 0 }), sleep: noSleep });
    expect(down).toMatchObject({ ok: false, code: 'IMAP_CONNECT_FAILED' });
    const s1 = await syncStatus(t.db, new ManualClock(new Date(Date.now() + 1000)));
    expect(s1.folders.filter((f) => f.account === 'f3').map((f) => [f.folder, f.lastError])).toEqual([
      ['INBOX', expect.stringMatching(/IMAP 127\.0\.0\.1:\d+: connect failed \(ECONNREFUSED\)/)],
      ['Sent', expect.stringMatching(/ECONNREFUSED/)],
    ]);
    expect(s1.accounts.find((a) => a.account === 'f3')?.lastError).toMatch(/ECONNREFUSED/);
    await d.restart();
    const up = await syncAccount(t.db, config, id, { settings, sleep: noSleep });
    expect(up.ok).toBe(true);
    expect(await count('message_placements')).toBe(50);
    expect(await distinctIds()).toBe(50);
    const s2 = await syncStatus(t.db, new ManualClock(new Date(Date.now() + 1000)));
    expect(s2.folders.filter((f) => f.account === 'f3').map((f) => [f.folder, f.messages, f.lastError])).toEqual([['INBOX', 50, null], ['Sent', 0, null]]);
    expect(s2.accounts.find((a) => a.account === 'f3')?.lastError).toBeNull();
  });

  it('new mail and flag changes arriving while a sync runs are picked up, each message once', async () => {
    for (let i = 0; i < 30; i++) d.deliver('f4', 'INBOX', eml({ from: 'li@beta.com', to: 'f4@maker.cn', subject: `Batch ${i}`, messageId: `live${i}@beta.com` }));
    const id = await account(3);
    const u = users[3]!;
    let added = false;
    const r1 = await syncAccount(t.db, config, id, {
      settings,
      sleep: noSleep,
      afterBatch: async () => {
        if (added) return;
        added = true;
        const c = await openClient(d, u.user, u.password);
        try {
          for (let i = 0; i < 5; i++) await c.append('INBOX', eml({ from: 'li@beta.com', to: 'f4@maker.cn', subject: `During ${i}`, messageId: `during${i}@beta.com` }));
          const lock = await c.getMailboxLock('INBOX');
          try {
            await c.messageFlagsAdd('1', ['\\Seen'], { uid: true }); // already stored (newest first: uid 1 is the last of the run)
            await c.messageFlagsAdd('30', ['\\Answered'], { uid: true }); // stored in the first batch
          } finally {
            lock.release();
          }
        } finally {
          await c.logout();
        }
      },
    });
    expect(r1.ok).toBe(true);
    const r2 = await syncAccount(t.db, config, id, { settings, sleep: noSleep });
    expect(r2.ok).toBe(true);
    const fetched = (r1.folders[0]?.result?.fetched ?? 0) + (r2.folders[0]?.result?.fetched ?? 0);
    expect(fetched).toBe(35);
    expect(await count('message_placements')).toBe(35);
    expect(await count('messages')).toBe(35);
    expect(await distinctIds()).toBe(35);
    // every placement points at its own message (an unsolicited FLAGS answer is not a message)
    const wrong = await t.db.kysely.selectFrom('message_placements').innerJoin('messages', 'messages.id', 'message_placements.message_id').select('uid').where('messages.from_address', 'is distinct from', 'li@beta.com').execute();
    expect(wrong).toEqual([]);
    const folder = await t.db.kysely.selectFrom('mail_folders').select(['id', 'uid_next', 'message_count']).where('path', '=', 'INBOX').executeTakeFirstOrThrow();
    expect(folder).toMatchObject({ uid_next: 36, message_count: 35 });
    const flags = await t.db.kysely.selectFrom('message_placements').select(['uid', 'flags']).where('folder_id', '=', folder.id).where('uid', 'in', [1, 30]).orderBy('uid').execute();
    expect(flags).toEqual([{ uid: 1, flags: ['\\Seen'] }, { uid: 30, flags: ['\\Answered'] }]);
  });

  it('a reply synced before its parent joins it; linking by client domain with a suggested contact, never by freemail or our own domain', async () => {
    const acme = await t.db.kysely.insertInto('clients').values({ name: 'ACME', name_key: 'acme' }).returning('id').executeTakeFirstOrThrow();
    await t.db.kysely.insertInto('client_domains').values({ domain: 'acme.com', client_id: acme.id }).execute();
    d.deliver('f5', 'INBOX', eml({ from: 'Wang Wei <wang@acme.com>', to: 'f5@maker.cn', subject: 'Re: Quote 7', messageId: 'reply7@acme.com', inReplyTo: 'quote7@maker.cn', references: ['quote7@maker.cn'], date: new Date(Date.UTC(2026, 2, 3)) }));
    d.deliver('f5', 'INBOX', eml({ from: 'buyer@gmail.com', to: 'f5@maker.cn', subject: 'Price list?', messageId: 'free@gmail.com' }));
    d.deliver('f5', 'INBOX', eml({ from: 'boss@maker.cn', to: 'f5@maker.cn', subject: 'Lunch', messageId: 'lunch@maker.cn' }));
    const id = await account(4);
    expect((await syncAccount(t.db, config, id, { settings, sleep: noSleep })).ok).toBe(true);
    const thread = async (mid: string) =>
      t.db.kysely.selectFrom('messages').innerJoin('threads', 'threads.id', 'messages.thread_id').select(['threads.id', 'threads.client_id', 'threads.link_reason', 'threads.merged_into', 'messages.direction']).where('messages.message_id', '=', mid).executeTakeFirstOrThrow();
    const before = await thread('reply7@acme.com');
    expect(before).toMatchObject({ client_id: acme.id, link_reason: 'client domain' });
    expect(await thread('free@gmail.com')).toMatchObject({ client_id: null, link_reason: null });
    expect(await thread('lunch@maker.cn')).toMatchObject({ client_id: null, direction: 'internal' });
    expect((await t.db.kysely.selectFrom('suggested_contacts').select(['address', 'name', 'client_id']).execute())).toEqual([{ address: 'wang@acme.com', name: 'Wang Wei', client_id: acme.id }]);

    // the parent turns up later in Sent
    d.deliver('f5', 'Sent', eml({ from: 'f5@maker.cn', to: 'wang@acme.com', subject: 'Quote 7', messageId: 'quote7@maker.cn', date: new Date(Date.UTC(2026, 2, 2)) }));
    expect((await syncAccount(t.db, config, id, { settings, sleep: noSleep })).ok).toBe(true);
    const parent = await thread('quote7@maker.cn');
    const reply = await thread('reply7@acme.com');
    expect(parent.direction).toBe('outbound');
    expect(parent.id).toBe(reply.id);
    expect(reply.merged_into).toBeNull();
    const live = await t.db.kysely.selectFrom('threads').select(['subject', 'message_count', 'client_id']).where('id', '=', reply.id).executeTakeFirstOrThrow();
    expect(live).toEqual({ subject: 'Quote 7', message_count: 2, client_id: acme.id });
  });

  it('a wrong password: sync status shows it for the account and for each folder already known; the password is never printed or logged', async () => {
    const logged: string[] = [];
    const logger = createLogger({ level: 'debug', destination: { write: (s: string) => logged.push(s) } as unknown as NodeJS.WritableStream });
    // never synced: the fault is on the account
    const fresh = await account(5, { password: 'Wr0ng-Fresh-Pw' });
    const r0 = await syncAccount(t.db, config, fresh, { settings, sleep: noSleep, logger });
    expect(r0).toMatchObject({ ok: false, code: 'IMAP_AUTH_FAILED' });
    // synced once, then the password changes on the server side (here: the stored one goes stale)
    const id = await account(6);
    expect((await syncAccount(t.db, config, id, { settings, sleep: noSleep, logger })).ok).toBe(true);
    await t.db.kysely.updateTable('mail_accounts').set({ secret_enc: encryptSecret('Wr0ng-Stale-Pw', KEY) }).where('id', '=', id).execute();
    const r1 = await syncAccount(t.db, config, id, { settings, sleep: noSleep, logger });
    expect(r1).toMatchObject({ ok: false, code: 'IMAP_AUTH_FAILED' });

    const json = await cli(['sync', 'status', '--json']);
    const s = JSON.parse(json) as { accounts: Array<{ account: string; lastError: string | null }>; folders: Array<{ account: string; folder: string; lastError: string | null }> };
    expect(s.accounts.find((a) => a.account === 'f6')?.lastError).toMatch(/login refused/);
    expect(s.folders.filter((f) => f.account === 'f7').map((f) => [f.folder, f.lastError])).toEqual([
      ['INBOX', expect.stringMatching(/IMAP 127\.0\.0\.1:\d+: login refused/)],
      ['Sent', expect.stringMatching(/login refused/)],
    ]);
    const text = await cli(['sync', 'status']);
    expect(text).toMatch(/f6\s+\(account\).*login refused/);
    expect(text).toMatch(/f7\s+INBOX\s+inbox.*login refused/);
    const everything = [json, text, JSON.stringify(r0), JSON.stringify(r1), ...logged].join('\n');
    expect(logged.join('')).toMatch(/login refused.*account sync failed/);
    for (const secret of ['Wr0ng-Fresh-Pw', 'Wr0ng-Stale-Pw', users[6]!.password]) expect(everything).not.toContain(secret);
  });

  it('the CLI end to end: accounts add, accounts test, sync --once, sync status, threads list', async () => {
    const u = users[9]!;
    for (let i = 0; i < 3; i++) d.deliver(u.user, 'INBOX', eml({ from: 'wang@acme.com', to: `${u.user}@maker.cn`, subject: `Order ${i}`, messageId: `cli${i}@acme.com` }));
    process.env.RAPPORT_TEST_CLI_PW = u.password;
    try {
      await cli(['accounts', 'add', 'cli', '--email', `${u.user}@maker.cn`, '--imap-host', '127.0.0.1', '--imap-port', String(d.port), '--imap-tls', 'none', '--imap-user', u.user, '--password-env', 'RAPPORT_TEST_CLI_PW']);
    } finally {
      delete process.env.RAPPORT_TEST_CLI_PW;
    }
    expect(await cli(['accounts', 'test', 'cli'])).toMatch(/^ok: .*Sent is "Sent"\nfolders: INBOX, Sent/);
    const out = await cli(['sync', '--once', '--account', 'cli', '--no-progress']);
    expect(out.split('\n')).toEqual(['cli INBOX: 3 fetched, 3 new, 0 flag changes, 0 expunged (3 on server)', 'cli Sent: 0 fetched, 0 new, 0 flag changes, 0 expunged (0 on server)']);
    expect(await cli(['sync', '--once', '--account', 'cli', '--no-progress'])).toBe('cli INBOX: unchanged (3 on server)\ncli Sent: unchanged (0 on server)');
    const status = await cli(['sync', 'status']);
    expect(status).toMatch(/cli\s+INBOX\s+inbox\s+3\s+3\s+\S+\s+\d+s\s*$/m);
    const list = JSON.parse(await cli(['threads', 'list', '--json'])) as Array<{ subject: string }>;
    expect(list.map((x) => x.subject).filter((x) => x.startsWith('Order ')).sort()).toEqual(['Order 0', 'Order 1', 'Order 2']);
    expect([out, status].join('\n')).not.toContain(u.password);
  });

  it('accounts test says plainly what failed: DNS, TLS, login; and what works', async () => {
    const u = users[7]!;
    process.env.RAPPORT_TEST_FAULT_PW = u.password;
    process.env.RAPPORT_TEST_FAULT_BAD = 'N0t-The-Pw';
    try {
      const add = (name: string, host: string, tls: string, pwEnv: string) =>
        cli(['accounts', 'add', name, '--email', `${u.user}@maker.cn`, '--imap-host', host, '--imap-port', String(d.port), '--imap-tls', tls, '--imap-user', u.user, '--password-env', pwEnv]);
      await add('dns', 'no-such-host.invalid', 'none', 'RAPPORT_TEST_FAULT_PW');
      await add('tls', '127.0.0.1', 'tls', 'RAPPORT_TEST_FAULT_PW');
      await add('auth', '127.0.0.1', 'none', 'RAPPORT_TEST_FAULT_BAD');
      await add('good', '127.0.0.1', 'none', 'RAPPORT_TEST_FAULT_PW');
      const test = async (name: string): Promise<{ lines: string[]; error: string | null }> => {
        const lines: string[] = [];
        try {
          await cli(['accounts', 'test', name], lines);
          return { lines, error: null };
        } catch (e) {
          return { lines, error: (e as Error).message };
        }
      };
      const dns = await test('dns');
      expect(dns.lines[0]).toMatch(/^FAILED at connect: IMAP no-such-host\.invalid:\d+: DNS lookup failed \((ENOTFOUND|EAI_AGAIN)\)$/);
      expect(dns.error).toBe('account dns: test failed');
      const tls = await test('tls');
      expect(tls.lines[0]).toMatch(/^FAILED at connect: IMAP 127\.0\.0\.1:\d+: TLS failed/);
      const auth = await test('auth');
      expect(auth.lines[0]).toMatch(/^FAILED at login: IMAP 127\.0\.0\.1:\d+: login refused/);
      const good = await test('good');
      expect(good.error).toBeNull();
      expect(good.lines[0]).toMatch(/^ok: IMAP 127\.0\.0\.1:\d+: login ok, \d+ folders, incremental sync by QRESYNC, Sent is "Sent"$/);
      const all = [dns, tls, auth, good].flatMap((r) => [...r.lines, r.error ?? '']).join('\n');
      expect(all).not.toContain(u.password);
      expect(all).not.toContain('N0t-The-Pw');
    } finally {
      delete process.env.RAPPORT_TEST_FAULT_PW;
      delete process.env.RAPPORT_TEST_FAULT_BAD;
    }
  });
});

describe.skipIf(skipWithoutDovecot(`IMAP localized Sent (${testBackend})`))(`a localized Sent folder without special-use, on ${testBackend}`, { timeout: 120_000 }, () => {
  const t = useTestDb();
  let d: Dovecot;
  beforeAll(async () => {
    d = await startDovecot({ users: [{ user: 'zh', password: 'pw-zh' }, { user: 'de', password: 'pw-de' }], plainFolders: true });
  }, 60_000);
  afterAll(async () => {
    await d?.stop();
  });

  it.each([
    ['zh', '已发送'],
    ['de', 'Gesendet'],
  ])('%s: "%s" is found as Sent, and its mail is outbound', async (user, folder) => {
    const c = await openClient(d, user, `pw-${user}`);
    try {
      await c.mailboxCreate('Archive');
      await c.mailboxCreate(folder);
      const listed = await c.list();
      // the server does not flag it (imapflow may still guess from the name; pickFolders knows the names itself)
      expect(listed.find((l) => l.path === folder)?.specialUseSource).not.toBe('extension');
      await c.append(folder, eml({ from: `${user}@maker.cn`, to: 'wang@acme.com', subject: `Quote ${user}`, messageId: `sent-${user}@maker.cn` }));
    } finally {
      await c.logout();
    }
    const a = await addAccount(t.db, config, { name: user, email: `${user}@maker.cn`, imapHost: d.host, imapPort: d.port, imapTls: 'none', imapUser: user, secret: `pw-${user}` });
    const r = await syncAccount(t.db, config, a.id, { settings, sleep: noSleep });
    expect(r.ok).toBe(true);
    expect(r.folders.map((f) => f.path)).toEqual(['INBOX', folder]);
    const f = await t.db.kysely.selectFrom('mail_folders').select(['path', 'role', 'message_count']).where('account_id', '=', a.id).where('path', '=', folder).executeTakeFirstOrThrow();
    expect(f).toEqual({ path: folder, role: 'sent', message_count: 1 });
    const m = await t.db.kysely.selectFrom('messages').select('direction').where('message_id', '=', `sent-${user}@maker.cn`).executeTakeFirstOrThrow();
    expect(m.direction).toBe('outbound');
  });
});
