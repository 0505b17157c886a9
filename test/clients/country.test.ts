import { describe, expect, it } from 'vitest';
import { canonicalTimeZone, defaultTimeZone, findCountry, resolveCountry, resolveTimeZone, timeZonesOf } from '../../src/clients/country.ts';
import { isAppError } from '../../src/shared/app-error.ts';

describe('resolveCountry', () => {
  it.each([
    ['DE', 'DE'], ['de', 'DE'], ['DEU', 'DE'], ['276', 'DE'], ['Germany', 'DE'], ['germany ', 'DE'], ['Deutschland', 'DE'], ['德国', 'DE'],
    ['USA', 'US'], ['U.S.A.', 'US'], ['United States', 'US'], ['United States of America', 'US'], ['美国', 'US'], ['America', 'US'],
    ['UK', 'GB'], ['Great Britain', 'GB'], ['England', 'GB'], ['英国', 'GB'], ['GBR', 'GB'],
    ['South Korea', 'KR'], ['Korea, Republic of', 'KR'], ['韩国', 'KR'], ['Russia', 'RU'], ['俄罗斯', 'RU'], ['Türkiye', 'TR'], ['Turkey', 'TR'],
    ['UAE', 'AE'], ['阿联酋', 'AE'], ['Viet Nam', 'VN'], ['越南', 'VN'], ['台湾', 'TW'], ['香港', 'HK'], ['Hong Kong', 'HK'], ['中国', 'CN'],
    ['The Netherlands', 'NL'], ['Holland', 'NL'], ["Côte d'Ivoire", 'CI'], ['España', 'ES'], ['Brasil', 'BR'], ['México', 'MX'], ['沙特', 'SA'],
    ['ＵＳＡ', 'US'],
  ])('%s -> %s', (input, code) => {
    expect(resolveCountry(input)).toBe(code);
  });

  it('refuses unknown input with an AppError naming it', () => {
    for (const input of ['Atlantis', 'XX', 'ZZZ', '999', '']) {
      expect(findCountry(input)).toBeUndefined();
      try {
        resolveCountry(input);
        expect.unreachable();
      } catch (error) {
        expect(isAppError(error) && error.code).toBe('INPUT_INVALID');
        expect((error as Error).message).toContain(`"${input}"`);
      }
    }
  });
});

describe('time zones', () => {
  it('defaults to the zone of a one-clock country', () => {
    expect(defaultTimeZone('JP')).toBe('Asia/Tokyo');
    expect(defaultTimeZone('FR')).toBe('Europe/Paris');
    expect(defaultTimeZone('in')).toBe('Asia/Kolkata');
    // Germany lists Europe/Zurich too (Büsingen), with the same clock
    expect(timeZonesOf('DE')).toContain('Europe/Zurich');
    expect(defaultTimeZone('DE')).toBe('Europe/Berlin');
    // China keeps one official time although the tz database lists Asia/Urumqi
    expect(defaultTimeZone('CN')).toBe('Asia/Shanghai');
    // the country's own name for a clock the tz database folded into a neighbour's
    expect(defaultTimeZone('SE')).toBe('Europe/Stockholm');
    expect(defaultTimeZone('NL')).toBe('Europe/Amsterdam');
    expect(defaultTimeZone('MY')).toBe('Asia/Kuala_Lumpur');
    expect(defaultTimeZone('AR')).toBe('America/Argentina/Buenos_Aires');
  });

  it('is undefined for a country with several clocks, which lists them to ask', () => {
    for (const c of ['US', 'RU', 'BR', 'AU', 'CA', 'ES', 'MX', 'ID']) {
      expect(defaultTimeZone(c)).toBeUndefined();
      expect(timeZonesOf(c).length).toBeGreaterThan(1);
    }
    expect(timeZonesOf('US')).toContain('America/New_York');
    expect(timeZonesOf('ES')).toEqual(expect.arrayContaining(['Europe/Madrid', 'Atlantic/Canary']));
    expect(timeZonesOf('XX')).toEqual([]);
    expect(defaultTimeZone('XX')).toBeUndefined();
  });

  it('validates IANA names with Intl and canonicalises their case', () => {
    expect(canonicalTimeZone('asia/shanghai')).toBe('Asia/Shanghai');
    expect(canonicalTimeZone('America/Argentina/Buenos_Aires')).toBe('America/Argentina/Buenos_Aires');
    expect(canonicalTimeZone('asia/kolkata')).toBe('Asia/Kolkata');
    expect(canonicalTimeZone('Etc/GMT-8')).toBe('Etc/GMT-8');
    expect(canonicalTimeZone('UTC')).toBe('UTC');
    expect(canonicalTimeZone('Mars/Olympus')).toBeUndefined();
    expect(canonicalTimeZone('GMT+8 Beijing')).toBeUndefined();
    expect(resolveTimeZone('Europe/Berlin')).toBe('Europe/Berlin');
    expect(() => resolveTimeZone('Europe/Atlantis')).toThrow(/time zone "Europe\/Atlantis": not an IANA/);
  });
});
