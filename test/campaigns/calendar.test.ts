import { describe, expect, it } from 'vitest';
import path from 'node:path';
import { readdirSync, readFileSync } from 'node:fs';
import Holidays from 'date-holidays';
import { campaignSchema, type HolidayCampaign, type RecurringCampaign } from '../../src/campaigns/campaign-schema.ts';
import { anniversaryOccurrences, holidayOccurrences, recurringOccurrences } from '../../src/campaigns/schedule.ts';
import { localSendSlot } from '../../src/campaigns/send-time.ts';
import { resolveZone, countryZone } from '../../src/campaigns/time-zones.ts';
import { findHoliday, isKnownHoliday } from '../../src/campaigns/holiday-catalog.ts';
import { defaultCampaignSettings } from '../../src/campaigns/settings.ts';
import { parseCampaignDocument } from '../../src/campaigns/campaign-files.ts';

const everyDay = { start: '09:00', end: '11:00', days: [1, 2, 3, 4, 5, 6, 7] };

function holidayCampaign(extra: Record<string, unknown>): HolidayCampaign {
  return campaignSchema.parse({ name: 'cards', kind: 'holiday', audience: 'all', template: 'holiday-greeting', ...extra }) as HolidayCampaign;
}

describe('holiday occurrences', () => {
  it('plans a Christmas card for Germany, Brazil and Australia arriving on each local morning', () => {
    const c = holidayCampaign({ holidays: ['christmas'], daysBefore: 1 });
    const expected: Record<string, string> = {
      DE: '2026-12-24T08:00:00.000Z', // 09:00 CET
      BR: '2026-12-24T12:00:00.000Z', // 09:00 in Sao Paulo (UTC-3)
      AU: '2026-12-23T22:00:00.000Z', // 09:00 AEDT (UTC+11)
    };
    for (const [country, instant] of Object.entries(expected)) {
      const occ = holidayOccurrences(c, country, null, 'CN', '2026-12-01', '2026-12-31');
      expect(occ.map((o) => [o.occurrence, o.sendDate, o.eventDate])).toEqual([['christmas-2026', '2026-12-24', '2026-12-25']]);
      const zone = resolveZone(null, null, country);
      const slot = localSendSlot(occ[0]!.sendDate, zone, defaultCampaignSettings.sendWindow, 'earlier');
      expect(slot.notBefore.toISOString()).toBe(instant);
    }
    // A country that does not keep Christmas gets no card from the list.
    expect(holidayOccurrences(c, 'CN', null, 'CN', '2026-12-01', '2026-12-31')).toEqual([]);
  });

  it('uses the region of a country (date-holidays regions)', () => {
    // Epiphany is kept in Bavaria, not in Berlin.
    expect(findHoliday('Epiphany', 'DE', 'BY', 2027)?.date).toBe('2027-01-06');
    expect(findHoliday('Epiphany', 'DE', 'BE', 2027)).toBeUndefined();
  });

  it('puts Spring Festival (ours) on 2027-02-06 and 2028-01-26 for clients anywhere', () => {
    const c = holidayCampaign({ ours: ['spring-festival'], daysBefore: 0 });
    expect(holidayOccurrences(c, 'US', null, 'CN', '2027-01-01', '2027-12-31').map((o) => [o.occurrence, o.eventDate])).toEqual([['spring-festival-2027', '2027-02-06']]);
    expect(holidayOccurrences(c, 'DE', null, 'CN', '2028-01-01', '2028-12-31').map((o) => [o.occurrence, o.eventDate])).toEqual([['spring-festival-2028', '2028-01-26']]);
  });

  it('finds Eid al-Fitr on the date date-holidays gives, in countries that spell it differently', () => {
    for (const country of ['TR', 'SA', 'ID', 'AE']) {
      const lib = new Holidays(country, { languages: ['en'] }).getHolidays(2027, 'en');
      const own = lib.find((h) => /Shawwal|^30 Ramadan/.test(h.rule) || /Eid al-Fitr|End of Ramadan|Idul Fitri/i.test(h.name));
      expect(own, country).toBeDefined();
      expect(findHoliday('eid-al-fitr', country, null, 2027)?.date, country).toBe(own!.date.slice(0, 10));
    }
    expect(findHoliday('eid-al-fitr', 'TR', null, 2027)?.date).toBe('2027-03-09');
    expect(findHoliday('eid-al-fitr', 'DE', null, 2027)).toBeUndefined();
  });

  it('picks the template by holiday, else the campaign template', () => {
    const c = holidayCampaign({ holidays: ['christmas'], ours: ['spring-festival'], templateByHoliday: { 'spring-festival': 'spring-card' }, daysBefore: 0 });
    expect(holidayOccurrences(c, 'DE', null, 'CN', '2026-12-01', '2027-02-28').map((o) => [o.occurrence, o.template])).toEqual([['christmas-2026', 'holiday-greeting'], ['spring-festival-2027', 'spring-card']]);
    const bad = parseCampaignDocument('cards.yaml', 'name: cards\nkind: holiday\naudience: all\nholidays: [christmas]\ntemplateByHoliday: { christmas: xmas-card, diwali: diwali-card }\n');
    expect(bad.problems).toEqual([{ file: 'cards.yaml', field: 'templateByHoliday.diwali', reason: '"diwali" is not in holidays or ours' }]);
    // Every listed holiday has its own template: no fallback template needed.
    expect(parseCampaignDocument('cards.yaml', 'name: cards\nkind: holiday\naudience: all\nholidays: [christmas]\ntemplateByHoliday: { christmas: xmas-card }\n').problems).toEqual([]);
    expect(parseCampaignDocument('cards.yaml', 'name: cards\nkind: holiday\naudience: all\nholidays: [christmas, new-year]\ntemplateByHoliday: { christmas: xmas-card }\n').problems).toEqual([{ file: 'cards.yaml', field: 'template', reason: 'is required' }]);
  });

  it('sends N days before, crossing into the previous year when needed', () => {
    const c = holidayCampaign({ holidays: ['new-year'], daysBefore: 3 });
    expect(holidayOccurrences(c, 'FR', null, 'CN', '2026-12-20', '2026-12-31').map((o) => [o.occurrence, o.sendDate])).toEqual([['new-year-2027', '2026-12-29']]);
  });

  it('knows catalogue keys and date-holidays names, not made-up ones', () => {
    expect(isKnownHoliday('christmas')).toBe(true);
    expect(isKnownHoliday('Thanksgiving Day')).toBe(true);
    expect(isKnownHoliday('festivus')).toBe(false);
  });
});

