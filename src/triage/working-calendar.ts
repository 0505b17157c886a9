import { DateTime } from 'luxon';
import Holidays from 'date-holidays';
import type { TriageSettings } from './settings.ts';

type CalendarSettings = TriageSettings['calendar'];

const MS_HOUR = 3_600_000;

/**
 * Our working calendar: a zone, working hours, working weekdays, public
 * holidays (date-holidays, full-day public ones), extra days off and extra
 * working days (make-up days). Due times are counted in working hours.
 */
export class WorkingCalendar {
  readonly zone: string;
  private readonly startMin: number;
  private readonly endMin: number;
  private readonly workdays: ReadonlySet<number>;
  private readonly extraOff: ReadonlySet<string>;
  private readonly extraOn: ReadonlySet<string>;
  private readonly holidaysByYear = new Map<number, Map<string, string>>();
  private readonly hd: Holidays | null;

  constructor(settings: CalendarSettings) {
    this.zone = settings.zone;
    this.startMin = toMinutes(settings.start);
    this.endMin = toMinutes(settings.end);
    this.workdays = new Set(settings.workdays);
    this.extraOff = new Set(settings.holidays);
    this.extraOn = new Set(settings.workingDays);
    this.hd = settings.country ? new Holidays(settings.country, settings.region ?? '', { types: ['public'] }) : null;
  }

  /** Hours in one working day. */
  get dayHours(): number {
    return (this.endMin - this.startMin) / 60;
  }

  /** The public holiday on this day (ISO date), if any. */
  holidayName(isoDate: string): string | undefined {
    const year = Number(isoDate.slice(0, 4));
    let map = this.holidaysByYear.get(year);
    if (!map) {
      map = new Map();
      if (this.hd) {
        for (const h of this.hd.getHolidays(year)) {
          // Full-day public holidays only (China's half-days such as 8 March start at noon).
          if (h.type !== 'public' || !h.date.endsWith('00:00:00')) continue;
          map.set(h.date.slice(0, 10), h.name);
        }
      }
      this.holidaysByYear.set(year, map);
    }
    return map.get(isoDate);
  }

  isWorkingDay(isoDate: string): boolean {
    if (this.extraOn.has(isoDate)) return true;
    if (this.extraOff.has(isoDate)) return false;
    const dt = DateTime.fromISO(isoDate, { zone: this.zone });
    if (!this.workdays.has(dt.weekday)) return false;
    return this.holidayName(isoDate) === undefined;
  }

  isWorkingTime(at: Date): boolean {
    const dt = DateTime.fromJSDate(at, { zone: this.zone });
    const min = dt.hour * 60 + dt.minute;
    return this.isWorkingDay(dt.toISODate() ?? '') && min >= this.startMin && min < this.endMin;
  }

  // Working windows [start, end) in ms, precomputed per year (zone maths is the slow part).
  private readonly windowsByYear = new Map<number, Float64Array>();

  private yearWindows(year: number): Float64Array {
    let w = this.windowsByYear.get(year);
    if (!w) {
      const out: number[] = [];
      let day = DateTime.fromObject({ year, month: 1, day: 1 }, { zone: this.zone });
      while (day.year === year) {
        const iso = day.toISODate() ?? '';
        if (this.isWorkingDay(iso)) out.push(day.plus({ minutes: this.startMin }).toMillis(), day.plus({ minutes: this.endMin }).toMillis());
        day = day.plus({ days: 1 });
      }
      w = Float64Array.from(out);
      this.windowsByYear.set(year, w);
    }
    return w;
  }

  /** The working window containing `at` or the next one: [start, end) in ms. */
  private windowFrom(at: number): { start: number; end: number } {
    let year = new Date(at).getUTCFullYear() - 1;
    for (let guard = 0; guard < 4; guard += 1, year += 1) {
      const w = this.yearWindows(year);
      // binary search: first window whose end > at
      let lo = 0;
      let hi = w.length / 2;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (w[mid * 2 + 1]! > at) hi = mid;
        else lo = mid + 1;
      }
      if (lo < w.length / 2) return { start: Math.max(w[lo * 2]!, at), end: w[lo * 2 + 1]! };
    }
    throw new Error('working calendar: no working day within two years');
  }

  private readonly offsetByHour = new Map<number, number>();

  /** "yyyy-MM-dd HH:mm" in our zone (cached offsets: formatting with Intl per call is slow). */
  format(at: Date): string {
    const ms = at.getTime();
    const hour = Math.floor(ms / MS_HOUR);
    let off = this.offsetByHour.get(hour);
    if (off === undefined) {
      off = DateTime.fromMillis(ms, { zone: this.zone }).offset;
      if (this.offsetByHour.size > 100_000) this.offsetByHour.clear();
      this.offsetByHour.set(hour, off);
    }
    return new Date(ms + off * 60_000).toISOString().slice(0, 16).replace('T', ' ');
  }

  /** `hours` working hours after `from`. */
  addWorkingHours(from: Date, hours: number): Date {
    let left = hours * MS_HOUR;
    let at = from.getTime();
    for (;;) {
      const w = this.windowFrom(at);
      const span = w.end - w.start;
      if (left <= span) return new Date(w.start + left);
      left -= span;
      at = w.end;
    }
  }

  /** The end of the working day `from` falls in, or of the next working day when `from` is after hours. */
  endOfWorkingDay(from: Date, minHours = 0): Date {
    const w = this.windowFrom(from.getTime());
    if ((w.end - w.start) / MS_HOUR >= minHours || minHours <= 0) return new Date(w.end);
    return new Date(this.windowFrom(w.end).end);
  }

  /** `days` working days after `from`, at the same working-time position (24 h = one working day). */
  addWorkingDays(from: Date, days: number): Date {
    return this.addWorkingHours(from, days * this.dayHours);
  }

  /** Working hours between two instants (0 when b <= a). */
  workingHoursBetween(a: Date, b: Date): number {
    let at = a.getTime();
    const end = b.getTime();
    let total = 0;
    while (at < end) {
      const w = this.windowFrom(at);
      if (w.start >= end) break;
      total += Math.min(w.end, end) - w.start;
      at = w.end;
    }
    return total / MS_HOUR;
  }

  /** The next instant at which we are at work (`at` itself when working). */
  nextWorkingStart(at: Date): Date {
    return new Date(this.windowFrom(at.getTime()).start);
  }
}

function toMinutes(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number);
  return (h ?? 0) * 60 + (m ?? 0);
}
