/**
 * Handlebars helpers: formatting in the recipient's locale and time zone, salutations, plurals,
 * small logic helpers, and the variant copy lookup. Each reads the render frame from options.data.
 */
import type HandlebarsNs from 'handlebars';
import { DateTime } from 'luxon';
import { salutation, timeOfDayGreeting, type ContactLike } from './salutation.ts';

type Hbs = typeof HandlebarsNs;

/** What every render passes in `options.data`. */
export interface RenderFrame {
  readonly locale: string;
  readonly timeZone: string;
  readonly now: Date;
  /** True while rendering the plain-text part: helpers return no HTML. */
  readonly textMode: boolean;
  /** Static localized copy from the locale file's front matter (variants per holiday, month...). */
  readonly copy: Readonly<Record<string, unknown>>;
}

interface HelperOptions {
  readonly hash: Record<string, unknown>;
  readonly data: { readonly root?: unknown } & Partial<RenderFrame>;
  readonly name: string;
  fn?: (ctx: unknown, opts?: unknown) => string;
  inverse?: (ctx: unknown, opts?: unknown) => string;
}

const DEFAULT_FRAME: RenderFrame = { locale: 'en', timeZone: 'UTC', now: new Date(0), textMode: false, copy: {} };

function frame(options: HelperOptions): RenderFrame {
  const d = options.data;
  if (d && typeof d.locale === 'string' && typeof d.timeZone === 'string' && d.now instanceof Date && d.copy) return d as RenderFrame;
  if (!d) return DEFAULT_FRAME;
  return {
    locale: d.locale ?? 'en',
    timeZone: d.timeZone ?? 'UTC',
    now: d.now ?? new Date(),
    textMode: d.textMode ?? false,
    copy: d.copy ?? {},
  };
}

/** Splits helper arguments: Handlebars passes the options object last. */
function split(args: unknown[]): { params: unknown[]; options: HelperOptions } {
  const options = args.pop() as HelperOptions;
  return { params: args, options };
}

export class HelperError extends Error {}

function need(value: unknown, helper: string, what: string): unknown {
  if (value === undefined || value === null || value === '') throw new HelperError(`helper "${helper}": ${what} has no value`);
  return value;
}

const numberFormats = new Map<string, Intl.NumberFormat>();
function numberFormat(locale: string, opts: Intl.NumberFormatOptions): Intl.NumberFormat {
  const key = `${locale}|${opts.style ?? ''}|${opts.currency ?? ''}|${opts.minimumFractionDigits ?? ''}|${opts.maximumFractionDigits ?? ''}`;
  let f = numberFormats.get(key);
  if (!f) {
    f = new Intl.NumberFormat(locale, opts);
    numberFormats.set(key, f);
  }
  return f;
}

function toNumber(v: unknown, helper: string): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  if (!Number.isFinite(n)) throw new HelperError(`helper "${helper}": ${JSON.stringify(v)} is not a number`);
  return n;
}

/** A date value: Date, ISO string, epoch ms, or 'YYYY-MM-DD' (a calendar date: no zone shift). */
function toDate(v: unknown, helper: string): { date: Date; dateOnly: boolean } {
  need(v, helper, 'the date');
  if (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(v)) {
    const d = new Date(`${v}T00:00:00Z`);
    if (Number.isNaN(d.getTime())) throw new HelperError(`helper "${helper}": ${JSON.stringify(v)} is not a date`);
    return { date: d, dateOnly: true };
  }
  const d = v instanceof Date ? v : typeof v === 'number' ? new Date(v) : new Date(String(v));
  if (Number.isNaN(d.getTime())) throw new HelperError(`helper "${helper}": ${JSON.stringify(v)} is not a date`);
  return { date: d, dateOnly: false };
}

const DATE_STYLES: Record<string, Intl.DateTimeFormatOptions> = {
  short: { dateStyle: 'short' },
  medium: { dateStyle: 'medium' },
  long: { dateStyle: 'long' },
  full: { dateStyle: 'full' },
  monthDay: { month: 'long', day: 'numeric' },
  monthYear: { month: 'long', year: 'numeric' },
  time: { timeStyle: 'short' },
  datetime: { dateStyle: 'medium', timeStyle: 'short' },
  hour: { hour: 'numeric', hourCycle: 'h23' },
};

