import { CompiledQuery, sql, type Kysely, type RawBuilder, type Transaction } from 'kysely';
import type { Db } from '../db/database.ts';
import type { Database } from '../db/schema.ts';
import { messageDirection } from './direction.ts';
import { linkThreads } from './linking.ts';
import type { ParsedBody, ParsedMessage } from './parsed-message.ts';
import { assignThreads } from './threading.ts';
import { reserveIds } from '../db/sequence.ts';

/** One message to store, with where it was found. */
export interface StoreItem {
  readonly parsed: ParsedMessage;
  /** The raw bytes; kept only when parsing failed. */
  readonly raw?: Buffer | undefined;
  readonly internalDate?: Date | null | undefined;
  readonly placement?: { readonly folderId: number; readonly uid: number; readonly flags?: ReadonlyArray<string>; readonly modseq?: number | null } | undefined;
  readonly gmThrid?: string | null | undefined;
  readonly gmMsgid?: string | null | undefined;
  /** Only the header was fetched (a message over mailbox.maxMessageBytes): body_state 'headers'. */
  readonly headersOnly?: boolean | undefined;
  /**
   * The sync's header pass: only the header fields were fetched, the body
   * comes in the body pass (fillBodies). Stored as body_state 'headers' with
   * no parse error and no body: see BODY_PENDING_SQL.
   */
  readonly bodyPending?: boolean | undefined;
}

/**
 * A message whose body has not been fetched yet (the sync's header pass
 * stored it; the body pass fills it in place). body_state 'headers' alone
 * also marks a message over mailbox.maxMessageBytes, which always carries a
 * parse error saying so and is never fetched again. Triage waits for these.
 */
export const BODY_PENDING_SQL = `body_state = 'headers' AND parse_error IS NULL`;

export interface StoreOptions {
  readonly accountId?: number | null;
  /** Our addresses and domains (ourAddresses). */
  readonly us: ReadonlySet<string>;
  /** Runs inside the same transaction, after the messages (the sync saves its cursor here). */
  readonly inTransaction?: (trx: Transaction<Database>) => Promise<void>;
  readonly subjectWindowDays?: number;
}

export interface StoredMessage {
  readonly rowId: number;
  readonly threadId: number | null;
  /** False when the message was already stored (another folder, a re-upload, a re-run). */
  readonly created: boolean;
  /** The stored row still waits for its body (BODY_PENDING_SQL), whether created now or found. */
  readonly bodyPending: boolean;
}

export interface StoreResult {
  readonly messages: StoredMessage[];
  readonly created: number;
  readonly existing: number;
}

/**
 * The row of one (Message-ID, content hash) key, for a CROSS JOIN LATERAL over a list of keys: one
 * probe of the unique index a key. OFFSET 0 keeps it a probe: as a plain join, the planner read
 * the whole table for each batch (a hash join over a sequential scan: while a sync fills the
 * table its statistics lag far behind, and bench:sync's plans showed 50 ms a lookup of 500 keys
 * in 5,000 rows with their bodies, where the probes take ~1 ms).
 */
export const messageByKey = (mid: RawBuilder<unknown>, hash: RawBuilder<unknown>): RawBuilder<unknown> =>
  sql`SELECT m.id, m.message_id, m.content_hash, m.thread_id, m.body_state, m.parse_error FROM messages m WHERE m.message_id = ${mid} AND m.content_hash = ${hash} OFFSET 0`;

/** The columns storeMessages writes, in the order of its parameters. */
const MESSAGE_COLUMNS = [
  'id', 'thread_id', 'message_id', 'content_hash', 'direction', 'account_id', 'from_address', 'from_name', 'to_addresses', 'cc_addresses', 'bcc_addresses',
  'reply_to', 'subject', 'sent_at', 'internal_date', 'in_reply_to', 'references', 'headers', 'text_body', 'html_body', 'newest_part', 'attachments', 'size',
  'gm_msgid', 'parse_error', 'body_state', 'raw',
] as const satisfies ReadonlyArray<keyof Database['messages']>;

