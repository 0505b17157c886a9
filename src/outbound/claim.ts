import { createHash, randomUUID } from 'node:crypto';
import { sql, type Transaction } from 'kysely';
import type { Db } from '../db/database.ts';
import type { Database } from '../db/schema.ts';
import type { MailKind } from '../db/tables/outbound.ts';
import { isFreemailDomain } from '../mailbox/index.ts';
import type { Clock } from '../shared/clock.ts';
import { seededJitterMs } from './jitter.ts';
import { nextWindowOpen, recipientZone } from './send-window.ts';
import { accountLimits, budgetOf, type OutboundSettings } from './settings.ts';
import { DAY, HOUR, MINUTE, SECOND, nextContactSlot, warmupLimit, type WindowRule } from './throttle-math.ts';

/** A row claimed for sending: everything the sender needs, plus its lease. */
export interface ClaimedMail {
  readonly id: number;
  readonly claimToken: string;
  readonly slotId: number;
  readonly accountId: number;
  readonly accountName: string;
  readonly accountEmail: string;
  readonly savesSent: boolean;
  readonly clientId: number | null;
  readonly contactId: number | null;
  readonly toAddress: string;
  readonly toName: string | null;
  readonly kind: MailKind;
  readonly template: string | null;
  readonly locale: string | null;
  readonly data: Record<string, unknown> | null;
  readonly subject: string | null;
  readonly html: string | null;
  readonly textBody: string | null;
  readonly headers: Record<string, string> | null;
  readonly campaignId: number | null;
  readonly messageId: string;
  readonly inReplyTo: string | null;
  readonly references: string[] | null;
  readonly attempts: number;
  readonly notAfter: Date | null;
}

export type ClaimAction = 'send' | 'defer' | 'expire' | 'suppress';

export interface ClaimDecision {
  readonly id: number;
  readonly toAddress: string;
  readonly accountId: number;
  readonly kind: MailKind;
  readonly action: ClaimAction;
  readonly until?: Date;
  readonly reason?: string;
}

export interface ClaimOptions {
  readonly settings: OutboundSettings;
  readonly clock: Clock;
  readonly workerId: string;
  readonly batch?: number;
  /** Only these rows (e.g. `send test`). */
  readonly onlyIds?: readonly number[];
  /** Skip windows, contact budgets and pacing (a person's test mail); account and domain limits still hold. */
  readonly bypassBudgets?: boolean;
  /** Decide and report, then roll everything back. */
  readonly dryRun?: boolean;
  /**
   * An account's SMTP connections (SmtpTransports.connectionsFor). An account with a per-second
   * limit gets no more slots in flight than that, counted in the send log across every process: a
   * slot counts against the window from its reservation until a second after the server's answer,
   * so a slot reserved only to wait for a busy connection lowers the rate the account can keep.
   */
  readonly connectionsFor?: (accountName: string) => number;
}

export interface ClaimResult {
  readonly claimed: ClaimedMail[];
  readonly decisions: ClaimDecision[];
  /** Rows left as they were because their account had every connection busy (they go in a later claim). */
  readonly busy: number;
}

interface CandidateRow {
  id: number;
  account_id: number;
  client_id: number | null;
  contact_id: number | null;
  to_address: string;
  to_name: string | null;
  address_key: string;
  to_domain: string;
  kind: MailKind;
  template: string | null;
  locale: string | null;
  data: Record<string, unknown> | null;
  subject: string | null;
  html: string | null;
  text_body: string | null;
  headers: Record<string, string> | null;
  campaign_id: number | null;
  not_after: Date | null;
  message_id: string;
  in_reply_to: string | null;
  reference_ids: string[] | null;
  attempts: number;
  defer_reason: string | null;
}

interface AccountInfo {
  id: number;
  name: string;
  email: string;
  smtp_host: string | null;
  saves_sent: boolean;
  limits: Record<string, number | null> | null;
  warmup_started_at: Date | null;
  next_send_at: Date | null;
}

class Rollback extends Error {}

/** Past this a send has answered or timed out (the SMTP socket timeout is a minute). */
const STALE_IN_FLIGHT_MS = 2 * 60_000;