const dateFormats = new Map<string, Intl.DateTimeFormat>();
function dateFormat(locale: string, timeZone: string, style: string): Intl.DateTimeFormat {
  const key = `${locale}|${timeZone}|${style}`;
  let f = dateFormats.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat(locale, { ...(DATE_STYLES[style] ?? DATE_STYLES.long), timeZone });
    dateFormats.set(key, f);
  }
  return f;
}

const pluralRules = new Map<string, Intl.PluralRules>();
function pluralRule(locale: string): Intl.PluralRules {
  let r = pluralRules.get(locale);
  if (!r) {
    r = new Intl.PluralRules(locale);
    pluralRules.set(locale, r);
  }
  return r;
}

/** The hour (0-23) of a moment in a zone. */
export function hourIn(date: Date, timeZone: string): number {
  const h = Number(dateFormat('en', timeZone, 'hour').format(date));
  return h === 24 ? 0 : h;
}

function isDateOnly(v: unknown): boolean {
  return typeof v === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(v);
}

/** Small memo tables for pure per-value work repeated across a batch (capped). */
function memo<V>(table: Map<string, V>, key: string, compute: () => V): V {
  let v = table.get(key);
  if (v === undefined) {
    v = compute();
    if (table.size >= 20_000) table.clear();
    table.set(key, v);
  }
  return v;
}
const urlMemo = new Map<string, string>();
const formatMemo = new Map<string, string>();
const salutationMemo = new Map<string, string>();

function safeUrl(v: unknown): string {
  if (typeof v !== 'string') return '#';
  return memo(urlMemo, v, () => checkUrl(v));
}

