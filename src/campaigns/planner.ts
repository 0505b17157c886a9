import { sql, type Kysely, type RawBuilder, type Transaction } from 'kysely';
import { DateTime } from 'luxon';
import type { Db } from '../db/database.ts';
import type { Database } from '../db/schema.ts';
import type { Clock } from '../shared/clock.ts';
import { enqueueMail, type OutboxInsert } from '../outbound/index.ts';
import { audienceQuery, type AudienceMember } from './audience-query.ts';
import type { AudienceFilter } from './audience-schema.ts';
import { applyBudget, PRIORITY_RANK, quietPeriods, type BudgetCandidate, type BudgetHistory } from './budget.ts';
import { campaignOverBudget, campaignPriority, campaignSchema, type CampaignDefinition, type Priority } from './campaign-schema.ts';
import { campaignMailKey } from './idempotency-key.ts';
import { anniversaryOccurrences, holidayOccurrences, oneOffOccurrences, recurringOccurrences, type Occurrence } from './schedule.ts';
import { addDays, endOfLocalDay, localSendSlot } from './send-time.ts';
import { applySequenceStops, enrolTriggers } from './sequences.ts';
import type { CampaignSettings, SendWindow } from './settings.ts';
import { resolveAudience, type StoredCampaign } from './campaign-store.ts';
import type { TemplateLookup } from './template-lookup.ts';
import { localDate, resolveZone } from './time-zones.ts';

type Q = Kysely<Database> | Transaction<Database>;

export interface PlanOptions {
  readonly clock: Clock;
  readonly settings: CampaignSettings;
  readonly campaigns: readonly StoredCampaign[];
  readonly dryRun?: boolean;
  readonly templates?: TemplateLookup | undefined;
  /** Keep every decision line in the result (the CLI prints them); off for bulk runs. */
  readonly collectLines?: boolean;
  /** Rows per statement when writing decisions and outbox rows. */
  readonly batchSize?: number;
  /**
   * How planned mail reaches the outbox: 'enqueue-mail' (the outbound domain's enqueueMail, row by row checks,
   * after the plan commits), 'sql' (each batch of decisions and its outbox rows in one statement), or 'auto'
   * (sql above 5,000 mails to send; the default). VIP summaries with figures always go through enqueueMail.
   */
  readonly outboxPath?: 'enqueue-mail' | 'sql' | 'auto';
  /**
   * Connections writing decision batches at once on PostgreSQL (default 2): the planner's own
   * transaction and writers-1 more, each batch in a transaction of its own. The pool needs that many.
   */
  readonly writers?: number;
}

/** One line of the plan: who gets what, when, from which account, or why not. */
export interface PlanLine {
  readonly campaign: string;
  readonly occurrence: string;
  readonly contactId: number;
  readonly clientId: number;
  readonly contact: string;
  readonly client: string;
  readonly to: string | null;
  readonly accountId: number | null;
  readonly template: string | null;
  readonly locale: string | null;
  readonly outcome: 'planned' | 'deferred' | 'skipped';
  readonly sendAt: Date | null;
  readonly localTime: string | null;
  readonly reason: string | null;
}

export interface PlanResult {
  readonly runId: number | null;
  readonly from: string;
  readonly to: string;
  readonly planned: number;
  readonly deferred: number;
  readonly skipped: number;
  readonly enqueued: number;
  readonly lines: readonly PlanLine[];
  readonly sequences: { readonly enrolled: number; readonly stopped: number; readonly paused: number };
  /** Mails of earlier runs moved to a later day (or dropped) for a higher-priority mail on their day. */
  readonly moved: number;
}

interface CandidateRow extends AudienceMember {
  occurrence: string;
  send_date: string;
  event_date: string | null;
  template: string | null;
  odata: Record<string, unknown> | null;
  suppressed: string | null;
  enrolment_id: number | null;
}

/** A candidate after the per-recipient checks, before the budget. */
interface Pending {
  readonly campaign: StoredCampaign;
  readonly row: CandidateRow;
  readonly key: string;
  readonly priority: Priority;
  readonly zone: string;
  readonly window: SendWindow;
  readonly lastDate: string | undefined;
  readonly date: string;
  readonly template: string | null;
  readonly locale: string | null;
  readonly accountId: number | null;
  readonly skip: string | null;
}

interface DecisionRow {
  campaign_id: number;
  occurrence: string;
  contact_id: number;
  client_id: number;
  idempotency_key: string;
  outcome: 'planned' | 'deferred' | 'skipped';
  reason: string | null;
  priority: Priority;
  send_on: string | null;
  not_before: Date | null;
  not_after: Date | null;
  time_zone: string | null;
  account_id: number | null;
  to_address: string | null;
  template: string | null;
  locale: string | null;
  data: string | null;
  enrolment_id: number | null;
}

const PLANNER_LOCK = 7_000_507;

/** Phase timings on stderr when RAPPORT_PLAN_TRACE is set (for the benchmark). */
let traceAt = Date.now();
function trace(what: string): void {
  if (!process.env.RAPPORT_PLAN_TRACE) return;
  const n = Date.now();
  process.stderr.write(`  [plan] ${what}: ${n - traceAt} ms\n`);
  traceAt = n;
}

function windowOf(c: CampaignDefinition, s: CampaignSettings): SendWindow {
  return c.sendWindow ? { start: c.sendWindow.start, end: c.sendWindow.end, days: c.sendWindow.days ?? s.sendWindow.days } : s.sendWindow;
}

/** Occurrences shared by every recipient (one-off, recurring), as arrays for unnest. */
function globalOccurrences(c: CampaignDefinition, from: string, to: string): Occurrence[] {
  if (c.kind === 'one-off') return oneOffOccurrences(c, from, to);
  if (c.kind === 'recurring') return recurringOccurrences(c, from, to);
  return [];
}

function occurrenceTable(list: ReadonlyArray<{ country: string | null; region: string | null; o: Occurrence }>) {
  return sql`SELECT * FROM unnest(${sql.val(list.map((x) => x.country))}::text[], ${sql.val(list.map((x) => x.region))}::text[],
      ${sql.val(list.map((x) => x.o.occurrence))}::text[], ${sql.val(list.map((_x, i) => i))}::int[]) AS o(country, region, occurrence, idx)`;
}

/** The columns a candidate needs (names only when the plan is printed); the occurrence's details stay in JS, joined back by idx. */
function candidateColumns(withNames: boolean) {
  return sql`m.client_id, m.contact_id, m.contact_language, m.contact_zone, m.country, m.region, m.client_zone, m.client_language, m.owner_id, m.address,
    ${withNames ? sql`m.contact_name, m.client_name` : sql`''::text AS contact_name, ''::text AS client_name`}, o.occurrence, o.idx,
    (SELECT s.source || ': ' || s.reason FROM suppressions s WHERE s.address_key = lower(m.address)) AS suppressed`;
}

type SlimRow = Omit<CandidateRow, 'send_date' | 'event_date' | 'template' | 'odata' | 'enrolment_id'> & { idx: number };

/** Fills each row's occurrence details in place (the rows are fresh from the driver; no copy of 100,000s of objects). */
function withOccurrence(rows: SlimRow[], list: ReadonlyArray<{ o: Occurrence }>): CandidateRow[] {
  return rows.map((r) => {
    const o = list[r.idx]!.o;
    return Object.assign(r, { send_date: o.sendDate, event_date: o.eventDate ?? null, template: o.template ?? null, odata: o.data as Record<string, unknown>, enrolment_id: null });
  });
}

