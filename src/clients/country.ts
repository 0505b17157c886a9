import countries from 'i18n-iso-countries';
import ct from 'countries-and-timezones';
import { AppError } from '../shared/app-error.ts';

/**
 * Countries are stored as ISO 3166-1 alpha-2 codes; people type codes
 * (alpha-2, alpha-3, numeric) or names in English, Chinese and a few other
 * languages ("USA", "UK", "美国", "Deutschland"). Time zones are IANA names.
 */

/** Names the ISO tables lack but spreadsheets use. Keys are normalised (see normalise). */
const ALIASES: Readonly<Record<string, string>> = {
  uk: 'GB', england: 'GB', scotland: 'GB', wales: 'GB', 'northern ireland': 'GB', britain: 'GB', 'great britain': 'GB',
  america: 'US', 'united states': 'US', 'u s': 'US', 'u s a': 'US', states: 'US',
  holland: 'NL', 'the netherlands': 'NL',
  korea: 'KR', 'south korea': 'KR', 'north korea': 'KP',
  russia: 'RU', vietnam: 'VN', 'viet nam': 'VN', iran: 'IR', syria: 'SY', laos: 'LA', bolivia: 'BO', venezuela: 'VE',
  tanzania: 'TZ', moldova: 'MD', macedonia: 'MK', burma: 'MM', 'ivory coast': 'CI', 'cape verde': 'CV', swaziland: 'SZ',
  turkey: 'TR', turkiye: 'TR', czechia: 'CZ', 'czech republic': 'CZ', uae: 'AE', emirates: 'AE', 'saudi': 'SA', ksa: 'SA',
  taiwan: 'TW', 'hong kong': 'HK', hongkong: 'HK', macau: 'MO', macao: 'MO', 'mainland china': 'CN', prc: 'CN',
  'dr congo': 'CD', drc: 'CD', 'republic of the congo': 'CG', 'east timor': 'TL', palestine: 'PS', vatican: 'VA', brunei: 'BN',
  // Chinese variants beside the zh locale's names
  台湾: 'TW', 中国台湾: 'TW', 台湾省: 'TW', 中国香港: 'HK', 香港特别行政区: 'HK', 澳门: 'MO', 中国澳门: 'MO', 中国大陆: 'CN', 大陆: 'CN', 内地: 'CN',
  美國: 'US', 美利坚: 'US', 英國: 'GB', 英格兰: 'GB', 德國: 'DE', 法國: 'FR', 韓國: 'KR', 南韩: 'KR', 南韓: 'KR', 朝鲜: 'KP', 北韩: 'KP',
  俄国: 'RU', 俄羅斯: 'RU', 澳洲: 'AU', 纽西兰: 'NZ', 沙特: 'SA', 沙特阿拉伯: 'SA', 阿联酋: 'AE', 阿拉伯联合酋长国: 'AE', 迪拜: 'AE',
  荷兰: 'NL', 荷蘭: 'NL', 越南: 'VN', 泰国: 'TH', 泰國: 'TH', 印尼: 'ID', 菲律宾: 'PH', 马来西亚: 'MY', 新加坡: 'SG', 日本: 'JP',
  捷克: 'CZ', 土耳其: 'TR', 伊朗: 'IR', 墨西哥: 'MX', 巴西: 'BR', 加拿大: 'CA', 西班牙: 'ES', 意大利: 'IT', 義大利: 'IT', 波兰: 'PL',
};

/** Locales whose names (and alternatives) are accepted, in priority order when two disagree. */
const NAME_LOCALES = ['en', 'zh', 'de', 'fr', 'es', 'pt', 'it', 'nl', 'pl', 'tr', 'ru'] as const;

