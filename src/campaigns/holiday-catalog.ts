import Holidays from 'date-holidays';

/** One holiday on a day, in a country (local calendar date). */
export interface HolidayDate {
  /** Catalogue key (e.g. 'christmas') or, for a named date-holidays holiday, its slug. */
  readonly key: string;
  /** 'YYYY-MM-DD' in the country's own calendar. */
  readonly date: string;
  /** The holiday's English name per date-holidays. */
  readonly name: string;
}

interface CatalogEntry {
  readonly rule?: RegExp;
  readonly name?: RegExp;
  readonly countries?: readonly string[];
}

/**
 * Holidays by a stable key, matched against date-holidays' rules (lunar and
 * Islamic calendars included) or English names, since countries spell them differently.
 */
export const HOLIDAY_CATALOG: Readonly<Record<string, CatalogEntry>> = {
  'new-year': { rule: /^01-01\b/ },
  christmas: { rule: /^12-25\b/ },
  easter: { rule: /^(easter|orthodox)$/ },
  'spring-festival': { rule: /^(chinese|korean|vietnamese) 0?1-0-0?1\b/ },
  'mid-autumn': { rule: /^(chinese|korean|vietnamese) 0?8-0-15\b/ },
  'eid-al-fitr': { rule: /\bShawwal\b|^30 Ramadan/, name: /Eid al-Fitr|End of Ramadan|Ramazan Bayram|Hari Raya (Puasa|Aidilfitri)|Idul Fitri|Korit[eé]/i },
  'eid-al-adha': { rule: /Dhu al-Hijjah/, name: /Eid al-Adha|Feast of the Sacrifice|Kurban Bayram|Hari Raya Haji|Idul Adha|Tabaski/i },
  diwali: { name: /Diwali|Deepavali/i },
  thanksgiving: { name: /^Thanksgiving( Day)?$/i },
  'national-day': { name: /^(National Day|Independence Day|Republic Day|Day of German Unity|German Unity Day|Australia Day|Canada Day|Portugal Day|Bastille Day|Swiss National Day|Constitution Day)$/i },
  'golden-week': { rule: /^(10-01|04-29)\b/, countries: ['CN', 'JP'] },
};

export function slugHoliday(name: string): string {
  return name.toLowerCase().normalize('NFKD').replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
}

/** A date-holidays state code from a region given as a code ('BY') or a name ('Bayern', 'Bavaria' when listed). */
export function stateCode(country: string, region: string | null | undefined): string | undefined {
  if (!region) return undefined;
  const states = (new Holidays().getStates(country) ?? {}) as Record<string, string>;
  const r = region.trim();
  if (states[r.toUpperCase()] !== undefined) return r.toUpperCase();
  const byName = Object.entries(states).find(([, name]) => name.toLowerCase() === r.toLowerCase());
  return byName?.[0];
}

const TYPES = new Set(['public', 'bank', 'observance']);
const yearCache = new Map<string, ReadonlyArray<{ date: string; name: string; rule: string }>>();

/** All holidays date-holidays knows for a country (and region) in a year, with local dates. */
export function countryHolidays(country: string, region: string | null | undefined, year: number): ReadonlyArray<{ date: string; name: string; rule: string }> {
  const cacheKey = `${country}|${region ?? ''}|${year}`;
  const hit = yearCache.get(cacheKey);
  if (hit) return hit;
  let list: Array<{ date: string; name: string; rule: string }> = [];
  try {
    const state = stateCode(country, region);
    const hd = state ? new Holidays(country, state, { languages: ['en'] }) : new Holidays(country, { languages: ['en'] });
    const found = hd.getHolidays(year, 'en');
    if (Array.isArray(found)) {
      list = found.filter((h) => TYPES.has(h.type)).map((h) => ({ date: h.date.slice(0, 10), name: h.name, rule: h.rule }));
    }
  } catch {
    list = [];
  }
  if (yearCache.size > 5000) yearCache.clear();
  yearCache.set(cacheKey, list);
  return list;
}

/** The date a holiday (catalogue key or English name) falls on in a country and year, if the country keeps it. */
export function findHoliday(key: string, country: string | null | undefined, region: string | null | undefined, year: number): HolidayDate | undefined {
  if (!country) return undefined;
  const cc = country.toUpperCase();
  const list = countryHolidays(cc, region, year);
  const entry = HOLIDAY_CATALOG[key];
  if (entry) {
    if (entry.countries && !entry.countries.includes(cc)) return undefined;
    const h = list.find((x) => (entry.rule?.test(x.rule) ?? false) || (entry.name?.test(x.name) ?? false));
    return h ? { key, date: h.date, name: h.name } : undefined;
  }
  const wanted = key.toLowerCase();
  const h = list.find((x) => x.name.toLowerCase() === wanted || slugHoliday(x.name) === wanted);
  return h ? { key: slugHoliday(h.name), date: h.date, name: h.name } : undefined;
}

let knownNames: Set<string> | undefined;
/** Whether a holiday key is in the catalogue or is a name date-holidays knows in some country. */
export function isKnownHoliday(key: string): boolean {
  if (HOLIDAY_CATALOG[key]) return true;
  if (!knownNames) {
    knownNames = new Set();
    const year = 2026;
    const countries = Object.keys(new Holidays().getCountries('en') ?? {});
    for (const c of countries) {
      for (const h of countryHolidays(c, null, year)) {
        knownNames.add(h.name.toLowerCase());
        knownNames.add(slugHoliday(h.name));
      }
    }
  }
  return knownNames.has(key.toLowerCase());
}

/** The variant the holiday-greeting template knows for a holiday key. */
export function greetingVariant(key: string): string {
  const variants = ['christmas', 'new-year', 'spring-festival', 'mid-autumn', 'eid-al-fitr', 'diwali', 'thanksgiving', 'national-day'];
  return variants.includes(key) ? key : 'generic';
}