function notDecided(campaignId: number) {
  return sql`NOT EXISTS (SELECT 1 FROM campaign_decisions d WHERE d.campaign_id = ${campaignId} AND d.occurrence = o.occurrence AND d.contact_id = m.contact_id AND d.outcome <> 'skipped')`;
}

/**
 * Candidates of the occurrences shared by many members: every member times every occurrence
 * (`byPlace`: only the occurrences of the member's country and region), less what is decided already.
 */
async function audienceTimesOccurrences(q: Q, campaignId: number, members: RawBuilder<AudienceMember>, list: ReadonlyArray<{ country: string | null; region: string | null; o: Occurrence }>, withNames: boolean, byPlace: boolean): Promise<CandidateRow[]> {
  const on = byPlace ? sql`coalesce(o.country, '') = coalesce(m.country, '') AND coalesce(o.region, '') = coalesce(m.region, '')` : sql`true`;
  const res = await sql<SlimRow>`SELECT ${candidateColumns(withNames)} FROM (${members}) m JOIN (${occurrenceTable(list)}) o ON ${on}
    WHERE ${notDecided(campaignId)} ORDER BY m.client_id, m.contact_id, o.occurrence`.execute(q);
  return withOccurrence(res.rows, list);
}

/**
 * Drops the candidates (computed in JS) decided already and fills their suppression state, in one query.
 */
async function undecidedWithSuppression(q: Q, campaignId: number, out: readonly CandidateRow[]): Promise<CandidateRow[]> {
  if (out.length === 0) return [];
  const keys = await sql<{ contact_id: number; occurrence: string; suppressed: string | null; decided: boolean }>`SELECT x.contact_id, x.occurrence,
      (SELECT s.source || ': ' || s.reason FROM suppressions s WHERE s.address_key = lower(x.address)) AS suppressed,
      EXISTS (SELECT 1 FROM campaign_decisions d WHERE d.campaign_id = ${campaignId} AND d.occurrence = x.occurrence AND d.contact_id = x.contact_id AND d.outcome <> 'skipped') AS decided
    FROM unnest(${sql.val(out.map((r) => r.contact_id))}::bigint[], ${sql.val(out.map((r) => r.occurrence))}::text[], ${sql.val(out.map((r) => r.address))}::text[]) AS x(contact_id, occurrence, address)`.execute(q);
  const info = new Map(keys.rows.map((k) => [`${k.contact_id}|${k.occurrence}`, k]));
  return out.filter((r) => !info.get(`${r.contact_id}|${r.occurrence}`)?.decided).map((r) => ({ ...r, suppressed: info.get(`${r.contact_id}|${r.occurrence}`)?.suppressed ?? null }));
}

/** Month-day strings ('MM-DD') of the days in [from, to], with 02-29 when a common year's 02-28 is in it. */
function monthDays(from: string, to: string): string[] {
  const out = new Set<string>();
  for (let d = from, i = 0; d <= to && i < 400; d = addDays(d, 1), i++) {
    out.add(d.slice(5));
    const y = Number(d.slice(0, 4));
    const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
    if (d.slice(5) === '02-28' && !leap) out.add('02-29');
  }
  return [...out];
}

const listCache = new WeakMap<TemplateLookup, Map<string, Record<string, unknown[]>>>();
/**
 * Empty lists for a template's optional list variables (those whose items have
 * required fields): a mail without open projects or photos then renders the
 * list's section away instead of failing on a missing list.
 */
function optionalLists(templates: TemplateLookup | undefined, template: string | null): Record<string, unknown[]> {
  if (!templates || !template || !templates.has(template)) return {};
  let byName = listCache.get(templates);
  if (!byName) listCache.set(templates, (byName = new Map()));
  let out = byName.get(template);
  if (!out) {
    out = {};
    for (const v of templates.requiredVariables(template)) {
      const head = v.split('[]')[0] ?? '';
      if (v.includes('[]') && head && !head.includes('.')) out[head] = [];
    }
    byName.set(template, out);
  }
  return out;
}

/** The order-status template's variant for an order status (production, shipped, arrival). */
export const ORDER_STATUS_NOTE: Readonly<Record<string, 'production' | 'shipped' | 'arrival'>> = {
  in_production: 'production', shipped: 'shipped', in_transit: 'shipped', customs: 'arrival', in_warehouse: 'arrival', selling: 'arrival', remaining_stock: 'arrival',
};

/** What a sequence step knows of its trigger: the inquiry's topic, the order (status of the change that enrolled it), the dormant client's last order. */
function sequenceData(triggerRef: string, r: { topic: string | null; ref: string | null; order_no: string | null; order_products: string | null; last_order: { date: string; product: string | null } | null }): Record<string, unknown> {
  if (r.topic) return { topic: r.topic, inquiry: { ref: r.ref, topic: r.topic } };
  if (r.order_no) {
    const orderStatus = triggerRef.replace(/^order-\d+-/, '');
    return { order: { no: r.order_no, products: r.order_products ?? r.order_no, status: orderStatus }, orderStatus, status: ORDER_STATUS_NOTE[orderStatus] ?? orderStatus };
  }
  if (r.last_order) return { lastOrder: r.last_order.product ? r.last_order : { date: r.last_order.date } };
  return {};
}