/** A 63-bit advisory-lock key for a throttle key, scoped to the schema. */
function lockKey(schema: string, key: string): string {
  const h = createHash('sha256').update(`${schema}\u0000${key}`).digest();
  return (h.readBigUInt64BE(0) & 0x7fff_ffff_ffff_ffffn).toString();
}

function contactKey(row: { contact_id: number | null; address_key: string }): string {
  return row.contact_id !== null ? `contact:${row.contact_id}` : `addr:${row.address_key}`;
}

const iso = (d: Date | number): string => new Date(d).toISOString();

/**
 * Claims due rows in one transaction: FOR UPDATE SKIP LOCKED on the outbox,
 * then, under advisory locks on each account, recipient domain and contact
 * involved (taken in one sorted order, so no deadlock), decides for each row:
 * send (reserve a slot in the send log, mark claimed with a lease), defer to
 * the next allowed slot, expire past not_after, or suppress.
 */
export async function claimDue(db: Db, options: ClaimOptions): Promise<ClaimResult> {
  const { settings, clock } = options;
  const batch = options.batch ?? settings.claimBatch;
  let result: ClaimResult = { claimed: [], decisions: [], busy: 0 };
  try {
    await db.kysely.transaction().execute(async (trx) => {
      result = await claimInTransaction(trx, db.schema, options, batch, settings, clock.now());
      if (options.dryRun) throw new Rollback();
    });
  } catch (e) {
    if (!(e instanceof Rollback)) throw e;
  }
  return result;
}

