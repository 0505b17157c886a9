// Scores the stored inbound messages of linked threads and recomputes their reply targets.
import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import type { Clock } from '../shared/clock.ts';
import type { Tier } from '../db/tables/client-book.ts';
import { ourAddresses } from '../mailbox/our-addresses.ts';
import type { TriageSettings } from './settings.ts';
import type { WorkingCalendar } from './working-calendar.ts';
import { makeUsMatcher, domainOf, type UsMatcher } from './us-matcher.ts';
import { loadWorkingCalendar } from './calendar-store.ts';
import { scoreMessage } from './score-message.ts';
import { trackThread, type ThreadEvent, type TrackedTarget } from './reply-tracking.ts';
import { autoReplyHeader } from './classify.ts';
import { AUTO_REPLY_SUBJECT } from './lexicon.ts';
import type { ClientFacts, TriageMessage, TriageResult } from './types.ts';

export interface TriageEnv {
  readonly us: UsMatcher;
  readonly people: readonly string[];
  readonly calendar: WorkingCalendar;
  readonly settings: TriageSettings;
}

/** Reads once what scoring needs from the database: our addresses, our people, the calendar. */
export async function loadTriageEnv(db: Db, settings: TriageSettings): Promise<TriageEnv> {
  const ours = await ourAddresses(db);
  const owners = await db.kysely.selectFrom('owners').select('name').execute();
  return {
    us: makeUsMatcher([...ours, ...settings.us]),
    people: owners.map((o) => o.name),
    calendar: await loadWorkingCalendar(db, settings),
    settings,
  };
}

export interface TriageRunOptions {
  /** Only these threads (default: every linked or relayed thread). */
  readonly threadIds?: readonly number[];
  readonly batchSize?: number;
  readonly env?: TriageEnv;
}

export interface TriageRunResult {
  readonly threads: number;
  readonly scored: number;
  readonly targets: number;
}

interface MessageRow {
  id: number;
  message_id: string;
  thread_id: number | null;
  direction: string;
  account_id: number | null;
  from_address: string | null;
  from_name: string | null;
  to_addresses: string[];
  cc_addresses: string[];
  bcc_addresses: string[];
  reply_to: string[];
  subject: string | null;
  at: Date;
  in_reply_to: string | null;
  references: string[];
  headers: Record<string, string>;
  text_body: string | null;
  newest_part: string | null;
}

/** A stored row as triage sees it. */
export function rowToTriageMessage(m: Omit<MessageRow, 'id' | 'message_id' | 'thread_id' | 'direction' | 'account_id'>): TriageMessage {
  return {
    fromAddress: m.from_address, fromName: m.from_name, to: m.to_addresses, cc: m.cc_addresses, bcc: m.bcc_addresses, replyTo: m.reply_to,
    subject: m.subject ?? '', sentAt: m.at, utcOffsetMinutes: null, headers: m.headers ?? {}, text: m.text_body ?? '', newestPart: m.newest_part,
    inReplyTo: m.in_reply_to, references: m.references, contentType: m.headers?.['content-type'] ?? null,
  };
}

/** Client facts for scoring: tier (override, else segment), status, zone, products, an order in production. */
export async function loadClientFacts(db: Db, clientIds: readonly number[]): Promise<Map<number, ClientFacts & { ownerId: number | null }>> {
  const out = new Map<number, ClientFacts & { ownerId: number | null }>();
  if (clientIds.length === 0) return out;
  const rows = await db.kysely
    .selectFrom('clients as c')
    .select((eb) => [
      'c.id', 'c.name', 'c.status', 'c.time_zone', 'c.tier_override', 'c.owner_id',
      eb.selectFrom('client_segments as s').select('s.tier').whereRef('s.client_id', '=', 'c.id').as('tier_segment'),
      eb.exists(eb.selectFrom('orders as o').select('o.id').whereRef('o.client_id', '=', 'c.id').where('o.status', '=', 'in_production')).as('in_production'),
    ])
    .where('c.id', 'in', [...clientIds])
    .execute();
  const products = await db.kysely.selectFrom('client_product_interests').select(['client_id', 'product']).where('client_id', 'in', [...clientIds]).execute();
  for (const r of rows) {
    const tier = (r.tier_override ?? (r.tier_segment ?? null)) as Tier | null;
    out.set(r.id, {
      id: r.id, name: r.name, status: r.status, timeZone: r.time_zone, tier, orderInProduction: Boolean(r.in_production), ownerId: r.owner_id,
      products: products.filter((p) => p.client_id === r.id).map((p) => p.product),
    });
  }
  return out;
}

const FORWARD_SUBJECT = /^\s*(fwd?|fw|wg|tr|rv|enc|转发|轉寄)\s*[:：]/iu;