async function candidateRows(q: Q, stored: StoredCampaign, filter: AudienceFilter, from: string, to: string, asOf: string, settings: CampaignSettings, withNames: boolean): Promise<CandidateRow[]> {
  const c = stored.definition;
  const members = audienceQuery(filter, asOf);
  switch (c.kind) {
    case 'one-off':
    case 'recurring': {
      const occ = globalOccurrences(c, from, to).map((o) => ({ country: null, region: null, o }));
      if (occ.length === 0) return [];
      return audienceTimesOccurrences(q, stored.id, members, occ, withNames, false);
    }
    case 'holiday': {
      const places = await sql<{ country: string | null; region: string | null }>`SELECT DISTINCT country, region FROM (${members}) m`.execute(q);
      trace(`  places (${places.rows.length})`);
      const list: Array<{ country: string | null; region: string | null; o: Occurrence }> = [];
      for (const p of places.rows) {
        for (const o of holidayOccurrences(c, p.country, p.region, settings.ourCountry, from, to)) list.push({ country: p.country, region: p.region, o });
      }
      trace(`  holiday dates (${list.length})`);
      if (list.length === 0) return [];
      return audienceTimesOccurrences(q, stored.id, members, list, withNames, true);
    }
    case 'personal': {
      const wantedDays = monthDays(addDays(from, c.daysBefore), addDays(to, c.daysBefore + 1));
      const out: CandidateRow[] = [];
      if (c.events.includes('birthday')) {
        const rows = await sql<AudienceMember>`SELECT m.* FROM (${members}) m WHERE m.birthday IS NOT NULL AND to_char(m.birthday::date, 'MM-DD') = ANY(${sql.val(wantedDays)}::text[]) ORDER BY m.client_id, m.contact_id`.execute(q);
        for (const m of rows.rows) {
          for (const o of anniversaryOccurrences('birthday', m.birthday ?? '', c.daysBefore, from, to)) out.push({ ...m, occurrence: o.occurrence, send_date: o.sendDate, event_date: o.eventDate ?? null, template: null, odata: { ...o.data, event: 'birthday' }, suppressed: null, enrolment_id: null });
        }
      }
      const kinds = c.events.filter((e) => e !== 'birthday');
      if (kinds.length > 0) {
        const rows = await sql<AudienceMember & { event_id: number; kind: string; occurred_on: string; recurring: boolean; note: string | null }>`SELECT m.*, pe.id AS event_id, pe.kind, pe.occurred_on::text AS occurred_on, pe.recurring, pe.note
          FROM (${members}) m JOIN personal_events pe ON pe.contact_id = m.contact_id
          WHERE pe.kind = ANY(${sql.val(kinds)}::text[]) AND (pe.recurring AND to_char(pe.occurred_on, 'MM-DD') = ANY(${sql.val(wantedDays)}::text[]) OR NOT pe.recurring AND pe.occurred_on BETWEEN ${addDays(from, c.daysBefore)}::date AND ${addDays(to, c.daysBefore)}::date)
          ORDER BY m.client_id, m.contact_id, pe.id`.execute(q);
        for (const r of rows.rows) {
          const { event_id, kind, occurred_on, recurring, note, ...m } = r;
          const occ = recurring ? anniversaryOccurrences(`${kind}-${event_id}`, occurred_on, c.daysBefore, from, to) : [{ occurrence: `${kind}-${event_id}`, sendDate: addDays(occurred_on, -c.daysBefore), eventDate: occurred_on, data: { eventDate: occurred_on } }];
          for (const o of occ) out.push({ ...m, occurrence: o.occurrence, send_date: o.sendDate, event_date: null, template: null, odata: { ...o.data, event: kind, note }, suppressed: null, enrolment_id: null });
        }
      }
      return undecidedWithSuppression(q, stored.id, out);
    }
    case 'sequence': {
      const enrolled = await sql<AudienceMember & { enrolment_id: number; trigger_ref: string; started_at: Date; paused_until: string | null; topic: string | null; ref: string | null; order_no: string | null; order_products: string | null; last_order: { date: string; product: string | null } | null }>`SELECT m.*, e.id AS enrolment_id, e.trigger_ref, e.started_at, e.paused_until::text AS paused_until,
          i.topic, i.ref, o.order_no, o.products AS order_products, lo.last_order
        FROM campaign_enrolments e
        LEFT JOIN LATERAL (SELECT coalesce(i.project, i.product, i.ref, 'your inquiry') AS topic, i.ref FROM inquiries i WHERE e.trigger_ref IN ('inquiry-' || i.id, 'quotation-' || i.id)) i ON true
        LEFT JOIN LATERAL (SELECT o.order_no, (SELECT string_agg(CASE WHEN l.quantity > 0 THEN (l.quantity::float8)::text || coalesce(' ' || l.unit, '') || ' ' ELSE '' END || l.product, ', ' ORDER BY l.id)
            FROM order_lines l WHERE l.order_id = o.id) AS products
          FROM orders o WHERE e.trigger_ref LIKE 'order-%' AND o.id = CASE WHEN e.trigger_ref ~ '^order-[0-9]+-' THEN split_part(e.trigger_ref, '-', 2)::bigint END) o ON true
        LEFT JOIN LATERAL (SELECT json_build_object('date', o.ordered_on::text, 'product', (SELECT l.product FROM order_lines l WHERE l.order_id = o.id ORDER BY coalesce(l.amount, 0) DESC, l.id LIMIT 1)) AS last_order
          FROM orders o WHERE e.trigger_ref LIKE 'dormant-%' AND o.client_id = e.client_id AND o.status <> 'cancelled' ORDER BY o.ordered_on DESC, o.id DESC LIMIT 1) lo ON true
        JOIN (${members}) m ON m.contact_id = e.contact_id
        WHERE e.campaign_id = ${stored.id} AND e.state = 'active' ORDER BY m.client_id, m.contact_id, e.id`.execute(q);
      const out: CandidateRow[] = [];
      for (const r of enrolled.rows) {
        const { enrolment_id, trigger_ref, started_at, paused_until, topic, ref, order_no, order_products, last_order, ...m } = r;
        const extra = sequenceData(trigger_ref, { topic, ref, order_no, order_products, last_order });
        const zone = resolveZone(m.contact_zone, m.client_zone, m.country, 'UTC');
        let due = localDate(new Date(started_at), zone);
        c.steps.forEach((step, i) => {
          due = addDays(due, step.afterDays);
          let sendDate = due;
          if (paused_until && sendDate <= paused_until) sendDate = addDays(paused_until, 1);
          if (sendDate < from || sendDate > to) return;
          out.push({ ...m, occurrence: `${trigger_ref}-step${i + 1}`, send_date: sendDate, event_date: null, template: step.template ?? c.template ?? null, odata: { step: i + 1, ...extra, ...(step.data ?? {}), trigger: trigger_ref }, suppressed: null, enrolment_id });
        });
      }
      return undecidedWithSuppression(q, stored.id, out);
    }
  }
}

interface Accounts {
  byName: Map<string, number>;
  byOwner: Map<number, number>;
}

async function loadAccounts(q: Q): Promise<Accounts> {
  const res = await sql<{ id: number; name: string; owner_id: number | null }>`SELECT id, name, owner_id FROM mail_accounts WHERE enabled ORDER BY id`.execute(q);
  const byName = new Map<string, number>();
  const byOwner = new Map<number, number>();
  for (const r of res.rows) {
    byName.set(r.name, Number(r.id));
    if (r.owner_id !== null && !byOwner.has(Number(r.owner_id))) byOwner.set(Number(r.owner_id), Number(r.id));
  }
  return { byName, byOwner };
}

function chooseAccount(c: CampaignDefinition, ownerId: number | null, accounts: Accounts, settings: CampaignSettings): { id: number | null; why: string | null } {
  if (c.account) {
    const id = accounts.byName.get(c.account);
    return id ? { id, why: null } : { id: null, why: `sending account "${c.account}" does not exist or is disabled` };
  }
  if (ownerId !== null) {
    const id = accounts.byOwner.get(Number(ownerId));
    if (id) return { id, why: null };
  }
  if (settings.defaultAccount) {
    const id = accounts.byName.get(settings.defaultAccount);
    if (id) return { id, why: null };
  }
  return { id: null, why: ownerId === null ? 'no sending account: the client has no owner and no default account is set' : "no sending account: the client's owner has no mailbox and no default account is set" };
}

const localeCache = new WeakMap<TemplateLookup, Map<string, string | null>>();
/** The template's locale for a wanted language, looked up once per template and language (not once per recipient). */
function cachedLocale(templates: TemplateLookup, template: string, wanted: string): string | null {
  let byKey = localeCache.get(templates);
  if (!byKey) localeCache.set(templates, (byKey = new Map()));
  const key = `${template}\u0000${wanted}`;
  let locale = byKey.get(key);
  if (locale === undefined) {
    locale = templates.resolveLocale(template, wanted) ?? null;
    byKey.set(key, locale);
  }
  return locale;
}

