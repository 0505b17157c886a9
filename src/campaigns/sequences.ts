import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from '../db/schema.ts';
import type { AudienceFilter } from './audience-schema.ts';
import { audienceQuery } from './audience-query.ts';
import type { SequenceCampaign } from './campaign-schema.ts';
import { isAutoMessage, isOutOfOffice } from './auto-reply-sql.ts';
import { readReturnDate } from './out-of-office.ts';

type Q = Kysely<Database> | Transaction<Database>;

/**
 * Enrols the audience's contacts whose trigger happened within the lookback:
 * an open inquiry, a quotation sent, a client turned dormant, an order status change.
 * One enrolment per (campaign, contact, trigger); re-running adds nothing.
 */
export async function enrolTriggers(q: Q, campaignId: number, c: SequenceCampaign, filter: AudienceFilter, now: Date, asOf: string): Promise<number> {
  const members = audienceQuery(filter, asOf);
  const since = new Date(now.getTime() - c.lookbackDays * 86_400_000);
  let res;
  switch (c.trigger) {
    case 'inquiry':
    case 'quotation': {
      const status = c.trigger === 'inquiry' ? 'open' : 'quoted';
      const at = c.trigger === 'inquiry' ? sql`i.received_at` : sql`i.updated_at`;
      // The inquiry's own contact when it names one in the audience, else every member of the client.
      res = await sql`INSERT INTO campaign_enrolments (campaign_id, client_id, contact_id, trigger_ref, started_at)
        SELECT ${campaignId}, m.client_id, m.contact_id, ${c.trigger} || '-' || i.id, ${at}
        FROM inquiries i JOIN (${members}) m ON m.client_id = i.client_id
        WHERE i.status = ${status} AND ${at} >= ${since} AND ${at} <= ${now}
          AND (i.contact_id IS NULL OR i.contact_id = m.contact_id OR NOT EXISTS (SELECT 1 FROM (${members}) m2 WHERE m2.contact_id = i.contact_id))
        ON CONFLICT (campaign_id, contact_id, trigger_ref) DO NOTHING`.execute(q);
      break;
    }
    case 'dormant':
      res = await sql`INSERT INTO campaign_enrolments (campaign_id, client_id, contact_id, trigger_ref, started_at)
        SELECT ${campaignId}, m.client_id, m.contact_id, 'dormant-' || coalesce((SELECT max(o.ordered_on)::text FROM orders o WHERE o.client_id = m.client_id), 'none'), least(s.computed_at, ${now})
        FROM client_segments s JOIN (${members}) m ON m.client_id = s.client_id
        WHERE s.dormant IS NOT NULL
        ON CONFLICT (campaign_id, contact_id, trigger_ref) DO NOTHING`.execute(q);
      break;
    case 'order-status': {
      const statuses = c.statuses ?? ['in_production', 'shipped', 'in_warehouse'];
      res = await sql`INSERT INTO campaign_enrolments (campaign_id, client_id, contact_id, trigger_ref, started_at)
        SELECT ${campaignId}, m.client_id, m.contact_id, 'order-' || o.id || '-' || o.status, o.status_changed_at
        FROM orders o JOIN (${members}) m ON m.client_id = o.client_id
        WHERE o.status = ANY(${sql.val(statuses)}::text[]) AND o.status_changed_at >= ${since} AND o.status_changed_at <= ${now}
        ON CONFLICT (campaign_id, contact_id, trigger_ref) DO NOTHING`.execute(q);
      break;
    }
  }
  return Number(res.numAffectedRows ?? 0);
}

/** Messages from anyone at the enrolment's client (by thread link or by a contact's address), after it started. */
function clientMessages(): ReturnType<typeof sql> {
  return sql`FROM campaign_enrolments e
    JOIN messages m ON m.direction = 'inbound' AND m.sent_at > e.started_at
    LEFT JOIN threads t ON t.id = m.thread_id
    WHERE (t.client_id = e.client_id OR m.from_address IN (SELECT ce.address_key FROM contact_emails ce JOIN contacts k ON k.id = ce.contact_id WHERE k.client_id = e.client_id))`;
}

/**
 * Stops active enrolments of a campaign: the client replied (anyone at the
 * same client, a human message, not an auto-reply), an order arrived, the
 * contact unsubscribed. Pauses on an out-of-office until its return date.
 * Unsent outbox rows of stopped enrolments are cancelled. Returns the counts.
 */
