import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import type { ImapFlow } from 'imapflow';
import { addAccount } from '../../src/mailbox/accounts.ts';
import { syncAccount } from '../../src/mailbox/sync-account.ts';
import { parseSyncSettings } from '../../src/mailbox/sync-settings.ts';
import type { FolderSyncResult } from '../../src/mailbox/sync-folder.ts';
import { useTestDb, testBackend } from '../support/test-db.ts';
import { skipWithoutDovecot, startDovecot, type Dovecot } from './support/dovecot.ts';
import { openClient } from './support/imap-helpers.ts';
import { eml } from './support/eml.ts';

// How changes to messages already held are found, on three servers: Dovecot as it is (QRESYNC),
// Dovecot announcing CONDSTORE alone, and Dovecot announcing neither (an old server).
const config = { secretKey: 'c'.repeat(64), sections: {} };
const settings = parseSyncSettings({ batchSize: 7, backoffMs: 10, reconnectAttempts: 2, parseWorkers: 0 });
const noSleep = async (): Promise<void> => undefined;
const BASE = 'IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ UIDPLUS CHILDREN NAMESPACE ESEARCH SPECIAL-USE MOVE';
const servers = [
  { resync: 'qresync', capability: undefined },
  { resync: 'condstore', capability: `${BASE} CONDSTORE` },
  { resync: 'uids', capability: BASE },
] as const;

describe.skipIf(skipWithoutDovecot(`IMAP resync (${testBackend})`))(`incremental sync of held messages against Dovecot on ${testBackend}`, { timeout: 120_000 }, () => {
  const t = useTestDb();
  const user = { user: 'resync', password: 'pw-resync-secret' };

  for (const server of servers) {
    describe(`a server with ${server.resync === 'uids' ? 'neither CONDSTORE nor QRESYNC' : server.resync.toUpperCase()}`, () => {
      let d: Dovecot;
      beforeAll(async () => {
        d = await startDovecot({ users: [user], capability: server.capability });
      }, 60_000);
      afterAll(async () => {
        await d?.stop();
      });

      const placements = async (): Promise<Array<{ uid: number; flags: string[] }>> =>
        (await t.db.kysely.selectFrom('message_placements as p').innerJoin('mail_folders as f', 'f.id', 'p.folder_id').select(['p.uid', 'p.flags']).where('f.path', '=', 'INBOX').orderBy('p.uid').execute()).map((r) => ({ uid: Number(r.uid), flags: r.flags }));
      const inbox = (r: Awaited<ReturnType<typeof syncAccount>>): FolderSyncResult => {
        const f = r.folders.find((x) => x.path === 'INBOX');
        expect(f?.ok).toBe(true);
        return f?.result as FolderSyncResult;
      };
      const change = async (fn: (c: ImapFlow) => Promise<void>): Promise<void> => {
        const c = await openClient(d, user.user, user.password);
        try {
          const lock = await c.getMailboxLock('INBOX');
          try {
            await fn(c);
          } finally {
            lock.release();
          }
        } finally {
          await c.logout();
        }
      };

      it(`finds flag changes and expunges by ${server.resync}, and counts every message once`, async () => {
        for (let i = 1; i <= 12; i++) d.deliver(user.user, 'INBOX', eml({ from: 'wang@delta.cn', to: 'resync@maker.cn', subject: `Order ${i}`, messageId: `o${i}@delta.cn` }));
        const id = (await addAccount(t.db, config, { name: user.user, email: 'resync@maker.cn', imapHost: d.host, imapPort: d.port, imapTls: 'none', imapUser: user.user, secret: user.password })).id;
        const first = inbox(await syncAccount(t.db, config, id, { settings, sleep: noSleep }));
        expect(first).toMatchObject({ fetched: 12, resync: null });
        expect((await placements()).map((p) => p.uid)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);

        // between runs: a flag set, two messages expunged, one new message
        await change(async (c) => {
          await c.messageFlagsAdd('3', ['\\Flagged'], { uid: true });
          await c.messageDelete('5,9', { uid: true });
          await c.append('INBOX', eml({ from: 'wang@delta.cn', to: 'resync@maker.cn', subject: 'Order 13', messageId: 'o13@delta.cn' }));
        });
        const second = inbox(await syncAccount(t.db, config, id, { settings, sleep: noSleep }));
        expect(second).toMatchObject({ resync: server.resync, fetched: 1, created: 1, flagsUpdated: 1, expunged: 2 });
        // with QRESYNC the SELECT said what vanished: no listing of every UID
        expect(second.swept).toBe(server.resync !== 'qresync');
        const now = await placements();
        expect(now.map((p) => p.uid)).toEqual([1, 2, 3, 4, 6, 7, 8, 10, 11, 12, 13]);
        expect(now.find((p) => p.uid === 3)?.flags).toEqual(['\\Flagged']);
        expect(await t.db.kysely.selectFrom('messages').select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow()).toEqual({ n: 13 });

        // a message expunged by another session while this run fetches new mail
        for (let i = 14; i <= 30; i++) d.deliver(user.user, 'INBOX', eml({ from: 'wang@delta.cn', to: 'resync@maker.cn', subject: `Order ${i}`, messageId: `o${i}@delta.cn` }));
        let expungedMeanwhile = false;
        const third = inbox(
          await syncAccount(t.db, config, id, {
            settings,
            sleep: noSleep,
            afterBatch: async () => {
              if (expungedMeanwhile) return;
              expungedMeanwhile = true;
              await change((c) => c.messageDelete('2', { uid: true }).then(() => undefined));
            },
          }),
        );
        expect(expungedMeanwhile).toBe(true);
        expect(third).toMatchObject({ resync: server.resync, fetched: 17, expunged: 1 });
        expect(third.swept).toBe(server.resync !== 'qresync');
        const after = await placements();
        expect(after.map((p) => p.uid)).toEqual([1, 3, 4, 6, 7, 8, 10, 11, 12, ...Array.from({ length: 18 }, (_, i) => 13 + i)]);
        const folder = await t.db.kysely.selectFrom('mail_folders').select(['message_count', 'server_count']).where('path', '=', 'INBOX').executeTakeFirstOrThrow();
        expect(folder).toEqual({ message_count: 27, server_count: 27 });

        // The cursor keeps the HIGHESTMODSEQ the SELECT gave: the expunge made during the run is
        // past it, so the next run opens the folder once more and finds nothing to do; then none.
        const fourth = inbox(await syncAccount(t.db, config, id, { settings, sleep: noSleep }));
        expect(fourth).toMatchObject({ fetched: 0, flagsUpdated: 0, expunged: 0, swept: false });
        const fifth = inbox(await syncAccount(t.db, config, id, { settings, sleep: noSleep }));
        expect(fifth).toMatchObject({ unchanged: true, swept: false, fetched: 0 });
        expect((await placements()).length).toBe(27);

        // the folder emptied: every placement goes, no error (no FETCH of 1:* in an empty folder)
        await change((c) => c.messageDelete('1:*', { uid: true }).then(() => undefined));
        const emptied = inbox(await syncAccount(t.db, config, id, { settings, sleep: noSleep }));
        expect(emptied).toMatchObject({ resync: server.resync, fetched: 0, expunged: 27, serverCount: 0 });
        expect(await placements()).toEqual([]);
      });
    });
  }
});
