import type { ImapFlow } from 'imapflow';
import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import { importMessage } from '../mailbox/index.ts';
import { pickFolders } from '../mailbox/folder-roles.ts';
import { connectImap, translateImapError, type ImapTarget } from '../mailbox/imap-connect.ts';
import { describeError } from '../shared/app-error.ts';
import { silentLogger, type Logger } from '../shared/logger.ts';
import type { RawLoader } from './bounces.ts';
import type { ClaimedMail } from './claim.ts';
import type { AfterSent } from './sender.ts';

/** Where an account's IMAP server is (the mailbox domain's accountTarget, which reads the stored secret). */
export type ImapTargetSource = (accountId: number) => Promise<ImapTarget>;

/**
 * One IMAP connection per account, opened on first use, used by one caller
 * at a time (a promise chain), dropped after an error so the next use
 * reconnects (a changed password is read again).
 */
class ImapConnections {
  private readonly open = new Map<number, Promise<ImapFlow>>();
  private readonly queue = new Map<number, Promise<unknown>>();

  constructor(
    private readonly target: ImapTargetSource,
    private readonly logger: Logger,
  ) {}

  async with<T>(accountId: number, work: (client: ImapFlow, target: ImapTarget) => Promise<T>): Promise<T> {
    const prev = this.queue.get(accountId) ?? Promise.resolve();
    const run = prev.catch(() => undefined).then(async () => {
      const t = await this.target(accountId);
      let p = this.open.get(accountId);
      if (!p) {
        p = connectImap(t, { logger: this.logger, timeoutMs: 15_000 });
        this.open.set(accountId, p);
      }
      let client: ImapFlow;
      try {
        client = await p;
      } catch (e) {
        this.open.delete(accountId);
        throw e;
      }
      if (!client.usable) {
        this.open.delete(accountId);
        client = await connectImap(t, { logger: this.logger, timeoutMs: 15_000 });
        this.open.set(accountId, Promise.resolve(client));
      }
      try {
        return await work(client, t);
      } catch (e) {
        this.open.delete(accountId);
        client.close();
        throw translateImapError(e, t, 'append');
      }
    });
    this.queue.set(accountId, run);
    return run;
  }

  async closeAll(): Promise<void> {
    const all = [...this.open.values()];
    this.open.clear();
    for (const p of all) {
      const c = await p.catch(() => null);
      if (c) await c.logout().catch(() => c.close());
    }
  }
}

/** The account's Sent folder: the synced one (role sent), else the server's \Sent or a known name. */
async function sentFolderPath(db: Db, client: ImapFlow, accountId: number): Promise<string> {
  const known = await db.kysely.selectFrom('mail_folders').select('path').where('account_id', '=', accountId).where('role', '=', 'sent').executeTakeFirst();
  if (known) return known.path;
  const listed = await client.list();
  const sent = pickFolders(listed.map((f) => ({ path: f.path, specialUse: f.specialUse, flags: f.flags }))).find((f) => f.role === 'sent');
  if (sent) return sent.path;
  await client.mailboxCreate('Sent').catch(() => undefined);
  return 'Sent';
}

export interface SentCopy {
  readonly afterSent: AfterSent;
  close(): Promise<void>;
}

/**
 * What happens after a mail is recorded as sent (issue 6, point 6):
 *  1. It is imported into the mailbox like a synced message, so it joins its
 *     thread (In-Reply-To/References) and counts as a reply for the reply-time
 *     clock at once, before any sync. The later sync of the Sent folder finds
 *     the same Message-ID and content and stores nothing twice.
 *  2. When the account does not store sent mail itself (saves_sent false: most
 *     plain SMTP servers), a copy is appended to its Sent folder over IMAP,
 *     marked \Seen, so the user sees it in their own mail client. Providers
 *     that keep sent mail (Gmail, Exchange) get no second copy.
 * The note returned is stored in outbox.sent_copy; a failure is noted there,
 * never thrown (the mail itself went out).
 */
export function sentCopy(db: Db, options: { target: ImapTargetSource; logger?: Logger }): SentCopy {
  const logger = options.logger ?? silentLogger;
  const conns = new ImapConnections(options.target, logger);
  const afterSent: AfterSent = async (mail: ClaimedMail, raw: Buffer) => {
    const notes: string[] = [];
    try {
      const imported = await importMessage(db, raw, { accountId: mail.accountId });
      notes.push(`in thread ${imported.threadId ?? '?'}`);
    } catch (e) {
      notes.push(`not imported: ${describeError(e)}`);
    }
    if (mail.savesSent) {
      notes.push('the provider keeps its own copy in Sent');
    } else {
      try {
        const res = await conns.with(mail.accountId, async (client) => {
          const path = await sentFolderPath(db, client, mail.accountId);
          const appended = await client.append(path, raw, ['\\Seen']);
          return { path, uid: appended && typeof appended === 'object' ? appended.uid : undefined };
        });
        notes.push(`appended to ${res.path}${res.uid ? ` (uid ${res.uid})` : ''}`);
      } catch (e) {
        logger.warn({ outbox: mail.id, err: describeError(e) }, 'append to Sent failed');
        notes.push(`failed to append to Sent: ${describeError(e)}`);
      }
    }
    return notes.join('; ');
  };
  return { afterSent, close: () => conns.closeAll() };
}

export interface ImapRawLoader {
  readonly loadRaw: RawLoader;
  close(): Promise<void>;
}

/** Fetches a synced message's raw bytes from its IMAP placement (to read a bounce report in full). */
export function imapRawLoader(db: Db, options: { target: ImapTargetSource; logger?: Logger }): ImapRawLoader {
  const conns = new ImapConnections(options.target, options.logger ?? silentLogger);
  const loadRaw: RawLoader = async (messageRowId) => {
    const place = (
      await sql<{ account_id: number; path: string; uid: number }>`
        SELECT f.account_id, f.path, p.uid FROM message_placements p JOIN mail_folders f ON f.id = p.folder_id
         WHERE p.message_id = ${messageRowId} ORDER BY (f.role = 'inbox') DESC, p.uid DESC LIMIT 1`.execute(db.kysely)
    ).rows[0];
    if (!place) return null;
    return conns.with(Number(place.account_id), async (client) => {
      const lock = await client.getMailboxLock(place.path, { readOnly: true });
      try {
        const msg = await client.fetchOne(String(place.uid), { source: true }, { uid: true });
        return msg && msg.source ? Buffer.from(msg.source) : null;
      } finally {
        lock.release();
      }
    });
  };
  return { loadRaw, close: () => conns.closeAll() };
}
