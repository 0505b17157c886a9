import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import { AppError } from '../shared/app-error.ts';
import { buildThreadTree, flattenTree } from './thread-tree.ts';
import { isFreemailDomain } from './freemail.ts';

export interface ThreadSummary {
  readonly id: number;
  readonly subject: string;
  readonly clientId: number | null;
  readonly client: string | null;
  readonly linkReason: string | null;
  readonly linkConfidence: number | null;
  readonly relay: string | null;
  readonly messages: number;
  readonly firstMessageAt: Date | null;
  readonly lastMessageAt: Date | null;
}

export async function listThreads(db: Db, options: { clientId?: number; limit?: number; unlinked?: boolean } = {}): Promise<ThreadSummary[]> {
  let q = db.kysely
    .selectFrom('threads')
    .leftJoin('clients', 'clients.id', 'threads.client_id')
    .select(['threads.id', 'threads.subject', 'threads.client_id', 'clients.name as client', 'threads.link_reason', 'threads.link_confidence', 'threads.relay', 'threads.message_count', 'threads.first_message_at', 'threads.last_message_at'])
    .where('threads.merged_into', 'is', null)
    .where('threads.message_count', '>', 0)
    .orderBy('threads.last_message_at', 'desc')
    .orderBy('threads.id', 'desc')
    .limit(options.limit ?? 50);
  if (options.clientId !== undefined) q = q.where('threads.client_id', '=', options.clientId);
  if (options.unlinked) q = q.where('threads.client_id', 'is', null);
  const rows = await q.execute();
  return rows.map((r) => ({
    id: r.id,
    subject: r.subject,
    clientId: r.client_id,
    client: r.client,
    linkReason: r.link_reason,
    linkConfidence: r.link_confidence,
    relay: r.relay,
    messages: r.message_count,
    firstMessageAt: r.first_message_at,
    lastMessageAt: r.last_message_at,
  }));
}

export interface UnlinkedThread extends ThreadSummary {
  /** The most telling external domain (or address), and a client that might own it. */
  readonly bestGuess: string | null;
  readonly guessClientId: number | null;
  readonly guessClient: string | null;
}

/** Threads with no client, internal ones left out, with the best guess: the busiest external corporate domain and a client whose name or website resembles it. */
export async function listUnlinked(db: Db, options: { limit?: number } = {}): Promise<UnlinkedThread[]> {
  const threads = await listThreads(db, { unlinked: true, limit: options.limit ?? 50 });
  if (threads.length === 0) return [];
  const senders = await db.kysely
    .selectFrom('messages')
    .select(['thread_id', 'from_address', 'to_addresses', 'direction'])
    .where('thread_id', 'in', threads.map((t) => t.id))
    .execute();
  const out: UnlinkedThread[] = [];
  for (const t of threads) {
    const msgs = senders.filter((m) => m.thread_id === t.id);
    if (msgs.length > 0 && msgs.every((m) => m.direction === 'internal')) continue;
    const votes = new Map<string, number>();
    for (const m of msgs) {
      const addrs = m.direction === 'inbound' ? [m.from_address] : m.to_addresses;
      for (const a of addrs) {
        if (!a) continue;
        const d = a.slice(a.lastIndexOf('@') + 1);
        const key = isFreemailDomain(d) ? a : d;
        votes.set(key, (votes.get(key) ?? 0) + (isFreemailDomain(d) ? 1 : 3));
      }
    }
    const bestGuess = [...votes.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0]?.[0] ?? null;
    let guessClientId: number | null = null;
    let guessClient: string | null = null;
    if (bestGuess && !bestGuess.includes('@')) {
      const stem = bestGuess.split('.').slice(-2, -1)[0] ?? bestGuess;
      const c = await db.kysely
        .selectFrom('clients')
        .select(['id', 'name'])
        .where((eb) => eb.or([eb('website', 'ilike', `%${bestGuess}%`), eb('name_key', 'ilike', `%${stem}%`)]))
        .orderBy('id')
        .limit(1)
        .executeTakeFirst();
      if (c) {
        guessClientId = c.id;
        guessClient = c.name;
      }
    }
    out.push({ ...t, bestGuess, guessClientId, guessClient });
  }
  return out;
}