/** Rows an INSERT of messages: 100 (2,700 parameters); 500 measured no better in bench:sync. */
const INSERT_ROWS = 100;

const statements = new Map<string, string>();

/**
 * `head` VALUES (`columns` numbered parameters a row, each with its cast when `columns` lists them) x `rows`,
 * then `tail`, made once a row count: the sync inserts ~200 statements of 100 messages a 20,000-message run,
 * and building each through Kysely's query builder and compiler (2,700 values a statement) took ~0.2 s of
 * the sync's thread in bench:sync (c) profiles.
 */
function valuesStatement(head: string, columns: number | ReadonlyArray<string>, rows: number, tail = ''): string {
  const key = `${rows}\u0000${head}\u0000${tail}`;
  let text = statements.get(key);
  if (text === undefined) {
    const casts = typeof columns === 'number' ? Array.from({ length: columns }, () => '') : columns.map((c) => `::${c}`);
    const values = Array.from({ length: rows }, (_, r) => `(${casts.map((cast, j) => `$${r * casts.length + j + 1}${cast}`).join(', ')})`);
    text = `${head} VALUES ${values.join(', ')}${tail}`;
    statements.set(key, text);
  }
  return text;
}

const INSERT_MESSAGES = `INSERT INTO messages (${MESSAGE_COLUMNS.map((c) => `"${c}"`).join(', ')})`;

const THREADING_LOCK = 7_243_003; // one writer of the reference graph at a time, across processes

/**
 * A time as the parameter of a timestamptz: ISO 8601 text (toISOString is native; node-postgres formats a Date
 * field by field in local time: ~0.07 s of the sync's thread in bench:sync's 20,000 rows); a year outside 1-9999,
 * which ISO text cannot carry, goes as the Date; an invalid one as null.
 */
function pgTime(d: Date | null): string | Date | null {
  if (d === null || Number.isNaN(d.getTime())) return null;
  const y = d.getUTCFullYear();
  return y >= 1 && y <= 9999 ? d.toISOString() : d;
}

function cleanJson(value: unknown): string {
  return JSON.stringify(value).replace(/\\u0000/g, '');
}

/** How a new row is stored: a header-pass row waits for its body (no body, no parse error yet); a message over the size limit keeps its headers only. */
function rowState(item: StoreItem): { pending: boolean; parseError: string | null; bodyState: 'headers' | 'full' } {
  const pending = item.bodyPending === true;
  return { pending, parseError: pending ? null : item.parsed.parseError, bodyState: item.headersOnly || pending ? 'headers' : 'full' };
}

interface Row {
  readonly item: StoreItem;
  readonly sentAt: Date;
  readonly participants: string[];
}

