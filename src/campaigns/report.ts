import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import { getStoredCampaign } from './campaign-store.ts';

export interface OccurrenceReport {
  readonly occurrence: string;
  readonly planned: number;
  readonly deferred: number;
  readonly skipped: number;
  readonly waiting: number;
  readonly sent: number;
  readonly failed: number;
  readonly expired: number;
  readonly cancelled: number;
  readonly suppressed: number;
  readonly bounced: number;
  readonly unsubscribed: number;
  readonly replies: number;
}

export interface CampaignReport {
  readonly campaign: string;
  readonly replyWindowDays: number;
  readonly occurrences: readonly OccurrenceReport[];
  readonly total: OccurrenceReport;
  readonly skipReasons: ReadonlyArray<{ reason: string; count: number }>;
}

/**
 * Results per occurrence: decisions (planned, deferred, skipped), what the
 * outbox did with them, bounces, unsubscribes, and replies within N days in
 * the thread of a campaign mail (or answering its Message-ID).
 */
export async function reportCampaign(db: Db, name: string, replyWindowDays: number): Promise<CampaignReport> {
  const c = await getStoredCampaign(db, name);
  const res = await sql<OccurrenceReport>`SELECT d.occurrence,
      count(*) FILTER (WHERE d.outcome IN ('planned','deferred'))::int AS planned,
      count(*) FILTER (WHERE d.outcome = 'deferred')::int AS deferred,
      count(*) FILTER (WHERE d.outcome = 'skipped')::int AS skipped,
      count(o.id) FILTER (WHERE o.state IN ('planned','claimed','uncertain'))::int AS waiting,
      count(o.id) FILTER (WHERE o.state = 'sent')::int AS sent,
      count(o.id) FILTER (WHERE o.state = 'failed')::int AS failed,
      count(o.id) FILTER (WHERE o.state = 'expired')::int AS expired,
      count(o.id) FILTER (WHERE o.state = 'cancelled')::int AS cancelled,
      count(o.id) FILTER (WHERE o.state = 'suppressed')::int AS suppressed,
      count(o.id) FILTER (WHERE o.bounced_at IS NOT NULL)::int AS bounced,
      count(o.id) FILTER (WHERE EXISTS (SELECT 1 FROM unsubscribes u WHERE u.outbox_id = o.id))::int AS unsubscribed,
      count(o.id) FILTER (WHERE o.state = 'sent' AND EXISTS (
        SELECT 1 FROM messages r WHERE r.direction = 'inbound' AND r.sent_at > o.sent_at AND r.sent_at <= o.sent_at + make_interval(days => ${replyWindowDays})
          AND (r.in_reply_to = o.message_id OR o.message_id = ANY(r."references")
               OR r.thread_id IN (SELECT s.thread_id FROM messages s WHERE s.message_id = o.message_id AND s.thread_id IS NOT NULL))))::int AS replies
    FROM campaign_decisions d LEFT JOIN outbox o ON o.idempotency_key = d.idempotency_key
    WHERE d.campaign_id = ${c.id} GROUP BY d.occurrence ORDER BY d.occurrence`.execute(db.kysely);
  const occurrences = res.rows;
  const keys: Array<keyof Omit<OccurrenceReport, 'occurrence'>> = ['planned', 'deferred', 'skipped', 'waiting', 'sent', 'failed', 'expired', 'cancelled', 'suppressed', 'bounced', 'unsubscribed', 'replies'];
  const total = Object.fromEntries([['occurrence', 'total'], ...keys.map((k) => [k, occurrences.reduce((s, o) => s + Number(o[k]), 0)])]) as unknown as OccurrenceReport;
  const reasons = await sql<{ reason: string; count: number }>`SELECT regexp_replace(coalesce(reason, ''), '\\d{4}-\\d{2}-\\d{2}.*$', '') AS reason, count(*)::int AS count
    FROM campaign_decisions WHERE campaign_id = ${c.id} AND outcome = 'skipped' GROUP BY 1 ORDER BY 2 DESC, 1`.execute(db.kysely);
  return { campaign: c.name, replyWindowDays, occurrences, total, skipReasons: reasons.rows };
}
