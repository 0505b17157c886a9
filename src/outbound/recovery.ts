import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import type { Clock } from '../shared/clock.ts';
import type { OutboundSettings } from './settings.ts';

/**
 * A row found `claimed` with an expired lease belonged to a worker that died
 * (or hung) somewhere between the claim and the record of the server's
 * answer. Whether the server accepted it is unknown: it becomes `uncertain`,
 * never `planned`. Its throttle slot is closed at the lease's end.
 */
export async function recoverExpiredLeases(db: Db, clock: Clock): Promise<number> {
  const now = clock.now();
  const res = await sql<{ id: number }>`
    WITH u AS (
      UPDATE outbox SET state = 'uncertain', last_error = 'the worker stopped before recording the server''s answer (lease expired at ' || to_char(lease_until AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') || ')',
             updated_at = ${now}
       WHERE state = 'claimed' AND lease_until < ${now}
      RETURNING id, lease_until),
    l AS (UPDATE outbound_send_log s SET finished_at = u.lease_until, outcome = 'uncertain' FROM u WHERE s.outbox_id = u.id AND s.finished_at IS NULL),
    e AS (INSERT INTO outbox_events (outbox_id, at, event, detail) SELECT id, ${now}, 'uncertain', 'lease expired' FROM u)
    SELECT id FROM u`.execute(db.kysely);
  return res.rows.length;
}

export interface Resolution {
  readonly id: number;
  readonly to: 'sent' | 'planned' | 'uncertain';
  readonly reason: string;
}

interface UncertainRow {
  id: number;
  message_id: string;
  account_id: number;
  lease_until: Date | null;
  updated_at: Date;
  saves_sent: boolean;
  found_at: Date | null;
  sent_synced_at: Date | null;
}

/**
 * The documented rule for `uncertain` rows (see README "Exactly once"):
 *  1. Its Message-ID is in the synced messages of the account (its Sent folder,
 *     or anywhere we saw it): it was sent -> `sent`.
 *  2. Else, when the account is known to store every sent mail itself
 *     (saves_sent, e.g. Gmail) and its Sent folder was synced successfully
 *     more than the grace period after the row became uncertain: it was not
 *     sent -> `planned` again, and the next claim sends it.
 *  3. Else it stays `uncertain` for a person: `rapport outbox retry ID` resends,
 *     `rapport outbox cancel ID` drops it. Rapport never guesses.
 */
export async function resolveUncertain(db: Db, clock: Clock, settings: OutboundSettings, options: { ids?: readonly number[] } = {}): Promise<Resolution[]> {
  const now = clock.now();
  const only = options.ids ? sql`AND o.id = ANY(${sql.val([...options.ids])}::bigint[])` : sql``;
  const rows = (
    await sql<UncertainRow>`
      SELECT o.id, o.message_id, o.account_id, o.lease_until, o.updated_at, a.saves_sent,
             (SELECT min(m.created_at) FROM messages m WHERE m.message_id = o.message_id) AS found_at,
             (SELECT max(f.last_success_at) FROM mail_folders f WHERE f.account_id = o.account_id AND f.role = 'sent') AS sent_synced_at
        FROM outbox o JOIN mail_accounts a ON a.id = o.account_id
       WHERE o.state = 'uncertain' ${only}
       ORDER BY o.id
       LIMIT 1000`.execute(db.kysely)
  ).rows;
  const out: Resolution[] = [];
  for (const r of rows) {
    const since = r.updated_at.getTime();
    let res: Resolution;
    if (r.found_at) {
      res = { id: Number(r.id), to: 'sent', reason: 'its Message-ID was found in the synced mailbox (Sent folder)' };
      await sql`
        WITH u AS (UPDATE outbox SET state = 'sent', sent_at = coalesce(sent_at, lease_until, ${now}), resolved_by = ${res.reason}, updated_at = ${now}
                    WHERE id = ${r.id} AND state = 'uncertain' RETURNING id)
        INSERT INTO outbox_events (outbox_id, at, event, detail) SELECT id, ${now}, 'resolved-sent', ${res.reason} FROM u`.execute(db.kysely);
    } else if (r.saves_sent && r.sent_synced_at && r.sent_synced_at.getTime() > since + settings.uncertainGraceSeconds * 1000) {
      res = { id: Number(r.id), to: 'planned', reason: `absent from the Sent folder synced at ${r.sent_synced_at.toISOString()}, and the account stores every sent mail: not sent, sending again` };
      await sql`
        WITH u AS (UPDATE outbox SET state = 'planned', resolved_by = ${res.reason}, claim_token = NULL, lease_until = NULL, defer_until = NULL, updated_at = ${now}
                    WHERE id = ${r.id} AND state = 'uncertain' RETURNING id)
        INSERT INTO outbox_events (outbox_id, at, event, detail) SELECT id, ${now}, 'resolved-resend', ${res.reason} FROM u`.execute(db.kysely);
    } else {
      res = {
        id: Number(r.id),
        to: 'uncertain',
        reason: r.saves_sent
          ? 'waiting for a sync of the Sent folder after the uncertain moment'
          : 'the account does not store sent mail itself, so absence proves nothing: a person decides (outbox retry or cancel)',
      };
    }
    out.push(res);
  }
  return out;
}
