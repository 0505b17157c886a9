import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database } from '../db/schema.ts';
import { hasReplyPrefix, normalizeSubject } from './subject.ts';
import { isUs } from './link-rules.ts';
import { reserveIds } from '../db/sequence.ts';

/**
 * Puts a stored message into a thread, in the database. The reference graph
 * lives in thread_refs: every Message-ID seen (stored, or only referenced:
 * a placeholder) points at its thread. A message joins the thread of any id
 * it shares; when it touches several threads (a late parent, a reply that
 * references two branches) they merge into the oldest. Pseudo-ids carry
 * Gmail's thread id (gm:) and Outlook's Thread-Index conversation (ti:).
 * Only a message with no reply headers falls back to the subject: same
 * normalized subject, a reply prefix, a shared external participant, and
 * the thread active within the window.
 */
export interface ThreadingInput {
  readonly rowId: number;
  readonly messageId: string;
  readonly references: ReadonlyArray<string>;
  readonly subject: string | null;
  readonly date: Date;
  readonly participants: ReadonlyArray<string>;
  readonly gmThrid: string | null;
  readonly threadIndex: string | null;
}

export interface ThreadingOptions {
  readonly us: ReadonlySet<string>;
  /** Subject fallback window in days (default 60). */
  readonly subjectWindowDays?: number;
}

/** A subject that is a reply or a forward, for a thread's title: in SQL (~*) and here (the same pattern). */
const REPLY_SUBJECT = String.raw`^\s*(re|aw|sv|vs|fw|fwd|wg|tr|rif|r|antw|回复|回覆|答复|转发|轉寄)\s*(\[\d+\])?\s*[:：]`;
const REPLY_SUBJECT_SQL = `'${REPLY_SUBJECT}'`;
const REPLY_SUBJECT_RE = new RegExp(REPLY_SUBJECT, 'i');
const MAX_THREAD_PARTICIPANTS = 200;

/** A thread's participants (t.participants) with those of `ps` (a JSON array of addresses, or null) added, each once, at most MAX_THREAD_PARTICIPANTS. */
const withParticipants = (ps: RawBuilder<unknown>): RawBuilder<unknown> => sql`CASE WHEN ${ps} IS NULL THEN t.participants ELSE (
  SELECT COALESCE(array_agg(p), '{}') FROM (SELECT DISTINCT p FROM unnest(t.participants || ARRAY(SELECT jsonb_array_elements_text((${ps})::jsonb))) p LIMIT ${sql.lit(MAX_THREAD_PARTICIPANTS)}) x) END`;

/** Outlook's Thread-Index: the first 22 bytes name the conversation. */
export function threadIndexKey(value: string | null | undefined): string | null {
  if (!value) return null;
  try {
    const bytes = Buffer.from(value.trim(), 'base64');
    return bytes.length >= 22 ? bytes.subarray(0, 22).toString('hex') : null;
  } catch {
    return null;
  }
}

export function threadKeys(input: Pick<ThreadingInput, 'references' | 'gmThrid' | 'threadIndex'>): string[] {
  const keys = [...input.references];
  if (input.gmThrid) keys.push(`gm:${input.gmThrid}`);
  const ti = threadIndexKey(input.threadIndex);
  if (ti) keys.push(`ti:${ti}`);
  return keys;
}