describe('personal dates', () => {
  it('sends a 29 February birthday on 28 February in common years and on the day in leap years', () => {
    expect(anniversaryOccurrences('birthday', '1992-02-29', 0, '2027-01-01', '2027-12-31').map((o) => o.sendDate)).toEqual(['2027-02-28']);
    expect(anniversaryOccurrences('birthday', '1992-02-29', 0, '2028-01-01', '2028-12-31').map((o) => o.sendDate)).toEqual(['2028-02-29']);
    expect(anniversaryOccurrences('birthday', '1992-02-29', 1, '2028-02-01', '2028-03-31').map((o) => [o.occurrence, o.sendDate])).toEqual([['birthday-2028', '2028-02-28']]);
  });
});

describe('recurring series', () => {
  it('keeps a monthly card at 09:00 local across a daylight-saving change', () => {
    const c = campaignSchema.parse({ name: 'monthly', kind: 'recurring', every: 'month', day: 14, audience: 'all', template: 'monthly-card' }) as RecurringCampaign;
    const occ = recurringOccurrences(c, '2027-02-01', '2027-04-30');
    expect(occ.map((o) => [o.occurrence, o.sendDate, o.data.month])).toEqual([['2027-02', '2027-02-14', 2], ['2027-03', '2027-03-14', 3], ['2027-04', '2027-04-14', 4]]);
    const ny = occ.map((o) => localSendSlot(o.sendDate, 'America/New_York', everyDay).notBefore.toISOString());
    // 2027-03-14 is the US change day itself: 09:00 EDT is 13:00Z, 09:00 EST 14:00Z.
    expect(ny).toEqual(['2027-02-14T14:00:00.000Z', '2027-03-14T13:00:00.000Z', '2027-04-14T13:00:00.000Z']);
    const berlin = ['2027-03-27', '2027-03-28', '2027-03-29'].map((d) => localSendSlot(d, 'Europe/Berlin', everyDay).notBefore.toISOString());
    expect(berlin).toEqual(['2027-03-27T08:00:00.000Z', '2027-03-28T07:00:00.000Z', '2027-03-29T07:00:00.000Z']);
  });

  it('clips day 31 to the end of short months and picks the template by month', () => {
    const c = campaignSchema.parse({ name: 'm', kind: 'recurring', every: 'month', day: 31, audience: 'all', templateByMonth: { 1: 'new-year-card', 2: 'monthly-card' } }) as RecurringCampaign;
    const occ = recurringOccurrences(c, '2027-01-01', '2027-02-28');
    expect(occ.map((o) => [o.sendDate, o.template])).toEqual([['2027-01-31', 'new-year-card'], ['2027-02-28', 'monthly-card']]);
  });

  it('runs quarterly VIP summaries covering the quarter before', () => {
    const c = campaignSchema.parse({ name: 'vip', kind: 'recurring', every: 'quarter', day: 5, audience: 'all', template: 'vip-summary' }) as RecurringCampaign;
    const occ = recurringOccurrences(c, '2027-01-01', '2027-12-31');
    expect(occ.map((o) => [o.occurrence, o.sendDate, o.data.periodStart, o.data.periodEnd])).toEqual([
      ['2027-Q1', '2027-01-05', '2026-10-01', '2026-12-31'],
      ['2027-Q2', '2027-04-05', '2027-01-01', '2027-03-31'],
      ['2027-Q3', '2027-07-05', '2027-04-01', '2027-06-30'],
      ['2027-Q4', '2027-10-05', '2027-07-01', '2027-09-30'],
    ]);
  });
});