/** Checks one candidate: address, suppression, template locale, account, and whether its day is still ahead. */
function preparePending(stored: StoredCampaign, row: CandidateRow, now: Date, settings: CampaignSettings, accounts: Accounts, templates: TemplateLookup | undefined): Pending {
  const c = stored.definition;
  const priority = campaignPriority(c);
  const zone = resolveZone(row.contact_zone, row.client_zone, row.country, 'UTC');
  const window = windowOf(c, settings);
  const key = campaignMailKey(c.name, row.occurrence, row.contact_id);
  const template = row.template ?? c.template ?? null;
  const wanted = row.contact_language ?? row.client_language ?? settings.defaultLocale;
  const base = { campaign: stored, row, key, priority, zone, window, template };
  const skip = (why: string, extra: Partial<Pending> = {}): Pending => ({ ...base, lastDate: undefined, date: row.send_date, locale: null, accountId: null, skip: why, ...extra });
  if (!row.address) return skip('no valid address');
  if (row.suppressed) return skip(row.suppressed.startsWith('unsubscribe') ? 'unsubscribed' : `suppressed (${row.suppressed})`);
  let locale: string | null = wanted;
  if (templates && template) {
    if (!templates.has(template)) return skip(`template "${template}" does not exist`);
    locale = cachedLocale(templates, template, wanted);
    if (!locale) return skip(`no template in the contact's language (${wanted}) and no fallback`);
  }
  const account = chooseAccount(c, row.owner_id, accounts, settings);
  if (account.id === null) return skip(account.why ?? 'no sending account', { locale });
  // The day: a dated occasion must not arrive after it; other mail may go out a little late, then not at all.
  const today = localDate(now, zone);
  const lastDate = row.event_date ?? (priority === 'greeting' || priority === 'vip' ? addDays(row.send_date, settings.greetingGraceDays) : undefined);
  let date = row.send_date;
  const slot = localSendSlot(date, zone, window, row.event_date ? 'earlier' : 'later', row.contact_id);
  if (slot.windowEnd.getTime() <= now.getTime()) {
    date = today;
    let next = localSendSlot(date, zone, window, 'later', row.contact_id);
    if (next.windowEnd.getTime() <= now.getTime()) next = localSendSlot(addDays(today, 1), zone, window, 'later', row.contact_id);
    date = next.localDate;
    if (lastDate && date > lastDate) {
      return skip(row.event_date ? `${row.odata?.holidayName ? `holiday ${String(row.odata.holidayName)}` : 'the date'} already passed (${row.event_date} in ${zone})` : `occurrence ${row.occurrence} passed on ${row.send_date}`, { locale, accountId: account.id });
    }
  } else {
    date = slot.localDate;
  }
  return { ...base, lastDate, date, locale, accountId: account.id, skip: null };
}

function notAfterOf(p: Pending, date: string): Date | null {
  if (p.row.event_date) return endOfLocalDay(p.row.event_date, p.zone);
  if (p.lastDate) return localSendSlot(p.lastDate, p.zone, p.window, 'later', 0).windowEnd;
  return p.priority === 'promotion' ? null : endOfLocalDay(addDays(date, 7), p.zone);
}

/** The best (lowest) priority rank among each contact's candidates. */
function bestRank(list: readonly Pending[]): Map<number, number> {
  const out = new Map<number, number>();
  for (const p of list) {
    const r = PRIORITY_RANK[p.priority];
    if (r < (out.get(p.row.contact_id) ?? 99)) out.set(p.row.contact_id, r);
  }
  return out;
}

/** A campaign mail of an earlier run that a higher-priority mail may still move (not yet handed to the sender). */
interface MovableRow {
  idempotency_key: string;
  campaign_id: number;
  occurrence: string;
  contact_id: number;
  client_id: number;
  priority: Priority;
  send_on: string;
  time_zone: string | null;
  not_after: Date | null;
  to_address: string | null;
  account_id: number | null;
  template: string | null;
  locale: string | null;
  country: string | null;
  region: string | null;
  contact_name: string;
  client_name: string;
}

async function budgetHistory(q: Q, from: string, to: string, settings: CampaignSettings, now: Date, contacts: ReadonlyMap<number, number>, years: readonly number[]): Promise<{ history: BudgetHistory[]; movable: Map<string, MovableRow & { definition: CampaignDefinition }> }> {
  const res = await sql<{ contact_id: number; priority: Priority; send_on: string; key: string | null; movable: boolean }>`SELECT d.contact_id, d.priority, d.send_on::text AS send_on, d.idempotency_key AS key,
      (d.not_before > ${new Date(now.getTime() + 3_600_000)} AND (d.enqueued_at IS NULL OR EXISTS (SELECT 1 FROM outbox o WHERE o.idempotency_key = d.idempotency_key AND o.state = 'planned'))) AS movable
    FROM campaign_decisions d
    WHERE d.outcome IN ('planned','deferred') AND d.send_on BETWEEN ${addDays(from, -settings.promotionGapDays - 1)}::date AND ${addDays(to, settings.promotionGapDays + 400)}::date
    UNION ALL
    SELECT contact_id, kind, (coalesce(sent_at, not_before) AT TIME ZONE 'UTC')::date::text, NULL, false FROM outbox
    WHERE campaign_id IS NULL AND contact_id IS NOT NULL AND kind IN ('promotion','greeting','vip','personal') AND state IN ('planned','claimed','sent','uncertain')
      AND coalesce(sent_at, not_before) >= ${addDays(from, -settings.promotionGapDays - 1)}::date`.execute(q);
  // Details of the movable mails that a higher-priority candidate of the same contact could displace (few).
  const keys = res.rows.filter((r) => r.movable && r.key && (contacts.get(Number(r.contact_id)) ?? 99) < PRIORITY_RANK[r.priority]).map((r) => r.key!);
  const movable = new Map<string, MovableRow & { definition: CampaignDefinition }>();
  if (keys.length > 0) {
    const rows = await sql<MovableRow>`SELECT d.idempotency_key, d.campaign_id, d.occurrence, d.contact_id, d.client_id, d.priority, d.send_on::text AS send_on, d.time_zone, d.not_after,
        d.to_address, d.account_id, d.template, d.locale, c.country::text AS country, c.region, k.name AS contact_name, c.name AS client_name
      FROM campaign_decisions d JOIN contacts k ON k.id = d.contact_id JOIN clients c ON c.id = d.client_id
      WHERE d.idempotency_key = ANY(${sql.val(keys)}::text[])`.execute(q);
    const ids = [...new Set(rows.rows.map((r) => Number(r.campaign_id)))];
    const defs = new Map<number, CampaignDefinition>();
    for (const c of (await sql<{ id: number; definition: unknown }>`SELECT id, definition FROM campaigns WHERE id = ANY(${sql.val(ids)}::bigint[])`.execute(q)).rows) {
      const def = campaignSchema.safeParse(c.definition);
      if (def.success) defs.set(Number(c.id), def.data);
    }
    for (const r of rows.rows) {
      const definition = defs.get(Number(r.campaign_id));
      if (definition) movable.set(r.idempotency_key, { ...r, definition });
    }
  }
  const history = res.rows.map((r): BudgetHistory => {
    const m = r.key ? movable.get(r.key) : undefined;
    if (!m) return { contactId: Number(r.contact_id), priority: r.priority, date: r.send_on };
    const zone = m.time_zone ?? 'UTC';
    return {
      contactId: Number(r.contact_id), priority: r.priority, date: r.send_on,
      movable: {
        key: m.idempotency_key, overBudget: campaignOverBudget(m.definition), lastDate: m.not_after ? localDate(new Date(new Date(m.not_after).getTime() - 1), zone) : undefined,
        quiet: m.priority === 'promotion' ? quietPeriods(m.country, m.region, years, settings.quietHolidays) : [], order: m.definition.name,
      },
    };
  });
  return { history, movable };
}

/**
 * Moves mail of earlier runs that gave way in the budget: the outbox row (only
 * while still planned, so nothing already handed to the sender changes) and its decision.
 */
