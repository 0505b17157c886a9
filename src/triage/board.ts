import { sql } from 'kysely';
import { DateTime } from 'luxon';
import type { Db } from '../db/database.ts';
import type { Clock } from '../shared/clock.ts';

export interface BoardRow {
  readonly targetId: number;
  readonly threadId: number;
  readonly messageId: number;
  readonly kind: string;
  readonly channel: string;
  readonly category: string;
  readonly urgency: number;
  readonly startedAt: Date;
  readonly dueAt: Date;
  readonly overdue: boolean;
  /** Minutes until due (negative when overdue). */
  readonly minutesLeft: number;
  readonly ownerId: number | null;
  readonly owner: string | null;
  readonly clientId: number | null;
  readonly client: string | null;
  readonly tier: string | null;
  readonly clientTimeZone: string | null;
  /** The client's local time now, e.g. "Tue 08:15", when its zone is known. */
  readonly clientLocalTime: string | null;
  readonly subject: string | null;
  readonly from: string | null;
  readonly explanation: string;
}

export interface BoardOptions {
  readonly limit?: number;
  readonly ownerId?: number;
}

export interface Board {
  readonly now: Date;
  readonly open: number;
  readonly overdue: number;
  readonly rows: BoardRow[];
}

/** Open targets by due time (overdue ones come first, being the earliest due). */
export async function loadBoard(db: Db, clock: Clock, options: BoardOptions = {}): Promise<Board> {
  const now = clock.now();
  const limit = Math.min(Math.max(1, options.limit ?? 100), 10_000);
  let q = db.kysely
    .selectFrom('reply_targets as rt')
    .leftJoin('clients as c', 'c.id', 'rt.client_id')
    .leftJoin('owners as o', 'o.id', 'rt.owner_id')
    .innerJoin('messages as m', 'm.id', 'rt.message_id')
    .select((eb) => [
      'rt.id', 'rt.thread_id', 'rt.message_id', 'rt.kind', 'rt.channel', 'rt.category', 'rt.urgency', 'rt.started_at', 'rt.due_at', 'rt.owner_id', 'rt.client_id', 'rt.explanation',
      'o.name as owner', 'c.name as client', 'c.time_zone', 'c.tier_override', 'm.subject', 'm.from_address',
      eb.selectFrom('client_segments as s').select('s.tier').whereRef('s.client_id', '=', 'rt.client_id').as('tier_segment'),
    ])
    .where('rt.met_at', 'is', null)
    .where('rt.status', '<>', 'void')
    .orderBy('rt.due_at')
    .orderBy('rt.id')
    .limit(limit);
  if (options.ownerId !== undefined) q = q.where('rt.owner_id', '=', options.ownerId);
  const rows = await q.execute();
  let cq = db.kysely
    .selectFrom('reply_targets')
    .select([sql<number>`count(*)`.as('open'), sql<number>`count(*) FILTER (WHERE due_at < ${now})`.as('overdue')])
    .where('met_at', 'is', null)
    .where('status', '<>', 'void');
  if (options.ownerId !== undefined) cq = cq.where('owner_id', '=', options.ownerId);
  const counts = await cq.executeTakeFirstOrThrow();
  return {
    now,
    open: Number(counts.open),
    overdue: Number(counts.overdue),
    rows: rows.map((r) => {
      const local = r.time_zone ? DateTime.fromJSDate(now, { zone: r.time_zone }) : null;
      return {
        targetId: r.id, threadId: r.thread_id, messageId: r.message_id, kind: r.kind, channel: r.channel, category: r.category, urgency: r.urgency,
        startedAt: r.started_at, dueAt: r.due_at, overdue: r.due_at < now, minutesLeft: Math.round((r.due_at.getTime() - now.getTime()) / 60_000),
        ownerId: r.owner_id, owner: r.owner, clientId: r.client_id, client: r.client, tier: r.tier_override ?? (r.tier_segment ?? null),
        clientTimeZone: r.time_zone, clientLocalTime: local && local.isValid ? local.toFormat('ccc HH:mm') : null,
        subject: r.subject, from: r.from_address, explanation: r.explanation,
      };
    }),
  };
}

/** "2h 05m", "-1d 3h" (overdue). */
export function formatTimeLeft(minutes: number): string {
  const sign = minutes < 0 ? '-' : '';
  let m = Math.abs(minutes);
  const d = Math.floor(m / 1440);
  m -= d * 1440;
  const h = Math.floor(m / 60);
  m -= h * 60;
  return d > 0 ? `${sign}${d}d ${h}h` : `${sign}${h}h ${String(m).padStart(2, '0')}m`;
}
