import { sql } from 'kysely';
import type { ImapFlow } from 'imapflow';
import type { Db } from '../db/database.ts';
import type { Clock } from '../shared/clock.ts';
import type { Logger } from '../shared/logger.ts';
import { AppError } from '../shared/app-error.ts';
import { parseMessage } from './parse-message.ts';
import type { ParsedMessage } from './parsed-message.ts';
import { storeMessages, type StoreItem } from './store-messages.ts';
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
  /** Test hook: called after each committed batch (a test kills the process here). */
  readonly afterBatch?: ((committed: number) => void | Promise<void>) | undefined;
}

export interface FolderSyncResult {
  readonly folderId: number;
  readonly path: string;
  readonly unchanged: boolean;
  readonly reset: boolean;
  readonly fetched: number;
  readonly created: number;
  readonly flagsUpdated: number;
  readonly expunged: number;
  readonly serverCount: number;
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
  const unchanged =
    !reset && folder.uidNext !== null && folder.uidNext === uidNext && (!condstore || (folder.highestModseq !== null && folder.highestModseq === modseq)) && folder.messageCount === serverCount && !sweepDue;
  if (unchanged) {
    await db.kysely.updateTable('mail_folders').set({ last_success_at: now, server_count: serverCount, last_error: null }).where('id', '=', folderId).execute();
    return { folderId, path: folder.path, unchanged: true, reset, fetched: 0, created: 0, flagsUpdated: 0, expunged: 0, serverCount };
  }

  let fetched = 0;
  let created = 0;
  let flagsUpdated = 0;
  let expunged = 0;
  const lock = await client.getMailboxLock(folder.path, { readOnly: true });
  try {
    const box = client.mailbox === false ? null : client.mailbox;
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
    ctx.onProgress?.({ folder: folder.path, done: 0, total: todo.length });
    // pipeline: while batch n is stored, batch n+1 is fetched and parsed
    const chunks: number[][] = [];
    for (let i = 0; i < todo.length; i += settings.batchSize) chunks.push(todo.slice(i, i + settings.batchSize));
    const load = async (chunk: number[]): Promise<StoreItem[]> => {
      // A FETCH answer can carry unsolicited FETCH responses for other messages (flags another
      // session changed meanwhile): only the UIDs asked for, with the part asked for, are ours.
      const asked = new Set(chunk);
      const sizes = (await client.fetchAll(uidSet(chunk), { uid: true, size: true }, { uid: true })).filter((m) => asked.has(m.uid) && m.size !== undefined);
      const big = new Set(sizes.filter((m) => (m.size ?? 0) > settings.maxMessageBytes).map((m) => m.uid));
      const small = new Set([...new Set(sizes.map((m) => m.uid))].filter((u) => !big.has(u)));
      const rows = small.size === 0 ? [] : dedupeUid((await client.fetchAll(uidSet([...small]), { uid: true, flags: true, internalDate: true, source: true, ...(gmail ? { threadId: true, emailId: true } : {}) }, { uid: true })).filter((m) => small.has(m.uid) && m.source !== undefined));
      const bigRows = big.size === 0 ? [] : dedupeUid((await client.fetchAll(uidSet([...big]), { uid: true, flags: true, internalDate: true, headers: true, size: true }, { uid: true })).filter((m) => big.has(m.uid) && m.headers !== undefined));
      const items: StoreItem[] = await Promise.all(
        rows.map(async (m) => {
          const internalDate = m.internalDate ? new Date(m.internalDate) : null;
          const raw = m.source ?? Buffer.alloc(0);
          const p = await parse(raw, internalDate);
          return { parsed: p, raw, internalDate, placement: { folderId, uid: m.uid, flags: flagList(m.flags), modseq: num(m.modseq) }, gmThrid: m.threadId ?? null, gmMsgid: m.emailId ?? null };
        }),
      );
      for (const m of bigRows) {
        const internalDate = m.internalDate ? new Date(m.internalDate) : null;
        const head = await parse(Buffer.concat([m.headers ?? Buffer.alloc(0), Buffer.from('\r\n')]), internalDate);
        const p: ParsedMessage = { ...head, size: m.size ?? head.size, parseError: `message of ${m.size ?? '?'} bytes is over mailbox.maxMessageBytes: headers only` };
        items.push({ parsed: p, internalDate, placement: { folderId, uid: m.uid, flags: flagList(m.flags), modseq: num(m.modseq) }, headersOnly: true });
      }
      return items;
    };
    let pending: Promise<StoreItem[]> | null = chunks[0] ? load(chunks[0]) : null;
    pending?.catch(() => undefined);
    let done = 0;
    for (let c = 0; c < chunks.length; c++) {
      const items = await (pending as Promise<StoreItem[]>);
      pending = chunks[c + 1] ? load(chunks[c + 1] as number[]) : null;
      pending?.catch(() => undefined);
      const res = await storeMessages(db, items, {
        accountId: ctx.accountId,
        us: ctx.us,
        subjectWindowDays: settings.subjectWindowDays,
        inTransaction: async (trx) => {
          await sql`UPDATE mail_folders SET message_count = (SELECT count(*) FROM message_placements WHERE folder_id = ${folderId}) WHERE id = ${folderId}`.execute(trx);
        },
      });
      fetched += items.length;
      created += res.created;
      done += (chunks[c] as number[]).length;
      ctx.onProgress?.({ folder: folder.path, done, total: todo.length });
      await ctx.afterBatch?.(fetched);
    }

    // flag changes on messages we already had
    const oldModseq = folder.highestModseq;
    if (condstore && oldModseq !== null && modseq !== null && modseq > oldModseq && start > 1) {
      const changed = await client.fetchAll(`1:${start - 1}`, { uid: true, flags: true }, { uid: true, changedSince: BigInt(oldModseq) });
      flagsUpdated += await updateFlags(db, folderId, changed.map((m) => ({ uid: m.uid, flags: flagList(m.flags), modseq: num(m.modseq) })));
    }

    // expunges (and, without CONDSTORE, flags): a sweep when the counts disagree or it is due
    const held = await db.kysely.selectFrom('message_placements').select(sql<number>`count(*)::int`.as('n')).where('folder_id', '=', folderId).executeTakeFirstOrThrow();
    const currentExists = client.mailbox === false ? exists : client.mailbox.exists;
    let swept = false;
    if (held.n !== currentExists || sweepDue) {
      const all = currentExists === 0 ? [] : ((await client.search({ all: true }, { uid: true })) || []);
      const res = await db.kysely.deleteFrom('message_placements').where('folder_id', '=', folderId).where(sql<boolean>`uid <> ALL(${sql.val(all)}::bigint[])`).executeTakeFirst();
      expunged = Number(res.numDeletedRows);
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
    return { folderId, path: folder.path, unchanged: false, reset, fetched, created, flagsUpdated, expunged, serverCount: currentExists };
  } finally {
    lock.release();
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
