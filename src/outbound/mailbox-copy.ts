import type { ImapFlow } from 'imapflow';
import { sql, type Kysely } from 'kysely';
import type { Db } from '../db/database.ts';
import type { Database } from '../db/schema.ts';
import { importMessage } from '../mailbox/index.ts';
import { pickFolders } from '../mailbox/folder-roles.ts';
import { connectImap, translateImapError, type ImapTarget } from '../mailbox/imap-connect.ts';
import { describeError } from '../shared/app-error.ts';
import { systemClock, type Clock } from '../shared/clock.ts';
import { silentLogger, type Logger } from '../shared/logger.ts';
import type { RawLoader } from './bounces.ts';
import type { ClaimedMail } from './claim.ts';
import type { AfterSent } from './sender.ts';
import { backoffMs } from './throttle-math.ts';

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
  /** Appends the kept copies whose earlier append failed and whose next attempt is due (the sender calls it every few seconds). */
  retry(): Promise<SentCopyRetry>;
  close(): Promise<void>;
}

export interface SentCopyRetry {
  /** Now in Sent: appended, or found there already (an earlier append that landed although its answer was lost). */
  readonly appended: number;
  readonly failed: number;
  /** Dropped after the last attempt (noted on the outbox row). */
  readonly gaveUp: number;
}

export interface SentCopyOptions {
  readonly target: ImapTargetSource;
  readonly logger?: Logger;
  readonly clock?: Clock;
  /** Backoff between attempts (default 60 s doubling to 1 h) and how many attempts in all (default 48: about two days). */
  readonly retry?: { readonly baseSeconds?: number; readonly maxSeconds?: number; readonly maxAttempts?: number };
}

/** How long a process holds a copy it is appending before another process may try it. */
const RETRY_LEASE_MS = 5 * 60_000;
/** A retry pass takes at most this many copies, and starts no new one after this long (the rest wait for the next pass). */
const RETRY_PER_PASS = 50;
const RETRY_PASS_MS = 60_000;

