import { sql, type Kysely } from 'kysely';
import type { Db } from '../db/database.ts';
import type { Database } from '../db/schema.ts';
import type { OutboxState } from '../db/tables/outbound.ts';
import { AppError } from '../shared/app-error.ts';
import { systemClock, type Clock } from '../shared/clock.ts';

export const OUTBOX_STATES: readonly OutboxState[] = ['planned', 'claimed', 'sent', 'failed', 'suppressed', 'expired', 'uncertain', 'cancelled'];

export interface OutboxListItem {
  readonly id: number;
  readonly state: OutboxState;
  readonly kind: string;
  readonly account: string;
  readonly to: string;
  readonly subject: string | null;
  readonly template: string | null;
  readonly campaignId: number | null;
  readonly due: Date;
  readonly sentAt: Date | null;
  readonly attempts: number;
  readonly reason: string | null;
}

export interface OutboxFilter {
  readonly state?: OutboxState;
  readonly account?: number;
  readonly campaignId?: number;
  readonly to?: string;
  readonly limit?: number;
}

export async function listOutbox(db: Db, filter: OutboxFilter = {}): Promise<OutboxListItem[]> {
  if (filter.state && !OUTBOX_STATES.includes(filter.state)) throw new AppError('INPUT_INVALID', `--state ${filter.state}: use one of ${OUTBOX_STATES.join(', ')}`);
  const rows = (
    await sql<{ id: number; state: OutboxState; kind: string; account: string; to_address: string; subject: string | null; template: string | null; campaign_id: number | null; due_at: Date; sent_at: Date | null; attempts: number; last_error: string | null; defer_reason: string | null; bounce_reason: string | null }>`
      SELECT o.id, o.state, o.kind, a.name AS account, o.to_address, o.subject, o.template, o.campaign_id, o.due_at, o.sent_at, o.attempts, o.last_error, o.defer_reason, o.bounce_reason
        FROM outbox o JOIN mail_accounts a ON a.id = o.account_id
       WHERE true
         ${filter.state ? sql`AND o.state = ${filter.state}` : sql``}
         ${filter.account !== undefined ? sql`AND o.account_id = ${filter.account}` : sql``}
         ${filter.campaignId !== undefined ? sql`AND o.campaign_id = ${filter.campaignId}` : sql``}
         ${filter.to ? sql`AND o.address_key = ${filter.to.toLowerCase()}` : sql``}
       ORDER BY o.id DESC
       LIMIT ${Math.max(1, Math.min(filter.limit ?? 100, 10_000))}`.execute(db.kysely)
  ).rows;
  return rows.map((r) => ({
    id: Number(r.id), state: r.state, kind: r.kind, account: r.account, to: r.to_address, subject: r.subject, template: r.template,
    campaignId: r.campaign_id, due: r.due_at, sentAt: r.sent_at, attempts: Number(r.attempts),
    reason: r.state === 'planned' ? (r.defer_reason ?? r.last_error) : r.state === 'sent' && r.bounce_reason ? `bounced: ${r.bounce_reason}` : r.last_error,
  }));
}

export interface OutboxDetail {
  readonly row: Record<string, unknown>;
  readonly events: ReadonlyArray<{ at: Date; event: string; detail: string | null }>;
}

/** One row with its whole history; the rendered body is left out (it can be large), its template and data are kept. */
export async function showOutbox(db: Db, id: number): Promise<OutboxDetail> {
  const row = await db.kysely.selectFrom('outbox').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw new AppError('NOT_FOUND', `outbox row ${id}: no such row`);
  const { html, text_body, claim_token, ...rest } = row;
  const events = await db.kysely.selectFrom('outbox_events').select(['at', 'event', 'detail']).where('outbox_id', '=', id).orderBy('id').execute();
  return { row: { ...rest, html_length: html?.length ?? 0, text_length: text_body?.length ?? 0, claimed: claim_token !== null }, events };
}

/** Cancels rows that have not been sent: planned or uncertain (a claimed row is being sent right now). */
export async function cancelOutbox(db: Db, ids: readonly number[], clock: Clock = systemClock): Promise<{ cancelled: number[]; refused: Array<{ id: number; state: string }> }> {
  const now = clock.now();
  const done = await db.kysely
    .updateTable('outbox')
    .set({ state: 'cancelled', last_error: 'cancelled by hand', updated_at: now })
    .where('id', 'in', [...ids])
    .where('state', 'in', ['planned', 'uncertain'])
    .returning('id')
    .execute();
  const cancelled = done.map((r) => r.id);
  if (cancelled.length > 0) await db.kysely.insertInto('outbox_events').values(cancelled.map((id) => ({ outbox_id: id, at: now, event: 'cancelled', detail: 'by hand' }))).execute();
  const rest = ids.filter((id) => !cancelled.includes(id));
  const refused: Array<{ id: number; state: string }> = rest.length === 0 ? [] : (await db.kysely.selectFrom('outbox').select(['id', 'state']).where('id', 'in', rest).execute()).map((r) => ({ id: r.id, state: r.state }));
  for (const id of rest) if (!refused.some((r) => r.id === id)) refused.push({ id, state: 'missing' });
  return { cancelled, refused };
}

