import { describe, expect, it } from 'vitest';
import { WorkingCalendar } from '../../src/triage/working-calendar.ts';
import { parseTriageSettings } from '../../src/triage/settings.ts';
import { AppError } from '../../src/shared/app-error.ts';

const cal = (over: Record<string, unknown> = {}) => new WorkingCalendar(parseTriageSettings({ calendar: { zone: 'Asia/Shanghai', country: 'CN', ...over } }).calendar);
const sh = (local: string) => new Date(`${local}+08:00`);

describe('working calendar (Asia/Shanghai, 09:00-18:00, CN public holidays)', () => {
  it('adds working hours within a day and across the evening', () => {
    const c = cal();
    expect(c.addWorkingHours(sh('2026-12-02T08:00:00'), 6).toISOString()).toBe(sh('2026-12-02T15:00:00').toISOString());
    expect(c.addWorkingHours(sh('2026-12-02T16:00:00'), 6).toISOString()).toBe(sh('2026-12-03T13:00:00').toISOString());
  });
  it('skips the weekend: Friday 17:00 + 6h is Monday 14:00', () => {
    expect(cal().addWorkingHours(sh('2026-12-04T17:00:00'), 6).toISOString()).toBe(sh('2026-12-07T14:00:00').toISOString());
  });
  it('skips public holidays from date-holidays (National Day 1-3 Oct 2026)', () => {
    const c = cal();
    expect(c.holidayName('2026-10-01')).toBeTruthy();
    expect(c.isWorkingDay('2026-10-02')).toBe(false);
    // Wed 30 Sep 17:00 + 2h: 1h that day, then Thu-Sat off (holiday, holiday, weekend), Sun off, Mon 5 Oct 10:00
    expect(c.addWorkingHours(sh('2026-09-30T17:00:00'), 2).toISOString()).toBe(sh('2026-10-05T10:00:00').toISOString());
  });
  it('honours extra working days (make-up Sunday) and extra days off', () => {
    const c = cal({ workingDays: ['2026-12-06'], holidays: ['2026-12-07'] });
    expect(c.isWorkingDay('2026-12-06')).toBe(true);
    expect(c.isWorkingDay('2026-12-07')).toBe(false);
    expect(c.addWorkingHours(sh('2026-12-04T17:00:00'), 6).toISOString()).toBe(sh('2026-12-06T14:00:00').toISOString());
  });
  it('ignores half-day holidays (8 March is a working day for most)', () => {
    expect(cal().isWorkingDay('2027-03-08')).toBe(true);
  });
  it('end of working day: same day, or the next working day when after hours or too little is left', () => {
    const c = cal();
    expect(c.endOfWorkingDay(sh('2026-12-02T10:00:00')).toISOString()).toBe(sh('2026-12-02T18:00:00').toISOString());
    expect(c.endOfWorkingDay(sh('2026-12-04T20:00:00')).toISOString()).toBe(sh('2026-12-07T18:00:00').toISOString());
    expect(c.endOfWorkingDay(sh('2026-12-02T17:30:00'), 1).toISOString()).toBe(sh('2026-12-03T18:00:00').toISOString());
  });
  it('working hours between two instants and working-day arithmetic', () => {
    const c = cal();
    expect(c.workingHoursBetween(sh('2026-12-04T17:00:00'), sh('2026-12-07T10:00:00'))).toBe(2);
    expect(c.addWorkingDays(sh('2026-12-04T10:00:00'), 3).toISOString()).toBe(sh('2026-12-09T10:00:00').toISOString());
    expect(c.isWorkingTime(sh('2026-12-05T10:00:00'))).toBe(false);
    expect(c.isWorkingTime(sh('2026-12-04T10:00:00'))).toBe(true);
  });
  it('another zone and country: Europe/Berlin with German holidays', () => {
    const c = cal({ zone: 'Europe/Berlin', country: 'DE' });
    expect(c.isWorkingDay('2026-12-25')).toBe(false);
    expect(c.addWorkingHours(new Date('2026-12-24T17:00:00+01:00'), 2).toISOString()).toBe(new Date('2026-12-28T10:00:00+01:00').toISOString());
  });
  it('rejects a bad zone or hours with one line naming the key', () => {
    expect(() => parseTriageSettings({ calendar: { zone: 'Mars/Olympus' } })).toThrow(/triage\.calendar\.zone/);
    expect(() => parseTriageSettings({ calendar: { start: '18:00', end: '09:00' } })).toThrow(AppError);
    expect(() => parseTriageSettings({ rules: { phoneThreshold: 0 } })).toThrow(/rules\.phoneThreshold/);
  });
});