async function subjectFallback(trx: Kysely<Database>, input: ThreadingInput, options: ThreadingOptions): Promise<number | null> {
  if (!hasReplyPrefix(input.subject)) return null;
  const key = normalizeSubject(input.subject);
  if (key.length < 3) return null;
  const external = input.participants.filter((p) => !isUs(p, options.us));
  if (external.length === 0) return null;
  const windowMs = (options.subjectWindowDays ?? 60) * 86_400_000;
  const row = await trx
    .selectFrom('threads')
    .select('id')
    .where('normalized_subject', '=', key)
    .where('merged_into', 'is', null)
    .where('last_message_at', '>=', new Date(input.date.getTime() - windowMs))
    .where('first_message_at', '<=', new Date(input.date.getTime() + windowMs))
    .where(sql<boolean>`participants && ${sql.val(external)}::text[]`)
    .orderBy('last_message_at', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row?.id ?? null;
}

/** Moves everything of `from` threads into `into`; the old rows stay, marked merged_into. */
async function mergeThreads(trx: Kysely<Database>, into: number, from: number[]): Promise<void> {
  if (from.length === 0) return;
  await trx.updateTable('messages').set({ thread_id: into }).where('thread_id', 'in', from).execute();
  await trx.updateTable('thread_refs').set({ thread_id: into }).where('thread_id', 'in', from).execute();
  await trx.updateTable('suggested_contacts').set({ thread_id: into }).where('thread_id', 'in', from).execute();
  const others = await trx.selectFrom('threads').select(['participants', 'client_id', 'contact_id', 'link_reason', 'link_confidence', 'gm_thrid']).where('id', 'in', from).execute();
  const manual = others.find((o) => o.link_reason === 'manual');
  const target = await trx.selectFrom('threads').select(['participants', 'link_reason']).where('id', '=', into).executeTakeFirstOrThrow();
  const participants = [...new Set([...target.participants, ...others.flatMap((o) => o.participants)])].slice(0, MAX_THREAD_PARTICIPANTS);
  await trx
    .updateTable('threads')
    .set({
      participants,
      ...(manual && target.link_reason !== 'manual' ? { client_id: manual.client_id, contact_id: manual.contact_id, link_reason: 'manual', link_confidence: 1 } : {}),
    })
    .where('id', '=', into)
    .execute();
  await trx.updateTable('threads').set({ merged_into: into, message_count: 0, updated_at: new Date() }).where('id', 'in', from).execute();
  await refreshThreadStats(trx, [into]);
}

/**
 * Recomputes count, first/last dates and subject of threads from their messages.
 * Each thread's messages are read through messages_thread_idx, one probe a thread (the LATERAL): as a
 * join over thread_id = ANY(...) the planner read the whole table for each batch while its
 * statistics lagged behind a sync filling it (bench:sync's plans: 10-40 ms a batch, growing with
 * the table). `addParticipants` (thread id -> addresses) are added to those threads' participants in the
 * same statement: one new version of each thread row, where a statement of their own wrote a second one
 * (a thread's update is never HOT: its dates are indexed). bench:sync (c), 20,000 messages: 1.97 s of
 * PostgreSQL for the two statements, 1.53 s for the one (pg_stat_statements).
 */
export async function refreshThreadStats(trx: Kysely<Database>, ids: ReadonlyArray<number>, addParticipants?: ReadonlyMap<number, ReadonlyArray<string>>): Promise<void> {
  if (ids.length === 0) return;
  const unique = [...new Set(ids)];
  const added = unique.map((id) => {
    const ps = addParticipants?.get(id);
    return ps && ps.length > 0 ? JSON.stringify(ps) : null;
  });
  await sql`
    UPDATE threads t SET
      participants = ${withParticipants(sql`s.ps`)},
      message_count = s.n, first_message_at = s.first_at, last_message_at = s.last_at, updated_at = now(),
      subject = CASE WHEN t.subject = '' OR (t.subject ~* ${sql.raw(REPLY_SUBJECT_SQL)} AND s.plain_subject IS NOT NULL) THEN COALESCE(s.plain_subject, s.subject, t.subject) ELSE t.subject END,
      normalized_subject = CASE WHEN t.normalized_subject = '' THEN COALESCE(s.nsubject, '') ELSE t.normalized_subject END
    FROM (
      SELECT tid.id AS thread_id, tid.ps, a.* FROM unnest(${sql.val(unique)}::bigint[], ${sql.val(added)}::text[]) AS tid(id, ps)
      CROSS JOIN LATERAL (
        SELECT count(*)::int AS n, min(m.sent_at) AS first_at, max(m.sent_at) AS last_at,
               (array_agg(m.subject ORDER BY m.sent_at) FILTER (WHERE m.subject IS NOT NULL AND m.subject <> ''))[1] AS subject,
               (array_agg(m.subject ORDER BY m.sent_at) FILTER (WHERE m.subject IS NOT NULL AND m.subject <> '' AND NOT m.subject ~* ${sql.raw(REPLY_SUBJECT_SQL)}))[1] AS plain_subject,
               NULL::text AS nsubject
        FROM messages m WHERE m.thread_id = tid.id) a
      WHERE a.n > 0
    ) s WHERE t.id = s.thread_id`.execute(trx);
}


/** What a batch's new messages add to one thread (addThreadStats). */
interface ThreadAdd {
  n: number;
  first: Date;
  last: Date;
  /** The earliest non-empty subject, and the earliest that is no reply or forward. */
  subject: string | null;
  plain: string | null;
  participants: string[];
}

/**
 * Adds a batch's new messages to their threads: count, first and last dates, the subject (the same
 * rules as refreshThreadStats: the earliest plain subject replaces an empty or a reply title) and the
 * participants, without reading the threads' other messages. Right for threads whose stored figures
 * cover all their stored messages (a merge recounts its thread) and which the new messages were not
 * counted in yet. bench:sync (c), 20,000 messages: the recount read every message of each touched
 * thread again, with two regular-expression tests each (0.94 s of PostgreSQL for 45 statements in
 * pg_stat_statements); this reads nothing but the rows it updates.
 */
async function addThreadStats(trx: Kysely<Database>, adds: ReadonlyMap<number, ThreadAdd>): Promise<void> {
  if (adds.size === 0) return;
  const ids = [...adds.keys()];
  const v = [...adds.values()];
  await sql`
    UPDATE threads t SET
      participants = ${withParticipants(sql`v.ps`)},
      message_count = t.message_count + v.n, first_message_at = LEAST(t.first_message_at, v.first_at), last_message_at = GREATEST(t.last_message_at, v.last_at), updated_at = now(),
      subject = CASE WHEN t.subject = '' OR (t.subject ~* ${sql.raw(REPLY_SUBJECT_SQL)} AND v.plain_subject IS NOT NULL) THEN COALESCE(v.plain_subject, v.subject, t.subject) ELSE t.subject END
    FROM unnest(${sql.val(ids)}::bigint[], ${sql.val(v.map((a) => a.n))}::int[], ${sql.val(v.map((a) => a.first.toISOString()))}::timestamptz[], ${sql.val(v.map((a) => a.last.toISOString()))}::timestamptz[],
                ${sql.val(v.map((a) => a.subject))}::text[], ${sql.val(v.map((a) => a.plain))}::text[], ${sql.val(v.map((a) => (a.participants.length > 0 ? JSON.stringify(a.participants) : null)))}::text[])
      AS v(id, n, first_at, last_at, subject, plain_subject, ps)
    WHERE t.id = v.id`.execute(trx);
}

/**
 * Assigns threads to freshly stored messages of one batch, set-based: one
 * read of the reference graph for the whole batch, the graph updated in
 * memory message by message (so a reply and its parent in the same batch
 * meet, in any order), then one write of the refs, one of the messages'
 * thread ids, and one refresh of the touched threads. Call inside the store
 * transaction. Returns rowId -> threadId.
 */
export async function assignThreads(
  trx: Kysely<Database>,
  inputs: ReadonlyArray<ThreadingInput>,
  options: ThreadingOptions,
  /**
   * When given, the messages are not stored yet (their rowIds are reserved): this inserts
   * them with the thread ids assigned (rowId -> threadId), after the graph is written and
   * before the threads' counts are taken from their messages. Each row is then written once
   * rather than inserted and updated.
   */
  insertMessages?: (threadOf: ReadonlyMap<number, number>) => Promise<void>,
): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  if (inputs.length === 0) return out;
  const keysOf = new Map<number, string[]>();
  const allKeys = new Set<string>();
  for (const i of inputs) {
    const k = threadKeys(i);
    keysOf.set(i.rowId, k);
    allKeys.add(i.messageId);
    for (const x of k) allKeys.add(x);
  }
  const refMap = new Map<string, number>();
  const keyList = [...allKeys];
  for (let i = 0; i < keyList.length; i += 5000) {
    // one array parameter, not a list of thousands (each built and compiled by Kysely a batch)
    const rows = await sql<{ ref: string; thread_id: number }>`SELECT ref, thread_id FROM thread_refs WHERE ref = ANY(${sql.val(keyList.slice(i, i + 5000))}::text[])`.execute(trx);
    for (const r of rows.rows) refMap.set(r.ref, r.thread_id);
  }
  // follow merges recorded earlier
  const mergedInto = new Map<number, number>();
  if (refMap.size > 0) {
    const ts = await trx.selectFrom('threads').select(['id', 'merged_into']).where('id', 'in', [...new Set(refMap.values())]).where('merged_into', 'is not', null).execute();
    for (const t of ts) if (t.merged_into !== null) mergedInto.set(t.id, t.merged_into);
  }
  const resolve = (id: number): number => {
    let x = id;
    for (let n = 0; n < 100 && mergedInto.has(x); n++) x = mergedInto.get(x) as number;
    return x;
  };
  const ownRefs = new Set<string>();
  const touched = new Set<number>();
  const participantsOf = new Map<number, Set<string>>();
  // oldest first: parents usually come before replies, so merges are rare
  const ordered = [...inputs].sort((a, b) => a.date.getTime() - b.date.getTime());
  // new threads get ids from the sequence up front and are written in one statement
  const reserved: number[] = [];
  const pendingThreads: Array<{ id: number; subject: string; normalized_subject: string; gm_thrid: string | null; first_message_at: Date; last_message_at: Date; message_count: number; participants: string[] }> = [];
  const insertPending = async (): Promise<void> => {
    if (pendingThreads.length === 0) return;
    const list = pendingThreads.splice(0);
    for (let i = 0; i < list.length; i += 1000) await trx.insertInto('threads').values(list.slice(i, i + 1000)).execute();
  };
  for (const input of ordered) {
    const keys = keysOf.get(input.rowId) ?? [];
    const found = [...new Set([input.messageId, ...keys].map((k) => refMap.get(k)).filter((x): x is number => x !== undefined).map(resolve))].sort((a, b) => a - b);
    let threadId: number;
    if (found.length === 0) {
      let bySubject: number | null = null;
      if (input.references.length === 0 && hasReplyPrefix(input.subject)) {
        await insertPending();
        bySubject = await subjectFallback(trx, input, options);
      }
      if (bySubject !== null) threadId = resolve(bySubject);
      else {
        if (reserved.length === 0) {
          reserved.push(...(await reserveIds(trx, 'threads', Math.max(1, Math.min(1000, ordered.length)))));
        }
        threadId = reserved.shift() as number;
        pendingThreads.push({ id: threadId, subject: input.subject ?? '', normalized_subject: normalizeSubject(input.subject), gm_thrid: input.gmThrid, first_message_at: input.date, last_message_at: input.date, message_count: 0, participants: [] });
      }
    } else {
      threadId = found[0] as number;
      const others = found.slice(1);
      if (others.length > 0) {
        // write what this batch assigned so far, so the merge moves it too
        await insertPending();
        await flushAssignments(trx, out, refMap, ownRefs, resolve, !insertMessages);
        await mergeThreads(trx, threadId, others);
        for (const o of others) {
          mergedInto.set(o, threadId);
          touched.delete(o);
          const ps = participantsOf.get(o);
          if (ps) {
            const into = participantsOf.get(threadId) ?? new Set<string>();
            for (const p of ps) into.add(p);
            participantsOf.set(threadId, into);
            participantsOf.delete(o);
          }
        }
      }
    }
    for (const k of keys) if (!refMap.has(k) || resolve(refMap.get(k) as number) !== threadId) refMap.set(k, threadId);
    refMap.set(input.messageId, threadId);
    ownRefs.add(input.messageId);
    out.set(input.rowId, threadId);
    touched.add(threadId);
    const ps = participantsOf.get(threadId) ?? new Set<string>();
    for (const p of input.participants) if (ps.size < MAX_THREAD_PARTICIPANTS) ps.add(p);
    participantsOf.set(threadId, ps);
  }
  // what the batch's messages add to their threads, when they are inserted below (their threads known)
  const adds = new Map<number, ThreadAdd>();
  if (insertMessages) {
    for (const input of ordered) {
      const t = out.get(input.rowId);
      if (t !== undefined) addToThread(adds, resolve(t), input, participantsOf);
    }
    // threads not written yet are new in this batch and took part in no merge: written once, with their figures
    for (const p of pendingThreads) {
      const a = adds.get(p.id);
      if (!a) continue;
      adds.delete(p.id);
      Object.assign(p, { message_count: a.n, first_message_at: a.first, last_message_at: a.last, subject: titleWith(p.subject, a), participants: a.participants });
    }
  }
  await insertPending();
  await flushAssignments(trx, out, refMap, ownRefs, resolve, !insertMessages);
  for (const [rowId, t] of out) out.set(rowId, resolve(t));
  if (insertMessages) {
    await insertMessages(out);
    // the other threads' figures from the batch's messages (a merge above recounted its thread from the messages stored before them)
    await addThreadStats(trx, adds);
  } else {
    // the messages were stored before their threads were known: from all the threads' messages
    const live = [...new Set([...touched].map(resolve))];
    if (live.length > 0) await refreshThreadStats(trx, live, new Map(live.map((id) => [id, [...(participantsOf.get(id) ?? [])]])));
  }
  return out;
}

