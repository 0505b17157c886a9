import { describe, expect, it } from 'vitest';
import { IANAZone } from 'luxon';
import { extractDeadline, senderZone } from '../../src/triage/deadline.ts';

const at = (d: ReturnType<typeof extractDeadline>) => d?.at.toISOString();

describe('deadlines in the sender time zone', () => {
  // Tue 1 Dec 2026 10:00 in New York
  const sent = new Date('2026-12-01T10:00:00-05:00');
  const ny = IANAZone.create('America/New_York');
  it('"by Friday" is Friday end of day in the sender zone', () => {
    expect(at(extractDeadline('Please send the quote by Friday.', sent, ny))).toBe(new Date('2026-12-04T18:00:00-05:00').toISOString());
  });
  it('"before 15 March" rolls into next year, and ends the day before', () => {
    expect(at(extractDeadline('We need it before 15 March.', sent, ny))).toBe(new Date('2027-03-14T18:00:00-04:00').toISOString());
  });
  it('"within 3 days"', () => {
    expect(at(extractDeadline('Please answer within 3 days', sent, ny))).toBe(new Date('2026-12-04T10:00:00-05:00').toISOString());
  });
  it('"本周五前" in Shanghai', () => {
    const s = new Date('2026-12-07T09:10:00+08:00'); // Monday
    expect(at(extractDeadline('本周五前必须回复客户', s, IANAZone.create('Asia/Shanghai')))).toBe(new Date('2026-12-11T18:00:00+08:00').toISOString());
  });
  it('other languages: bis Freitag, antes del 15 de marzo, до 15 января, 12月25日前', () => {
    const berlin = IANAZone.create('Europe/Berlin');
    expect(at(extractDeadline('Bitte bis Freitag antworten', sent, berlin))).toBe(new Date('2026-12-04T18:00:00+01:00').toISOString());
    expect(extractDeadline('Necesitamos la oferta antes del 15 de marzo', sent, berlin)?.at.getUTCMonth()).toBe(2);
    expect(extractDeadline('нужно до 15 января', sent, berlin)?.at.getUTCMonth()).toBe(0);
    expect(at(extractDeadline('请在12月25日前报价', sent, IANAZone.create('Asia/Shanghai')))).toBe(new Date('2026-12-25T18:00:00+08:00').toISOString());
  });
  it('Arabic: قبل يوم الخميس (before Thursday) and خلال 3 أيام (within 3 days), in Dubai', () => {
    const dubai = IANAZone.create('Asia/Dubai');
    const s = new Date('2026-12-07T09:00:00+04:00'); // Monday
    expect(at(extractDeadline('نحتاج عرض السعر قبل يوم الخميس', s, dubai))).toBe(new Date('2026-12-10T18:00:00+04:00').toISOString());
    expect(at(extractDeadline('يرجى الرد خلال 3 أيام', s, dubai))).toBe(new Date('2026-12-10T09:00:00+04:00').toISOString());
    expect(extractDeadline('شكرا على الكتالوج', s, dubai)).toBeNull();
  });
  it('uses the Date header offset when the client zone is unknown', () => {
    const z = senderZone(null, 330);
    expect(at(extractDeadline('reply today please', new Date('2026-12-01T05:00:00Z'), z))).toBe(new Date('2026-12-01T18:00:00+05:30').toISOString());
  });
  it('a narrative "today" is not a deadline; an earliest deadline wins', () => {
    expect(extractDeadline('We opened the container today.', sent, ny)).toBeNull();
    expect(extractDeadline('Within 2 weeks is fine, but the samples must arrive by tomorrow.', sent, ny)?.text).toMatch(/tomorrow/);
  });
});