describe('send windows and zones', () => {
  it('resolves contact > client > country zones and skips excluded weekdays in the right direction', () => {
    expect(resolveZone('Asia/Tokyo', 'Europe/Paris', 'DE')).toBe('Asia/Tokyo');
    expect(resolveZone('Not/AZone', 'Europe/Paris', 'DE')).toBe('Europe/Paris');
    expect(resolveZone(null, null, 'AU')).toBe('Australia/Sydney');
    expect(countryZone('ZZ')).toBeUndefined();
    const weekdays = { start: '09:00', end: '11:00', days: [1, 2, 3, 4, 5] };
    // 2026-12-26 is a Saturday.
    expect(localSendSlot('2026-12-26', 'Europe/Berlin', weekdays, 'earlier').localDate).toBe('2026-12-25');
    expect(localSendSlot('2026-12-26', 'Europe/Berlin', weekdays, 'later').localDate).toBe('2026-12-28');
    const spread = localSendSlot('2026-12-28', 'Europe/Berlin', weekdays, 'later', 125);
    expect(spread.notBefore.toISOString()).toBe('2026-12-28T08:05:00.000Z');
  });
});

describe('example campaign files', () => {
  it('the .yaml.example files (kept out of the folder until renamed) are valid campaign files', () => {
    const dir = path.resolve(import.meta.dirname, '../../examples/campaigns');
    const examples = readdirSync(dir).filter((f) => f.endsWith('.yaml.example'));
    expect(examples.length).toBeGreaterThanOrEqual(3);
    for (const f of examples) {
      const r = parseCampaignDocument(f, readFileSync(path.join(dir, f), 'utf8'));
      expect(r.problems, f).toEqual([]);
      expect(r.campaign?.name, f).toBe(f.replace('.yaml.example', ''));
    }
  });
});