/** Adds one new message to what the batch adds to its thread (messages oldest first). */
function addToThread(adds: Map<number, ThreadAdd>, thread: number, input: ThreadingInput, participantsOf: ReadonlyMap<number, ReadonlySet<string>>): void {
  const subject = input.subject !== null && input.subject !== '' ? input.subject : null;
  const a = adds.get(thread);
  if (!a) {
    adds.set(thread, { n: 1, first: input.date, last: input.date, subject, plain: subject !== null && !REPLY_SUBJECT_RE.test(subject) ? subject : null, participants: [...(participantsOf.get(thread) ?? [])] });
    return;
  }
  a.n++;
  if (input.date < a.first) a.first = input.date;
  if (input.date > a.last) a.last = input.date;
  if (subject !== null) {
    a.subject ??= subject;
    if (a.plain === null && !REPLY_SUBJECT_RE.test(subject)) a.plain = subject;
  }
}

/** A thread's title once `a` is added: the earliest plain subject replaces an empty title or a reply's (addThreadStats does the same in SQL). */
function titleWith(current: string, a: ThreadAdd): string {
  return current === '' || (REPLY_SUBJECT_RE.test(current) && a.plain !== null) ? (a.plain ?? a.subject ?? current) : current;
}

/** Writes the refs and (when they are stored already) the messages' thread ids assigned so far (idempotent). */
async function flushAssignments(trx: Kysely<Database>, out: Map<number, number>, refMap: Map<string, number>, ownRefs: Set<string>, resolve: (id: number) => number, messagesStored: boolean): Promise<void> {
  const refs = [...refMap.entries()].map(([ref, t]) => ({ ref, thread_id: resolve(t), placeholder: !ownRefs.has(ref) }));
  for (let i = 0; i < refs.length; i += 2000) {
    const chunk = refs.slice(i, i + 2000);
    await sql`
      INSERT INTO thread_refs (ref, thread_id, placeholder)
      SELECT * FROM unnest(${sql.val(chunk.map((r) => r.ref))}::text[], ${sql.val(chunk.map((r) => r.thread_id))}::bigint[], ${sql.val(chunk.map((r) => r.placeholder))}::boolean[])
      ON CONFLICT (ref) DO UPDATE SET thread_id = excluded.thread_id, placeholder = thread_refs.placeholder AND excluded.placeholder
      WHERE thread_refs.thread_id IS DISTINCT FROM excluded.thread_id OR (thread_refs.placeholder AND NOT excluded.placeholder)`.execute(trx);
  }
  // messages inserted later take their resolved thread with them (a merge meanwhile included)
  const pairs = messagesStored ? [...out.entries()] : [];
  for (let i = 0; i < pairs.length; i += 5000) {
    const chunk = pairs.slice(i, i + 5000);
    await sql`UPDATE messages m SET thread_id = v.t FROM (SELECT unnest(${sql.val(chunk.map((p) => p[0]))}::bigint[]) AS id, unnest(${sql.val(chunk.map((p) => resolve(p[1])))}::bigint[]) AS t) v
      WHERE m.id = v.id AND m.thread_id IS DISTINCT FROM v.t`.execute(trx);
  }
}

/** Assigns (and returns) the thread of one freshly stored message. */
export async function assignThread(trx: Kysely<Database>, input: ThreadingInput, options: ThreadingOptions): Promise<number> {
  const res = await assignThreads(trx, [input], options);
  return res.get(input.rowId) as number;
}