/** Stores a batch in one transaction: messages (deduplicated), placements, threads, links, then `inTransaction`. Set-based: a handful of statements per batch. */
export async function storeMessages(db: Db | Kysely<Database>, items: ReadonlyArray<StoreItem>, options: StoreOptions): Promise<StoreResult> {
  const k = 'kysely' in db ? db.kysely : db;
  return k.transaction().execute(async (trx) => {
    const tS = performance.now();
    await sql`SELECT pg_advisory_xact_lock(${THREADING_LOCK})`.execute(trx);
    const rows: Row[] = items.map((item) => {
      const p = item.parsed;
      const recipients = [...p.to, ...p.cc, ...p.bcc].map((a) => a.address);
      return { item, sentAt: p.date ?? item.internalDate ?? new Date(), participants: [...new Set([p.from?.address, ...p.replyTo.map((a) => a.address), ...recipients].filter((a): a is string => !!a))] };
    });
    const key = (p: ParsedMessage): string => `${p.messageId}\u0000${p.contentHash}`;
    const ids = new Map<string, { id: number; threadId: number | null; created: boolean; bodyPending: boolean }>();
    // 1. messages, deduplicated within the batch and against the table (under the lock: no other writer inserts meanwhile)
    const unique = [...new Map(rows.map((r) => [key(r.item.parsed), r])).values()];
    for (let i = 0; i < unique.length; i += 5000) {
      const chunk = unique.slice(i, i + 5000);
      const found = await sql<{ id: number; message_id: string; content_hash: string; thread_id: number | null; pending: boolean }>`
        SELECT m.id, m.message_id, m.content_hash, m.thread_id, (m.body_state = 'headers' AND m.parse_error IS NULL) AS pending
          FROM unnest(${sql.val(chunk.map((r) => r.item.parsed.messageId))}::text[], ${sql.val(chunk.map((r) => r.item.parsed.contentHash))}::text[]) AS v(mid, h)
          CROSS JOIN LATERAL (${messageByKey(sql`v.mid`, sql`v.h`)}) m`.execute(trx);
      for (const r of found.rows) ids.set(`${r.message_id}\u0000${r.content_hash}`, { id: Number(r.id), threadId: r.thread_id === null ? null : Number(r.thread_id), created: false, bodyPending: r.pending === true });
    }
    // the new ones get their ids from the sequence up front, so each row is written once, with its thread
    const fresh = unique.filter((r) => !ids.has(key(r.item.parsed)));
    const reserved = await reserveIds(trx, 'messages', fresh.length);
    fresh.forEach((r, i) => {
      const state = rowState(r.item);
      ids.set(key(r.item.parsed), { id: reserved[i] as number, threadId: null, created: true, bodyPending: state.bodyState === 'headers' && state.parseError === null });
    });
    const tA = performance.now();
    // 2. threads for the new messages, which are inserted with them (before the threads' counts are taken)
    const insertFresh = async (threadOf: ReadonlyMap<number, number>): Promise<void> => {
      for (let i = 0; i < fresh.length; i += INSERT_ROWS) {
        const chunk = fresh.slice(i, i + INSERT_ROWS);
        const params: unknown[] = [];
        for (const { item, sentAt } of chunk) {
          const p = item.parsed;
          const recipients = [...p.to, ...p.cc, ...p.bcc].map((a) => a.address);
          const { pending, parseError, bodyState } = rowState(item);
          const id = (ids.get(key(p)) as { id: number }).id;
          // in MESSAGE_COLUMNS' order
          params.push(
            id,
            threadOf.get(id) ?? null,
            p.messageId,
            p.contentHash,
            messageDirection(p.from?.address ?? null, recipients, options.us),
            options.accountId ?? null,
            p.from?.address ?? null,
            p.from?.name ?? null,
            p.to.map((a) => a.address),
            p.cc.map((a) => a.address),
            p.bcc.map((a) => a.address),
            p.replyTo.map((a) => a.address),
            p.subject,
            pgTime(sentAt),
            pgTime(item.internalDate ?? null),
            p.inReplyTo,
            [...p.references],
            cleanJson(p.headers),
            pending ? null : p.textBody,
            pending ? null : p.htmlBody,
            pending ? null : p.newestPart,
            cleanJson(pending ? [] : p.attachments),
            p.size,
            item.gmMsgid ?? null,
            parseError,
            bodyState,
            parseError && item.raw ? item.raw : null,
          );
        }
        await trx.executeQuery(CompiledQuery.raw(valuesStatement(INSERT_MESSAGES, MESSAGE_COLUMNS.length, chunk.length), params));
      }
    };
    const assigned = await assignThreads(
      trx,
      fresh.map((r) => ({
        rowId: (ids.get(key(r.item.parsed)) as { id: number }).id,
        messageId: r.item.parsed.messageId,
        references: r.item.parsed.references,
        subject: r.item.parsed.subject,
        date: r.sentAt,
        participants: r.participants,
        gmThrid: r.item.gmThrid ?? null,
        threadIndex: r.item.parsed.headers['thread-index'] ?? null,
      })),
      { us: options.us, ...(options.subjectWindowDays === undefined ? {} : { subjectWindowDays: options.subjectWindowDays }) },
      insertFresh,
    );
    for (const v of ids.values()) if (v.created) v.threadId = assigned.get(v.id) ?? null;
    // 3. placements (the record of what a folder sync has done)
    const placements = new Map<string, { message_id: number; folder_id: number; uid: number; flags: string[]; modseq: number | null }>();
    for (const r of rows) {
      const pl = r.item.placement;
      const m = ids.get(key(r.item.parsed));
      if (!pl || !m) continue;
      placements.set(`${pl.folderId}:${pl.uid}`, { message_id: m.id, folder_id: pl.folderId, uid: pl.uid, flags: [...(pl.flags ?? [])], modseq: pl.modseq ?? null });
    }
    const plList = [...placements.values()];
    for (let i = 0; i < plList.length; i += 1000) {
      const chunk = plList.slice(i, i + 1000);
      const upsert = valuesStatement('INSERT INTO message_placements (message_id, folder_id, uid, flags, modseq)', 5, chunk.length, ' ON CONFLICT (folder_id, uid) DO UPDATE SET message_id = excluded.message_id, flags = excluded.flags, modseq = excluded.modseq');
      await trx.executeQuery(CompiledQuery.raw(upsert, chunk.flatMap((pl) => [pl.message_id, pl.folder_id, pl.uid, pl.flags, pl.modseq])));
    }
    const tB = performance.now();
    // 4. links of the touched threads
    const touched = [...new Set(assigned.values())];
    if (touched.length > 0) await linkThreads(trx, touched, options.us);
    if (process.env.RAPPORT_PROFILE_STORE) process.stderr.write(`store: find ${(tA - tS).toFixed(0)} thread+insert ${(tB - tA).toFixed(0)} link ${(performance.now() - tB).toFixed(0)} ms\n`);
    if (options.inTransaction) await options.inTransaction(trx);
    const out: StoredMessage[] = [];
    const reported = new Set<string>();
    let created = 0;
    for (const r of rows) {
      const kk = key(r.item.parsed);
      const v = ids.get(kk);
      if (!v) throw new Error(`storeMessages: ${r.item.parsed.messageId} was neither inserted nor found`);
      const isNew = v.created && !reported.has(kk);
      reported.add(kk);
      if (isNew) created++;
      out.push({ rowId: v.id, threadId: v.threadId, created: isNew, bodyPending: v.bodyPending });
    }
    return { messages: out, created, existing: items.length - created };
  });
}

