import { PRIORITIES, type Priority } from './campaign-schema.ts';
import { findHoliday } from './holiday-catalog.ts';
import { addDays } from './send-time.ts';
import type { CampaignSettings, QuietHoliday } from './settings.ts';

/** A period ('YYYY-MM-DD' inclusive) in which a recipient gets no promotion. */
export interface QuietPeriod {
  readonly from: string;
  readonly to: string;
  readonly holiday: string;
}

const quietCache = new Map<string, QuietPeriod[]>();

/** The recipient's own major holidays around the given years, as quiet periods for promotions. */
export function quietPeriods(country: string | null | undefined, region: string | null | undefined, years: readonly number[], rules: readonly QuietHoliday[]): QuietPeriod[] {
  if (!country) return [];
  const cacheKey = `${country}|${region ?? ''}|${years.join(',')}|${JSON.stringify(rules)}`;
  const hit = quietCache.get(cacheKey);
  if (hit) return hit;
  const out: QuietPeriod[] = [];
  for (const y of years) {
    for (const r of rules) {
      const h = findHoliday(r.holiday, country, region, y);
      if (h) out.push({ from: addDays(h.date, -r.daysBefore), to: addDays(h.date, r.daysAfter), holiday: r.holiday });
    }
  }
  if (quietCache.size > 2000) quietCache.clear();
  quietCache.set(cacheKey, out);
  return out;
}

export const PRIORITY_RANK: Readonly<Record<Priority, number>> = Object.fromEntries(PRIORITIES.map((p, i) => [p, i])) as Record<Priority, number>;

/** A mail the planner wants to send (before the budget). */
export interface BudgetCandidate {
  readonly key: string;
  readonly contactId: number;
  readonly priority: Priority;
  /** Wanted local send day. */
  readonly date: string;
  /** Latest acceptable local day (a dated greeting); undefined = open-ended. */
  readonly lastDate?: string | undefined;
  readonly overBudget: 'defer' | 'drop';
  readonly quiet: readonly QuietPeriod[];
  /** Tie-break among equal priorities (campaign name). */
  readonly order: string;
}

/** A mail already planned or sent to a contact. */
export interface BudgetHistory {
  readonly contactId: number;
  readonly priority: Priority;
  readonly date: string;
  /**
   * Set for a campaign mail planned in an earlier run and not yet handed to the
   * sender: a higher-priority mail planned later for the same day moves it.
   */
  readonly movable?: MovableMail | undefined;
}

/** What the budget needs to place a planned mail again. */
export interface MovableMail {
  readonly key: string;
  readonly overBudget: 'defer' | 'drop';
  readonly lastDate?: string | undefined;
  readonly quiet: readonly QuietPeriod[];
  readonly order: string;
}

export type BudgetDecision =
  | { readonly key: string; readonly outcome: 'planned'; readonly date: string; readonly deferred: boolean; readonly reason: string; readonly moved?: boolean }
  | { readonly key: string; readonly outcome: 'dropped'; readonly reason: string; readonly until?: string; readonly moved?: boolean };

type Rules = Pick<CampaignSettings, 'promotionGapDays' | 'maxPerContactPerDay'>;

/** Why a day is refused for a candidate, and the first day that rule allows. */
function refusal(c: BudgetCandidate, date: string, taken: readonly BudgetHistory[], rules: Rules): { reason: string; next: string } | undefined {
  if (c.priority === 'promotion') {
    const q = c.quiet.find((p) => date >= p.from && date <= p.to);
    if (q) return { reason: `recipient's holiday (${q.holiday}) ${q.from}..${q.to}`, next: addDays(q.to, 1) };
    let until = '';
    for (const h of taken) {
      if (h.priority !== 'promotion') continue;
      const end = addDays(h.date, rules.promotionGapDays);
      const start = addDays(h.date, -rules.promotionGapDays);
      if (date > start && date < end && end > until) until = end;
    }
    if (until) return { reason: `promotion ${rules.promotionGapDays}-day gap: capped until ${until}`, next: until };
  }
  const rank = PRIORITY_RANK[c.priority];
  const sameDay = taken.filter((h) => h.date === date && PRIORITY_RANK[h.priority] <= rank).length;
  if (sameDay >= rules.maxPerContactPerDay) return { reason: `day budget used (${sameDay} mail${sameDay > 1 ? 's' : ''} on ${date})`, next: addDays(date, 1) };
  return undefined;
}

