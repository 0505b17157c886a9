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

  private dayWindow(day: DateTime): { start: number; end: number } {
    const base = day.startOf('day');
    return { start: base.plus({ minutes: this.startMin }).toMillis(), end: base.plus({ minutes: this.endMin }).toMillis() };
  }

  /** The working window containing `at` or the next one: [start, end) in ms. */
  private windowFrom(at: number): { start: number; end: number } {
    let day = DateTime.fromMillis(at, { zone: this.zone }).startOf('day');
    for (let i = 0; i < 400; i += 1) {
      if (this.isWorkingDay(day.toISODate() ?? '')) {
        const w = this.dayWindow(day);
        if (at < w.end) return { start: Math.max(w.start, at), end: w.end };
      }
      day = day.plus({ days: 1 });
    }
    throw new Error('working calendar: no working day within 400 days');
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
