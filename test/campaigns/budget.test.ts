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
});