async function applyMoves(q: Q, moves: ReadonlyArray<{ key: string; outcome: 'deferred' | 'skipped'; reason: string; sendOn: string | null; notBefore: Date | null }>, runId: number | null, now: Date): Promise<void> {
  const later = moves.filter((m) => m.outcome === 'deferred');
  const dropped = moves.filter((m) => m.outcome === 'skipped');
  const changed = new Set<string>();
  if (later.length > 0) {
    const r = await sql<{ idempotency_key: string }>`UPDATE outbox o SET not_before = u.not_before, updated_at = ${now}
      FROM unnest(${sql.val(later.map((m) => m.key))}::text[], ${sql.val(later.map((m) => m.notBefore))}::timestamptz[]) AS u(key, not_before)
      WHERE o.idempotency_key = u.key AND o.state = 'planned' AND (o.not_after IS NULL OR o.not_after >= u.not_before) RETURNING o.idempotency_key`.execute(q);
    r.rows.forEach((x) => changed.add(x.idempotency_key));
  }
  if (dropped.length > 0) {
    const r = await sql<{ idempotency_key: string }>`UPDATE outbox o SET state = 'cancelled', last_error = u.reason, updated_at = ${now}
      FROM unnest(${sql.val(dropped.map((m) => m.key))}::text[], ${sql.val(dropped.map((m) => m.reason))}::text[]) AS u(key, reason)
      WHERE o.idempotency_key = u.key AND o.state = 'planned' RETURNING o.idempotency_key`.execute(q);
    r.rows.forEach((x) => changed.add(x.idempotency_key));
  }
  await sql`UPDATE campaign_decisions d SET outcome = u.outcome, reason = u.reason, send_on = u.send_on, not_before = u.not_before, run_id = ${runId}::bigint, updated_at = ${now}
    FROM unnest(${sql.val(moves.map((m) => m.key))}::text[], ${sql.val(moves.map((m) => m.outcome))}::text[], ${sql.val(moves.map((m) => m.reason))}::text[],
      ${sql.val(moves.map((m) => m.sendOn))}::date[], ${sql.val(moves.map((m) => m.notBefore))}::timestamptz[]) AS u(key, outcome, reason, send_on, not_before)
    WHERE d.idempotency_key = u.key AND (d.enqueued_at IS NULL OR d.idempotency_key = ANY(${sql.val([...changed])}::text[]))`.execute(q);
}

/** Where planned decisions go besides campaign_decisions: straight into the outbox in the same statement (the campaigns given), or later. */
interface DirectOutbox {
  readonly sender: CampaignSettings['sender'];
  readonly campaignIds: ReadonlySet<number>;
}

/**
 * Writes the decisions batch by batch (taking each from `next`, so the next one
 * is built while one is written): on the planner's transaction `main`, and on
 * `extra` more connections at once, each batch in a transaction of its own.
 * Returns the outbox rows inserted.
 */
async function writeDecisions(db: Db, main: Q, next: () => DecisionRow[] | null, o: { runId: number; now: Date; direct: DirectOutbox | null; extra: number }): Promise<number> {
  let enqueued = 0;
  let failed = false;
  const take = () => (failed ? null : next());
  const loop = async (write: (rows: readonly DecisionRow[]) => Promise<number>): Promise<void> => {
    try {
      for (let rows = take(); rows !== null; rows = take()) {
        const n = await write(rows);
        enqueued += n;
        trace(`  batch (${rows.length})`);
      }
    } catch (e) {
      failed = true;
      throw e;
    }
  };
  const own = (rows: readonly DecisionRow[]) => db.kysely.transaction().execute(async (trx) => {
    await noJit(trx);
    return insertDecisions(trx, rows, o.runId, o.now, o.direct);
  });
  const results = await Promise.allSettled([loop((rows) => insertDecisions(main, rows, o.runId, o.now, o.direct)), ...Array.from({ length: o.extra }, () => loop(own))]);
  const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure) throw failure.reason;
  return enqueued;
}

/**
 * Writes one batch of decisions in one statement. With `direct`, the same
 * statement also inserts the planned and deferred ones of those campaigns into
 * the outbox (and their 'planned' events) and marks them enqueued, so the rows
 * are not read back and updated afterwards. Returns the outbox rows inserted.
 */
async function insertDecisions(q: Q, b: readonly DecisionRow[], runId: number, now: Date, direct: DirectOutbox | null): Promise<number> {
  const col = <K extends keyof DecisionRow>(k: K) => sql.val(b.map((r) => r[k]));
  // Campaign data repeats per campaign and occurrence: sent once per distinct value, referenced by index.
  const dataIndex = new Map<string, number>();
  const dataIdx = b.map((r) => {
    if (r.data === null) return null;
    let n = dataIndex.get(r.data);
    if (n === undefined) dataIndex.set(r.data, (n = dataIndex.size + 1));
    return n;
  });
  const enqueue = b.map((r) => direct !== null && r.outcome !== 'skipped' && direct.campaignIds.has(r.campaign_id));
  const insert = sql`INSERT INTO campaign_decisions (campaign_id, occurrence, contact_id, client_id, idempotency_key, outcome, reason, priority, send_on, not_before, not_after,
      time_zone, account_id, to_address, template, locale, data, enrolment_id, run_id, created_at, updated_at, enqueued_at)
    SELECT u.campaign_id, u.occurrence, u.contact_id, u.client_id, u.idempotency_key, u.outcome, u.reason, u.priority, u.send_on, u.not_before, u.not_after,
      u.time_zone, u.account_id, u.to_address, u.template, u.locale, (${sql.val([...dataIndex.keys()])}::jsonb[])[u.data_idx], u.enrolment_id,
      ${runId}::bigint, ${now}::timestamptz, ${now}::timestamptz, CASE WHEN u.enqueue THEN ${now}::timestamptz END
    FROM unnest(${col('campaign_id')}::bigint[], ${col('occurrence')}::text[], ${col('contact_id')}::bigint[], ${col('client_id')}::bigint[],
      ${col('idempotency_key')}::text[], ${col('outcome')}::text[], ${col('reason')}::text[], ${col('priority')}::text[], ${col('send_on')}::date[],
      ${col('not_before')}::timestamptz[], ${col('not_after')}::timestamptz[], ${col('time_zone')}::text[], ${col('account_id')}::bigint[], ${col('to_address')}::text[],
      ${col('template')}::text[], ${col('locale')}::text[], ${sql.val(dataIdx)}::int[], ${col('enrolment_id')}::bigint[], ${sql.val(enqueue)}::boolean[])
      AS u(campaign_id, occurrence, contact_id, client_id, idempotency_key, outcome, reason, priority, send_on, not_before, not_after,
        time_zone, account_id, to_address, template, locale, data_idx, enrolment_id, enqueue)
    ON CONFLICT (campaign_id, occurrence, contact_id) DO UPDATE SET outcome = excluded.outcome, reason = excluded.reason, send_on = excluded.send_on,
      not_before = excluded.not_before, not_after = excluded.not_after, time_zone = excluded.time_zone, account_id = excluded.account_id, to_address = excluded.to_address,
      template = excluded.template, locale = excluded.locale, data = excluded.data, run_id = excluded.run_id, updated_at = excluded.updated_at,
      enqueued_at = coalesce(campaign_decisions.enqueued_at, excluded.enqueued_at)
    WHERE campaign_decisions.outcome = 'skipped'`;
  if (!direct || !enqueue.includes(true)) {
    await insert.execute(q);
    return 0;
  }
  const res = await sql<{ n: number }>`WITH written AS (${insert} RETURNING *),
      d AS (SELECT * FROM written WHERE enqueued_at = ${now}::timestamptz AND outcome IN ('planned','deferred')),
      ${outboxFromDecisions(direct.sender, now)}
    SELECT count(*)::int AS n FROM ins`.execute(q);
  return Number(res.rows[0]?.n ?? 0);
}

function toLine(p: Pending, d: DecisionRow): PlanLine {
  return {
    campaign: p.campaign.name, occurrence: d.occurrence, contactId: d.contact_id, clientId: d.client_id, contact: p.row.contact_name, client: p.row.client_name,
    to: d.to_address, accountId: d.account_id, template: d.template, locale: d.locale, outcome: d.outcome, sendAt: d.not_before,
    localTime: d.not_before ? DateTime.fromJSDate(d.not_before, { zone: p.zone }).toFormat("yyyy-LL-dd HH:mm ZZZZ '('z')'") : null, reason: d.reason,
  };
}