export async function applySequenceStops(q: Q, campaignId: number, c: SequenceCampaign, now: Date): Promise<{ stopped: number; paused: number }> {
  let stopped = 0;
  if (c.stopOn.includes('reply')) {
    const r = await sql`UPDATE campaign_enrolments x SET state = 'stopped', stop_reason = 'reply', stopped_at = r.at, stop_detail = r.detail
      FROM (SELECT DISTINCT ON (e.id) e.id, m.sent_at AS at, 'reply from ' || coalesce(m.from_address, '?') || ' at ' || to_char(m.sent_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') || 'Z' AS detail
            ${clientMessages()} AND e.campaign_id = ${campaignId} AND e.state = 'active' AND m.sent_at <= ${now} AND NOT ${isAutoMessage()}
            ORDER BY e.id, m.sent_at) r
      WHERE x.id = r.id`.execute(q);
    stopped += Number(r.numAffectedRows ?? 0);
  }
  if (c.stopOn.includes('order') && c.trigger !== 'order-status') {
    const r = await sql`UPDATE campaign_enrolments e SET state = 'stopped', stop_reason = 'order', stopped_at = ${now}, stop_detail = 'order ' || o.order_no
      FROM orders o WHERE e.campaign_id = ${campaignId} AND e.state = 'active' AND o.client_id = e.client_id AND o.created_at > e.started_at AND o.status <> 'cancelled'`.execute(q);
    stopped += Number(r.numAffectedRows ?? 0);
  }
  if (c.stopOn.includes('unsubscribe')) {
    const r = await sql`UPDATE campaign_enrolments e SET state = 'stopped', stop_reason = 'unsubscribe', stopped_at = ${now}, stop_detail = s.reason
      FROM contact_emails ce JOIN suppressions s ON s.address_key = ce.address_key
      WHERE e.campaign_id = ${campaignId} AND e.state = 'active' AND ce.contact_id = e.contact_id AND s.source IN ('unsubscribe','complaint','manual')`.execute(q);
    stopped += Number(r.numAffectedRows ?? 0);
  }
  // Out-of-office replies: pause until the return date when one can be read.
  const ooo = await sql<{ id: number; text: string | null; subject: string | null; sent_at: Date }>`SELECT e.id, coalesce(m.newest_part, m.text_body) AS text, m.subject, m.sent_at
    ${clientMessages()} AND e.campaign_id = ${campaignId} AND e.state = 'active' AND m.sent_at <= ${now} AND ${isOutOfOffice()}
    ORDER BY e.id, m.sent_at`.execute(q);
  let paused = 0;
  for (const row of ooo.rows) {
    const back = readReturnDate(`${row.subject ?? ''}\n${row.text ?? ''}`, new Date(row.sent_at));
    if (!back) continue;
    const r = await sql`UPDATE campaign_enrolments SET paused_until = ${back}::date, pause_reason = 'out of office until ' || ${back}
      WHERE id = ${row.id} AND (paused_until IS NULL OR paused_until < ${back}::date)`.execute(q);
    paused += Number(r.numAffectedRows ?? 0);
  }
  if (stopped > 0) await cancelStoppedMail(q, campaignId, now);
  return { stopped, paused };
}

/** Cancels queued mail of stopped enrolments and records why on their decisions. */
export async function cancelStoppedMail(q: Q, campaignId: number, now: Date): Promise<number> {
  const r = await sql`UPDATE outbox o SET state = 'cancelled', last_error = 'sequence stopped: ' || e.stop_reason, updated_at = ${now}
    FROM campaign_decisions d JOIN campaign_enrolments e ON e.id = d.enrolment_id
    WHERE d.campaign_id = ${campaignId} AND e.state = 'stopped' AND o.idempotency_key = d.idempotency_key AND o.state = 'planned'`.execute(q);
  await sql`UPDATE campaign_decisions d SET outcome = 'skipped', reason = 'sequence stopped: ' || e.stop_reason || coalesce(' (' || e.stop_detail || ')', ''), updated_at = ${now}
    FROM campaign_enrolments e
    WHERE d.campaign_id = ${campaignId} AND e.id = d.enrolment_id AND e.state = 'stopped' AND d.outcome <> 'skipped'
      AND (d.enqueued_at IS NULL OR EXISTS (SELECT 1 FROM outbox o WHERE o.idempotency_key = d.idempotency_key AND o.state = 'cancelled'))`.execute(q);
  return Number(r.numAffectedRows ?? 0);
}

/** Stops a contact's enrolments in a campaign by hand. */
export async function stopEnrolmentsByHand(q: Q, campaignId: number, contactId: number, now: Date, note: string | null): Promise<number> {
  const r = await sql`UPDATE campaign_enrolments SET state = 'stopped', stop_reason = 'manual', stopped_at = ${now}, stop_detail = ${note}
    WHERE campaign_id = ${campaignId} AND contact_id = ${contactId} AND state = 'active'`.execute(q);
  await cancelStoppedMail(q, campaignId, now);
  return Number(r.numAffectedRows ?? 0);
}
