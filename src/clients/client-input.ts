import { z } from 'zod';
import { AppError } from '../shared/app-error.ts';

/** Validation of what people type for the client book; errors name the field and the problem. */

export const DEPARTMENTS = ['purchasing', 'technical', 'customs', 'sales', 'warehouse', 'management', 'other'] as const;
export const LEVELS = ['acquaintance', 'engaged', 'partner', 'ally'] as const;
export const TIERS = ['key', 'major', 'normal', 'small'] as const;
export const CLIENT_STATUSES = ['prospect', 'active', 'inactive', 'lost'] as const;
export const ORDER_STATUSES = ['confirmed', 'in_production', 'shipped', 'in_transit', 'customs', 'in_warehouse', 'selling', 'remaining_stock', 'cancelled'] as const;
export const TOUCH_KINDS = ['call', 'visit', 'meeting', 'fair', 'gift', 'email', 'note'] as const;
export const CHANNEL_KINDS = ['phone', 'mobile', 'fax', 'wechat', 'whatsapp', 'skype', 'telegram', 'other'] as const;

// A pragmatic address check: one @, a dotted domain, no spaces or angle brackets.
const EMAIL_RE = /^[^\s@<>(),;:"]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$/;

export function isValidEmail(value: string): boolean {
  return value.length <= 254 && EMAIL_RE.test(value);
}

export function parseEmail(value: string, field = 'email'): string {
  const v = value.trim();
  if (!isValidEmail(v)) throw new AppError('INPUT_INVALID', `${field} "${v}": not a valid email address`);
  return v;
}

/** 'YYYY-MM-DD' that is a real calendar date. */
export function parseDateOnly(value: string, field = 'date'): string {
  const v = value.trim();
  const m = /^(\d{4})-(\d{1,2})-(\d{1,2})$/.exec(v) ?? /^(\d{4})\/(\d{1,2})\/(\d{1,2})$/.exec(v) ?? /^(\d{4})\.(\d{1,2})\.(\d{1,2})$/.exec(v);
  if (!m) throw new AppError('INPUT_INVALID', `${field} "${v}": not a date (use YYYY-MM-DD)`);
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const dt = new Date(Date.UTC(y, mo - 1, d));
  if (dt.getUTCFullYear() !== y || dt.getUTCMonth() !== mo - 1 || dt.getUTCDate() !== d) {
    throw new AppError('INPUT_INVALID', `${field} "${v}": not a calendar date`);
  }
  return `${String(y).padStart(4, '0')}-${String(mo).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
}

export function parseTimestamp(value: string, field = 'time'): Date {
  const v = value.trim();
  const d = new Date(/^\d{4}-\d{2}-\d{2}$/.test(v) ? `${v}T00:00:00Z` : v);
  if (Number.isNaN(d.getTime())) throw new AppError('INPUT_INVALID', `${field} "${v}": not a date-time (use ISO 8601, e.g. 2026-12-02T14:00+08:00)`);
  return d;
}

export function parseNumber(value: string | number, field: string, options: { min?: number } = {}): number {
  const n = typeof value === 'number' ? value : Number(String(value).replace(/[,\s]/g, ''));
  if (!Number.isFinite(n)) throw new AppError('INPUT_INVALID', `${field} "${value}": not a number`);
  if (options.min !== undefined && n < options.min) throw new AppError('INPUT_INVALID', `${field} "${value}": must be at least ${options.min}`);
  return n;
}

export function parseEnum<T extends string>(value: string, allowed: readonly T[], field: string): T {
  const v = value.trim().toLowerCase().replace(/[\s-]+/g, '_');
  if ((allowed as readonly string[]).includes(v)) return v as T;
  throw new AppError('INPUT_INVALID', `${field} "${value}": must be one of ${allowed.join(', ')}`);
}

export function isValidTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return zone.includes('/') || zone === 'UTC';
  } catch {
    return false;
  }
}

export function parseTimeZone(value: string, field = 'time zone'): string {
  const v = value.trim();
  if (!isValidTimeZone(v)) throw new AppError('INPUT_INVALID', `${field} "${v}": not an IANA time zone (e.g. Europe/Berlin)`);
  return v;
}

/** The key clients are matched on: trimmed, case- and space-folded name. */
export function clientNameKey(name: string): string {
  return name.normalize('NFKC').trim().replace(/\s+/g, ' ').toLowerCase();
}

/** A domain from a website or an email: 'https://www.acme.de/x' -> 'acme.de'. */
export function domainOf(value: string): string | undefined {
  let v = value.trim().toLowerCase();
  if (v.includes('@')) v = v.split('@').pop() ?? '';
  v = v.replace(/^[a-z]+:\/\//, '').split(/[/?#:]/)[0] ?? '';
  v = v.replace(/^www\./, '').replace(/\.$/, '');
  return /^[a-z0-9-]+(\.[a-z0-9-]+)+$/.test(v) ? v : undefined;
}

export const nonEmpty = (field: string) =>
  z.string().trim().min(1, { message: `${field} is required` });