/**
 * Plans every given campaign for the horizon: computes candidates in SQL
 * (audience x occurrences, minus what is decided already), checks each
 * recipient, applies one budget per contact across all campaigns, records one
 * decision per (campaign, occurrence, contact) and enqueues the planned ones
 * into the outbox. Serialized across processes by an advisory lock; re-running adds nothing.
 */
export async function planCampaigns(db: Db, options: PlanOptions): Promise<PlanResult> {
  const { clock, settings } = options;
  traceAt = Date.now();
  const now = clock.now();
  const from = addDays(now.toISOString().slice(0, 10), -1);
  const to = addDays(now.toISOString().slice(0, 10), settings.horizonDays);
  const asOf = now.toISOString().slice(0, 10);
  const batch = Math.max(100, options.batchSize ?? 10_000);
  const dryRun = options.dryRun === true;
  const active = options.campaigns.filter((c) => !c.paused);
  const lines: PlanLine[] = [];
  let planned = 0;
  let deferred = 0;
  let skipped = 0;
  const seq = { enrolled: 0, stopped: 0, paused: 0 };
  let moved = 0;
  let useSql = false;
  let enqueuedHere = 0;

  // The run's row is committed first: writers on other connections reference it.
  const runId = dryRun ? null : Number((await db.kysely.insertInto('campaign_runs').values({ started_at: now, dry_run: false, horizon_end: to, only_campaign: options.campaigns.length === 1 ? options.campaigns[0]!.name : null }).returning('id').executeTakeFirstOrThrow()).id);
  const work = async (q: Q): Promise<number | null> => {
    if (!dryRun) {
      await noJit(q);
      await sql`SELECT pg_advisory_xact_lock(${PLANNER_LOCK})`.execute(q);
    }
    const accounts = await loadAccounts(q);
    const pendings: Pending[] = [];
    for (const stored of active) {
      const filter = await resolveAudience({ ...db, kysely: q as Kysely<Database> }, stored.definition.audience);
      if (stored.definition.kind === 'sequence' && !dryRun) {
        seq.enrolled += await enrolTriggers(q, stored.id, stored.definition, filter, now, asOf);
        const s = await applySequenceStops(q, stored.id, stored.definition, now);
        seq.stopped += s.stopped;
        seq.paused += s.paused;
      }
      const rows = await candidateRows(q, stored, filter, from, to, asOf, settings, options.collectLines !== false);
      trace(`candidates ${stored.name} (${rows.length})`);
      for (const row of rows) pendings.push(preparePending(stored, row, now, settings, accounts, options.templates));
    }
    const ok = pendings.filter((p) => p.skip === null);
    const years = [...new Set([Number(from.slice(0, 4)), Number(to.slice(0, 4)), Number(to.slice(0, 4)) + 1])];
    const candidates: BudgetCandidate[] = ok.map((p) => ({
      key: p.key, contactId: p.row.contact_id, priority: p.priority, date: p.date, lastDate: p.lastDate, overBudget: campaignOverBudget(p.campaign.definition),
      quiet: p.priority === 'promotion' ? quietPeriods(p.row.country, p.row.region, years, settings.quietHolidays) : [], order: p.campaign.name,
    }));
    trace('checks');
    const { history, movable } = ok.length > 0 ? await budgetHistory(q, from, to, settings, now, bestRank(ok), years) : { history: [], movable: new Map() };
    trace(`history (${history.length})`);
    const verdicts = new Map(applyBudget(candidates, history, settings).map((d) => [d.key, d]));
    // Mail of earlier runs that gives way to a higher-priority one on its day: placed again, or dropped per its campaign's rule.
    const moves: Array<{ key: string; outcome: 'deferred' | 'skipped'; reason: string; sendOn: string | null; notBefore: Date | null }> = [];
    for (const v of verdicts.values()) {
      const m = v.moved ? movable.get(v.key) : undefined;
      if (!m) continue;
      const zone = m.time_zone ?? 'UTC';
      let move: (typeof moves)[number];
      if (v.outcome === 'planned') {
        const slot = localSendSlot(v.date, zone, windowOf(m.definition, settings), 'later', Number(m.contact_id));
        move = { key: v.key, outcome: 'deferred', reason: v.reason, sendOn: slot.localDate, notBefore: slot.notBefore.getTime() < now.getTime() ? now : slot.notBefore };
      } else {
        move = { key: v.key, outcome: 'skipped', reason: v.until ? `${v.reason} (dropped by the campaign's rule)` : v.reason, sendOn: null, notBefore: null };
      }
      moves.push(move);
      if (options.collectLines !== false) {
        lines.push({
          campaign: m.definition.name, occurrence: m.occurrence, contactId: Number(m.contact_id), clientId: Number(m.client_id), contact: m.contact_name, client: m.client_name,
          to: m.to_address, accountId: m.account_id === null ? null : Number(m.account_id), template: m.template, locale: m.locale, outcome: move.outcome, sendAt: move.notBefore,
          localTime: move.notBefore ? DateTime.fromJSDate(move.notBefore, { zone }).toFormat("yyyy-LL-dd HH:mm ZZZZ '('z')'") : null, reason: move.reason,
        });
      }
    }
    moved = moves.length;
    if (!dryRun && moves.length > 0) await applyMoves(q, moves, runId, now);
    trace('budget');
    const dataJson = new Map<string, Map<object, string>>();
    const jsonOf = (p: Pending): string => {
      const cacheKey = `${p.campaign.name}|${p.template ?? ''}`;
      let byCampaign = dataJson.get(cacheKey);
      if (!byCampaign) dataJson.set(cacheKey, (byCampaign = new Map()));
      const od = p.row.odata ?? {};
      let j = byCampaign.get(od);
      if (j === undefined) {
        j = JSON.stringify({ ...optionalLists(options.templates, p.template), ...(p.campaign.definition.data ?? {}), ...od });
        byCampaign.set(od, j);
      }
      return j;
    };
    const decide = (p: Pending): DecisionRow => {
      const v = verdicts.get(p.key);
      let outcome: DecisionRow['outcome'] = 'skipped';
      let reason = p.skip;
      let sendOn: string | null = null;
      let notBefore: Date | null = null;
      let notAfter: Date | null = null;
      if (!p.skip && v) {
        if (v.outcome === 'planned') {
          outcome = v.deferred ? 'deferred' : 'planned';
          reason = v.deferred ? v.reason : null;
          const slot = localSendSlot(v.date, p.zone, p.window, v.deferred ? 'later' : p.row.event_date ? 'earlier' : 'later', p.row.contact_id);
          sendOn = slot.localDate;
          notBefore = slot.notBefore.getTime() < now.getTime() ? now : slot.notBefore;
          notAfter = notAfterOf(p, sendOn);
          if (notAfter && notAfter.getTime() < notBefore.getTime()) notAfter = null;
        } else {
          reason = v.until ? `${v.reason} (dropped by the campaign's rule)` : v.reason;
        }
      }
      const d: DecisionRow = {
        campaign_id: p.campaign.id, occurrence: p.row.occurrence, contact_id: p.row.contact_id, client_id: p.row.client_id, idempotency_key: p.key,
        outcome, reason, priority: p.priority, send_on: sendOn, not_before: notBefore, not_after: notAfter, time_zone: p.zone, account_id: p.accountId,
        to_address: p.row.address, template: p.template, locale: p.locale, data: jsonOf(p), enrolment_id: p.row.enrolment_id,
      };
      if (outcome === 'planned') planned++;
      else if (outcome === 'deferred') deferred++;
      else skipped++;
      if (options.collectLines !== false) lines.push(toLine(p, d));
      return d;
    };
    // Decisions are built a batch at a time, as the writers ask for them, so building one overlaps writing another.
    let at = 0;
    const nextBatch = (): DecisionRow[] | null => {
      if (at >= pendings.length) return null;
      const out: DecisionRow[] = [];
      for (const end = Math.min(pendings.length, at + batch); at < end; at++) out.push(decide(pendings[at]!));
      return out;
    };
    if (dryRun) {
      while (nextBatch() !== null);
      return runId;
    }
    let toSend = 0;
    for (const p of pendings) if (p.skip === null && verdicts.get(p.key)?.outcome === 'planned') toSend++;
    const path = options.outboxPath ?? 'auto';
    useSql = path === 'sql' || (path === 'auto' && toSend > 5000);
    // VIP summaries with figures go through enqueuePlanned, which reads the orders.
    const direct = useSql ? { sender: settings.sender, campaignIds: new Set(active.filter((c) => !(c.definition.kind === 'recurring' && c.definition.figures)).map((c) => c.id)) } : null;
    // More writers only on PostgreSQL, for more than one batch, and when no earlier mail was moved (so each
    // batch committed on its own is a part of a valid plan: fewer mails never break a contact's budget).
    const extra = db.backend === 'postgres' && moves.length === 0 && pendings.length > batch ? Math.max(0, (options.writers ?? 2) - 1) : 0;
    enqueuedHere = await writeDecisions(db, q, nextBatch, { runId: runId!, now, direct, extra });
    // Fresh statistics keep the next run's anti-join on a hash/index plan when the table just grew a lot.
    if (pendings.length > 5000) await sql`ANALYZE campaign_decisions`.execute(q);
    trace('decisions written');
    await q.updateTable('campaign_runs').set({ planned, deferred, skipped }).where('id', '=', runId!).execute();
    return runId;
  };

  if (dryRun) await work(db.kysely);
  else await db.kysely.transaction().execute(work);
  trace('committed');
  const target = { clock, settings, campaignIds: options.campaigns.map((c) => c.id) };
  const enqueued = dryRun ? 0 : enqueuedHere + (useSql ? await enqueuePlannedSql(db, { ...target, batchSize: batch * 5 }) : 0) + await enqueuePlanned(db, { ...target, batchSize: Math.min(batch, 5000) });
  trace(`enqueued ${enqueued}`);
  if (runId !== null) await db.kysely.updateTable('campaign_runs').set({ enqueued, finished_at: clock.now() }).where('id', '=', runId).execute();
  lines.sort((a, b) => a.campaign.localeCompare(b.campaign) || a.occurrence.localeCompare(b.occurrence) || a.clientId - b.clientId || a.contactId - b.contactId);
  return { runId, from, to, planned, deferred, skipped, enqueued, lines, sequences: seq, moved };
}