async function claimInTransaction(
  trx: Transaction<Database>,
  schema: string,
  options: ClaimOptions,
  batch: number,
  settings: OutboundSettings,
  now: Date,
): Promise<ClaimResult> {
  let nowMs = now.getTime();
  const only = options.onlyIds && options.onlyIds.length > 0 ? sql`AND o.id = ANY(${sql.val([...options.onlyIds])}::bigint[])` : sql``;
  const due = options.onlyIds ? sql`` : sql`AND o.due_at <= ${now}`;
  // One read: the due rows, locked, with their account and whether the address may be mailed (the
  // suppression list is checked here, at claim time, not only when the mail was planned).
  const rows = (
    await sql<CandidateRow & { a_id: number | null; a_name: string; a_email: string; a_smtp_host: string | null; a_saves_sent: boolean; a_limits: Record<string, number | null> | null; a_warmup_started_at: Date | null; a_next_send_at: Date | null; suppressed: string | null; invalid: string | null }>`
      WITH c AS (
        SELECT o.id, o.account_id, o.client_id, o.contact_id, o.to_address, o.to_name, o.address_key, o.to_domain, o.kind,
               o.template, o.locale, o.data, o.subject, o.html, o.text_body, o.headers, o.campaign_id, o.not_after,
               o.message_id, o.in_reply_to, o.reference_ids, o.attempts, o.defer_reason, o.priority, o.due_at
          FROM outbox o
         WHERE o.state = 'planned' ${due} ${only}
           AND NOT EXISTS (SELECT 1 FROM outbound_account_settings s WHERE s.account_id = o.account_id AND s.paused_at IS NOT NULL)
         ORDER BY o.priority, o.due_at, o.id
         LIMIT ${batch}
         FOR UPDATE OF o SKIP LOCKED)
      SELECT c.id, c.account_id, c.client_id, c.contact_id, c.to_address, c.to_name, c.address_key, c.to_domain, c.kind,
             c.template, c.locale, c.data, c.subject, c.html, c.text_body, c.headers, c.campaign_id, c.not_after,
             c.message_id, c.in_reply_to, c.reference_ids, c.attempts, c.defer_reason,
             a.id AS a_id, a.name AS a_name, a.email AS a_email, a.smtp_host AS a_smtp_host, a.saves_sent AS a_saves_sent,
             s.limits AS a_limits, s.warmup_started_at AS a_warmup_started_at, s.next_send_at AS a_next_send_at,
             (SELECT x.source || ': ' || x.reason FROM suppressions x WHERE x.address_key = c.address_key) AS suppressed,
             (SELECT 'address marked invalid' || coalesce(': ' || ce.status_reason, '') FROM contact_emails ce
               WHERE ce.status = 'invalid' AND ce.address_key = c.address_key LIMIT 1) AS invalid
        FROM c
        LEFT JOIN mail_accounts a ON a.id = c.account_id
        LEFT JOIN outbound_account_settings s ON s.account_id = c.account_id
       ORDER BY c.priority, c.due_at, c.id`.execute(trx)
  ).rows;
  if (rows.length === 0) return { claimed: [], decisions: [], busy: 0 };
  const candidates: CandidateRow[] = rows.map((r) => ({ ...r, id: Number(r.id), account_id: Number(r.account_id), attempts: Number(r.attempts) }));
  const accounts = new Map<number, AccountInfo>();
  const suppressed = new Map<string, string>();
  for (const r of rows) {
    if (r.a_id !== null && !accounts.has(Number(r.a_id))) {
      accounts.set(Number(r.a_id), { id: Number(r.a_id), name: r.a_name, email: r.a_email, smtp_host: r.a_smtp_host, saves_sent: r.a_saves_sent, limits: r.a_limits, warmup_started_at: r.a_warmup_started_at, next_send_at: r.a_next_send_at });
    }
    const why = r.suppressed ?? r.invalid;
    if (why !== null) suppressed.set(r.address_key, why);
  }

  const throttled = settings.throttles;
  const useBudgets = throttled && !options.bypassBudgets;
  // Recipient zones for send windows.
  const zones = new Map<number, string>();
  if (useBudgets) {
    const contactIds = candidates.map((c) => c.contact_id).filter((x): x is number => x !== null);
    const clientIds = candidates.map((c) => c.client_id).filter((x): x is number => x !== null);
    const contactZone = new Map<number, { tz: string | null; client_id: number }>();
    if (contactIds.length > 0) {
      for (const r of (await sql<{ id: number; time_zone: string | null; client_id: number }>`SELECT id, time_zone, client_id FROM contacts WHERE id = ANY(${sql.val(contactIds)}::bigint[])`.execute(trx)).rows) {
        contactZone.set(Number(r.id), { tz: r.time_zone, client_id: Number(r.client_id) });
        clientIds.push(Number(r.client_id));
      }
    }
    const clientZone = new Map<number, { tz: string | null; country: string | null }>();
    if (clientIds.length > 0) {
      for (const r of (await sql<{ id: number; time_zone: string | null; country: string | null }>`SELECT id, time_zone, country FROM clients WHERE id = ANY(${sql.val([...new Set(clientIds)])}::bigint[])`.execute(trx)).rows) {
        clientZone.set(Number(r.id), { tz: r.time_zone, country: r.country });
      }
    }
    for (const c of candidates) {
      const ct = c.contact_id !== null ? contactZone.get(c.contact_id) : undefined;
      const cl = clientZone.get(c.client_id ?? ct?.client_id ?? -1);
      zones.set(c.id, recipientZone(ct?.tz, cl?.tz, cl?.country, settings.defaultTimeZone).zone);
    }
  }

  const decisions: ClaimDecision[] = [];
  const decide = (c: CandidateRow, action: ClaimAction, until?: Date, reason?: string): void => {
    // A slot after the latest send time can never be used: expire now, saying why.
    if (action === 'defer' && until && c.not_after && until.getTime() > c.not_after.getTime()) {
      decisions.push({ id: c.id, toAddress: c.to_address, accountId: c.account_id, kind: c.kind, action: 'expire', reason: `next allowed slot ${iso(until)} (${reason}) is after the latest send time ${iso(c.not_after)}` });
      return;
    }
    decisions.push({ id: c.id, toAddress: c.to_address, accountId: c.account_id, kind: c.kind, action, ...(until ? { until } : {}), ...(reason ? { reason } : {}) });
  };

  const open: CandidateRow[] = [];
  for (const c of candidates) {
    if (!accounts.has(c.account_id)) decide(c, 'suppress', undefined, `sending account ${c.account_id} no longer exists`);
    else if (c.not_after && c.not_after.getTime() < nowMs) decide(c, 'expire', undefined, `latest send time ${iso(c.not_after)} has passed`);
    else if (suppressed.has(c.address_key)) decide(c, 'suppress', undefined, `${c.to_address} is suppressed (${suppressed.get(c.address_key)})`);
    else if (useBudgets) {
      const window = settings.windows[c.kind];
      const zone = zones.get(c.id) ?? settings.defaultTimeZone;
      const opens = nextWindowOpen(now, window, zone);
      if (opens.getTime() > nowMs) decide(c, 'defer', opens, `outside the ${c.kind} send window ${window?.hours ?? ''} in ${zone}`);
      else open.push(c);
    } else open.push(c);
  }

  const reserve: CandidateRow[] = [];
  let busy = 0;
  if (!throttled) reserve.push(...open);
  else if (open.length > 0) {
    // Lock every throttle key involved, in one sorted order.
    const lockNames = new Set<string>();
    for (const c of open) {
      lockNames.add(`account:${c.account_id}`);
      lockNames.add(`domain:${c.to_domain}`);
      if (useBudgets && budgetOf(c.kind) !== 'other') lockNames.add(contactKey(c));
    }
    const lockIds = [...new Set([...lockNames].map((k) => lockKey(schema, k)))].sort();
    await sql`SELECT count(pg_advisory_xact_lock(k)) FROM (SELECT k FROM unnest(${sql.val(lockIds)}::bigint[]) AS k ORDER BY k) AS s`.execute(trx);
    // The windows are counted from the moment the locks are held, not from the start of the claim:
    // a slot is in flight from here, and time spent waiting for another worker's claim would
    // otherwise be held against the limit (the account then sends below its rate).
    now = options.clock.now();
    nowMs = now.getTime();

    const gate = new Gate(trx, now, options.connectionsFor);
    for (const c of open) {
      const acct = accounts.get(c.account_id)!;
      const verdict = await gate.check(c, acct, settings, useBudgets);
      if (verdict.ok) reserve.push(c);
      else if ('busy' in verdict) busy++;
      else decide(c, 'defer', new Date(verdict.until), verdict.reason);
    }
    // Pacing with seeded jitter: the account's next send not before now + jitter.
    if (!options.bypassBudgets && settings.jitter.maxMs > 0) {
      const last = new Map<number, number>();
      for (const c of reserve) last.set(c.account_id, c.id);
      for (const [accountId, id] of last) {
        const next = new Date(nowMs + seededJitterMs(settings.jitter.seed, id, settings.jitter.minMs, settings.jitter.maxMs));
        await sql`INSERT INTO outbound_account_settings (account_id, next_send_at) VALUES (${accountId}, ${next})
                  ON CONFLICT (account_id) DO UPDATE SET next_send_at = excluded.next_send_at, updated_at = now()`.execute(trx);
      }
    }
    const warm = [...new Set(reserve.map((c) => c.account_id))].filter((id) => warmupOf(settings, accounts.get(id)!.name) && !accounts.get(id)!.warmup_started_at);
    for (const id of warm) {
      await sql`INSERT INTO outbound_account_settings (account_id, warmup_started_at) VALUES (${id}, ${now})
                ON CONFLICT (account_id) DO UPDATE SET warmup_started_at = coalesce(outbound_account_settings.warmup_started_at, excluded.warmup_started_at)`.execute(trx);
    }
  }

  const claimed: ClaimedMail[] = [];
  if (reserve.length > 0) {
    const leaseUntil = new Date(nowMs + settings.leaseSeconds * 1000);
    const token = randomUUID();
    // One statement: the rows claimed with their lease, their slots in the send log, their history.
    const col = <T>(f: (c: CandidateRow) => T): T[] => reserve.map(f);
    const slots = (
      await sql<{ id: number; outbox_id: number }>`
        WITH v AS (
          SELECT * FROM unnest(${sql.val(col((c) => c.id))}::bigint[], ${sql.val(col((c) => c.account_id))}::bigint[], ${sql.val(col((c) => c.to_domain))}::text[],
                               ${sql.val(col((c) => c.address_key))}::text[], ${sql.val(col((c) => c.contact_id))}::bigint[], ${sql.val(col((c) => c.client_id))}::bigint[],
                               ${sql.val(col((c) => budgetOf(c.kind)))}::text[])
                 AS v(outbox_id, account_id, to_domain, address_key, contact_id, client_id, budget)),
        u AS (
          UPDATE outbox o SET state = 'claimed', attempts = o.attempts + 1, lease_until = ${leaseUntil}, claim_token = ${token}, claimed_by = ${options.workerId},
                 claimed_at = ${now}, defer_until = NULL, defer_reason = NULL, updated_at = ${now}
            FROM v WHERE o.id = v.outbox_id),
        e AS (INSERT INTO outbox_events (outbox_id, at, event, detail) SELECT outbox_id, ${now}, 'claimed', ${`by ${options.workerId}`} FROM v)
        INSERT INTO outbound_send_log (outbox_id, account_id, to_domain, address_key, contact_id, client_id, budget, reserved_at)
        SELECT outbox_id, account_id, to_domain, address_key, contact_id, client_id, budget, ${now} FROM v
        RETURNING id, outbox_id`.execute(trx)
    ).rows;
    const slotOf = new Map(slots.map((s) => [Number(s.outbox_id), Number(s.id)]));
    for (const c of reserve) {
      const a = accounts.get(c.account_id)!;
      decisions.push({ id: c.id, toAddress: c.to_address, accountId: c.account_id, kind: c.kind, action: 'send' });
      claimed.push({
        id: c.id, claimToken: token, slotId: slotOf.get(c.id) ?? 0, accountId: c.account_id, accountName: a.name, accountEmail: a.email, savesSent: a.saves_sent,
        clientId: c.client_id, contactId: c.contact_id, toAddress: c.to_address, toName: c.to_name, kind: c.kind, template: c.template, locale: c.locale,
        data: c.data, subject: c.subject, html: c.html, textBody: c.text_body, headers: c.headers, campaignId: c.campaign_id, messageId: c.message_id,
        inReplyTo: c.in_reply_to, references: c.reference_ids, attempts: c.attempts + 1, notAfter: c.not_after,
      });
    }
  }

  // Everything else in a few set-based statements.
  const deferred = decisions.filter((d) => d.action === 'defer');
  if (deferred.length > 0) {
    await sql`UPDATE outbox o SET defer_until = v.u, defer_reason = v.r, updated_at = ${now}
                FROM unnest(${sql.val(deferred.map((d) => d.id))}::bigint[], ${sql.val(deferred.map((d) => iso(d.until!)))}::timestamptz[], ${sql.val(deferred.map((d) => d.reason ?? ''))}::text[]) AS v(id, u, r)
               WHERE o.id = v.id`.execute(trx);
  }
  for (const action of ['expire', 'suppress'] as const) {
    const list = decisions.filter((d) => d.action === action);
    if (list.length === 0) continue;
    const state = action === 'expire' ? 'expired' : 'suppressed';
    await sql`UPDATE outbox o SET state = ${state}, last_error = v.r, updated_at = ${now}
                FROM unnest(${sql.val(list.map((d) => d.id))}::bigint[], ${sql.val(list.map((d) => d.reason ?? ''))}::text[]) AS v(id, r)
               WHERE o.id = v.id`.execute(trx);
  }
  const prevReason = new Map(candidates.map((c) => [c.id, c.defer_reason]));
  // History of the other decisions (a claim's is written with it): a deferral when its reason changes (not at every re-check).
  const events = decisions
    .filter((d) => d.action !== 'send' && (d.action !== 'defer' || reasonKind(prevReason.get(d.id)) !== reasonKind(d.reason)))
    .map((d) => ({
      outbox_id: d.id,
      at: now,
      event: d.action === 'defer' ? 'deferred' : d.action === 'expire' ? 'expired' : 'suppressed',
      detail: d.action === 'defer' ? `until ${iso(d.until!)}: ${d.reason}` : (d.reason ?? null),
    }));
  if (events.length > 0) await trx.insertInto('outbox_events').values(events).execute();
  return { claimed, decisions, busy };
}

