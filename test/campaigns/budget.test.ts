import { describe, expect, it } from 'vitest';
import { applyBudget, quietPeriods, type BudgetCandidate } from '../../src/campaigns/budget.ts';
import { defaultCampaignSettings } from '../../src/campaigns/settings.ts';

const rules = defaultCampaignSettings;
const base = { contactId: 1, overBudget: 'defer' as const, quiet: [], order: 'a' };

describe('one budget per contact', () => {
  it('defers a promotion by the 14-day rule', () => {
    const c: BudgetCandidate = { ...base, key: 'p2', priority: 'promotion', date: '2027-05-10' };
    const [d] = applyBudget([c], [{ contactId: 1, priority: 'promotion', date: '2027-05-03' }], rules);
    expect(d).toMatchObject({ outcome: 'planned', date: '2027-05-17', deferred: true });
    expect(d?.reason).toContain('14-day gap');
    const [dropped] = applyBudget([{ ...c, overBudget: 'drop' }], [{ contactId: 1, priority: 'promotion', date: '2027-05-03' }], rules);
    expect(dropped).toMatchObject({ outcome: 'dropped', until: '2027-05-17' });
  });

  it("defers a promotion out of the recipient's own holiday (Chinese New Year week, Christmas week)", () => {
    const cn = quietPeriods('CN', null, [2027], rules.quietHolidays);
    const d = applyBudget([{ ...base, key: 'p', priority: 'promotion', date: '2027-02-08', quiet: cn }], [], rules);
    // Spring Festival 2027-02-06: quiet 02-05 .. 02-12.
    expect(d[0]).toMatchObject({ outcome: 'planned', date: '2027-02-13', deferred: true });
    expect(d[0]?.reason).toContain('spring-festival');
    const de = quietPeriods('DE', null, [2026], rules.quietHolidays);
    expect(applyBudget([{ ...base, key: 'p', priority: 'promotion', date: '2026-12-28', quiet: de }], [], rules)[0]).toMatchObject({ date: '2027-01-02' });
    // A German recipient is not quiet during Chinese New Year.
    expect(applyBudget([{ ...base, key: 'p', priority: 'promotion', date: '2027-02-08', quiet: quietPeriods('DE', null, [2027], rules.quietHolidays) }], [], rules)[0]).toMatchObject({ date: '2027-02-08', deferred: false });
  });

  it('serves personal before greeting before VIP before promotion on one day', () => {
    const day = '2027-06-01';
    const out = applyBudget([
      { ...base, key: 'promo', priority: 'promotion', date: day },
      { ...base, key: 'greet', priority: 'greeting', date: day, overBudget: 'drop' },
      { ...base, key: 'bday', priority: 'personal', date: day, overBudget: 'drop' },
      { ...base, key: 'vip', priority: 'vip', date: day },
    ], [], rules);
    const byKey = Object.fromEntries(out.map((d) => [d.key, d]));
    expect(byKey.bday).toMatchObject({ outcome: 'planned', date: day });
    expect(byKey.greet).toMatchObject({ outcome: 'dropped' });
    expect(byKey.vip).toMatchObject({ outcome: 'planned', date: '2027-06-02' });
    expect(byKey.promo).toMatchObject({ outcome: 'planned', date: '2027-06-03' });
  });

  it('drops a dated greeting that cannot go out before its last day', () => {
    const out = applyBudget([{ ...base, key: 'g', priority: 'greeting', date: '2027-01-05', lastDate: '2027-01-05' }], [{ contactId: 1, priority: 'personal', date: '2027-01-05' }], rules);
    expect(out[0]).toMatchObject({ outcome: 'dropped' });
  });
  it('moves a movable lower-priority mail of an earlier run off the day, but never one already with the sender', () => {
    const day = '2027-06-10';
    const bday: BudgetCandidate = { ...base, key: 'bday', priority: 'personal', date: day, overBudget: 'drop' };
    const promo = { contactId: 1, priority: 'promotion' as const, date: day, movable: { key: 'promo', overBudget: 'defer' as const, quiet: [], order: 'push' } };
    const out = applyBudget([bday], [promo], rules);
    expect(out).toEqual([
      { key: 'bday', outcome: 'planned', date: day, deferred: false, reason: '' },
      { key: 'promo', outcome: 'planned', date: '2027-06-11', deferred: true, moved: true, reason: 'moved from 2027-06-10 to 2027-06-11: a personal mail takes 2027-06-10' },
    ]);
    // A greeting with no day left before its last day is dropped instead.
    const card = { contactId: 1, priority: 'greeting' as const, date: day, movable: { key: 'card', overBudget: 'defer' as const, lastDate: day, quiet: [], order: 'monthly' } };
    expect(applyBudget([bday], [card], rules)[1]).toMatchObject({ key: 'card', outcome: 'dropped', moved: true });
    // Sent or claimed mail (not movable) stays where it is; the personal mail still goes (it outranks it).
    expect(applyBudget([bday], [{ contactId: 1, priority: 'promotion', date: day }], rules)).toEqual([{ key: 'bday', outcome: 'planned', date: day, deferred: false, reason: '' }]);
    // A mail of the same or higher priority is never moved: the new one gives way.
    const personal = { contactId: 1, priority: 'personal' as const, date: day, movable: { key: 'note', overBudget: 'defer' as const, quiet: [], order: 'a' } };
    expect(applyBudget([bday], [personal], rules)).toEqual([{ key: 'bday', outcome: 'dropped', reason: 'day budget used (1 mail on 2027-06-10)', until: '2027-06-11' }]);
  });

  it('decides each contact the same whatever the order of the candidates, and alone as among many', () => {
    const day = '2027-06-01';
    const one = (contactId: number) => [
      { ...base, contactId, key: `promo-b:${contactId}`, order: 'promo-b', priority: 'promotion' as const, date: day },
      { ...base, contactId, key: `promo-a:${contactId}`, order: 'promo-a', priority: 'promotion' as const, date: day },
      { ...base, contactId, key: `card:${contactId}`, order: 'card', priority: 'greeting' as const, date: day, overBudget: 'drop' as const },
      { ...base, contactId, key: `vip-x:${contactId}:q1`, order: 'vip', priority: 'vip' as const, date: day },
      { ...base, contactId, key: `vip-x:${contactId}:q10`, order: 'vip', priority: 'vip' as const, date: day },
    ];
    const all: BudgetCandidate[] = [12, 3, 1000, 7].flatMap(one);
    const byKey = (list: ReturnType<typeof applyBudget>) => Object.fromEntries(list.map((d) => [d.key, d]));
    const forward = byKey(applyBudget(all, [], rules));
    expect(byKey(applyBudget([...all].reverse(), [], rules))).toEqual(forward);
    for (const id of [12, 3, 1000, 7]) {
      const alone = byKey(applyBudget(one(id), [], rules));
      for (const [k, d] of Object.entries(alone)) expect(forward[k]).toEqual(d);
    }
    // Within a contact: greeting first, then the VIP mails (q1 before q10), then the promotions by campaign name.
    expect(forward['card:3']).toMatchObject({ outcome: 'planned', date: day });
    expect(forward['vip-x:3:q1']).toMatchObject({ date: '2027-06-02' });
    expect(forward['vip-x:3:q10']).toMatchObject({ date: '2027-06-03' });
    expect(forward['promo-a:3']).toMatchObject({ date: '2027-06-04' });
    expect(forward['promo-b:3']).toMatchObject({ date: '2027-06-18' });
  });
});
