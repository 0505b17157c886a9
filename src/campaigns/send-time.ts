import { DateTime } from 'luxon';
import type { SendWindow } from './settings.ts';

export interface LocalSlot {
  /** The local day the mail goes out (may differ from the wanted day when the window skips weekdays). */
  readonly localDate: string;
  /** Earliest send instant (UTC). */
  readonly notBefore: Date;
  /** End of the local window that day (UTC). */
  readonly windowEnd: Date;
}

function at(date: string, hhmm: string, zone: string): DateTime {
  const [h, m] = hhmm.split(':').map(Number);
  // Luxon resolves a local time that does not exist (spring-forward gap) forward, and an ambiguous one to the earlier offset.
  return DateTime.fromISO(date, { zone }).set({ hour: h ?? 9, minute: m ?? 0, second: 0, millisecond: 0 });
}

/**
 * The send slot on a local day in the recipient's zone. When the window excludes
 * that weekday, `direction` says whether to move earlier (a dated greeting must
 * arrive in time) or later (anything else). `spreadKey` spreads recipients
 * deterministically across the window so one mailbox does not send all at 09:00.
 */
export function localSendSlot(date: string, zone: string, window: SendWindow, direction: 'earlier' | 'later' = 'later', spreadKey = 0): LocalSlot {
  let day = DateTime.fromISO(date, { zone });
  for (let i = 0; i < 7 && !window.days.includes(day.weekday); i++) day = day.plus({ days: direction === 'earlier' ? -1 : 1 });
  const d = day.toISODate() ?? date;
  const start = at(d, window.start, zone);
  const end = at(d, window.end, zone);
  const span = Math.max(0, end.toMillis() - start.toMillis());
  const minutes = Math.floor(span / 60_000);
  const offset = minutes > 0 ? (Math.abs(spreadKey) % minutes) * 60_000 : 0;
  return { localDate: d, notBefore: new Date(start.toMillis() + offset), windowEnd: end.toJSDate() };
}

/** Adds days to a 'YYYY-MM-DD' date (calendar arithmetic, no zone). */
export function addDays(date: string, days: number): string {
  return DateTime.fromISO(date, { zone: 'UTC' }).plus({ days }).toISODate() ?? date;
}

/** Whole days from a to b ('YYYY-MM-DD'). */
export function daysBetween(a: string, b: string): number {
  return Math.round(DateTime.fromISO(b, { zone: 'UTC' }).diff(DateTime.fromISO(a, { zone: 'UTC' }), 'days').days);
}