/** The reason without its figures, so "per minute 10/10" twice is one event. */
function reasonKind(reason: string | null | undefined): string {
  return (reason ?? '').replace(/\d[\d:.TZ+-]*/g, '#');
}

function warmupOf(settings: OutboundSettings, accountName: string): { startPerDay: number; growth: number } | null {
  const w = settings.accounts[accountName]?.warmup;
  if (!w) return null;
  return w === true ? { startPerDay: 20, growth: 1.5 } : w;
}

interface WindowCount {
  rule: WindowRule;
  used: number;
  /** Once the window is full, when it next has room (asked once per claim: every later row waits for the same slot). */
  freeAt?: number;
}

/**
 * Counts slots under the locks the claim holds and keeps the counts of the
 * slots this claim adds, so a batch never overshoots a window.
 */
class Gate {
  private readonly accountCounts = new Map<number, WindowCount[]>();
  private readonly domainCounts = new Map<string, WindowCount[]>();
  private readonly contactTimes = new Map<string, number[]>();
  private readonly reservedByAccount = new Map<number, number>();
  /** Per account with a per-second limit: its slots in flight (reserved, no answer yet), this claim's included. */
  private readonly inFlight = new Map<number, number>();

  constructor(
    private readonly trx: Transaction<Database>,
    private readonly now: Date,
    private readonly connectionsFor?: (accountName: string) => number,
  ) {}