const SURROGATE = /[\uD800-\uDFFF]/;

/**
 * When `part` is the start of `text`: its length in characters as PostgreSQL counts them
 * (code points: a surrogate pair is one, a lone surrogate, stored as U+FFFD, is one), for
 * left(text, n). Null otherwise.
 */
export function prefixChars(text: string | null, part: string | null): number | null {
  if (text === null || part === null || !text.startsWith(part)) return null;
  // most text has no surrogates at all: one native scan instead of a loop over every character
  if (!SURROGATE.test(part)) return part.length;
  const last = part.charCodeAt(part.length - 1);
  if (last >= 0xd800 && last <= 0xdbff) return null; // half a pair: let the part go as it is
  let n = part.length;
  for (let i = 0; i < part.length - 1; i++) {
    const c = part.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = part.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n--;
        i++;
      }
    }
  }
  return n;
}

/** Rows a body-fill statement: see fillBodies. */
const FILL_ROWS = 100;
const FILL_HEAD = `UPDATE messages m SET text_body = v.text_body, html_body = v.html_body, newest_part = CASE WHEN v.newest_chars IS NULL THEN v.newest_part ELSE left(v.text_body, v.newest_chars) END,
       attachments = v.attachments, size = v.size, parse_error = v.parse_error, body_state = 'full'
  FROM (`;