interface PendingMail {
  id: number;
  campaign_id: number;
  occurrence: string;
  idempotency_key: string;
  contact_id: number;
  client_id: number;
  priority: Priority;
  account_id: number;
  to_address: string;
  template: string | null;
  locale: string | null;
  data: Record<string, unknown> | null;
  not_before: Date;
  not_after: Date | null;
  contact_name: string;
  contact_title: string | null;
  contact_language: string | null;
  client_name: string;
  country: string | null;
  owner_name: string | null;
  account_email: string;
  account_name: string;
  figures: boolean;
}

/**
 * Two CTEs over a relation `d` of decisions (the columns of campaign_decisions,
 * those to enqueue): `ins` inserts their outbox rows, built as enqueueMail
 * would (data with contact, client and sender, a Message-ID in its format),
 * idempotent by key; `ev` records each inserted row's 'planned' event.
 */
function outboxFromDecisions(s: CampaignSettings['sender'], now: Date) {
  const stamp = now.getTime().toString(36);
  return sql`ins AS (INSERT INTO outbox (idempotency_key, account_id, client_id, contact_id, to_address, to_name, kind, template, locale, data,
        campaign_id, occurrence, not_before, not_after, message_id, created_at, updated_at)
      SELECT d.idempotency_key, d.account_id, d.client_id, d.contact_id, trim(d.to_address), regexp_replace(k.name, '[\r\n]+', ' ', 'g'), d.priority, d.template, d.locale,
        coalesce(d.data, '{}'::jsonb) || jsonb_build_object(
          'contact', jsonb_strip_nulls(jsonb_build_object('name', k.name, 'title', k.title, 'language', k.language)),
          'client', jsonb_strip_nulls(jsonb_build_object('name', c.name, 'country', c.country)),
          'sender', jsonb_strip_nulls(jsonb_build_object('name', coalesce(o.name, a.name), 'email', a.email, 'company', ${s.company}::text, 'website', ${s.website}::text,
            'phone', ${s.phone ?? null}::text, 'address', ${s.address ?? null}::text))),
        d.campaign_id, d.occurrence, d.not_before, d.not_after,
        'rapport.' || ${stamp}::text || '.' || substr(md5(random()::text || d.id::text), 1, 12) || '@' || coalesce(nullif(regexp_replace(lower(split_part(a.email, '@', 2)), '[^a-z0-9.-]', '', 'g'), ''), 'rapport.invalid'),
        ${now}::timestamptz, ${now}::timestamptz
      FROM d JOIN contacts k ON k.id = d.contact_id JOIN clients c ON c.id = d.client_id
      JOIN mail_accounts a ON a.id = d.account_id LEFT JOIN owners o ON o.id = c.owner_id
      ON CONFLICT (idempotency_key) DO NOTHING RETURNING id),
    ev AS (INSERT INTO outbox_events (outbox_id, at, event) SELECT id, ${now}::timestamptz, 'planned' FROM ins)`;
}

/** No JIT compilation for this transaction: the planner's statements are big but run once, so compiling them costs more than it saves. */
async function noJit(q: Q): Promise<void> {
  await sql`SET LOCAL jit = off`.execute(q);
}

/**
 * The set-based path for large plans: moves planned decisions into the outbox
 * with one INSERT ... SELECT ... ON CONFLICT (idempotency_key) DO NOTHING per
 * batch, building the same rows enqueueMail would (data, Message-ID in
 * enqueueMail's format, a 'planned' outbox event). VIP summaries with figures
 * are left to enqueueMail. Returns the rows inserted.
 */
export async function enqueuePlannedSql(db: Db, options: { clock: Clock; settings: CampaignSettings; batchSize?: number; campaignIds?: readonly number[] }): Promise<number> {
  const batch = Math.max(1000, options.batchSize ?? 50_000);
  const s = options.settings.sender;
  let enqueued = 0;
  let last = 0;
  for (;;) {
    const ids = await sql<{ id: number }>`SELECT d.id FROM campaign_decisions d JOIN campaigns cp ON cp.id = d.campaign_id AND NOT cp.paused
      WHERE d.enqueued_at IS NULL AND d.outcome IN ('planned','deferred') AND d.id > ${last} AND NOT coalesce((cp.definition->>'figures')::boolean, false)
        ${options.campaignIds && options.campaignIds.length > 0 ? sql`AND d.campaign_id = ANY(${sql.val([...options.campaignIds])}::bigint[])` : sql``}
      ORDER BY d.id LIMIT ${batch}`.execute(db.kysely);
    if (ids.rows.length === 0) break;
    const list = ids.rows.map((r) => Number(r.id));
    last = list[list.length - 1]!;
    const now = options.clock.now();
    const n = await db.kysely.transaction().execute(async (trx) => {
      await noJit(trx);
      const res = await sql<{ n: number }>`WITH d AS (SELECT d.* FROM campaign_decisions d WHERE d.id = ANY(${sql.val(list)}::bigint[]) AND d.enqueued_at IS NULL),
          ${outboxFromDecisions(s, now)},
          marked AS (UPDATE campaign_decisions x SET enqueued_at = ${now} FROM d WHERE x.id = d.id)
        SELECT count(*)::int AS n FROM ins`.execute(trx);
      return Number(res.rows[0]?.n ?? 0);
    });
    enqueued += n;
    trace(`  sql outbox batch (${list.length})`);
  }
  return enqueued;
}

