import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import { hasReplyPrefix, normalizeSubject } from './subject.ts';
import { isUs } from './link-rules.ts';

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

const MAX_THREAD_PARTICIPANTS = 200;

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

/** Recomputes count, first/last dates and subject of threads from their messages. */
export async function refreshThreadStats(trx: Kysely<Database>, ids: ReadonlyArray<number>): Promise<void> {
  if (ids.length === 0) return;
  await sql`
    UPDATE threads t SET
      message_count = s.n, first_message_at = s.first_at, last_message_at = s.last_at, updated_at = now(),
      subject = COALESCE(NULLIF(t.subject, ''), s.subject, ''), normalized_subject = CASE WHEN t.normalized_subject = '' THEN COALESCE(s.nsubject, '') ELSE t.normalized_subject END
    FROM (
      SELECT m.thread_id, count(*)::int AS n, min(m.sent_at) AS first_at, max(m.sent_at) AS last_at,
             (array_agg(m.subject ORDER BY m.sent_at) FILTER (WHERE m.subject IS NOT NULL AND m.subject <> ''))[1] AS subject,
             NULL::text AS nsubject
      FROM messages m WHERE m.thread_id = ANY(${sql.val([...ids])}::bigint[]) GROUP BY m.thread_id
    ) s WHERE t.id = s.thread_id`.execute(trx);
}

/** Assigns (and returns) the thread of a freshly stored message. Call inside the store transaction. */
export async function assignThread(trx: Kysely<Database>, input: ThreadingInput, options: ThreadingOptions): Promise<number> {
  const keys = threadKeys(input);
  const allKeys = [input.messageId, ...keys];
  const found = await trx.selectFrom('thread_refs').select(['ref', 'thread_id']).where('ref', 'in', allKeys).execute();
  let ids = [...new Set(found.map((f) => f.thread_id))];
  if (ids.length > 0) {
    // follow merges (a ref may still point at a merged thread if written concurrently)
    const merged = await trx.selectFrom('threads').select(['id', 'merged_into']).where('id', 'in', ids).execute();
    ids = [...new Set(merged.map((m) => m.merged_into ?? m.id))];
  }
  let threadId: number;
  if (ids.length === 0) {
    const bySubject = input.references.length === 0 ? await subjectFallback(trx, input, options) : null;
    if (bySubject !== null) threadId = bySubject;
    else {
      const row = await trx
        .insertInto('threads')
        .values({ subject: input.subject ?? '', normalized_subject: normalizeSubject(input.subject), gm_thrid: input.gmThrid, first_message_at: input.date, last_message_at: input.date })
        .returning('id')
        .executeTakeFirstOrThrow();
      threadId = row.id;
    }
  } else {
    ids.sort((a, b) => a - b);
    threadId = ids[0] as number;
    await mergeThreads(trx, threadId, ids.slice(1));
  }
  // the graph: own id is real, the rest placeholders unless already known
  const known = new Set(found.map((f) => f.ref));
  const fresh = keys.filter((k) => !known.has(k) && k !== input.messageId);
  if (fresh.length > 0) {
    await trx.insertInto('thread_refs').values(fresh.map((ref) => ({ ref, thread_id: threadId, placeholder: true }))).onConflict((oc) => oc.column('ref').doNothing()).execute();
  }
  await trx
    .insertInto('thread_refs')
    .values({ ref: input.messageId, thread_id: threadId, placeholder: false })
    .onConflict((oc) => oc.column('ref').doUpdateSet({ placeholder: false, thread_id: threadId }))
    .execute();
  await trx.updateTable('messages').set({ thread_id: threadId }).where('id', '=', input.rowId).execute();
  await sql`
    UPDATE threads SET
      message_count = message_count + 1,
      first_message_at = LEAST(first_message_at, ${input.date}),
      last_message_at = GREATEST(last_message_at, ${input.date}),
      participants = (SELECT COALESCE(array_agg(DISTINCT p), '{}') FROM (SELECT unnest(participants || ${sql.val(input.participants.slice(0, MAX_THREAD_PARTICIPANTS))}::text[]) AS p LIMIT ${MAX_THREAD_PARTICIPANTS}) x),
      gm_thrid = COALESCE(gm_thrid, ${input.gmThrid}),
      subject = CASE WHEN subject = '' OR ${input.date} < first_message_at OR (${!hasReplyPrefix(input.subject) && !!input.subject} AND subject ~* '^\\s*(re|aw|sv|vs|fw|fwd|wg|tr|rif|r|antw|回复|回覆|答复|转发|轉寄)\\s*(\\[\\d+\\])?\\s*[:：]') THEN COALESCE(${input.subject}, subject) ELSE subject END,
      normalized_subject = CASE WHEN normalized_subject = '' THEN ${normalizeSubject(input.subject)} ELSE normalized_subject END,
      updated_at = now()
    WHERE id = ${threadId}`.execute(trx);
  return threadId;
}