/** Scores every inbound message of the chosen threads and rewrites their targets, thread by thread, in batches. */
export async function runTriage(db: Db, settings: TriageSettings, clock: Clock, options: TriageRunOptions = {}): Promise<TriageRunResult> {
  const env = options.env ?? (await loadTriageEnv(db, settings));
  const batchSize = Math.max(1, options.batchSize ?? 500);
  let threads = 0;
  let scored = 0;
  let targetCount = 0;
  let lastId = 0;
  const only = options.threadIds ? [...options.threadIds] : null;
  for (;;) {
    let q = db.kysely.selectFrom('threads').select(['id', 'client_id']).where('id', '>', lastId).orderBy('id').limit(batchSize);
    q = only ? q.where('id', 'in', only.length ? only : [-1]) : q.where((eb) => eb.or([eb('client_id', 'is not', null), eb('relay', 'is not', null)]));
    const batch = await q.execute();
    if (batch.length === 0) break;
    lastId = batch[batch.length - 1]!.id;
    // A thread with a message whose body is not in yet (the mailbox sync's header pass
    // stored it) keeps what it had and is scored on a run after the body lands.
    const waiting = new Set(
      (await db.kysely.selectFrom('messages').select('thread_id').distinct().where('thread_id', 'in', batch.map((t) => t.id)).where('body_state', '=', 'headers').where('parse_error', 'is', null).execute()).map((r) => r.thread_id),
    );
    const ready = batch.filter((t) => !waiting.has(t.id));
    const res = ready.length > 0 ? await triageBatch(db, env, clock, ready) : { scored: 0, targets: 0 };
    threads += ready.length;
    scored += res.scored;
    targetCount += res.targets;
    if (batch.length < batchSize) break;
  }
  return { threads, scored, targets: targetCount };
}

