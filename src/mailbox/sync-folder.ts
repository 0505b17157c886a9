import { sql, type Transaction } from 'kysely';
import type { Database } from '../db/schema.ts';
import { retryOnDeadlock } from '../db/deadlock.ts';
import type { ExpungeEvent, FetchMessageObject, FlagsEvent, ImapFlow, MailboxLockObject, MailboxObject } from 'imapflow';
import type { Db } from '../db/database.ts';
import type { Clock } from '../shared/clock.ts';
import type { Logger } from '../shared/logger.ts';
import { AppError } from '../shared/app-error.ts';
import type { ParsedBody, ParsedMessage } from './parsed-message.ts';
import { parseBody as parseBodyHere, parseHeaderFields, parseMessage } from './parse-message.ts';
import { fillBodies, messageByKey, storeMessages, type BodyFill, type StoredMessage, type StoreItem } from './store-messages.ts';
import type { SyncSettings } from './sync-settings.ts';

/** The per-folder cursor, plain data (saved in mail_folders). */
export interface FolderCursor {
  readonly uidValidity: number | null;
  readonly uidNext: number | null;
  readonly highestModseq: number | null;
}

export interface FolderRow extends FolderCursor {
  readonly id: number;
  readonly path: string;
  readonly messageCount: number;
  readonly lastSweepAt: Date | null;
}

export interface FolderProgress {
  readonly folder: string;
  readonly done: number;
  readonly total: number;
}

export type ParseFn = (raw: Buffer, internalDate: Date | null) => Promise<ParsedMessage>;
export type BodyParseFn = (raw: Buffer) => Promise<ParsedBody>;

export interface FolderSyncContext {
  readonly db: Db;
  readonly client: ImapFlow;
  readonly accountId: number;
  readonly us: ReadonlySet<string>;
  readonly settings: SyncSettings;
  readonly clock: Clock;
  readonly logger?: Logger | undefined;
  readonly onProgress?: ((p: FolderProgress) => void) | undefined;
  /** Defaults to parseMessage on this thread. */
  readonly parse?: ParseFn | undefined;
  /** The body of a message whose header fields the header pass stored. Defaults to `parse` when that is given, else parseBody on this thread. */
  readonly parseBody?: BodyParseFn | undefined;
  /** Test hook: called after each committed batch of either pass (a test kills the process here); `committed` counts the header pass's messages. */
  readonly afterBatch?: ((committed: number, pass: 'headers' | 'bodies') => void | Promise<void>) | undefined;
  /** Called once the folder has messages to fetch and parse, before the first fetch (the sync starts its parse workers here). */
  readonly warmParsers?: (() => void) | undefined;
  /** Stop after the header pass: threads and links are in, the bodies (and the cursor) wait for the next run. */
  readonly stopAfterHeaders?: boolean | undefined;
}

export interface FolderSyncResult {
  readonly folderId: number;
  readonly path: string;
  readonly unchanged: boolean;
  readonly reset: boolean;
  /** New UIDs handled (header pass, and messages without a Message-ID in the body pass). */
  readonly fetched: number;
  readonly created: number;
  /** Bodies filled in by the body pass (this run's header pass rows and any left by an earlier run). */
  readonly bodies: number;
  readonly flagsUpdated: number;
  readonly expunged: number;
  readonly serverCount: number;
  /**
   * How changes to messages already held were found: 'qresync' (the folder opened with
   * QRESYNC: VANISHED (EARLIER) and the changed flags came with the SELECT), 'condstore' (a
   * CHANGEDSINCE fetch for flags; expunges by the counts and the sweep), 'uids' (neither: new
   * UIDs above the cursor; flags and expunges by the sweep), or null (nothing held yet, or unchanged).
   */
  readonly resync: 'qresync' | 'condstore' | 'uids' | null;
  /** Whether this run listed every UID of the folder to find expunges (counts disagreed, or the periodic sweep was due). */
  readonly swept: boolean;
}

const CRLF = Buffer.from('\r\n');
/** The header pass's first batch, at most (see the batches in syncFolder). */
const FIRST_BATCH = 64;
/**
 * The header pass's batches, in body batches (batchSize): a header batch's store is a chain of some
 * twenty statements (threads, links, placements) whose turns wait on this thread's other work, and the
 * body pass waits for it. Measured in bench:sync (c) (batch 500): the header stores took 17.2-17.6 s of
 * a run at 500 messages a batch, 13.1-14.9 s at 1,500.
 */