  async check(c: CandidateRow, acct: AccountInfo, settings: OutboundSettings, useBudgets: boolean): Promise<{ ok: true } | { ok: false; until: number; reason: string } | { ok: false; busy: true }> {
    const nowMs = this.now.getTime();
    if (useBudgets && acct.next_send_at && acct.next_send_at.getTime() > nowMs) {
      return { ok: false, until: acct.next_send_at.getTime(), reason: `pacing between sends of account ${acct.name}` };
    }
    if (useBudgets && settings.jitter.maxMs > 0 && (this.reservedByAccount.get(acct.id) ?? 0) > 0) {
      return { ok: false, until: nowMs + settings.jitter.minMs, reason: `pacing between sends of account ${acct.name}` };
    }
    // Account windows.
    const limits = accountLimits(settings, acct.name, acct.smtp_host, acct.limits);
    const warm = warmupOf(settings, acct.name);
    const perDay = warm ? warmupLimit(limits.perDay, warm.startPerDay, warm.growth, acct.warmup_started_at ? Math.floor((nowMs - acct.warmup_started_at.getTime()) / DAY) : 0) : limits.perDay;
    const accountRules: WindowRule[] = [];
    if (limits.perSecond !== null) accountRules.push({ name: 'per second', windowMs: SECOND, limit: limits.perSecond });
    if (limits.perMinute !== null) accountRules.push({ name: 'per minute', windowMs: MINUTE, limit: limits.perMinute });
    if (limits.perHour !== null) accountRules.push({ name: 'per hour', windowMs: HOUR, limit: limits.perHour });
    if (perDay !== null) accountRules.push({ name: warm ? 'per day (warm-up)' : 'per day', windowMs: DAY, limit: perDay });
    let counts = this.accountCounts.get(acct.id);
    if (!counts) {
      const counted = await this.count(sql`account_id = ${acct.id}`, accountRules);
      counts = counted.windows;
      this.accountCounts.set(acct.id, counts);
      if (limits.perSecond !== null && this.connectionsFor) this.inFlight.set(acct.id, counted.inFlight);
    }
    const flying = this.inFlight.get(acct.id);
    if (flying !== undefined && this.connectionsFor && flying >= this.connectionsFor(acct.name)) return { ok: false, busy: true };
    const blockA = await this.blocked(counts, sql`account_id = ${acct.id}`, `account ${acct.name}`);
    if (blockA) return blockA;
    // Recipient domain windows.
    const free = isFreemailDomain(c.to_domain);
    const d = settings.domains;
    const domainRules: WindowRule[] = [];
    const pm = free ? d.freemailPerMinute : d.perMinute;
    const ph = free ? d.freemailPerHour : d.perHour;
    if (pm !== null) domainRules.push({ name: 'per minute', windowMs: MINUTE, limit: pm });
    if (ph !== null) domainRules.push({ name: 'per hour', windowMs: HOUR, limit: ph });
    let dcounts = this.domainCounts.get(c.to_domain);
    if (!dcounts) {
      dcounts = (await this.count(sql`to_domain = ${c.to_domain}`, domainRules)).windows;
      this.domainCounts.set(c.to_domain, dcounts);
    }
    const blockD = await this.blocked(dcounts, sql`to_domain = ${c.to_domain}`, `recipient domain ${c.to_domain}`);
    if (blockD) return blockD;
    // Contact budget.
    const budget = budgetOf(c.kind);
    const ck = contactKey(c);
    if (useBudgets && budget !== 'other') {
      const rule = settings.contacts[budget];
      const key = `${ck}|${budget}`;
      let times = this.contactTimes.get(key);
      if (!times) {
        const where = c.contact_id !== null ? sql`contact_id = ${c.contact_id}` : sql`address_key = ${c.address_key}`;
        const since = new Date(nowMs - Math.max(30, rule.minGapDays) * DAY);
        times = (
          await sql<{ reserved_at: Date }>`SELECT reserved_at FROM outbound_send_log WHERE ${where} AND budget = ${budget} AND reserved_at > ${since}
                                             AND (outcome IS NULL OR outcome = 'sent')`.execute(this.trx)
        ).rows.map((r) => r.reserved_at.getTime());
        this.contactTimes.set(key, times);
      }
      const next = nextContactSlot(nowMs, times, rule.minGapDays, rule.perMonth);
      if (next > nowMs) return { ok: false, until: next, reason: `contact ${budget} budget (every ${rule.minGapDays} days, ${rule.perMonth ?? 'no'} cap a month)` };
      times.push(nowMs);
    }
    for (const w of counts) w.used += 1;
    for (const w of dcounts) w.used += 1;
    this.reservedByAccount.set(acct.id, (this.reservedByAccount.get(acct.id) ?? 0) + 1);
    if (flying !== undefined) this.inFlight.set(acct.id, flying + 1);
    return { ok: true };
  }

