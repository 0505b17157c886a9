import { DateTime } from 'luxon';
import { defaultTimeZone } from '../clients/index.ts';
import type { SendWindow } from './settings.ts';

/** The recipient's IANA zone: the contact's, else the client's, else its country's main zone, else the fallback. */
export function recipientZone(contactZone: string | null | undefined, clientZone: string | null | undefined, country: string | null | undefined, fallback: string): { zone: string; source: string } {
  for (const [z, source] of [[contactZone, 'contact'], [clientZone, 'client']] as const) {
    if (z && isZone(z)) return { zone: z, source };
  }
  if (country) {
    const z = defaultTimeZone(country.trim());
    if (z && isZone(z)) return { zone: z, source: `country ${country.toUpperCase()}` };
  }
  return { zone: fallback, source: 'default' };
}

export function isZone(zone: string): boolean {
  return DateTime.now().setZone(zone).isValid;
}

function minutesOf(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number);
  return (h ?? 0) * 60 + (m ?? 0);
}

/**
 * The earliest instant >= at that falls inside the window in the zone, or at
 * itself when it is inside. Local times that do not exist (a spring-forward
 * gap) move forward with the clock; the window is measured in wall time, so it
 * keeps its local hours across a daylight-saving change.
 */
export function nextWindowOpen(at: Date, window: SendWindow | null, zone: string): Date {
  if (!window) return at;
  const [from, to] = window.hours.split('-') as [string, string];
  const start = minutesOf(from);
  const end = minutesOf(to);
  const local = DateTime.fromJSDate(at, { zone });
  const days = new Set(window.days);
  for (let i = 0; i <= 8; i += 1) {
    const day = local.startOf('day').plus({ days: i });
    if (!days.has(day.weekday)) continue;
    const open = day.set({ hour: Math.floor(start / 60), minute: start % 60, second: 0, millisecond: 0 });
    const close = end >= 24 * 60 ? day.plus({ days: 1 }) : day.set({ hour: Math.floor(end / 60), minute: end % 60, second: 0, millisecond: 0 });
    if (local < close) {
      const candidate = local > open ? local : open;
      if (candidate < close) return candidate.toJSDate();
    }
  }
  return at; // unreachable with at least one day allowed
}