async function triageBatch(db: Db, env: TriageEnv, clock: Clock, batch: ReadonlyArray<{ id: number; client_id: number | null }>): Promise<{ scored: number; targets: number }> {
  const threadIds = batch.map((t) => t.id);
  const rows = (await db.kysely
    .selectFrom('messages as m')
    .select([
      'm.id', 'm.message_id', 'm.thread_id', 'm.direction', 'm.account_id', 'm.from_address', 'm.from_name', 'm.to_addresses', 'm.cc_addresses', 'm.bcc_addresses', 'm.reply_to', 'm.subject',
      sql<Date>`coalesce(m.sent_at, m.internal_date, m.created_at)`.as('at'), 'm.in_reply_to', 'm.references', 'm.headers', 'm.text_body', 'm.newest_part',
    ])
    .where('m.thread_id', 'in', threadIds)
    .execute()) as MessageRow[];
  // Replies sent by Rapport itself (the outbox), before the Sent folder copy is synced: matched by In-Reply-To.
  const msgIds = rows;
  const threadOfMessageId = new Map(msgIds.map((m) => [m.message_id, m.thread_id]));
  const storedMessageIds = new Set(msgIds.map((m) => m.message_id));
  const sentByUs = threadOfMessageId.size
    ? await db.kysely
        .selectFrom('outbox')
        .select(['id', 'message_id', 'in_reply_to', 'sent_at', 'text_body', 'subject'])
        .where('state', '=', 'sent')
        .where('in_reply_to', 'in', [...threadOfMessageId.keys()])
        .execute()
    : [];
  const accountOwners = new Map<number, number | null>();
  const clientIds = [...new Set(batch.map((t) => t.client_id).filter((c): c is number => c !== null))];
  const facts = await loadClientFacts(db, clientIds);
  const calls = clientIds.length
    ? await db.kysely.selectFrom('touchpoints').select(['id', 'client_id', 'occurred_at']).where('kind', '=', 'call').where('client_id', 'in', clientIds).execute()
    : [];
  const accounts = await db.kysely.selectFrom('mail_accounts').select(['id', 'owner_id']).execute();
  for (const a of accounts) accountOwners.set(a.id, a.owner_id);
  const byThread = new Map<number, MessageRow[]>();
  for (const r of rows) {
    if (r.thread_id === null) continue;
    const list = byThread.get(r.thread_id) ?? [];
    list.push(r);
    byThread.set(r.thread_id, list);
  }
  const now = clock.now();
  const resultRows: Array<{ messageId: number; r: TriageResult }> = [];
  const targetRows: Array<{ threadId: number; clientId: number | null; ownerId: number | null; t: TrackedTarget }> = [];
  for (const th of batch) {
    const msgs = byThread.get(th.id) ?? [];
    if (msgs.length === 0) continue;
    const client = th.client_id !== null ? facts.get(th.client_id) ?? null : null;
    const byId = new Map(msgs.map((m) => [m.id, m]));
    const inboundDomains = new Set(msgs.filter((m) => m.direction === 'inbound' && m.from_address).map((m) => domainOf(m.from_address!)));
    const inboundSenders = new Set(msgs.filter((m) => m.direction === 'inbound' && m.from_address).map((m) => m.from_address!.toLowerCase()));
    const events: ThreadEvent[] = [];
    for (const m of msgs) {
      if (m.direction === 'inbound') events.push({ type: 'inbound', messageId: m.id, at: m.at, fromAddress: m.from_address });
      else if (m.direction === 'outbound') {
        const recipients = [...m.to_addresses, ...m.cc_addresses].map((a) => a.toLowerCase());
        const toClient = recipients.some((a) => inboundSenders.has(a) || inboundDomains.has(domainOf(a)));
        const auto = autoReplyHeader(m.headers ?? {}) !== null || AUTO_REPLY_SUBJECT.test(m.subject ?? '');
        events.push({ type: 'outbound', messageId: m.id, at: m.at, auto, internal: !toClient && FORWARD_SUBJECT.test(m.subject ?? ''), text: m.newest_part ?? m.text_body ?? '' });
      }
    }
    for (const o of sentByUs) {
      if (!o.sent_at || !o.in_reply_to || storedMessageIds.has(o.message_id) || threadOfMessageId.get(o.in_reply_to) !== th.id) continue;
      // A negative id marks an outbox row (not a messages row) as what met the target.
      events.push({ type: 'outbound', messageId: -o.id, at: o.sent_at, auto: false, internal: false, text: o.text_body ?? '' });
    }
    if (client?.id) {
      const first = msgs.reduce((a, m) => (m.at < a ? m.at : a), msgs[0]!.at);
      for (const c of calls) if (c.client_id === client.id && c.occurred_at >= first) events.push({ type: 'call', touchpointId: c.id, at: c.occurred_at });
    }
    const account = msgs.find((m) => m.account_id !== null)?.account_id ?? null;
    const ownerId = client?.ownerId ?? (account !== null ? accountOwners.get(account) ?? null : null);
    const { targets, results } = trackThread(
      events,
      (messageId, unansweredBefore) => scoreMessage(rowToTriageMessage(byId.get(messageId)!), { us: env.us, settings: env.settings, calendar: env.calendar, client, unansweredBefore, people: env.people }),
      now,
    );
    for (const [messageId, r] of results) resultRows.push({ messageId, r });
    for (const t of targets) targetRows.push({ threadId: th.id, clientId: th.client_id, ownerId, t });
  }
  await db.kysely.transaction().execute(async (trx) => {
    for (let i = 0; i < resultRows.length; i += 1000) {
      const chunk = resultRows.slice(i, i + 1000).map(({ messageId, r }) => ({
        message_id: messageId, category: r.category, skip_reason: r.skipReason, delivery: r.delivery, urgency: r.urgency, channel: r.channel,
        due_in_hours: r.dueInHours, deadline_at: r.deadline?.at ?? null, reasons: JSON.stringify(r.reasons), explanation: r.explanation, scored_at: now,
      }));
      await trx
        .insertInto('triage_results')
        .values(chunk)
        .onConflict((oc) =>
          oc.column('message_id').doUpdateSet((eb) => ({
            category: eb.ref('excluded.category'), skip_reason: eb.ref('excluded.skip_reason'), delivery: eb.ref('excluded.delivery'), urgency: eb.ref('excluded.urgency'),
            channel: eb.ref('excluded.channel'), due_in_hours: eb.ref('excluded.due_in_hours'), deadline_at: eb.ref('excluded.deadline_at'), reasons: eb.ref('excluded.reasons'),
            explanation: eb.ref('excluded.explanation'), scored_at: eb.ref('excluded.scored_at'),
          })),
        )
        .execute();
    }
    await trx.deleteFrom('reply_targets').where('thread_id', 'in', threadIds).execute();
    for (let i = 0; i < targetRows.length; i += 1000) {
      const chunk = targetRows.slice(i, i + 1000).map(({ threadId, clientId, ownerId, t }) => ({
        thread_id: threadId, message_id: t.messageId, client_id: clientId, owner_id: ownerId, kind: t.kind, channel: t.channel, category: t.category, urgency: t.urgency,
        started_at: t.startedAt, due_at: t.dueAt, met_at: t.metAt, met_by_message_id: t.metByMessageId !== null && t.metByMessageId > 0 ? t.metByMessageId : null, met_by_touchpoint_id: t.metByTouchpointId, status: t.status,
        reasons: JSON.stringify(t.reasons), explanation: t.explanation, computed_at: now,
      }));
      if (chunk.length) await trx.insertInto('reply_targets').values(chunk).execute();
    }
  });
  return { scored: resultRows.length, targets: targetRows.length };
}

/** Marks open targets whose due time has passed as breached (the board computes this live too). */
export async function refreshTargetStatus(db: Db, clock: Clock): Promise<number> {
  const res = await db.kysely.updateTable('reply_targets').set({ status: 'breached' }).where('status', '=', 'open').where('met_at', 'is', null).where('due_at', '<', clock.now()).executeTakeFirst();
  return Number(res.numUpdatedRows);
}
