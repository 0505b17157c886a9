import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { addAccount } from '../../src/mailbox/accounts.ts';
import { syncAccount } from '../../src/mailbox/sync-account.ts';
import { parseSyncSettings } from '../../src/mailbox/sync-settings.ts';
import { syncStatus } from '../../src/mailbox/sync-status.ts';
import { ManualClock, systemClock } from '../../src/shared/clock.ts';
import { useTestDb, testBackend } from '../support/test-db.ts';
import { skipWithoutDovecot, startDovecot, type Dovecot } from './support/dovecot.ts';
import { openClient } from './support/imap-helpers.ts';
import { eml } from './support/eml.ts';

const KEY = 'b'.repeat(64);
const config = { secretKey: KEY, sections: {} };
const settings = parseSyncSettings({ batchSize: 7, backoffMs: 10, reconnectAttempts: 4, parseWorkers: 0 });
// one test parses on worker threads, as production does
const pooled = parseSyncSettings({ batchSize: 7, backoffMs: 10, reconnectAttempts: 4, parseWorkers: 2 });
const noSleep = async (): Promise<void> => undefined;

let users = 0;
function newUser(): { user: string; password: string } {
  return { user: `rep${++users}`, password: `pw-${users}-secret` };
}

describe.skipIf(skipWithoutDovecot(`IMAP sync (${testBackend})`))(`IMAP sync against Dovecot on ${testBackend}`, { timeout: 120_000 }, () => {
  const t = useTestDb();
  let d: Dovecot;
  const accounts = Array.from({ length: 12 }, newUser);
  beforeAll(async () => {
    d = await startDovecot({ users: accounts });
  }, 60_000);
  afterAll(async () => {
    await d?.stop();
  });

  async function account(u: { user: string; password: string }, extra: { folders?: string[]; password?: string } = {}): Promise<number> {
    const a = await addAccount(t.db, config, { name: u.user, email: `${u.user}@maker.cn`, imapHost: d.host, imapPort: d.port, imapTls: 'none', imapUser: u.user, secret: extra.password ?? u.password, syncFolders: extra.folders ?? [] });
    return a.id;
  }
  const count = async (table: 'messages' | 'message_placements'): Promise<number> =>
    (await t.db.kysely.selectFrom(table).select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow()).n;

  it('initial sync of INBOX and Sent, then incremental: new mail, flag changes, expunge; unchanged is a no-op', async () => {
    const u = accounts[0]!;
    for (let i = 0; i < 20; i++) d.deliver(u.user, 'INBOX', eml({ from: `buyer${i % 3}@acme.com`, to: `${u.user}@maker.cn`, subject: `Inquiry ${i}`, messageId: `in${i}@acme.com`, date: new Date(Date.UTC(2026, 0, 1 + i)) }));
    for (let i = 0; i < 5; i++) d.deliver(u.user, 'Sent', eml({ from: `${u.user}@maker.cn`, to: `buyer0@acme.com`, subject: `Re: Inquiry ${i}`, messageId: `out${i}@maker.cn`, inReplyTo: `in${i}@acme.com`, references: [`in${i}@acme.com`], date: new Date(Date.UTC(2026, 0, 2 + i)) }));
    const id = await account(u);
    const r1 = await syncAccount(t.db, config, id, { settings, sleep: noSleep });
    expect(r1.ok).toBe(true);
    expect(r1.folders.map((f) => f.path)).toEqual(['INBOX', 'Sent']);
    expect(await count('messages')).toBe(25);
    expect(await count('message_placements')).toBe(25);
    const replies = await t.db.kysely.selectFrom('messages').select(['message_id', 'thread_id', 'direction']).where('message_id', 'like', 'out%').execute();
    for (const r of replies) {
      expect(r.direction).toBe('outbound');
      const parent = await t.db.kysely.selectFrom('messages').select('thread_id').where('message_id', '=', r.message_id.replace('out', 'in').replace('maker.cn', 'acme.com')).executeTakeFirstOrThrow();
      expect(parent.thread_id).toBe(r.thread_id);
    }
    const folders = await t.db.kysely.selectFrom('mail_folders').selectAll().orderBy('id').execute();
    expect(folders.map((f) => f.role)).toEqual(['inbox', 'sent']);
    expect(folders[0]?.uid_next).toBe(21);
    expect(folders[0]?.highest_modseq).toBeGreaterThan(0);

    // unchanged: nothing fetched
    const r2 = await syncAccount(t.db, config, id, { settings, sleep: noSleep });
    expect(r2.folders.every((f) => f.result?.unchanged)).toBe(true);

    // new mail, a flag change, an expunge
    const c = await openClient(d, u.user, u.password);
    try {
      await c.append('INBOX', eml({ from: 'buyer1@acme.com', to: `${u.user}@maker.cn`, subject: 'Re: Inquiry 1', messageId: 'late@acme.com', inReplyTo: 'out1@maker.cn', references: ['in1@acme.com', 'out1@maker.cn'] }));
      const lock = await c.getMailboxLock('INBOX');
      try {
        await c.messageFlagsAdd('3', ['\\Seen', '\\Flagged'], { uid: true });
        await c.messageDelete('5', { uid: true });
      } finally {
        lock.release();
      }
    } finally {
      await c.logout();
    }
    const r3 = await syncAccount(t.db, config, id, { settings, sleep: noSleep });
    const inbox = r3.folders.find((f) => f.path === 'INBOX')?.result;
    expect(inbox).toMatchObject({ fetched: 1, created: 1, flagsUpdated: 1, expunged: 1 });
    expect(await count('messages')).toBe(26); // the expunged message is kept, its placement is gone
    expect(await count('message_placements')).toBe(25);
    const flagged = await t.db.kysely.selectFrom('message_placements').select('flags').where('uid', '=', 3).where('folder_id', '=', folders[0]!.id).executeTakeFirstOrThrow();
    expect(flagged.flags).toEqual(['\\Flagged', '\\Seen']);
    const late = await t.db.kysely.selectFrom('messages').select('thread_id').where('message_id', '=', 'late@acme.com').executeTakeFirstOrThrow();
    const root = await t.db.kysely.selectFrom('messages').select('thread_id').where('message_id', '=', 'in1@acme.com').executeTakeFirstOrThrow();
    expect(late.thread_id).toBe(root.thread_id);

    const status = await syncStatus(t.db, systemClock);
    expect(status.folders.map((f) => [f.folder, f.messages, f.lastError])).toEqual([['INBOX', 20, null], ['Sent', 5, null]]);
  });

  it('rebuilds a folder whose UIDVALIDITY changed without duplicating messages', async () => {
    const u = accounts[1]!;
    const c = await openClient(d, u.user, u.password);
    await c.mailboxCreate('Projects');
    for (let i = 0; i < 6; i++) await c.append('Projects', eml({ from: 'li@beta.com', to: `${u.user}@maker.cn`, subject: `Project ${i}`, messageId: `p${i}@beta.com` }));
    const id = await account(u, { folders: ['Projects'] });
    expect((await syncAccount(t.db, config, id, { settings, sleep: noSleep })).ok).toBe(true);
    const before = await t.db.kysely.selectFrom('mail_folders').select(['id', 'uid_validity']).where('path', '=', 'Projects').executeTakeFirstOrThrow();
    await c.mailboxDelete('Projects');
    await c.mailboxCreate('Projects');
    for (let i = 0; i < 7; i++) await c.append('Projects', eml({ from: 'li@beta.com', to: `${u.user}@maker.cn`, subject: `Project ${i}`, messageId: `p${i}@beta.com` }));
    await c.logout();
    const r = await syncAccount(t.db, config, id, { settings, sleep: noSleep });
    const res = r.folders.find((f) => f.path === 'Projects')?.result;
    expect(res?.reset).toBe(true);
    const after = await t.db.kysely.selectFrom('mail_folders').select(['uid_validity', 'message_count']).where('id', '=', before.id).executeTakeFirstOrThrow();
    expect(after.uid_validity).not.toBe(before.uid_validity);
    expect(after.message_count).toBe(7);
    expect(await count('messages')).toBe(7);
    expect(await count('message_placements')).toBe(7);
  });

  it('survives the server restarting mid-sync: backs off, reconnects, resumes, counts every message once', async () => {
    const u = accounts[2]!;
    for (let i = 0; i < 40; i++) d.deliver(u.user, 'INBOX', eml({ from: 'x@gamma.de', to: `${u.user}@maker.cn`, subject: `Msg ${i}`, messageId: `r${i}@gamma.de` }));
    const id = await account(u);
    let restarted = false;
    let backoffs = 0;
    const r = await syncAccount(t.db, config, id, {
      settings: pooled,
      sleep: async () => {
        backoffs++;
      },
      afterBatch: async (n) => {
        if (!restarted && n >= 7) {
          restarted = true;
          await d.restart();
        }
      },
    });
    expect(restarted).toBe(true);
    expect(backoffs).toBeGreaterThanOrEqual(1); // the restart really dropped the session
    expect(r.folders.find((f) => f.path === 'INBOX')?.ok).toBe(true);
    expect(await count('messages')).toBe(40);
    expect(await count('message_placements')).toBe(40);
  });

  it('reports a wrong password per account and a folder deleted under us, without losing its messages', async () => {
    const u = accounts[3]!;
    const bad = await account(u, { password: 'wrong' });
    const r = await syncAccount(t.db, config, bad, { settings, sleep: noSleep });
    expect(r.ok).toBe(false);
    expect(r.code).toBe('IMAP_AUTH_FAILED');
    expect(r.error).not.toContain('wrong');

    const v = accounts[4]!;
    const c = await openClient(d, v.user, v.password);
    await c.mailboxCreate('Archive');
    await c.append('Archive', eml({ from: 'a@acme.com', to: `${v.user}@maker.cn`, subject: 'Old', messageId: 'old@acme.com' }));
    const id = await account(v, { folders: ['Archive'] });
    expect((await syncAccount(t.db, config, id, { settings, sleep: noSleep })).ok).toBe(true);
    await c.mailboxDelete('Archive');
    await c.logout();
    const r2 = await syncAccount(t.db, config, id, { settings, sleep: noSleep });
    const gone = r2.folders.find((f) => f.path === 'Archive');
    expect(gone).toMatchObject({ ok: false, code: 'IMAP_FOLDER_GONE' });
    expect(r2.folders.find((f) => f.path === 'INBOX')?.ok).toBe(true);
    expect((await t.db.kysely.selectFrom('messages').select('id').where('message_id', '=', 'old@acme.com').execute()).length).toBe(1);
    const status = await syncStatus(t.db, new ManualClock(new Date(Date.now() + 60_000)));
    expect(status.folders.find((f) => f.folder === 'Archive')?.lastError).toMatch(/no longer exists/);
  });

  it('stores the same message found in two folders once, with two placements', async () => {
    const u = accounts[5]!;
    const raw = eml({ from: 'wang@acme.com', to: `${u.user}@maker.cn`, subject: 'Copy', messageId: 'copy@acme.com' });
    d.deliver(u.user, 'INBOX', raw);
    d.deliver(u.user, 'All', raw);
    const id = await account(u, { folders: ['All'] });
    expect((await syncAccount(t.db, config, id, { settings, sleep: noSleep })).ok).toBe(true);
    expect(await count('messages')).toBe(1);
    expect(await count('message_placements')).toBe(2);
  });
});
