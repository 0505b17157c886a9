import type { HolidayCampaign, OneOffCampaign, RecurringCampaign } from './campaign-schema.ts';
import { findHoliday } from './holiday-catalog.ts';
import { addDays } from './send-time.ts';

/** One dated occurrence of a campaign: what goes out on which local day. */
export interface Occurrence {
  /** Stable id within the campaign, part of the idempotency key ('2026-12', 'christmas-2026', ...). */
  readonly occurrence: string;
  /** Local day the mail is meant to go out. */
  readonly sendDate: string;
  /** The day the occasion falls on (holiday, birthday); the mail must not arrive after it. */
  readonly eventDate?: string;
  readonly template?: string;
  readonly data: Readonly<Record<string, unknown>>;
}

function year(date: string): number {
  return Number(date.slice(0, 4));
}

function within(c: { startsOn?: string | undefined; endsOn?: string | undefined }, date: string): boolean {
  return (!c.startsOn || date >= c.startsOn) && (!c.endsOn || date <= c.endsOn);
}

function lastDay(y: number, m: number): number {
  return new Date(Date.UTC(y, m, 0)).getUTCDate();
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

export function oneOffOccurrences(c: OneOffCampaign, from: string, to: string): Occurrence[] {
  return c.on >= from && c.on <= to && within(c, c.on) ? [{ occurrence: c.on, sendDate: c.on, ...(c.template ? { template: c.template } : {}), data: {} }] : [];
}

const STEP: Readonly<Record<RecurringCampaign['every'], number>> = { month: 1, quarter: 3, 'half-year': 6, year: 12 };

function periodId(every: RecurringCampaign['every'], y: number, m: number): string {
  switch (every) {
    case 'month': return `${y}-${pad(m)}`;
    case 'quarter': return `${y}-Q${Math.floor((m - 1) / 3) + 1}`;
    case 'half-year': return `${y}-H${m <= 6 ? 1 : 2}`;
    case 'year': return `${y}`;
  }
}

/** Template for a month of a recurring series: templateByMonth, else the template (with variable `month`). */
export function recurringTemplate(c: RecurringCampaign, month: number): string | undefined {
  return c.templateByMonth?.[String(month)] ?? c.template;
}

/** The occurrences of a series whose send day lies in [from, to] (the day clipped to the month's end). */
export function recurringOccurrences(c: RecurringCampaign, from: string, to: string): Occurrence[] {
  const out: Occurrence[] = [];
  const step = STEP[c.every];
  const first = c.month ?? 1;
  for (let y = year(from) - 1; y <= year(to); y++) {
    for (let m = 1; m <= 12; m++) {
      if ((m - first + 12) % step !== 0) continue;
      const d = `${y}-${pad(m)}-${pad(Math.min(c.day, lastDay(y, m)))}`;
      if (d < from || d > to || !within(c, d)) continue;
      const template = recurringTemplate(c, m);
      // The period a summary covers: the one that just ended.
      const pm = m - step <= 0 ? m - step + 12 : m - step;
      const py = m - step <= 0 ? y - 1 : y;
      out.push({
        occurrence: periodId(c.every, y, m),
        sendDate: d,
        ...(template ? { template } : {}),
        data: c.every === 'month' ? { month: m } : { period: { label: periodId(c.every, py, pm), from: `${py}-${pad(pm)}-01`, to: addDays(`${y}-${pad(m)}-01`, -1) }, periodStart: `${py}-${pad(pm)}-01`, periodEnd: addDays(`${y}-${pad(m)}-01`, -1) },
      });
    }
  }
  return out;
}

/** A holiday's occurrence for a client: sent `daysBefore` its local date, within [from, to]. */
export interface HolidayOccurrence extends Occurrence {
  readonly holiday: string;
  readonly holidayName: string;
  readonly ours: boolean;
}

/**
 * The holiday occurrences for one client country/region whose send day lies in
 * [from, to]: each listed holiday its country keeps, plus `ours` (looked up in our country).
 */
export function holidayOccurrences(c: HolidayCampaign, country: string | null | undefined, region: string | null | undefined, ourCountry: string, from: string, to: string): HolidayOccurrence[] {
  const out: HolidayOccurrence[] = [];
  const seen = new Set<string>();
  const wanted: Array<{ key: string; ours: boolean }> = [
    ...c.ours.map((key) => ({ key, ours: true })),
    ...c.holidays.map((key) => ({ key, ours: false })),
  ];
  for (let y = year(from); y <= year(addDays(to, c.daysBefore)); y++) {
    for (const w of wanted) {
      const h = w.ours ? findHoliday(w.key, ourCountry, null, y) : findHoliday(w.key, country, region, y);
      if (!h) continue;
      const sendDate = addDays(h.date, -c.daysBefore);
      const occurrence = `${h.key}-${y}`;
      if (seen.has(occurrence) || sendDate < from || sendDate > to || !within(c, sendDate)) continue;
      seen.add(occurrence);
      const template = c.templateByHoliday?.[w.key] ?? c.templateByHoliday?.[h.key] ?? c.template;
      out.push({
        occurrence,
        sendDate,
        eventDate: h.date,
        ...(template ? { template } : {}),
        holiday: h.key,
        holidayName: h.name,
        ours: w.ours,
        data: { holiday: h.key, holidayName: h.name, holidayDate: h.date },
      });
    }
  }
  return out.sort((a, b) => a.sendDate.localeCompare(b.sendDate) || a.occurrence.localeCompare(b.occurrence));
}

function isLeap(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

/** A yearly date (birthday, anniversary) in a given year; 29 February falls on 28 February in common years. */
export function anniversaryInYear(date: string, y: number): string {
  const md = date.slice(5);
  if (md === '02-29' && !isLeap(y)) return `${y}-02-28`;
  return `${y}-${md}`;
}

/** Occurrences of a yearly date (sent `daysBefore` it) whose send day lies in [from, to]. */
export function anniversaryOccurrences(prefix: string, date: string, daysBefore: number, from: string, to: string): Occurrence[] {
  const out: Occurrence[] = [];
  for (let y = year(from); y <= year(to) + 1; y++) {
    const eventDate = anniversaryInYear(date, y);
    if (eventDate < date) continue;
    const sendDate = addDays(eventDate, -daysBefore);
    if (sendDate < from || sendDate > to) continue;
    out.push({ occurrence: `${prefix}-${y}`, sendDate, eventDate, data: { eventDate, years: y - year(date) } });
  }
  return out;
}
