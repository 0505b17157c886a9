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
  const key = `${date}|${zone}|${window.start}|${window.end}|${window.days.join('')}|${direction}`;
  let base = slotCache.get(key);
  if (!base) {
    base = computeSlot(date, zone, window, direction);
    if (slotCache.size > 50_000) slotCache.clear();
    slotCache.set(key, base);
  }
  const minutes = Math.floor(Math.max(0, base.end - base.start) / 60_000);
  const offset = minutes > 0 ? (Math.abs(spreadKey) % minutes) * 60_000 : 0;
  return { localDate: base.localDate, notBefore: new Date(base.start + offset), windowEnd: new Date(base.end) };
}

const slotCache = new Map<string, { localDate: string; start: number; end: number }>();

function computeSlot(date: string, zone: string, window: SendWindow, direction: 'earlier' | 'later'): { localDate: string; start: number; end: number } {
  let day = DateTime.fromISO(date, { zone });
  for (let i = 0; i < 7 && !window.days.includes(day.weekday); i++) day = day.plus({ days: direction === 'earlier' ? -1 : 1 });
  const d = day.toISODate() ?? date;
  return { localDate: d, start: at(d, window.start, zone).toMillis(), end: at(d, window.end, zone).toMillis() };
}

/** Adds days to a 'YYYY-MM-DD' date (calendar arithmetic, no zone). */
export function addDays(date: string, days: number): string {
  const t = Date.UTC(Number(date.slice(0, 4)), Number(date.slice(5, 7)) - 1, Number(date.slice(8, 10))) + days * 86_400_000;
  return new Date(t).toISOString().slice(0, 10);
}

/** Whole days from a to b ('YYYY-MM-DD'). */
export function daysBetween(a: string, b: string): number {
  return Math.round((Date.parse(`${b}T00:00:00Z`) - Date.parse(`${a}T00:00:00Z`)) / 86_400_000);
}

const endCache = new Map<string, number>();
/** The last millisecond of a local day in a zone (UTC instant). */
export function endOfLocalDay(date: string, zone: string): Date {
  const key = `${date}|${zone}`;
  let v = endCache.get(key);
  if (v === undefined) {
    v = DateTime.fromISO(date, { zone }).endOf('day').toMillis();
    if (endCache.size > 50_000) endCache.clear();
    endCache.set(key, v);
  }
  return new Date(v);
}