/**
 * Sends a row again: failed, uncertain, expired or cancelled -> planned. An
 * expired row needs a new latest send time (`until`), since the old one has passed.
 */
export async function retryOutbox(db: Db, id: number, options: { until?: Date } = {}, clock: Clock = systemClock): Promise<void> {
  const now = clock.now();
  const row = await db.kysely.selectFrom('outbox').select(['state', 'not_after']).where('id', '=', id).executeTakeFirst();
  if (!row) throw new AppError('NOT_FOUND', `outbox row ${id}: no such row`);
  if (!['failed', 'uncertain', 'expired', 'cancelled'].includes(row.state)) throw new AppError('CONFLICT', `outbox row ${id}: is ${row.state}; only failed, uncertain, expired or cancelled rows can be retried`);
  const notAfter = options.until ?? row.not_after;
  if (notAfter && notAfter.getTime() <= now.getTime()) throw new AppError('INPUT_INVALID', `outbox row ${id}: its latest send time ${notAfter.toISOString()} has passed; give a new one with --until`);
  await db.kysely.transaction().execute(async (trx) => {
    await trx.updateTable('outbox').set({ state: 'planned', not_after: notAfter, defer_until: null, defer_reason: null, claim_token: null, lease_until: null, resolved_by: row.state === 'uncertain' ? 'resent by hand' : null, updated_at: now }).where('id', '=', id).execute();
    await trx.insertInto('outbox_events').values({ outbox_id: id, at: now, event: 'retry', detail: `by hand (was ${row.state})` }).execute();
  });
}

export async function pauseAccount(db: Db, accountId: number, reason: string, clock: Clock = systemClock): Promise<void> {
  const now = clock.now();
  await sql`INSERT INTO outbound_account_settings (account_id, paused_at, paused_reason, updated_at) VALUES (${accountId}, ${now}, ${reason}, ${now})
            ON CONFLICT (account_id) DO UPDATE SET paused_at = excluded.paused_at, paused_reason = excluded.paused_reason, updated_at = excluded.updated_at`.execute(db.kysely);
}

export async function resumeAccount(db: Db, accountId: number, clock: Clock = systemClock): Promise<void> {
  await sql`UPDATE outbound_account_settings SET paused_at = NULL, paused_reason = NULL, failure_streak = 0, failure_streak_kind = NULL, updated_at = ${clock.now()} WHERE account_id = ${accountId}`.execute(db.kysely);
}

/** Per account: paused and why, rows waiting, rows waiting for a person's decision (uncertain), sends in the last day. */
export async function accountSendStatus(db: Db): Promise<Array<{ account: string; paused: string | null; planned: number; uncertain: number; sentToday: number; copiesWaiting: number }>> {
  const rows = (
    await sql<{ name: string; paused_reason: string | null; paused_at: Date | null; planned: number; uncertain: number; sent: number; copies: number }>`
      SELECT a.name, s.paused_reason, s.paused_at,
             (SELECT count(*) FROM outbox o WHERE o.account_id = a.id AND o.state = 'planned') AS planned,
             (SELECT count(*) FROM outbox o WHERE o.account_id = a.id AND o.state = 'uncertain') AS uncertain,
             (SELECT count(*) FROM outbound_send_log l WHERE l.account_id = a.id AND l.reserved_at > now() - interval '1 day') AS sent,
             (SELECT count(*) FROM outbound_sent_copies c WHERE c.account_id = a.id) AS copies
        FROM mail_accounts a LEFT JOIN outbound_account_settings s ON s.account_id = a.id ORDER BY a.name`.execute(db.kysely)
  ).rows;
  return rows.map((r) => ({ account: r.name, paused: r.paused_at ? `since ${r.paused_at.toISOString()}: ${r.paused_reason}` : null, planned: Number(r.planned), uncertain: Number(r.uncertain), sentToday: Number(r.sent), copiesWaiting: Number(r.copies) }));
}

/** An account's rows in the outbox: all of them, those still to go (planned, uncertain) and those a sender holds right now. */
export async function outboxRowsForAccount(db: Kysely<Database>, accountId: number): Promise<{ total: number; queued: number; inFlight: number }> {
  const r = (
    await sql<{ total: number; queued: number; in_flight: number }>`
      SELECT count(*)::int AS total, count(*) FILTER (WHERE state IN ('planned', 'uncertain'))::int AS queued, count(*) FILTER (WHERE state = 'claimed')::int AS in_flight
        FROM outbox WHERE account_id = ${accountId}`.execute(db)
  ).rows[0];
  return { total: r?.total ?? 0, queued: r?.queued ?? 0, inFlight: r?.in_flight ?? 0 };
}