export interface ThreadDetail extends ThreadSummary {
  readonly participants: string[];
  readonly messagesList: Array<{ id: number; depth: number; messageId: string; direction: string; from: string | null; to: string[]; subject: string | null; sentAt: Date | null; newestPart: string | null; attachments: number; parseError: string | null }>;
}

/** A thread with its messages in reply-tree order (JWZ). */
export async function showThread(db: Db, id: number): Promise<ThreadDetail> {
  const t = await db.kysely.selectFrom('threads').select(['id', 'merged_into', 'participants']).where('id', '=', id).executeTakeFirst();
  if (!t) throw new AppError('NOT_FOUND', `thread ${id}: no such thread`);
  const liveId = t.merged_into ?? t.id;
  const summary = (await db.kysely
    .selectFrom('threads')
    .leftJoin('clients', 'clients.id', 'threads.client_id')
    .select(['threads.id', 'threads.subject', 'threads.client_id', 'clients.name as client', 'threads.link_reason', 'threads.link_confidence', 'threads.relay', 'threads.message_count', 'threads.first_message_at', 'threads.last_message_at', 'threads.participants'])
    .where('threads.id', '=', liveId)
    .executeTakeFirstOrThrow());
  const msgs = await db.kysely
    .selectFrom('messages')
    .select(['id', 'message_id', 'references', 'direction', 'from_address', 'to_addresses', 'subject', 'sent_at', 'newest_part', 'attachments', 'parse_error'])
    .where('thread_id', '=', liveId)
    .orderBy('sent_at')
    .execute();
  const tree = flattenTree(buildThreadTree(msgs.map((m) => ({ key: m.id, messageId: m.message_id, references: m.references, date: m.sent_at, row: m }))));
  return {
    id: summary.id,
    subject: summary.subject,
    clientId: summary.client_id,
    client: summary.client,
    linkReason: summary.link_reason,
    linkConfidence: summary.link_confidence,
    relay: summary.relay,
    messages: summary.message_count,
    firstMessageAt: summary.first_message_at,
    lastMessageAt: summary.last_message_at,
    participants: summary.participants,
    messagesList: tree
      .filter((n) => n.node.message !== null)
      .map(({ depth, node }) => {
        const m = (node.message as { row: (typeof msgs)[number] }).row;
        return { id: m.id, depth, messageId: m.message_id, direction: m.direction, from: m.from_address, to: m.to_addresses, subject: m.subject, sentAt: m.sent_at, newestPart: m.newest_part, attachments: m.attachments.length, parseError: m.parse_error };
      }),
  };
}