/**
 * Writes planned decisions not yet in the outbox through the outbound
 * domain's enqueueMail (idempotent by key), then marks them. Safe to run in
 * several processes at once: a key is inserted once whoever gets there first.
 */
export async function enqueuePlanned(db: Db, options: { clock: Clock; settings: CampaignSettings; batchSize?: number; campaignIds?: readonly number[] }): Promise<number> {
  const batch = Math.max(100, options.batchSize ?? 5000);
  const s = options.settings.sender;
  let last = 0;
  let enqueued = 0;
  for (;;) {
    const res = await sql<PendingMail>`SELECT d.id, d.campaign_id, d.occurrence, d.idempotency_key, d.contact_id, d.client_id, d.priority, d.account_id, d.to_address, d.template, d.locale, d.data,
        d.not_before, d.not_after, k.name AS contact_name, k.title AS contact_title, k.language AS contact_language, c.name AS client_name, c.country::text AS country,
        o.name AS owner_name, a.email AS account_email, a.name AS account_name, coalesce((cp.definition->>'figures')::boolean, false) AS figures
      FROM campaign_decisions d JOIN campaigns cp ON cp.id = d.campaign_id AND NOT cp.paused
      JOIN contacts k ON k.id = d.contact_id JOIN clients c ON c.id = d.client_id
      JOIN mail_accounts a ON a.id = d.account_id LEFT JOIN owners o ON o.id = c.owner_id
      WHERE d.enqueued_at IS NULL AND d.outcome IN ('planned','deferred') AND d.id > ${last}
        ${options.campaignIds && options.campaignIds.length > 0 ? sql`AND d.campaign_id = ANY(${sql.val([...options.campaignIds])}::bigint[])` : sql``}
      ORDER BY d.id LIMIT ${batch}`.execute(db.kysely);
    const rows = res.rows;
    if (rows.length === 0) break;
    last = Number(rows[rows.length - 1]!.id);
    const figures = await vipFigures(db, rows.filter((r) => r.figures));
    const mails: OutboxInsert[] = rows.map((r) => ({
      idempotencyKey: r.idempotency_key,
      accountId: Number(r.account_id),
      clientId: Number(r.client_id),
      contactId: Number(r.contact_id),
      toAddress: r.to_address,
      toName: r.contact_name.replace(/[\r\n]+/g, ' '),
      kind: r.priority,
      template: r.template,
      locale: r.locale,
      data: {
        ...(r.data ?? {}),
        ...(figures.get(Number(r.id)) ?? {}),
        contact: { name: r.contact_name, ...(r.contact_title ? { title: r.contact_title } : {}), ...(r.contact_language ? { language: r.contact_language } : {}) },
        client: { name: r.client_name, ...(r.country ? { country: r.country } : {}) },
        sender: { name: r.owner_name ?? r.account_name, email: r.account_email, company: s.company, website: s.website, ...(s.phone ? { phone: s.phone } : {}), ...(s.address ? { address: s.address } : {}) },
      },
      campaignId: Number(r.campaign_id),
      occurrence: r.occurrence,
      notBefore: new Date(r.not_before),
      notAfter: r.not_after ? new Date(r.not_after) : null,
    }));
    trace(`  pending batch read (${rows.length})`);
    const out = await enqueueMail(db, mails, { clock: options.clock });
    trace('  enqueueMail');
    enqueued += out.inserted;
    await sql`UPDATE campaign_decisions SET enqueued_at = ${options.clock.now()} WHERE id = ANY(${sql.val(rows.map((r) => Number(r.id)))}::bigint[]) AND enqueued_at IS NULL`.execute(db.kysely);
  }
  return enqueued;
}

/** A VIP summary's figures from the client's orders of the period before (data.periodStart..periodEnd). */
async function vipFigures(db: Db, rows: readonly PendingMail[]): Promise<Map<number, Record<string, unknown>>> {
  const out = new Map<number, Record<string, unknown>>();
  if (rows.length === 0) return out;
  const res = await sql<{ id: number; orders: number; amount: number; currency: string | null; top: Array<{ name: string; quantity: number; amount: number }> | null;
      list: Array<{ date: string; orderNo: string; products: string; amount: number; status: string }> | null }>`SELECT x.id,
      (SELECT json_agg(json_build_object('date', p.ordered_on::text, 'orderNo', p.order_no, 'products', p.products, 'amount', p.amount, 'status', p.status) ORDER BY p.ordered_on, p.order_no)
         FROM (SELECT o.ordered_on, o.order_no, o.amount::float8 AS amount, replace(o.status, '_', ' ') AS status,
                 coalesce((SELECT string_agg(l.product, ', ' ORDER BY l.id) FROM order_lines l WHERE l.order_id = o.id), o.order_no) AS products
               FROM orders o WHERE o.client_id = x.client_id AND o.status <> 'cancelled' AND o.ordered_on BETWEEN x.ps AND x.pe ORDER BY o.ordered_on DESC, o.order_no DESC LIMIT 12) p) AS list,
      (SELECT count(*)::int FROM orders o WHERE o.client_id = x.client_id AND o.status <> 'cancelled' AND o.ordered_on BETWEEN x.ps AND x.pe) AS orders,
      (SELECT coalesce(sum(o.amount), 0) FROM orders o WHERE o.client_id = x.client_id AND o.status <> 'cancelled' AND o.ordered_on BETWEEN x.ps AND x.pe) AS amount,
      (SELECT min(o.currency) FROM orders o WHERE o.client_id = x.client_id AND o.ordered_on BETWEEN x.ps AND x.pe) AS currency,
      (SELECT json_agg(json_build_object('name', p.product, 'quantity', p.quantity, 'amount', p.amount)) FROM (SELECT l.product, sum(l.quantity)::float8 AS quantity, sum(coalesce(l.amount, 0))::float8 AS amount
         FROM orders o JOIN order_lines l ON l.order_id = o.id WHERE o.client_id = x.client_id AND o.status <> 'cancelled' AND o.ordered_on BETWEEN x.ps AND x.pe
         GROUP BY l.product ORDER BY sum(coalesce(l.amount, 0)) DESC, l.product LIMIT 3) p) AS top
    FROM unnest(${sql.val(rows.map((r) => Number(r.id)))}::bigint[], ${sql.val(rows.map((r) => Number(r.client_id)))}::bigint[],
      ${sql.val(rows.map((r) => String(r.data?.periodStart ?? '1900-01-01')))}::date[], ${sql.val(rows.map((r) => String(r.data?.periodEnd ?? '1900-01-01')))}::date[]) AS x(id, client_id, ps, pe)`.execute(db.kysely);
  for (const r of res.rows) {
    out.set(Number(r.id), { currency: r.currency ?? 'USD', totals: { orders: r.orders, amount: Number(r.amount) }, orders: r.list ?? [], topProducts: r.top ?? [] });
  }
  return out;
}
