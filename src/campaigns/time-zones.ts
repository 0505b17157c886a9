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

export function isValidZone(zone: string | null | undefined): zone is string {
  return typeof zone === 'string' && zone.length > 0 && IANAZone.isValidZone(zone);
}

/** A country's default IANA zone (its main one when it has several), or undefined. */
export function countryZone(country: string | null | undefined): string | undefined {
  if (!country) return undefined;
  const cc = country.toUpperCase();
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

/** Today's date ('YYYY-MM-DD') in a zone. */
export function localDate(at: Date, zone: string): string {
  return DateTime.fromJSDate(at, { zone }).toISODate() ?? at.toISOString().slice(0, 10);
}