/** The first day every rule allows for a candidate (or why it is dropped), given what the contact already has. */
function place(c: BudgetCandidate, taken: readonly BudgetHistory[], rules: Rules): BudgetDecision {
  let date = c.date;
  let first: string | undefined;
  for (let i = 0; i < 400; i++) {
    const r = refusal(c, date, taken, rules);
    if (!r) break;
    first ??= r.reason;
    if (c.overBudget === 'drop') return { key: c.key, outcome: 'dropped', reason: r.reason, until: r.next };
    date = r.next;
    if (c.lastDate && date > c.lastDate) return { key: c.key, outcome: 'dropped', reason: `${r.reason}; no day left before ${c.lastDate}` };
  }
  return { key: c.key, outcome: 'planned', date, deferred: date !== c.date, reason: date !== c.date ? `deferred from ${c.date}: ${first ?? ''}` : '' };
}

/**
 * One budget per contact across all campaigns. Candidates are served in priority
 * order (personal, greeting, vip, promotion); a refused one is deferred to the
 * first day every rule allows, or dropped, per its campaign's rule. A
 * lower-priority mail planned in an earlier run (movable history) gives way to
 * a higher-priority one on its day: it is placed again by the same rules and
 * returned with `moved`. Pure and deterministic.
 */
export function applyBudget(candidates: readonly BudgetCandidate[], history: readonly BudgetHistory[], rules: Rules): BudgetDecision[] {
  const byContact = new Map<number, BudgetHistory[]>();
  for (const h of history) {
    const list = byContact.get(h.contactId) ?? [];
    list.push(h);
    byContact.set(h.contactId, list);
  }
  // A contact's candidates are served in (priority, day, campaign, key) order; contacts are independent, so
  // the contact id comes before the key: localeCompare (slow over 100,000s of keys) then only breaks a
  // contact's own ties. Days are ISO dates, compared as plain strings.
  const sorted = [...candidates].sort((a, b) => PRIORITY_RANK[a.priority] - PRIORITY_RANK[b.priority] || (a.date === b.date ? 0 : a.date < b.date ? -1 : 1)
    || (a.order === b.order ? 0 : a.order.localeCompare(b.order)) || a.contactId - b.contactId || a.key.localeCompare(b.key));
  const out: BudgetDecision[] = [];
  for (const c of sorted) {
    const taken = byContact.get(c.contactId) ?? [];
    byContact.set(c.contactId, taken);
    const decided = place(c, taken, rules);
    out.push(decided);
    if (decided.outcome !== 'planned') continue;
    taken.push({ contactId: c.contactId, priority: c.priority, date: decided.date });
    // Over the day's budget only through lower-priority mail of earlier runs: move the lowest of it.
    for (let guard = 0; guard < 10; guard++) {
      const onDay = taken.filter((h) => h.date === decided.date);
      if (onDay.length <= rules.maxPerContactPerDay) break;
      const victim = onDay.filter((h) => h.movable && PRIORITY_RANK[h.priority] > PRIORITY_RANK[c.priority])
        .sort((a, b) => PRIORITY_RANK[b.priority] - PRIORITY_RANK[a.priority] || (a.movable!.key < b.movable!.key ? 1 : -1))[0];
      if (!victim?.movable) break;
      taken.splice(taken.indexOf(victim), 1);
      const m = victim.movable;
      const again = place({ key: m.key, contactId: c.contactId, priority: victim.priority, date: victim.date, lastDate: m.lastDate, overBudget: m.overBudget, quiet: m.quiet, order: m.order }, taken, rules);
      const why = `a ${c.priority} mail takes ${victim.date}`;
      out.push(again.outcome === 'planned'
        ? { ...again, moved: true, deferred: true, reason: `moved from ${victim.date} to ${again.date}: ${why}` }
        : { ...again, moved: true, reason: `${why}; ${again.reason}` });
      if (again.outcome === 'planned') taken.push({ contactId: c.contactId, priority: victim.priority, date: again.date, movable: m });
    }
  }
  return out;
}
