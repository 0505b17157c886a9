import { DateTime } from 'luxon';

const MONTHS: Readonly<Record<string, number>> = {
  jan: 1, january: 1, feb: 2, february: 2, mar: 3, march: 3, apr: 4, april: 4, may: 5, jun: 6, june: 6, jul: 7, july: 7,
  aug: 8, august: 8, sep: 9, sept: 9, september: 9, oct: 10, october: 10, nov: 11, november: 11, dec: 12, december: 12,
};

function valid(y: number, m: number, d: number): string | undefined {
  const dt = DateTime.fromObject({ year: y, month: m, day: d }, { zone: 'UTC' });
  return dt.isValid ? dt.toISODate() ?? undefined : undefined;
}

/** The year that puts a month/day on or after the reference day (an out-of-office names a coming date). */
function nextYear(ref: DateTime, m: number, d: number): string | undefined {
  const same = valid(ref.year, m, d);
  if (same && same >= (ref.toISODate() ?? '')) return same;
  return valid(ref.year + 1, m, d);
}

/**
 * The return date an out-of-office reply announces ('back on 12 March', 'until 2027-01-04',
 * '返回 1月4日', 'zurück am 04.01.2027'), as 'YYYY-MM-DD', or undefined when none can be read.
 */
export function readReturnDate(text: string, received: Date): string | undefined {
  const ref = DateTime.fromJSDate(received, { zone: 'UTC' });
  const t = text.replace(/\s+/g, ' ');
  const cue = /(back|return|returning|until|till|from|zurück|bis|retour|jusqu'au|hasta|regreso|回来|返回|直到|至|之后|后)/i;
  const iso = /(\d{4})-(\d{1,2})-(\d{1,2})/g;
  const dmy = /\b(\d{1,2})[./](\d{1,2})[./](\d{4})\b/g;
  const dMonth = /\b(\d{1,2})(?:st|nd|rd|th)?\.? (?:of )?([A-Za-z]{3,9})\.?(?: (\d{4}))?/g;
  const monthD = /\b([A-Za-z]{3,9})\.? (\d{1,2})(?:st|nd|rd|th)?(?:,? (\d{4}))?/g;
  const zh = /(?:(\d{4})年)?(\d{1,2})月(\d{1,2})[日号]/g;
  type Hit = { index: number; date: string };
  const hits: Hit[] = [];
  for (const m of t.matchAll(iso)) { const d = valid(Number(m[1]), Number(m[2]), Number(m[3])); if (d) hits.push({ index: m.index ?? 0, date: d }); }
  for (const m of t.matchAll(dmy)) { const d = valid(Number(m[3]), Number(m[2]), Number(m[1])); if (d) hits.push({ index: m.index ?? 0, date: d }); }
  for (const m of t.matchAll(dMonth)) {
    const mon = MONTHS[(m[2] ?? '').toLowerCase()];
    if (!mon) continue;
    const d = m[3] ? valid(Number(m[3]), mon, Number(m[1])) : nextYear(ref, mon, Number(m[1]));
    if (d) hits.push({ index: m.index ?? 0, date: d });
  }
  for (const m of t.matchAll(monthD)) {
    const mon = MONTHS[(m[1] ?? '').toLowerCase()];
    if (!mon) continue;
    const d = m[3] ? valid(Number(m[3]), mon, Number(m[2])) : nextYear(ref, mon, Number(m[2]));
    if (d) hits.push({ index: m.index ?? 0, date: d });
  }
  for (const m of t.matchAll(zh)) {
    const d = m[1] ? valid(Number(m[1]), Number(m[2]), Number(m[3])) : nextYear(ref, Number(m[2]), Number(m[3]));
    if (d) hits.push({ index: m.index ?? 0, date: d });
  }
  const today = ref.toISODate() ?? '';
  const future = hits.filter((h) => h.date >= today && h.date <= (ref.plus({ days: 120 }).toISODate() ?? ''));
  if (future.length === 0) return undefined;
  // Prefer a date right after a cue word; else the latest future date mentioned (the end of an absence).
  const cued = future.filter((h) => cue.test(t.slice(Math.max(0, h.index - 25), h.index)));
  const pool = cued.length > 0 ? cued : future;
  return pool.map((h) => h.date).sort().at(-1);
}
