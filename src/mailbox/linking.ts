import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import { isFreemailDomain } from './freemail.ts';
import { decideLink, domainCandidates, isUs, type LinkContext, type LinkDecision, type LinkParticipant } from './link-rules.ts';
import { relayOf } from './relays.ts';

/** Loads what decideLink needs for these external addresses. */
export async function loadLinkContext(trx: Kysely<Database>, addresses: ReadonlyArray<string>, us: ReadonlySet<string>): Promise<LinkContext> {
  const external = addresses.filter((a) => !isUs(a, us));
  const contactsByAddress = new Map<string, { contactId: number; clientId: number }>();
  const clientByDomain = new Map<string, number>();
  if (external.length === 0) return { us, contactsByAddress, clientByDomain };
  const contacts = await trx
    .selectFrom('contact_emails')
    .innerJoin('contacts', 'contacts.id', 'contact_emails.contact_id')
    .select(['contact_emails.address_key', 'contact_emails.contact_id', 'contacts.client_id'])
    .where('contact_emails.address_key', 'in', external)
    .execute();
  for (const c of contacts) contactsByAddress.set(c.address_key, { contactId: c.contact_id, clientId: c.client_id });
  const domains = [...new Set(external.flatMap((a) => domainCandidates(a.slice(a.lastIndexOf('@') + 1))))].filter((d) => !isFreemailDomain(d) && !relayOf(d) && !us.has(d));
  if (domains.length > 0) {
    const owned = await trx.selectFrom('client_domains').select(['domain', 'client_id']).where('domain', 'in', domains).execute();
    for (const o of owned) clientByDomain.set(o.domain, o.client_id);
    // a domain all of whose known contacts belong to one client belongs to that client
    const inferred = await trx
      .selectFrom('contact_emails')
      .innerJoin('contacts', 'contacts.id', 'contact_emails.contact_id')
      .select(['contact_emails.domain', sql<number>`min(contacts.client_id)`.as('client_id')])
      .where('contact_emails.domain', 'in', domains)
      .groupBy('contact_emails.domain')
      .having(sql<number>`count(DISTINCT contacts.client_id)`, '=', 1)
      .execute();
    for (const i of inferred) if (!clientByDomain.has(i.domain)) clientByDomain.set(i.domain, i.client_id);
  }
  return { us, contactsByAddress, clientByDomain };
}

/** Links (or re-links) threads to clients; manual links are kept. Returns the decisions. */
export async function linkThreads(trx: Kysely<Database>, threadIds: ReadonlyArray<number>, us: ReadonlySet<string>): Promise<Map<number, LinkDecision>> {
  const out = new Map<number, LinkDecision>();
  if (threadIds.length === 0) return out;
  const threads = await trx.selectFrom('threads').select(['id', 'participants', 'link_reason', 'client_id', 'contact_id', 'link_confidence', 'relay']).where('id', 'in', [...threadIds]).execute();
  // Each thread's messages read through messages_thread_idx, one probe a thread (the LATERAL): as
  // thread_id IN (...) the planner read the whole table for each batch while its statistics lagged
  // behind a sync filling it (bench:sync (c): 8.8 ms a batch of 240 threads at 20,000 messages and
  // growing with the table, 2.2 ms probed).
  const senders = (
    await sql<{ thread_id: number; from_address: string | null; from_name: string | null; n: number }>`
      SELECT t.id AS thread_id, s.from_address, s.from_name, s.n FROM unnest(${sql.val([...new Set(threadIds)])}::bigint[]) AS t(id)
      CROSS JOIN LATERAL (SELECT m.from_address, m.from_name, count(*)::int AS n FROM messages m WHERE m.thread_id = t.id GROUP BY m.from_address, m.from_name) s`.execute(trx)
  ).rows;
  const all = [...new Set(threads.flatMap((t) => t.participants))];
  const ctx = await loadLinkContext(trx, all, us);
  const changes: Array<{ id: number; d: LinkDecision; manual: boolean }> = [];
  const suggestions = new Map<string, { address: string; name: string | null; client_id: number; domain: string; thread_id: number }>();
  // who sent how many messages in each thread (one pass over the rows, not one per thread)
  const sentBy = new Map<number, Map<string, { n: number; name: string | null }>>();
  for (const s of senders) {
    if (s.thread_id === null || !s.from_address) continue;
    let sent = sentBy.get(s.thread_id);
    if (!sent) {
      sent = new Map();
      sentBy.set(s.thread_id, sent);
    }
    const cur = sent.get(s.from_address);
    sent.set(s.from_address, { n: (cur?.n ?? 0) + s.n, name: cur?.name ?? s.from_name });
  }
  for (const t of threads) {
    const sent = sentBy.get(t.id) ?? new Map<string, { n: number; name: string | null }>();
    const participants: LinkParticipant[] = t.participants.map((address) => ({ address, name: sent.get(address)?.name ?? null, sent: sent.get(address)?.n ?? 0 }));
    const decision = decideLink(participants, ctx);
    out.set(t.id, decision);
    const manual = t.link_reason === 'manual';
    const changed = manual ? t.relay !== decision.relay : t.client_id !== decision.clientId || t.contact_id !== decision.contactId || t.link_reason !== decision.reason || t.relay !== decision.relay;
    if (changed) changes.push({ id: t.id, d: decision, manual });
    const clientId = manual ? t.client_id : decision.clientId;
    for (const s of decision.suggestions) if (s.clientId === clientId) suggestions.set(s.address, { address: s.address, name: s.name, client_id: s.clientId, domain: s.domain, thread_id: t.id });
  }
  const auto = changes.filter((c) => !c.manual);
  if (auto.length > 0) {
    await sql`
      UPDATE threads t SET client_id = v.client_id, contact_id = v.contact_id, link_reason = v.reason, link_confidence = v.confidence, relay = v.relay, updated_at = now()
      FROM (SELECT unnest(${sql.val(auto.map((c) => c.id))}::bigint[]) AS id, unnest(${sql.val(auto.map((c) => c.d.clientId))}::bigint[]) AS client_id,
                   unnest(${sql.val(auto.map((c) => c.d.contactId))}::bigint[]) AS contact_id, unnest(${sql.val(auto.map((c) => c.d.reason))}::text[]) AS reason,
                   unnest(${sql.val(auto.map((c) => c.d.confidence))}::real[]) AS confidence, unnest(${sql.val(auto.map((c) => c.d.relay))}::text[]) AS relay) v
      WHERE t.id = v.id`.execute(trx);
  }
  for (const c of changes.filter((x) => x.manual)) await trx.updateTable('threads').set({ relay: c.d.relay }).where('id', '=', c.id).execute();
  const sugg = [...suggestions.values()];
  for (let i = 0; i < sugg.length; i += 1000) {
    await trx
      .insertInto('suggested_contacts')
      .values(sugg.slice(i, i + 1000))
      .onConflict((oc) => oc.column('address').doUpdateSet({ last_seen_at: new Date(), message_count: sql`suggested_contacts.message_count + 1`, name: sql`COALESCE(suggested_contacts.name, excluded.name)` }))
      .execute();
  }
  return out;
}
