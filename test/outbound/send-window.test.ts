import { describe, expect, it } from 'vitest';
import { nextWindowOpen, recipientZone } from '../../src/outbound/send-window.ts';

const tueThu = { days: [2, 3, 4], hours: '09:00-11:00' };

describe('send windows in the recipient local time', () => {
  it('picks the zone: contact, else client, else country, else the default', () => {
    expect(recipientZone('Asia/Tokyo', 'Europe/Berlin', 'DE', 'UTC').zone).toBe('Asia/Tokyo');
    expect(recipientZone(null, 'Europe/Berlin', 'US', 'UTC').zone).toBe('Europe/Berlin');
    expect(recipientZone(null, null, 'de', 'UTC').zone).toBe('Europe/Berlin');
    expect(recipientZone('Not/AZone', null, null, 'UTC')).toEqual({ zone: 'UTC', source: 'default' });
  });

  it('keeps 09:00 local across the European spring-forward change', () => {
    // Sunday 2027-03-28 Europe/Berlin switches CET -> CEST. Friday 26 March 12:00 UTC: next Tuesday 09:00 local.
    expect(nextWindowOpen(new Date('2027-03-26T12:00:00Z'), tueThu, 'Europe/Berlin').toISOString()).toBe('2027-03-30T07:00:00.000Z');
    // The Tuesday before the change, 09:00 local was 08:00 UTC.
    expect(nextWindowOpen(new Date('2027-03-22T12:00:00Z'), tueThu, 'Europe/Berlin').toISOString()).toBe('2027-03-23T08:00:00.000Z');
  });

  it('keeps 09:00 local across the US fall-back change', () => {
    // 2026-11-01 America/New_York EDT -> EST.
    expect(nextWindowOpen(new Date('2026-10-29T16:00:00Z'), tueThu, 'America/New_York').toISOString()).toBe('2026-11-03T14:00:00.000Z');
    expect(nextWindowOpen(new Date('2026-10-26T16:00:00Z'), tueThu, 'America/New_York').toISOString()).toBe('2026-10-27T13:00:00.000Z');
  });

  it('sends at once inside the window, and treats each zone separately', () => {
    const at = new Date('2027-01-12T01:30:00Z'); // Tuesday 09:30 in Shanghai, Monday 20:30 in New York
    expect(nextWindowOpen(at, tueThu, 'Asia/Shanghai')).toEqual(at);
    expect(nextWindowOpen(at, tueThu, 'America/New_York').toISOString()).toBe('2027-01-12T14:00:00.000Z');
    expect(nextWindowOpen(at, null, 'America/New_York')).toEqual(at);
  });

  it('moves a window that opens inside a daylight-saving gap to the first valid local time', () => {
    // 2027-03-14 02:00-03:00 does not exist in New York; a 02:30-04:00 window on that Sunday opens at 03:00 EDT.
    const w = { days: [7], hours: '02:30-04:00' };
    const opens = nextWindowOpen(new Date('2027-03-14T05:00:00Z'), w, 'America/New_York');
    expect(opens.getTime()).toBeGreaterThanOrEqual(new Date('2027-03-14T07:00:00Z').getTime());
    expect(opens.getTime()).toBeLessThan(new Date('2027-03-14T08:00:00Z').getTime());
  });
});
