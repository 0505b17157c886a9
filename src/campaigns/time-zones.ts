import ct from 'countries-and-timezones';
import { DateTime, IANAZone } from 'luxon';

/** The main zone of countries spanning several, where the library's first listed zone is not it. */
const MAIN_ZONE: Readonly<Record<string, string>> = {
  AU: 'Australia/Sydney', US: 'America/New_York', CA: 'America/Toronto', BR: 'America/Sao_Paulo', RU: 'Europe/Moscow',
  CN: 'Asia/Shanghai', MX: 'America/Mexico_City', ID: 'Asia/Jakarta', KZ: 'Asia/Almaty', AR: 'America/Argentina/Buenos_Aires',
  DE: 'Europe/Berlin', ES: 'Europe/Madrid', PT: 'Europe/Lisbon', CL: 'America/Santiago', NZ: 'Pacific/Auckland',
  MY: 'Asia/Kuala_Lumpur', UA: 'Europe/Kyiv', GB: 'Europe/London', FR: 'Europe/Paris', IN: 'Asia/Kolkata',
  EC: 'America/Guayaquil', CD: 'Africa/Kinshasa', MN: 'Asia/Ulaanbaatar', UZ: 'Asia/Tashkent', PG: 'Pacific/Port_Moresby',
};

const validZones = new Map<string, boolean>();
export function isValidZone(zone: string | null | undefined): zone is string {
  if (typeof zone !== 'string' || zone.length === 0) return false;
  let v = validZones.get(zone);
  if (v === undefined) {
    v = IANAZone.isValidZone(zone);
    if (validZones.size > 10_000) validZones.clear();
    validZones.set(zone, v);
  }
  return v;
}

/** A country's default IANA zone (its main one when it has several), or undefined. */
const countryZones = new Map<string, string | undefined>();
export function countryZone(country: string | null | undefined): string | undefined {
  if (!country) return undefined;
  const cc = country.toUpperCase();
  if (countryZones.has(cc)) return countryZones.get(cc);
  const z = findCountryZone(cc);
  countryZones.set(cc, z);
  return z;
}

function findCountryZone(cc: string): string | undefined {
  const main = MAIN_ZONE[cc];
  if (main && isValidZone(main)) return main;
  const zones = ct.getCountry(cc)?.timezones ?? [];
  return zones.find((z) => !z.startsWith('Antarctica/') && isValidZone(z));
}

/** The recipient's zone: the contact's, else the client's, else the country's, else the fallback. */
export function resolveZone(contactZone: string | null | undefined, clientZone: string | null | undefined, country: string | null | undefined, fallback = 'UTC'): string {
  if (isValidZone(contactZone)) return contactZone;
  if (isValidZone(clientZone)) return clientZone;
  return countryZone(country) ?? fallback;
}

const todayCache = new Map<string, string>();
/** The date ('YYYY-MM-DD') of an instant in a zone. */
export function localDate(at: Date, zone: string): string {
  const key = `${at.getTime()}|${zone}`;
  let d = todayCache.get(key);
  if (d === undefined) {
    d = DateTime.fromJSDate(at, { zone }).toISODate() ?? at.toISOString().slice(0, 10);
    if (todayCache.size > 50_000) todayCache.clear();
    todayCache.set(key, d);
  }
  return d;
}