  /** The slots counting in each window, and how many of them are in flight (reserved, no answer yet). */
  private async count(where: ReturnType<typeof sql>, rules: WindowRule[]): Promise<{ windows: WindowCount[]; inFlight: number }> {
    if (rules.length === 0) return { windows: [], inFlight: 0 };
    const longest = Math.max(...rules.map((r) => r.windowMs));
    const nowMs = this.now.getTime();
    const rows = (
      await sql<{ finished_at: Date | null; reserved_at: Date }>`SELECT finished_at, reserved_at FROM outbound_send_log WHERE ${where} AND (finished_at IS NULL OR finished_at > ${new Date(nowMs - longest)})`.execute(this.trx)
    ).rows;
    return {
      windows: rules.map((rule) => ({ rule, used: rows.filter((r) => r.finished_at === null || r.finished_at.getTime() > nowMs - rule.windowMs).length })),
      // A slot still open after STALE_IN_FLIGHT_MS belongs to a sender that died (its lease ends later and
      // recovery makes it uncertain): it holds no live connection, so it does not count against the cap.
      inFlight: rows.filter((r) => r.finished_at === null && r.reserved_at.getTime() > nowMs - STALE_IN_FLIGHT_MS).length,
    };
  }

  private async blocked(counts: WindowCount[], where: ReturnType<typeof sql>, what: string): Promise<{ ok: false; until: number; reason: string } | null> {
    const nowMs = this.now.getTime();
    for (const w of counts) {
      if (w.used < w.rule.limit) continue;
      if (w.freeAt === undefined) {
        const since = new Date(nowMs - w.rule.windowMs);
        const fin = (
          await sql<{ finished_at: Date | null }>`SELECT finished_at FROM outbound_send_log WHERE ${where} AND (finished_at IS NULL OR finished_at > ${since})
                                                  ORDER BY finished_at ASC NULLS LAST OFFSET ${w.used - w.rule.limit} LIMIT 1`.execute(this.trx)
        ).rows[0];
        const until = fin?.finished_at ? fin.finished_at.getTime() + w.rule.windowMs : nowMs + Math.min(1000, Math.max(50, w.rule.windowMs / 20));
        w.freeAt = Math.max(until, nowMs + 1);
      }
      return { ok: false, until: w.freeAt, reason: `${what} limit ${w.rule.limit} ${w.rule.name}` };
    }
    return null;
  }
}