/** Appends raw to the account's Sent folder, unless a message with this Message-ID is there already (checked on a retry). */
async function appendToSent(db: Db, client: ImapFlow, accountId: number, raw: Buffer, checkFirst: string | null): Promise<{ path: string; uid: number | undefined; found: boolean }> {
  const path = await sentFolderPath(db, client, accountId);
  if (checkFirst !== null) {
    const lock = await client.getMailboxLock(path, { readOnly: true });
    try {
      // the header holds the id in angle brackets; searching with them keeps <xa@b.com> from matching a@b.com
      const uids = await client.search({ header: { 'message-id': `<${checkFirst}>` } }, { uid: true });
      if (uids && uids.length > 0) return { path, uid: uids[0], found: true };
    } finally {
      lock.release();
    }
  }
  const appended = await client.append(path, raw, ['\\Seen']);
  return { path, uid: appended && typeof appended === 'object' ? appended.uid : undefined, found: false };
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
 *  3. A copy that could not be appended is kept with its bytes
 *     (outbound_sent_copies) and retried with backoff; before each retry the
 *     Sent folder is searched for its Message-ID, so an append that landed
 *     although its answer was lost is not made twice.
 * The note returned is stored in outbox.sent_copy; a failure is noted there,
 * never thrown (the mail itself went out).
 */
export function sentCopy(db: Db, options: SentCopyOptions): SentCopy {
  const logger = options.logger ?? silentLogger;
  const clock = options.clock ?? systemClock;
  const base = options.retry?.baseSeconds ?? 60;
  const max = options.retry?.maxSeconds ?? 3600;
  const maxAttempts = options.retry?.maxAttempts ?? 48;
  const nextAttempt = (attempts: number): Date => new Date(clock.now().getTime() + backoffMs(attempts, base, max, 0.5));
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
        const res = await conns.with(mail.accountId, (client) => appendToSent(db, client, mail.accountId, raw, null));
        notes.push(`appended to ${res.path}${res.uid ? ` (uid ${res.uid})` : ''}`);
      } catch (e) {
        logger.warn({ outbox: mail.id, err: describeError(e) }, 'append to Sent failed; kept to try again');
        let kept = true;
        try {
          await db.kysely
            .insertInto('outbound_sent_copies')
            .values({ outbox_id: mail.id, account_id: mail.accountId, message_id: mail.messageId, raw, attempts: 1, next_attempt_at: nextAttempt(1), last_error: describeError(e) })
            .onConflict((oc) => oc.column('outbox_id').doNothing())
            .execute();
        } catch {
          kept = false;
        }
        notes.push(`failed to append to Sent: ${describeError(e)}${kept ? '; will try again' : ''}`);
      }
    }
    return notes.join('; ');
  };
  const retry = async (): Promise<SentCopyRetry> => {
    let appended = 0;
    let failed = 0;
    let gaveUp = 0;
    const started = Date.now();
    // accounts whose server failed in this pass: their other copies wait for the next pass
    const down: number[] = [];
    for (let n = 0; n < RETRY_PER_PASS && Date.now() - started < RETRY_PASS_MS; n++) {
      const now = clock.now();
      const held = new Date(now.getTime() + RETRY_LEASE_MS);
      // one copy at a time, each under its own lease (its next attempt pushed on): another sender never takes a
      // copy this one is appending, and every write below holds only while the lease is still this pass's
      const row = (
        await sql<{ outbox_id: number; account_id: number; message_id: string; attempts: number }>`
          UPDATE outbound_sent_copies SET next_attempt_at = ${held}
           WHERE outbox_id = (SELECT outbox_id FROM outbound_sent_copies WHERE next_attempt_at <= ${now} AND account_id <> ALL(${sql.val(down)}::bigint[])
                               ORDER BY next_attempt_at LIMIT 1 FOR UPDATE SKIP LOCKED)
          RETURNING outbox_id, account_id, message_id, attempts`.execute(db.kysely)
      ).rows[0];
      if (!row) break;
      const mine = (trx: Kysely<Database>) => trx.selectFrom('outbound_sent_copies').select('outbox_id').where('outbox_id', '=', row.outbox_id).where('next_attempt_at', '=', held);
      /** The copy's end (in Sent, or given up): its row goes and the outbox row says so, unless the lease ran out and another sender took the copy (its word counts). */
      const settle = (event: string, what: string): Promise<void> =>
        db.kysely.transaction().execute(async (trx) => {
          const gone = await trx.deleteFrom('outbound_sent_copies').where('outbox_id', 'in', mine(trx)).executeTakeFirst();
          if (Number(gone.numDeletedRows) === 0) return;
          await sql`UPDATE outbox SET sent_copy = concat_ws('; ', sent_copy, ${what}::text) WHERE id = ${row.outbox_id}`.execute(trx);
          await trx.insertInto('outbox_events').values({ outbox_id: row.outbox_id, at: clock.now(), event, detail: what }).execute();
        });
      const attempt = row.attempts + 1;
      const accountId = Number(row.account_id);
      try {
        const raw = (await db.kysely.selectFrom('outbound_sent_copies').select('raw').where('outbox_id', '=', row.outbox_id).executeTakeFirst())?.raw;
        if (!raw) continue;
        const res = await conns.with(accountId, (client) => appendToSent(db, client, accountId, Buffer.from(raw), row.message_id));
        const what = `${res.found ? 'found in' : 'appended to'} ${res.path}${res.uid ? ` (uid ${res.uid})` : ''} on attempt ${attempt}`;
        await settle('copied to Sent', what);
        appended += 1;
      } catch (e) {
        const words = describeError(e);
        down.push(accountId);
        logger.warn({ outbox: row.outbox_id, attempt, err: words }, 'append to Sent failed again');
        if (attempt >= maxAttempts) {
          await settle('no copy in Sent', `gave up appending to Sent after ${attempt} attempts: ${words}`);
          gaveUp += 1;
        } else {
          await db.kysely
            .updateTable('outbound_sent_copies')
            .set({ attempts: attempt, next_attempt_at: nextAttempt(attempt), last_error: words })
            .where('outbox_id', 'in', mine(db.kysely))
            .execute();
          failed += 1;
        }
      }
    }
    return { appended, failed, gaveUp };
  };
  return { afterSent, retry, close: () => conns.closeAll() };
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
