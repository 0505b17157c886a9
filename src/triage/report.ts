import { DateTime } from 'luxon';
import type { Db } from '../db/database.ts';
import type { Clock } from '../shared/clock.ts';
import type { WorkingCalendar } from './working-calendar.ts';

export type ReportGrouping = 'owner' | 'tier' | 'category' | 'week' | 'all';

export interface ReplyReportRow {
  readonly group: string;
  /** First-response targets (reply, acknowledgement, phone) started in the period. */
  readonly targets: number;
  readonly answered: number;
  /** Met on time, among those decided (answered, or past due). */
  readonly met: number;
  readonly decided: number;
  readonly pctMet: number | null;
  /** Hours from the clock's start to our answer, for answered targets. */
  readonly medianHours: number | null;
  readonly p90Hours: number | null;
  /** The same in our working hours (the unit the targets are set in): a Friday-evening inquiry answered Monday morning is a few working hours, not 60. */
  readonly medianWorkingHours: number | null;
  readonly p90WorkingHours: number | null;
}

function quantile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const v = (sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo));
  return Math.round(v * 10) / 10;
}

/** Median and 90th-percentile reply time and % met, per group, for targets started in [from, to). */
export async function replyReport(db: Db, clock: Clock, range: { from: Date; to: Date }, by: ReportGrouping, zone: string, calendar?: WorkingCalendar): Promise<ReplyReportRow[]> {
  const now = clock.now();
  const rows = await db.kysely
    .selectFrom('reply_targets as rt')
    .leftJoin('owners as o', 'o.id', 'rt.owner_id')
    .leftJoin('clients as c', 'c.id', 'rt.client_id')
    .select((eb) => [
      'rt.started_at', 'rt.due_at', 'rt.met_at', 'rt.category', 'o.name as owner', 'c.tier_override',
      eb.selectFrom('client_segments as s').select('s.tier').whereRef('s.client_id', '=', 'rt.client_id').as('tier_segment'),
    ])
    .where('rt.kind', 'in', ['reply', 'ack', 'phone'])
    .where('rt.status', '<>', 'void')
    .where('rt.started_at', '>=', range.from)
    .where('rt.started_at', '<', range.to)
    .execute();
  const groups = new Map<string, { targets: number; answered: number; met: number; decided: number; hours: number[]; working: number[] }>();
  for (const r of rows) {
    const key =
      by === 'owner' ? r.owner ?? '(no owner)'
      : by === 'tier' ? r.tier_override ?? (r.tier_segment ?? '(none)')
      : by === 'category' ? r.category
      : by === 'week' ? DateTime.fromJSDate(r.started_at, { zone }).toFormat("kkkk-'W'WW")
      : 'all';
    const g = groups.get(key) ?? { targets: 0, answered: 0, met: 0, decided: 0, hours: [], working: [] };
    g.targets += 1;
    if (r.met_at) {
      g.answered += 1;
      g.decided += 1;
      g.hours.push((r.met_at.getTime() - r.started_at.getTime()) / 3_600_000);
      if (calendar) g.working.push(calendar.workingHoursBetween(r.started_at, r.met_at));
      if (r.met_at <= r.due_at) g.met += 1;
    } else if (r.due_at < now) g.decided += 1;
    groups.set(key, g);
  }
  return [...groups.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([group, g]) => {
      const sorted = [...g.hours].sort((a, b) => a - b);
      const working = [...g.working].sort((a, b) => a - b);
      return {
        group, targets: g.targets, answered: g.answered, met: g.met, decided: g.decided,
        pctMet: g.decided ? Math.round((g.met / g.decided) * 1000) / 10 : null, medianHours: quantile(sorted, 0.5), p90Hours: quantile(sorted, 0.9),
        medianWorkingHours: quantile(working, 0.5), p90WorkingHours: quantile(working, 0.9),
      };
    });
}