/** Links a thread by hand (kept over automatic links). With rememberDomain, the external domains of the thread (not freemail, not us) become the client's. */
export async function linkThreadManually(db: Db, threadId: number, clientId: number, options: { rememberDomain?: boolean; us?: ReadonlySet<string> } = {}): Promise<{ rememberedDomains: string[]; candidateDomains: string[] }> {
  const t = await db.kysely.selectFrom('threads').select(['id', 'merged_into', 'participants']).where('id', '=', threadId).executeTakeFirst();
  if (!t) throw new AppError('NOT_FOUND', `thread ${threadId}: no such thread`);
  const c = await db.kysely.selectFrom('clients').select('id').where('id', '=', clientId).executeTakeFirst();
  if (!c) throw new AppError('NOT_FOUND', `client ${clientId}: no such client`);
  const liveId = t.merged_into ?? t.id;
  const us = options.us ?? new Set<string>();
  const candidateDomains = [...new Set(t.participants.map((a) => a.slice(a.lastIndexOf('@') + 1)))].filter((d) => !isFreemailDomain(d) && !us.has(d));
  const remembered: string[] = [];
  await db.kysely.transaction().execute(async (trx) => {
    await trx.updateTable('threads').set({ client_id: clientId, contact_id: null, link_reason: 'manual', link_confidence: 1, updated_at: new Date() }).where('id', '=', liveId).execute();
    if (options.rememberDomain) {
      for (const d of candidateDomains) {
        const res = await trx.insertInto('client_domains').values({ domain: d, client_id: clientId, source: 'link' }).onConflict((oc) => oc.column('domain').doNothing()).returning('domain').executeTakeFirst();
        if (res) remembered.push(res.domain);
      }
      if (remembered.length > 0) {
        // other unlinked threads with these domains now link by domain
        await sql`UPDATE threads SET client_id = ${clientId}, link_reason = 'client domain', link_confidence = 0.8, updated_at = now()
          WHERE client_id IS NULL AND merged_into IS NULL
            AND EXISTS (SELECT 1 FROM unnest(participants) p WHERE split_part(p, '@', 2) = ANY(${sql.val(remembered)}::text[]))`.execute(trx);
      }
    }
  });
  return { rememberedDomains: remembered, candidateDomains };
}

export interface ClientConversation extends ThreadSummary {
  /** The newest message of the thread: who wrote it, which way, and its newest part (quotes cut). */
  readonly last: { readonly at: Date | null; readonly direction: string; readonly from: string | null; readonly snippet: string | null } | null;
}

/** A client's conversation timeline for `rapport clients show`: its threads, newest first, each with its newest message. */
export async function clientConversations(db: Db, clientId: number, options: { limit?: number } = {}): Promise<ClientConversation[]> {
  const threads = await listThreads(db, { clientId, limit: options.limit ?? 20 });
  if (threads.length === 0) return [];
  const last = await db.kysely
    .selectFrom('messages')
    .select(['thread_id', 'sent_at', 'direction', 'from_address', 'newest_part'])
    .distinctOn('thread_id')
    .where('thread_id', 'in', threads.map((t) => t.id))
    .orderBy('thread_id')
    .orderBy('sent_at', 'desc')
    .orderBy('id', 'desc')
    .execute();
  const byThread = new Map(last.map((m) => [m.thread_id, m]));
  return threads.map((t) => {
    const m = byThread.get(t.id);
    return { ...t, last: m ? { at: m.sent_at, direction: m.direction, from: m.from_address, snippet: m.newest_part ? m.newest_part.replace(/\s+/g, ' ').trim().slice(0, 160) : null } : null };
  });
}

export interface SuggestedContact {
  readonly address: string;
  readonly name: string | null;
  readonly clientId: number;
  readonly client: string;
  readonly domain: string;
  readonly messages: number;
  readonly lastSeenAt: Date;
  readonly threadId: number | null;
}

/** Addresses seen on a client's domain that are not contacts yet (status 'new'), busiest first. */
export async function listSuggestedContacts(db: Db, options: { clientId?: number; limit?: number } = {}): Promise<SuggestedContact[]> {
  let q = db.kysely
    .selectFrom('suggested_contacts as s')
    .innerJoin('clients as c', 'c.id', 's.client_id')
    .select(['s.address', 's.name', 's.client_id', 'c.name as client', 's.domain', 's.message_count', 's.last_seen_at', 's.thread_id'])
    .where('s.status', '=', 'new')
    .orderBy('s.message_count', 'desc')
    .orderBy('s.last_seen_at', 'desc')
    .orderBy('s.address')
    .limit(options.limit ?? 50);
  if (options.clientId !== undefined) q = q.where('s.client_id', '=', options.clientId);
  return (await q.execute()).map((r) => ({ address: r.address, name: r.name, clientId: r.client_id, client: r.client, domain: r.domain, messages: r.message_count, lastSeenAt: r.last_seen_at, threadId: r.thread_id }));
}