function normalise(input: string): string {
  return input
    .normalize('NFKC')
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/&/g, ' and ')
    .replace(/[.,()'’"_\-/]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/^the /, '');
}

let nameIndex: Map<string, string> | undefined;
function names(): Map<string, string> {
  if (nameIndex) return nameIndex;
  const index = new Map<string, string>();
  const add = (name: string, code: string): void => {
    const key = normalise(name);
    if (key && !index.has(key)) index.set(key, code);
  };
  for (const [key, code] of Object.entries(ALIASES)) add(key, code);
  const supported = new Set(countries.getSupportedLanguages());
  for (const lang of NAME_LOCALES) {
    if (!supported.has(lang)) continue;
    const all = countries.getNames(lang, { select: 'all' }) as Record<string, string[]>;
    for (const [code, list] of Object.entries(all)) for (const n of list) add(n, code);
  }
  nameIndex = index;
  return index;
}

/** The alpha-2 code for a code or a name, or undefined. */
export function findCountry(input: string): string | undefined {
  const raw = input.normalize('NFKC').trim();
  if (!raw) return undefined;
  if (/^[A-Za-z]{2}$/.test(raw)) {
    const code = raw.toUpperCase();
    if (countries.isValid(code)) return code;
  } else if (/^[A-Za-z]{3}$/.test(raw)) {
    const code = countries.alpha3ToAlpha2(raw.toUpperCase());
    if (code) return code;
  } else if (/^\d{3}$/.test(raw)) {
    const code = countries.numericToAlpha2(raw);
    if (code) return code;
  }
  return names().get(normalise(raw));
}

/** ISO 3166 alpha-2 from a code or an English/Chinese name; unknown input -> AppError naming it. */
export function resolveCountry(input: string): string {
  const code = findCountry(input);
  if (!code) throw new AppError('INPUT_INVALID', `country "${input.trim()}": not an ISO code or a known country name`, { details: { input } });
  return code;
}

/** The English short name of a country code ("DE" -> "Germany"). */
export function countryName(code: string, lang: 'en' | 'zh' = 'en'): string | undefined {
  return countries.getName(code.toUpperCase(), lang, { select: 'official' });
}

/**
 * Where a country keeps one national time although the tz database lists
 * regional zones, or where the zones keep the same clock and one is the
 * obvious choice (the capital's).
 */
const NATIONAL_ZONE: Readonly<Record<string, string>> = {
  CN: 'Asia/Shanghai', // Beijing time is the one official time; Asia/Urumqi is Xinjiang's unofficial clock
  MY: 'Asia/Kuala_Lumpur',
  UZ: 'Asia/Tashkent',
  CY: 'Asia/Nicosia',
  PS: 'Asia/Hebron',
};

/** Every IANA zone in use in the country (empty for an unknown code). */
export function timeZonesOf(country: string): string[] {
  return [...(ct.getCountry(country.toUpperCase())?.timezones ?? [])];
}

/**
 * The country's time zone when it has one clock: a single zone, or several
 * zones that keep the same time (Germany: Europe/Berlin, plus Europe/Zurich for
 * Büsingen). Undefined when the country spans several clocks (US, RU, ES with
 * the Canaries): then ask with the list from timeZonesOf().
 */
export function defaultTimeZone(country: string): string | undefined {
  const code = country.toUpperCase();
  const national = NATIONAL_ZONE[code];
  if (national) return national;
  const zones = timeZonesOf(code);
  if (zones.length === 0) return undefined;
  const infos = zones.map((z) => ct.getTimezone(z));
  const first = infos[0];
  const sameClock = first !== null && first !== undefined && infos.every((i) => i !== null && i.utcOffset === first.utcOffset && i.dstOffset === first.dstOffset);
  if (!sameClock) return undefined;
  // The country's own name for that clock, even where the tz database made it a link
  // (Sweden: Europe/Stockholm, a link to Europe/Berlin since 2022).
  const owned = zones.find((z) => ct.getTimezone(z)?.countries[0] === code);
  if (owned) return owned;
  const own = (ct.getCountry(code, { deprecated: true })?.timezones ?? []).find((z) => {
    const info = ct.getTimezone(z);
    return z.includes('/') && info?.aliasOf && zones.includes(info.aliasOf) && info.countries.length === 1 && info.countries[0] === code;
  });
  return own ?? zones[0];
}

let zoneNames: Map<string, string> | undefined;

/**
 * The IANA name with its proper case ("asia/shanghai" -> "Asia/Shanghai"), or
 * undefined when Intl does not know it. Current names stay as typed
 * (Asia/Kolkata is not turned into ICU's older Asia/Calcutta).
 */
export function canonicalTimeZone(input: string): string | undefined {
  const name = input.trim();
  if (!name || !/^[A-Za-z_]+(\/[A-Za-z0-9_+\-]+)*$/.test(name)) return undefined;
  if (!zoneNames) {
    zoneNames = new Map();
    for (const z of [...Object.keys(ct.getAllTimezones({ deprecated: true })), ...Intl.supportedValuesOf('timeZone')]) if (!zoneNames.has(z.toLowerCase())) zoneNames.set(z.toLowerCase(), z);
  }
  const known = zoneNames.get(name.toLowerCase());
  try {
    const resolved = new Intl.DateTimeFormat('en-US', { timeZone: known ?? name }).resolvedOptions().timeZone;
    return known ?? resolved;
  } catch {
    return undefined;
  }
}

/** A valid IANA time zone name, canonicalised; bad input -> AppError naming it. */
export function resolveTimeZone(input: string): string {
  const zone = canonicalTimeZone(input);
  if (!zone) throw new AppError('INPUT_INVALID', `time zone "${input.trim()}": not an IANA time zone name (e.g. Europe/Berlin)`, { details: { input } });
  return zone;
}