const HEADER_BATCHES = 3;

/**
 * Placements of this folder whose message still waits for its body (BODY_PENDING_SQL), newest first: from
 * the waiting rows (messages_body_pending_idx), each looked up in the folder by (message, folder).
 */
export function waitingBodiesQuery(folderId: number) {
  return sql<{ uid: number; id: number; message_id: string; content_hash: string }>`
    SELECT p.uid, m.id, m.message_id, m.content_hash FROM messages m JOIN message_placements p ON p.message_id = m.id
     WHERE m.body_state = 'headers' AND m.parse_error IS NULL AND p.folder_id = ${folderId}
     ORDER BY p.uid DESC`;
}

/** Which of these messages are already stored with their body, or never get one (over the size limit): no body fetch for them. */
async function storedWhole(db: Db, parsed: ReadonlyArray<ParsedMessage>): Promise<Set<string>> {
  if (parsed.length === 0) return new Set();
  const rows = await sql<{ message_id: string; content_hash: string }>`
    SELECT m.message_id, m.content_hash FROM unnest(${sql.val(parsed.map((p) => p.messageId))}::text[], ${sql.val(parsed.map((p) => p.contentHash))}::text[]) AS v(mid, h)
      CROSS JOIN LATERAL (${messageByKey(sql`v.mid`, sql`v.h`)}) m
     WHERE NOT (m.body_state = 'headers' AND m.parse_error IS NULL)`.execute(db.kysely);
  return new Set(rows.rows.map((r) => `${r.message_id}\u0000${r.content_hash}`));
}

const num = (v: bigint | number | undefined | null): number | null => (v === undefined || v === null ? null : Number(v));

/** The message's flags, without \Recent (it belongs to one IMAP session, not to the message). */
function flagList(flags: Set<string> | undefined): string[] {
  return flags ? [...flags].filter((f) => f !== '\\Recent').sort() : [];
}