function checkUrl(raw: string): string {
  const s = raw.trim();
  if (/^(https?:\/\/|mailto:|tel:)/i.test(s) && !/[\s<>"]/.test(s)) return s;
  if (/^data:image\/(png|jpeg|gif|webp);base64,[a-z0-9+/=]+$/i.test(s)) return s;
  return '#';
}

/** Countries (ISO 3166 alpha-2) south of the equator, or mostly: their seasons run opposite to ours. */
const SOUTHERN_HEMISPHERE: ReadonlySet<string> = new Set(['AR', 'AU', 'BO', 'BR', 'BW', 'CL', 'FJ', 'LS', 'MG', 'MU', 'MW', 'MZ', 'NA', 'NZ', 'PE', 'PY', 'SZ', 'UY', 'ZA', 'ZM', 'ZW', 'AO']);

/**
 * What each helper reads of a recipient besides its arguments: "zone" the recipient's time zone,
 * "now" the zone and the moment of the render; "none" nothing (the template's locale, copy and
 * text mode are the same for every recipient). The batch renderer shares a block's output between
 * recipients only when everything it reads is equal; a helper missing here is never shared.
 */
export const HELPER_INPUTS: Readonly<Record<string, 'none' | 'zone' | 'now'>> = {
  date: 'zone', time: 'zone', datetime: 'zone', year: 'now', greeting: 'now',
  number: 'none', percent: 'none', currency: 'none', monthName: 'none', country: 'none', salutation: 'none', plural: 'none',
  copy: 'none', monthTheme: 'none', url: 'none', lines: 'none',
  eq: 'none', ne: 'none', gt: 'none', lt: 'none', and: 'none', or: 'none', not: 'none', default: 'none', inc: 'none',
};

const regionNames = new Map<string, Intl.DisplayNames>();
function regionName(locale: string, code: string): string | undefined {
  let names = regionNames.get(locale);
  if (!names) {
    names = new Intl.DisplayNames([locale], { type: 'region' });
    regionNames.set(locale, names);
  }
  return names.of(code);
}

export function registerHelpers(hb: Hbs): string[] {
  const helpers: Record<string, (...args: unknown[]) => unknown> = {
    date(...args) {
      const { params, options } = split(args);
      const f = frame(options);
      const style = typeof options.hash.style === 'string' ? options.hash.style : typeof params[1] === 'string' ? params[1] : 'long';
      const v = params[0];
      const compute = (): string => {
        const { date, dateOnly } = toDate(v, 'date');
        return dateFormat(f.locale, dateOnly ? 'UTC' : f.timeZone, DATE_STYLES[style] ? style : 'long').format(date);
      };
      return typeof v === 'string' ? memo(formatMemo, `d\u0000${f.locale}\u0000${f.timeZone}\u0000${style}\u0000${v}`, compute) : compute();
    },
    time(...args) {
      const { params, options } = split(args);
      const f = frame(options);
      if (isDateOnly(params[0])) throw new HelperError('helper "time": a calendar date has no time');
      return dateFormat(f.locale, f.timeZone, 'time').format(toDate(params[0], 'time').date);
    },
    datetime(...args) {
      const { params, options } = split(args);
      const f = frame(options);
      const { date, dateOnly } = toDate(params[0], 'datetime');
      return dateFormat(f.locale, dateOnly ? 'UTC' : f.timeZone, dateOnly ? 'long' : 'datetime').format(date);
    },
    number(...args) {
      const { params, options } = split(args);
      const f = frame(options);
      const decimals = typeof options.hash.decimals === 'number' ? options.hash.decimals : undefined;
      const opts: Intl.NumberFormatOptions = decimals === undefined ? { maximumFractionDigits: 2 } : { minimumFractionDigits: decimals, maximumFractionDigits: decimals };
      return numberFormat(f.locale, opts).format(toNumber(need(params[0], 'number', 'the number'), 'number'));
    },
    percent(...args) {
      const { params, options } = split(args);
      return numberFormat(frame(options).locale, { style: 'percent', maximumFractionDigits: 1 }).format(toNumber(need(params[0], 'percent', 'the value'), 'percent'));
    },
    currency(...args) {
      const { params, options } = split(args);
      const f = frame(options);
      const code = String(need(params[1] ?? options.hash.code, 'currency', 'the currency code')).toUpperCase();
      if (!/^[A-Z]{3}$/.test(code)) throw new HelperError(`helper "currency": ${JSON.stringify(code)} is not an ISO 4217 code`);
      const amount = toNumber(need(params[0], 'currency', 'the amount'), 'currency');
      return memo(formatMemo, `c\u0000${f.locale}\u0000${code}\u0000${amount}`, () => numberFormat(f.locale, { style: 'currency', currency: code, maximumFractionDigits: Number.isInteger(amount) ? 0 : 2 }).format(amount));
    },
    monthName(...args) {
      const { params, options } = split(args);
      const m = toNumber(need(params[0], 'monthName', 'the month'), 'monthName');
      const locale = frame(options).locale;
      return memo(formatMemo, `m\u0000${locale}\u0000${m}`, () => DateTime.fromObject({ year: 2000, month: m, day: 1 }, { zone: 'UTC' }).setLocale(locale).toFormat('LLLL'));
    },
    year(...args) {
      const { options } = split(args);
      const f = frame(options);
      return String(DateTime.fromJSDate(f.now).setZone(f.timeZone).year);
    },
    country(...args) {
      const { params, options } = split(args);
      const code = String(need(params[0], 'country', 'the country code'));
      try {
        return regionName(frame(options).locale, code.toUpperCase()) ?? code;
      } catch {
        return code;
      }
    },
    salutation(...args) {
      const { params, options } = split(args);
      const c = params[0] as ContactLike | undefined;
      const locale = frame(options).locale;
      if (!c || typeof c !== 'object') return salutation(c, locale);
      return memo(salutationMemo, `${locale}\u0000${String(c.name)}\u0000${String(c.title)}\u0000${String(c.surname)}`, () => salutation(c, locale));
    },
    greeting(...args) {
      const { options } = split(args);
      const f = frame(options);
      return timeOfDayGreeting(hourIn(f.now, f.timeZone), f.locale);
    },
    /** {{plural count one="# product" other="# products"}} (Intl plural rules; # is the formatted count). */
    plural(...args) {
      const { params, options } = split(args);
      const f = frame(options);
      const n = toNumber(need(params[0], 'plural', 'the count'), 'plural');
      const rule = pluralRule(f.locale).select(n);
      const form = options.hash[rule] ?? options.hash.other;
      if (typeof form !== 'string') throw new HelperError(`helper "plural": no "${rule}" or "other" form`);
      return memo(formatMemo, `p\u0000${f.locale}\u0000${n}\u0000${form}`, () => form.replace(/#/g, numberFormat(f.locale, { maximumFractionDigits: 2 }).format(n)));
    },
    /** Static copy from the locale file: {{copy holiday "title"}}; falls back to the "generic" variant. */
    copy(...args) {
      const { params, options } = split(args);
      const f = frame(options);
      const keys = params.map((p) => String(p));
      let node: unknown = f.copy;
      for (const k of keys) node = node && typeof node === 'object' ? (node as Record<string, unknown>)[k] : undefined;
      if (node === undefined && keys.length > 1) {
        node = f.copy.generic;
        for (const k of keys.slice(1)) node = node && typeof node === 'object' ? (node as Record<string, unknown>)[k] : undefined;
      }
      if (typeof node !== 'string' && typeof node !== 'number') {
        if (typeof options.hash.fallback === 'string') return options.hash.fallback;
        throw new HelperError(`helper "copy": no text at ${keys.join('.')}`);
      }
      let text = String(node);
      for (const [k, v] of Object.entries(options.hash)) {
        if (k === 'fallback' || !text.includes(`{${k}}`)) continue;
        if (v === undefined || v === null || String(v).trim() === '') throw new HelperError(`helper "copy": ${keys.join('.')} needs a value for {${k}}`);
        text = text.split(`{${k}}`).join(String(v));
      }
      return text;
    },
    /**
     * The copy key of a month's theme: "7", or "7-south" for a client in the southern hemisphere when the
     * copy has such a variant (July is winter in Sydney): {{copy (monthTheme month client.country) "title"}}.
     */
    monthTheme(...args) {
      const { params, options } = split(args);
      const m = toNumber(need(params[0], 'monthTheme', 'the month'), 'monthTheme');
      const country = typeof params[1] === 'string' ? params[1].trim().toUpperCase() : '';
      const south = `${m}-south`;
      return SOUTHERN_HEMISPHERE.has(country) && frame(options).copy[south] !== undefined ? south : String(m);
    },
    /** Keeps http(s)/mailto/tel URLs; anything else (javascript:, data: html...) becomes "#". */
    url(...args) {
      const { params } = split(args);
      return safeUrl(params[0]);
    },
    /** Escapes text and keeps its line breaks (<br> in HTML, newlines in the text part). */
    lines(...args) {
      const { params, options } = split(args);
      const s = params[0] === undefined || params[0] === null ? '' : String(params[0]);
      if (frame(options).textMode) return s;
      return new hb.SafeString(hb.Utils.escapeExpression(s).replace(/\r?\n/g, '<br>'));
    },
    eq: (...args) => args[0] === args[1],
    ne: (...args) => args[0] !== args[1],
    gt: (...args) => Number(args[0]) > Number(args[1]),
    lt: (...args) => Number(args[0]) < Number(args[1]),
    and: (...args) => split(args).params.every(Boolean),
    or: (...args) => split(args).params.some(Boolean),
    not: (...args) => !split(args).params[0],
    default(...args) {
      const { params } = split(args);
      return params.find((p) => p !== undefined && p !== null && p !== '') ?? '';
    },
    /** The 1-based position in an #each: {{inc @index}}. */
    inc: (...args) => Number(split(args).params[0]) + 1,
  };
  for (const [name, fn] of Object.entries(helpers)) hb.registerHelper(name, fn);
  return Object.keys(helpers);
}