const FILL_CASTS = ['bigint', 'text', 'text', 'text', 'int', 'jsonb', 'int', 'text'];
const FILL_TAIL = `) AS v(id, text_body, html_body, newest_part, newest_chars, attachments, size, parse_error)
 WHERE m.id = v.id AND m.body_state <> 'full' AND m.parse_error IS NULL`;

/** A body fetched and parsed by the sync's body pass, for a row stored by its header pass. */
export interface BodyFill {
  readonly rowId: number;
  readonly parsed: ParsedBody;
  readonly raw: Buffer;
}

/**
 * Fills the bodies of header-pass rows in place, set-based (one UPDATE per
 * FILL_ROWS rows; the raw bytes only for the rare message that failed to parse). Only
 * rows still waiting are touched, so a body fetched twice (two folders, a
 * re-run) changes nothing the second time. The row keeps the Message-ID and
 * content hash the header pass gave it (its identity: threads, placements and
 * other copies already point at it); a message without a Message-ID never
 * waits here (its key needs the body: the sync stores it whole in the body
 * pass). Returns the number of rows filled.
 */
export async function fillBodies(trx: Kysely<Database>, fills: ReadonlyArray<BodyFill>): Promise<number> {
  if (fills.length === 0) return 0;
  const byRow = [...new Map(fills.map((f) => [f.rowId, f])).values()];
  // A VALUES list of parameters (not unnest of arrays): the bodies go as they are, not escaped into one array literal.
  // The newest part is most often the start of the text (no quoted history): then only its length in characters goes, not the text twice.
  // The state is tested as "<> 'full'" (the same, by the CHECK constraint) so that the planner cannot take
  // messages_body_pending_idx: its statistics lag behind a header pass that runs ahead of the bodies, and it
  // then read every row still waiting for each statement (seen in bench:sync's plans: a hash join over the
  // whole pending index, which holds most of a large folder while the header pass runs ahead, so the cost of
  // a fill grew with the folder) instead of looking its rows up by their key (a nested loop over the
  // VALUES list through the primary key, 500 rows included). FILL_ROWS rows a statement: with JIT on,
  // statements of 100-500 rows cost 90-140 us a row against 50-60 at 25 (PostgreSQL compiled the larger
  // ones); with Rapport's sessions' JIT off, bench:sync (c) alone ran 1,769-1,962 msg/s at 100 rows against
  // 1,727-1,757 at 25, in runs taking turns, and 500 rows gained nothing more.
  let n = 0;
  for (let i = 0; i < byRow.length; i += FILL_ROWS) {
    const chunk = byRow.slice(i, i + FILL_ROWS);
    const params: unknown[] = [];
    for (const f of chunk) {
      const prefix = prefixChars(f.parsed.textBody, f.parsed.newestPart);
      // in FILL_CASTS' order
      params.push(f.rowId, f.parsed.textBody, f.parsed.htmlBody, prefix === null ? f.parsed.newestPart : null, prefix, cleanJson(f.parsed.attachments), f.parsed.size, f.parsed.parseError);
    }
    const res = await trx.executeQuery(CompiledQuery.raw(valuesStatement(FILL_HEAD, FILL_CASTS, chunk.length, FILL_TAIL), params));
    n += Number(res.numAffectedRows ?? 0);
  }
  // the raw bytes of the few that failed to parse, in one statement
  const failed = byRow.filter((f) => f.parsed.parseError);
  if (failed.length > 0) {
    await sql`UPDATE messages m SET raw = v.raw FROM unnest(${sql.val(failed.map((f) => f.rowId))}::bigint[], ${sql.val(failed.map((f) => f.raw))}::bytea[]) AS v(id, raw)
       WHERE m.id = v.id AND m.raw IS NULL`.execute(trx);
  }
  return n;
}