/** Compresses sorted-or-not UIDs to an IMAP sequence set. */
export function uidSet(uids: ReadonlyArray<number>): string {
  const s = [...uids].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < s.length; ) {
    let j = i;
    while (j + 1 < s.length && (s[j + 1] as number) === (s[j] as number) + 1) j++;
    parts.push(i === j ? String(s[i]) : `${s[i]}:${s[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

async function folderRow(db: Db, id: number): Promise<FolderRow> {
  const r = await db.kysely.selectFrom('mail_folders').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  return { id: r.id, path: r.path, uidValidity: r.uid_validity, uidNext: r.uid_next, highestModseq: r.highest_modseq, messageCount: r.message_count, lastSweepAt: r.last_sweep_at };
}

/**
 * Syncs one folder from its cursor. New messages are fetched newest first in
 * batches; each batch (messages, placements, threads, links) commits in one
 * transaction, so a crash resumes with the placements as the record of what
 * is done: nothing lost, nothing twice. The cursor (uidNext, highestModseq)
 * moves only when the folder is complete. A UIDVALIDITY change drops the
 * folder's placements and refetches (messages dedupe, so none doubles).
 */
export async function syncFolder(ctx: FolderSyncContext, folderId: number): Promise<FolderSyncResult> {
  const { db, client, settings } = ctx;
  const parse: ParseFn = ctx.parse ?? ((raw, internalDate) => parseMessage(raw, { internalDate }));
  const parseBody: BodyParseFn = ctx.parseBody ?? (ctx.parse ? (raw) => parse(raw, null) : parseBodyHere);
  let folder = await folderRow(db, folderId);
  const condstore = client.capabilities.has('CONDSTORE') || client.capabilities.has('QRESYNC');
  const status = await client.status(folder.path, { messages: true, uidNext: true, uidValidity: true, ...(condstore ? { highestModseq: true } : {}) });
  if (!status) throw new AppError('IMAP_FOLDER_GONE', `folder ${folder.path}: the server gave no STATUS`);
  const uidValidity = num(status.uidValidity);
  const uidNext = num(status.uidNext);
  const modseq = num(status.highestModseq);
  const serverCount = status.messages ?? 0;
  let reset = false;

  if (folder.uidValidity !== null && uidValidity !== null && folder.uidValidity !== uidValidity) {
    ctx.logger?.info({ folder: folder.path, from: folder.uidValidity, to: uidValidity }, 'UIDVALIDITY changed: rebuilding the folder');
    await db.kysely.transaction().execute(async (trx) => {
      await trx.deleteFrom('message_placements').where('folder_id', '=', folderId).execute();
      await trx.updateTable('mail_folders').set({ uid_validity: uidValidity, uid_next: null, highest_modseq: null, message_count: 0 }).where('id', '=', folderId).execute();
    });
    reset = true;
    folder = await folderRow(db, folderId);
  } else if (folder.uidValidity === null && uidValidity !== null) {
    await db.kysely.updateTable('mail_folders').set({ uid_validity: uidValidity }).where('id', '=', folderId).execute();
  }

  const now = ctx.clock.now();
  const sweepDue = !folder.lastSweepAt || now.getTime() - folder.lastSweepAt.getTime() >= settings.sweepMinutes * 60_000;
  let unchanged =
    !reset && folder.uidNext !== null && folder.uidNext === uidNext && (!condstore || (folder.highestModseq !== null && folder.highestModseq === modseq)) && folder.messageCount === serverCount && !sweepDue;
  // a run stopped between the passes left bodies to fetch
  if (unchanged && (await sql`SELECT 1 FROM messages m WHERE m.body_state = 'headers' AND m.parse_error IS NULL AND EXISTS (SELECT 1 FROM message_placements p WHERE p.message_id = m.id AND p.folder_id = ${folderId}) LIMIT 1`.execute(db.kysely)).rows.length > 0) unchanged = false;
  if (unchanged) {
    await db.kysely.updateTable('mail_folders').set({ last_success_at: now, server_count: serverCount, last_error: null }).where('id', '=', folderId).execute();
    return { folderId, path: folder.path, unchanged: true, reset, fetched: 0, created: 0, bodies: 0, flagsUpdated: 0, expunged: 0, serverCount, resync: null, swept: false };
  }

  let flagsUpdated = 0;
  let expunged = 0;
  // QRESYNC (RFC 7162): the folder is opened with the UIDVALIDITY and HIGHESTMODSEQ we hold, and
  // the server answers within the SELECT with VANISHED (EARLIER) for the UIDs expunged since and
  // a FETCH of the flags of every message changed since. imapflow reports both as events, which
  // are collected here: the flags while the folder opens, the expunges for as long as it is open
  // (another session expunging meanwhile is reported by VANISHED too once QRESYNC is enabled).
  // A folder that is already selected on this connection is not opened again, and gets no
  // QRESYNC answer: it takes the CONDSTORE way.
  const held = folder.uidValidity !== null && folder.uidNext !== null && !reset;
  const askQresync = held && folder.highestModseq !== null && client.enabled.has('QRESYNC');
  // (kept with their path: only the folder's own count, by the path imapflow opened, known once it has)
  const vanishedEvents: { path: string; uid: number }[] = [];
  const flagEvents: { path: string; uid: number; flags: string[]; modseq: number | null }[] = [];
  let opening = true;
  const onExpunge = (e: ExpungeEvent): void => {
    if (e.vanished && e.uid !== undefined) vanishedEvents.push({ path: e.path, uid: e.uid });
  };
  const onFlags = (e: FlagsEvent): void => {
    if (opening && e.uid !== undefined) flagEvents.push({ path: e.path, uid: e.uid, flags: flagList(e.flags), modseq: num(e.modseq) });
  };
  client.on('expunge', onExpunge);
  client.on('flags', onFlags);
  let lock: MailboxLockObject;
  try {
    lock = await client.getMailboxLock(folder.path, { readOnly: true, ...(askQresync ? { uidValidity: BigInt(folder.uidValidity as number), changedSince: BigInt(folder.highestModseq as number) } : {}) });
  } catch (e) {
    client.off('expunge', onExpunge);
    client.off('flags', onFlags);
    throw e;
  }
  opening = false;
  try {
    const box = client.mailbox === false ? null : client.mailbox;
    const qresync = askQresync && box !== null && (box as MailboxObject & { qresync?: boolean }).qresync === true;
    const resync = !held ? null : qresync ? 'qresync' : condstore ? 'condstore' : 'uids';
    // the flags changed since the last run, as the SELECT answered them: before the header pass,
    // whose own FETCH of the new messages' flags is newer
    if (qresync) flagsUpdated += await updateFlags(db, folderId, dedupeUid(flagEvents.filter((e) => e.path === lock.path)));
    const exists = box?.exists ?? serverCount;
    // The cursor saved at the end is what the server said at SELECT, copied now: imapflow
    // raises the live mailbox's highestModseq on every unsolicited FETCH, and a flag change
    // made by another session during this run must still be seen by the next CHANGEDSINCE.
    const selectedNext = num(box?.uidNext);
    const selectedModseq = box && 'highestModseq' in box ? num(box.highestModseq) : null;
    const start = folder.uidNext ?? 1;
    let serverUids: number[] = [];
    if (exists > 0) {
      const found = await client.search(start <= 1 ? { all: true } : { uid: `${start}:*` }, { uid: true });
      serverUids = (found || []).filter((u) => u >= start);
    }
    const known = new Set(
      (await db.kysely.selectFrom('message_placements').select('uid').where('folder_id', '=', folderId).where('uid', '>=', start).execute()).map((r) => r.uid),
    );
    const todo = serverUids.filter((u) => !known.has(u)).sort((a, b) => b - a);
    const gmail = client.capabilities.has('X-GM-EXT-1');
    const ids = gmail ? { threadId: true, emailId: true } : {};
    // Gmail's ids, from Gmail alone: imapflow asks a server with OBJECTID (RFC 8474) for its EMAILID
    // unbidden and reports it as emailId too, which is not Gmail's X-GM-MSGID
    const gmIds = (m: FetchMessageObject): { gmThrid: string | null; gmMsgid: string | null } =>
      gmail ? { gmThrid: m.threadId ?? null, gmMsgid: m.emailId ?? null } : { gmThrid: null, gmMsgid: null };
    const counts = { fetched: 0, created: 0, bodies: 0 };

    // Body work: first the rows of this folder still waiting for their body (a run
    // stopped between the passes), then what the header pass finds as it goes. A message
    // is queued once (one fetch a message even when the folder holds it twice), and not
    // at all when it is already stored whole (another folder, an earlier import).
    interface BodyJob {
      readonly uid: number;
      /**
       * The row to fill, known once the header batch that stores it has committed (its
       * body is fetched and parsed meanwhile); null when that row needs no body after all.
       * The job itself is null for a message without a Message-ID, stored whole here.
       */
      readonly row: Promise<number | null> | null;
    }
    const queue: BodyJob[] = [];
    const queuedKeys = new Set<string>();
    const keyOf = (p: ParsedMessage): string => `${p.messageId}\u0000${p.contentHash}`;
    const waiting = ctx.stopAfterHeaders ? [] : (await waitingBodiesQuery(folderId).execute(db.kysely)).rows;
    for (const r of waiting) {
      const k = `${r.message_id}\u0000${r.content_hash}`;
      if (queuedKeys.has(k)) continue;
      queuedKeys.add(k);
      queue.push({ uid: Number(r.uid), row: Promise.resolve(Number(r.id)) });
    }
    const total = todo.length + queue.length;
    if (total > 0 && !ctx.stopAfterHeaders) ctx.warmParsers?.();
    let done = 0;
    ctx.onProgress?.({ folder: folder.path, done: 0, total });
    const progress = (n: number): void => {
      done += n;
      ctx.onProgress?.({ folder: folder.path, done: Math.min(done, total), total });
    };

    let headersDone = false;
    let failed = false;
    let wake: (() => void) | null = null;
    const signal = (): void => {
      const w = wake;
      wake = null;
      w?.();
    };

    // Header pass, newest first: the header block (BODY.PEEK[HEADER], no body), flags, INTERNALDATE
    // and size in bulk. Not HEADER.FIELDS: the fields threading, linking, triage and bounce
    // handling read are 44 names (KEPT_HEADERS and the address fields), and measured on the
    // bench, imapflow (which compiles the 44-name section key of every answer back to text)
    // and Dovecot spent more on that list than on the 1-2 KB of Received and DKIM lines it saves.
    // The header is read on this thread (parseHeaderFields: cheap), stored with placements, threads and
    // links in one transaction a batch. While batch n is stored, batch n+1 is fetched, and
    // the bodies batch n needs are already being fetched and parsed by the body pass.
    // The first batches are small and grow to batchSize (64, 128, 256...): the body pass cannot start
    // before the first header batch is fetched and read, and at the start of a run that is slow (no code
    // of this thread optimized yet: the first 500 headers took ~0.7 s in bench:sync (c), against ~50 ms later).
    const chunks: number[][] = [];
    const headerBatch = settings.batchSize * HEADER_BATCHES;
    for (let i = 0, size = Math.min(headerBatch, FIRST_BATCH); i < todo.length; i += size, size = Math.min(headerBatch, size * 2)) chunks.push(todo.slice(i, i + size));
    interface HeaderBatch {
      readonly items: StoreItem[];
      readonly noId: number[];
      readonly asked: number;
      /** Resolved with the stored rows when the batch commits. */
      readonly committed: { resolve(rows: StoredMessage[]): void; reject(e: unknown): void };
    }
    const loadHeaders = async (chunk: number[]): Promise<HeaderBatch> => {
      // A FETCH answer can carry unsolicited FETCH responses for other messages (flags another
      // session changed meanwhile): only the UIDs asked for, with the part asked for, are ours.
      const asked = new Set(chunk);
      const rows = dedupeUid((await client.fetchAll(uidSet(chunk), { uid: true, flags: true, internalDate: true, size: true, headers: true, ...ids }, { uid: true })).filter((m) => asked.has(m.uid) && m.headers !== undefined));
      const out = rows.map((m): StoreItem | number => {
        const internalDate = m.internalDate ? new Date(m.internalDate) : null;
        const head = parseHeaderFields(Buffer.concat([m.headers ?? Buffer.alloc(0), CRLF]), { internalDate });
        const size = m.size ?? head.size;
        const base = { internalDate, placement: { folderId, uid: m.uid, flags: flagList(m.flags), modseq: num(m.modseq) }, ...gmIds(m) };
        if (size > settings.maxMessageBytes) return { ...base, parsed: { ...head, size, parseError: `message of ${m.size ?? '?'} bytes is over mailbox.maxMessageBytes: headers only` }, headersOnly: true };
        // Without a Message-ID the dedupe key is a hash of the body: such a message waits for the body pass, stored whole there.
        if (!head.hasMessageId) return m.uid;
        return { ...base, parsed: { ...head, size, parseError: null }, bodyPending: true };
      });
      const items = out.filter((x): x is StoreItem => typeof x !== 'number');
      const noId = out.filter((x): x is number => typeof x === 'number');
      let resolveRows: (rows: StoredMessage[]) => void = () => undefined;
      let rejectRows: (e: unknown) => void = () => undefined;
      const stored = new Promise<StoredMessage[]>((res, rej) => {
        resolveRows = res;
        rejectRows = rej;
      });
      stored.catch(() => undefined);
      let settled = chunk.length - items.length - noId.length; // gone meanwhile
      if (ctx.stopAfterHeaders) settled += items.length;
      else {
        const whole = await storedWhole(db, items.filter((it) => it.bodyPending).map((it) => it.parsed));
        items.forEach((it, i) => {
          const k = keyOf(it.parsed);
          if (!it.bodyPending || whole.has(k) || queuedKeys.has(k)) {
            settled++;
            return;
          }
          queuedKeys.add(k);
          const row = stored.then((rows) => (rows[i]?.bodyPending ? rows[i].rowId : null));
          // a body job dropped when the run stops (connection lost) never awaits its row: not an unhandled rejection
          row.catch(() => undefined);
          queue.push({ uid: it.placement?.uid as number, row });
        });
        for (const uid of noId) queue.push({ uid, row: null });
        signal();
      }
      progress(settled);
      return { items, noId, asked: chunk.length, committed: { resolve: resolveRows, reject: rejectRows } };
    };
    const headerPass = async (): Promise<void> => {
      let pending: Promise<HeaderBatch> | null = chunks[0] ? loadHeaders(chunks[0]) : null;
      pending?.catch(() => undefined);
      try {
        for (let c = 0; c < chunks.length && !failed; c++) {
          const h = await (pending as Promise<HeaderBatch>);
          pending = chunks[c + 1] ? loadHeaders(chunks[c + 1] as number[]) : null;
          pending?.catch(() => undefined);
          try {
            const res = await storeMessages(db, h.items, {
              accountId: ctx.accountId,
              us: ctx.us,
              subjectWindowDays: settings.subjectWindowDays,
              inTransaction: async (trx) => {
                await sql`UPDATE mail_folders SET message_count = (SELECT count(*) FROM message_placements WHERE folder_id = ${folderId}) WHERE id = ${folderId}`.execute(trx);
              },
            });
            h.committed.resolve(res.messages);
            counts.fetched += h.items.length + h.noId.length;
            counts.created += res.created;
          } catch (e) {
            h.committed.reject(e);
            throw e;
          }
          await ctx.afterBatch?.(counts.fetched, 'headers');
        }
      } finally {
        // a batch loaded but never stored (the run stopped on a failure): its bodies must not wait for it
        if (pending) void pending.then((h) => h.committed.reject(new Error('header batch not stored')), () => undefined);
      }
    };

    // Body pass: full sources of the queued messages, parsed on the workers, filled in
    // place (fillBodies, one transaction a batch); messages without a Message-ID are stored whole. It runs
    // alongside the header pass (the fetches share the connection, the writes take turns),
    // and is also the resume rule: a row still waiting is fetched by the next run.
    const nextJobs = async (): Promise<BodyJob[] | null> => {
      for (;;) {
        if (failed) return null;
        if (queue.length > 0) return queue.splice(0, settings.batchSize);
        if (headersDone) return null;
        await new Promise<void>((r) => {
          wake = r;
        });
      }
    };
    /** A body batch's sources, each sent to a parser as it arrives: done when they are all in (the parses go on). */
    const fetchBodies = async (jobs: BodyJob[]) => {
      const byUid = new Map(jobs.map((j) => [j.uid, j]));
      // Each source goes to a parser as soon as it arrives, so the workers parse while the rest
      // of the batch is still coming in (parse never rejects: a failure comes back as a parse error).
      const parsing = new Map<number, Promise<{ m: FetchMessageObject; raw: Buffer; internalDate: Date | null; p: ParsedMessage | ParsedBody }>>();
      // flags, INTERNALDATE and Gmail's ids are stored with a row: only a message stored whole here needs them
      const anyWhole = jobs.some((j) => j.row === null);
      for await (const m of client.fetch(uidSet([...byUid.keys()]), anyWhole ? { uid: true, flags: true, internalDate: true, source: true, ...ids } : { uid: true, source: true }, { uid: true })) {
        if (!byUid.has(m.uid) || m.source === undefined) continue;
        const internalDate = m.internalDate ? new Date(m.internalDate) : null;
        const raw = m.source;
        // the last answer per UID counts (a message can be answered twice when its flags changed meanwhile)
        // a row stored by the header pass needs its body alone; a message without a Message-ID is read whole
        const job = byUid.get(m.uid) as BodyJob;
        parsing.set(m.uid, (job.row === null ? parse(raw, internalDate) : parseBody(raw)).then((p) => ({ m, raw, internalDate, p })));
      }
      return { jobs, byUid, parsing };
    };
    /** The batch once its sources are parsed and its rows stored by the header pass: what storeBodies writes. */
    const finishBodies = async ({ jobs, byUid, parsing }: Awaited<ReturnType<typeof fetchBodies>>): Promise<{ fills: BodyFill[]; whole: StoreItem[]; missing: number[]; goneUids: number[]; asked: number }> => {
      const got = new Set(parsing.keys());
      const fills: BodyFill[] = [];
      const whole: StoreItem[] = [];
      const parsed = await Promise.all(parsing.values());
      // the rows exist once their header batches have committed
      const rowOf = new Map(await Promise.all(jobs.map(async (j) => [j.uid, j.row === null ? null : await j.row] as const)));
      for (const { m, raw, internalDate, p } of parsed) {
        const job = byUid.get(m.uid) as BodyJob;
        const rowId = rowOf.get(m.uid) ?? null;
        if (job.row !== null) {
          if (rowId !== null) fills.push({ rowId, parsed: p, raw });
        } else whole.push({ parsed: p as ParsedMessage, raw, internalDate, placement: { folderId, uid: m.uid, flags: flagList(m.flags), modseq: num(m.modseq) }, ...gmIds(m) });
      }
      const missing = jobs.filter((j) => !got.has(j.uid) && rowOf.get(j.uid) != null);
      // a UID that answered nothing: expunged since the header pass, or not? ask once
      const stillThere = missing.length === 0 ? [] : ((await client.search({ uid: uidSet(missing.map((j) => j.uid)) }, { uid: true })) || []);
      const gone = missing.filter((j) => !stillThere.includes(j.uid));
      return { fills, whole, missing: gone.map((j) => rowOf.get(j.uid) as number), goneUids: gone.map((j) => j.uid), asked: jobs.length };
    };
    const storeBodies = async (b: Awaited<ReturnType<typeof finishBodies>>): Promise<void> => {
      const fill = async (trx: Transaction<Database>): Promise<number> => {
        const n = await fillBodies(trx, b.fills);
        if (b.missing.length > 0) {
          // gone before its body came: kept with its headers, marked, unless another copy (another folder, another UID) still holds it
          await sql`UPDATE messages m SET parse_error = 'expunged from the server before its body was fetched'
            WHERE m.id = ANY(${sql.val(b.missing)}::bigint[]) AND m.body_state = 'headers' AND m.parse_error IS NULL
              AND NOT EXISTS (SELECT 1 FROM message_placements p WHERE p.message_id = m.id AND (p.folder_id <> ${folderId} OR p.uid <> ALL(${sql.val(b.goneUids)}::bigint[])))`.execute(trx);
        }
        return n;
      };
      if (b.whole.length === 0) {
        // Bodies alone touch no thread: they go without the threading lock, alongside the header
        // pass's next batch. A merge in that batch can update rows this fill holds (and the other
        // way round): PostgreSQL then aborts one with a deadlock, and the fill, idempotent, runs again.
        counts.bodies += await retryOnDeadlock(() => db.kysely.transaction().execute(fill));
      } else {
        const res = await storeMessages(db, b.whole, {
          accountId: ctx.accountId,
          us: ctx.us,
          subjectWindowDays: settings.subjectWindowDays,
          inTransaction: async (trx) => {
            counts.bodies += await fill(trx);
            await sql`UPDATE mail_folders SET message_count = (SELECT count(*) FROM message_placements WHERE folder_id = ${folderId}) WHERE id = ${folderId}`.execute(trx);
          },
        });
        counts.created += res.created;
      }
      progress(b.asked);
      await ctx.afterBatch?.(counts.fetched, 'bodies');
    };
    const bodyPass = async (): Promise<void> => {
      let fetching: ReturnType<typeof fetchBodies> | null = null;
      // the fill of the batch before, under way while this one is fetched and parsed (fills take turns, in order)
      let storing: Promise<void> = Promise.resolve();
      try {
        for (;;) {
          if (!fetching) {
            const jobs = await nextJobs();
            if (!jobs) break;
            fetching = fetchBodies(jobs);
          }
          // The next batch's FETCH goes as soon as this one's sources are in, and a batch's fill runs while
          // the next ones are fetched and parsed: the parse worker always has sources queued. With fetch,
          // parse and fill one after the other, the worker waited 50-300 ms at every batch, ~30% of its
          // time in bench:sync (c), while the fill (~0.25 s a batch of 500 there) held up the next FETCH.
          const fetched = await fetching;
          fetching = queue.length > 0 && !failed ? fetchBodies(queue.splice(0, settings.batchSize)) : null;
          fetching?.catch(() => undefined);
          const b = await finishBodies(fetched);
          await storing;
          storing = storeBodies(b);
          storing.catch(() => undefined);
        }
        await storing;
      } finally {
        // a run that fails here ends only once the fill under way has (it is not left running into the next run)
        await storing.catch(() => undefined);
      }
    };

    const passes = await Promise.allSettled([
      headerPass().finally(() => {
        headersDone = true;
        signal();
      }),
      ctx.stopAfterHeaders ? Promise.resolve() : bodyPass(),
    ].map((p) =>
      p.catch((e: unknown) => {
        failed = true;
        signal();
        throw e;
      }),
    ));
    for (const p of passes) if (p.status === 'rejected') throw p.reason;
    const fetched = counts.fetched;
    const created = counts.created;
    if (ctx.stopAfterHeaders) {
      // the cursor stays: the next run fetches the bodies (and the messages without a Message-ID)
      return { folderId, path: folder.path, unchanged: false, reset, fetched, created, bodies: 0, flagsUpdated, expunged, serverCount: exists, resync, swept: false };
    }
    ctx.onProgress?.({ folder: folder.path, done: total, total });

    // What another session changed while this run fetched: the server tells a session of expunges only with
    // the answer to one of its commands, and the last FETCH may have been answered before them. A NOOP
    // asks, so those are found by this run rather than the next.
    await client.noop();
    // the server's count as it stands now (VANISHED and EXPUNGE answers lower it as they come)
    const liveExists = (): number => (client.mailbox === false ? exists : client.mailbox.exists);
    // flag changes on messages we already had (with QRESYNC they came with the SELECT). All UIDs:
    // the new ones answer too, and their flags from this FETCH are newer than the header pass's.
    // Not in an empty folder: some servers answer a FETCH of 1:* there with an error.
    const oldModseq = folder.highestModseq;
    if (resync === 'condstore' && oldModseq !== null && modseq !== null && modseq > oldModseq && liveExists() > 0) {
      const changed = await client.fetchAll('1:*', { uid: true, flags: true }, { uid: true, changedSince: BigInt(oldModseq) });
      flagsUpdated += await updateFlags(db, folderId, dedupeUid(changed).map((m) => ({ uid: m.uid, flags: flagList(m.flags), modseq: num(m.modseq) })));
    }

    // expunges reported by VANISHED (QRESYNC: those since the last run, and any while this one ran)
    const vanished = [...new Set(vanishedEvents.filter((e) => e.path === lock.path).map((e) => e.uid))];
    if (vanished.length > 0) {
      const res = await db.kysely.deleteFrom('message_placements').where('folder_id', '=', folderId).where(sql<boolean>`uid = ANY(${sql.val(vanished)}::bigint[])`).executeTakeFirst();
      expunged += Number(res.numDeletedRows);
    }

    // expunges not reported (and, without CONDSTORE, flags): a sweep when the counts disagree or it is due
    const placed = await db.kysely.selectFrom('message_placements').select(sql<number>`count(*)::int`.as('n')).where('folder_id', '=', folderId).executeTakeFirstOrThrow();
    const currentExists = liveExists();
    let swept = false;
    if (placed.n !== currentExists || sweepDue) {
      const all = currentExists === 0 ? [] : ((await client.search({ all: true }, { uid: true })) || []);
      const res = await db.kysely.deleteFrom('message_placements').where('folder_id', '=', folderId).where(sql<boolean>`uid <> ALL(${sql.val(all)}::bigint[])`).executeTakeFirst();
      expunged += Number(res.numDeletedRows);
      if (!condstore && all.length > 0) {
        const flags = await client.fetchAll('1:*', { uid: true, flags: true }, { uid: true });
        flagsUpdated += await updateFlags(db, folderId, flags.map((m) => ({ uid: m.uid, flags: flagList(m.flags), modseq: null })));
      }
      swept = true;
    }

    // the cursor moves only now: everything below uidNext is stored
    const finalNext = selectedNext ?? uidNext;
    const finalModseq = selectedModseq ?? modseq;
    await sql`UPDATE mail_folders SET
        uid_next = ${finalNext}, highest_modseq = ${finalModseq}, uid_validity = ${uidValidity},
        message_count = (SELECT count(*) FROM message_placements WHERE folder_id = ${folderId}),
        server_count = ${currentExists}, last_success_at = ${ctx.clock.now()}, last_error = NULL,
        last_sweep_at = CASE WHEN ${swept} THEN ${ctx.clock.now()} ELSE last_sweep_at END
      WHERE id = ${folderId}`.execute(db.kysely);
    return { folderId, path: folder.path, unchanged: false, reset, fetched, created, bodies: counts.bodies, flagsUpdated, expunged, serverCount: currentExists, resync, swept };
  } finally {
    lock.release();
    client.off('expunge', onExpunge);
    client.off('flags', onFlags);
  }
}

/** The last answer per UID (a message can be answered twice when its flags changed meanwhile). */
function dedupeUid<T extends { uid: number }>(rows: T[]): T[] {
  return [...new Map(rows.map((r) => [r.uid, r])).values()];
}

async function updateFlags(db: Db, folderId: number, rows: ReadonlyArray<{ uid: number; flags: string[]; modseq: number | null }>): Promise<number> {
  if (rows.length === 0) return 0;
  let n = 0;
  for (let i = 0; i < rows.length; i += 1000) {
    const chunk = rows.slice(i, i + 1000);
    const res = await sql`
      UPDATE message_placements p SET flags = v.flags, modseq = COALESCE(v.modseq, p.modseq)
      FROM (SELECT unnest(${sql.val(chunk.map((r) => r.uid))}::bigint[]) AS uid,
                   unnest(${sql.val(chunk.map((r) => JSON.stringify(r.flags)))}::text[]) AS flags_json,
                   unnest(${sql.val(chunk.map((r) => r.modseq))}::bigint[]) AS modseq) v0
      CROSS JOIN LATERAL (SELECT v0.uid, ARRAY(SELECT jsonb_array_elements_text(v0.flags_json::jsonb)) AS flags, v0.modseq) v
      WHERE p.folder_id = ${folderId} AND p.uid = v.uid AND p.flags IS DISTINCT FROM v.flags`.execute(db.kysely);
    n += Number(res.numAffectedRows ?? 0);
  }
  return n;
}
