import type { ClientStatus, Department, OrderStatus, RelationshipLevel, Tier } from '../../db/tables/client-book.ts';

/**
 * Pure parsers for spreadsheet cells. Each returns the value or a string
 * reason (for the per-row report); none throws on bad input.
 */

export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };
const good = <T>(value: T): Parsed<T> => ({ ok: true, value });
const bad = (reason: string): Parsed<never> => ({ ok: false, reason });

/** A cell as read from CSV (string) or XLSX (string, number, Date, boolean). */
export type Cell = string | number | boolean | Date | null | undefined;

export function cellText(cell: Cell): string {
  if (cell === null || cell === undefined) return '';
  if (cell instanceof Date) return formatDate(cell);
  return String(cell).replace(/\u0000/g, '').trim();
}

function formatDate(d: Date): string {
  return `${String(d.getUTCFullYear()).padStart(4, '0')}-${String(d.getUTCMonth() + 1).padStart(2, '0')}-${String(d.getUTCDate()).padStart(2, '0')}`;
}

function isoDate(y: number, m: number, d: number): string | undefined {
  if (y < 1900 || y > 2200 || m < 1 || m > 12 || d < 1 || d > 31) return undefined;
  const dt = new Date(Date.UTC(y, m - 1, d));
  if (dt.getUTCFullYear() !== y || dt.getUTCMonth() !== m - 1 || dt.getUTCDate() !== d) return undefined;
  return formatDate(dt);
}

/**
 * A calendar date -> 'YYYY-MM-DD'. Accepts ISO (2024-03-05, 2024/3/5, 2024.3.5,
 * with an optional time), 2024年3月5日, d.m.yyyy, and d/m/yyyy or m/d/yyyy only
 * when unambiguous (a part above 12). XLSX date cells and Excel serial numbers too.
 */
export function parseDate(cell: Cell): Parsed<string> {
  if (cell instanceof Date) {
    if (Number.isNaN(cell.getTime())) return bad('not a date');
    return good(formatDate(cell));
  }
  if (typeof cell === 'number') {
    // Excel serial day (1900 system): 25569 is 1970-01-01.
    if (cell >= 1 && cell < 200000 && Number.isFinite(cell)) return good(formatDate(new Date(Math.round((Math.floor(cell) - 25569) * 86400000))));
    return bad(`"${cell}" is not a date`);
  }
  const text = cellText(cell).normalize('NFKC');
  let m = /^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/.exec(text);
  if (m) return fromParts(text, Number(m[1]), Number(m[2]), Number(m[3]));
  m = /^(\d{4})年(\d{1,2})月(\d{1,2})日?$/.exec(text);
  if (m) return fromParts(text, Number(m[1]), Number(m[2]), Number(m[3]));
  m = /^(\d{1,2})\.(\d{1,2})\.(\d{4})$/.exec(text);
  if (m) return fromParts(text, Number(m[3]), Number(m[2]), Number(m[1]));
  m = /^(\d{1,2})[/-](\d{1,2})[/-](\d{4})$/.exec(text);
  if (m) {
    const a = Number(m[1]);
    const b = Number(m[2]);
    const y = Number(m[3]);
    if (a > 12 && b <= 12) return fromParts(text, y, b, a);
    if (b > 12 && a <= 12) return fromParts(text, y, a, b);
    if (a === b) return fromParts(text, y, a, b);
    return bad(`date "${text}" is ambiguous (day/month or month/day?): write YYYY-MM-DD`);
  }
  if (/^\d{5}(\.\d+)?$/.test(text)) return parseDate(Number(text));
  return bad(`"${text}" is not a date`);
}

function fromParts(text: string, y: number, m: number, d: number): Parsed<string> {
  const iso = isoDate(y, m, d);
  return iso ? good(iso) : bad(`"${text}" is not a date`);
}

/**
 * A number as people type it: "1,234.50", "1.234,50", "1 234", "$1,200", "12%"
 * is refused. Negative numbers are refused by the callers that need >= 0.
 */
export function parseNumber(cell: Cell, options: { decimalComma?: boolean } = {}): Parsed<number> {
  if (typeof cell === 'number') return Number.isFinite(cell) ? good(cell) : bad(`"${cell}" is not a number`);
  const raw = cellText(cell).normalize('NFKC');
  let text = raw.replace(/[\s\u00a0']/g, '').replace(/^[A-Za-z$€£¥￥]{1,3}|[A-Za-z$€£¥￥元]{1,3}$/g, '');
  if (!/^-?[\d.,]+$/.test(text) || !/\d/.test(text)) return bad(`"${raw}" is not a number`);
  const lastDot = text.lastIndexOf('.');
  const lastComma = text.lastIndexOf(',');
  if (lastDot >= 0 && lastComma >= 0) {
    const decimal = lastDot > lastComma ? '.' : ',';
    const thousands = decimal === '.' ? ',' : '.';
    text = text.split(thousands).join('').replace(decimal, '.');
  } else if (options.decimalComma) {
    // A semicolon-separated file comes from a decimal-comma locale: "1.000" is a thousand, "5,5" five and a half.
    text = lastComma >= 0 ? text.replace(',', '.') : /^-?\d{1,3}(\.\d{3})+$/.test(text) ? text.split('.').join('') : text;
    if (text.split('.').length > 2) return bad(`"${raw}" is not a number`);
  } else if (lastComma >= 0) {
    const parts = text.split(',');
    const thousandsLike = parts.length > 2 || (parts[1]?.length === 3 && (parts[0] ?? '').replace('-', '').length <= 3 && parts[0] !== '0' && parts[0] !== '-0');
    text = thousandsLike ? parts.join('') : parts.join('.');
  } else if (text.split('.').length > 2) {
    text = text.split('.').join('');
  }
  const n = Number(text);
  return Number.isFinite(n) ? good(n) : bad(`"${raw}" is not a number`);
}

/** Splits a multi-value cell: "a; b, c、d | e". */
export function splitList(cell: Cell, separators: RegExp = /[;,，；、|\n]+/): string[] {
  return cellText(cell).split(separators).map((s) => s.trim()).filter(Boolean);
}

const EMAIL_RE = /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$/;

/** Email addresses in a cell ("a@x.com; b@y.com", "Name <a@x.com>", "mailto:a@x.com"). */
export function parseEmails(cell: Cell): Parsed<string[]> {
  const out: string[] = [];
  for (const part of splitList(cell, /[;,，；\s]+/)) {
    const addr = part.replace(/^mailto:/i, '').replace(/^<|>$/g, '').replace(/\.$/, '');
    if (!EMAIL_RE.test(addr) || addr.includes('..') || addr.split('@')[0]!.length > 64) return bad(`malformed email "${part}"`);
    out.push(addr);
  }
  return good(out);
}

/** "https://www.Acme.de/en/" -> "acme.de". Undefined when it is not a host name. */
export function websiteDomain(cell: Cell): string | undefined {
  const text = cellText(cell).toLowerCase();
  if (!text) return undefined;
  const host = text.replace(/^[a-z][a-z0-9+.-]*:\/\//, '').replace(/^www\d?\./, '').split(/[/?#:]/)[0] ?? '';
  return /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/.test(host) ? host : undefined;
}

function lookup<T extends string>(table: ReadonlyArray<readonly [T, readonly string[]]>, cell: Cell): T | undefined {
  const key = cellText(cell).normalize('NFKC').toLowerCase().replace(/[\s_\-.]+/g, ' ').trim();
  for (const [value, words] of table) if (value.replace(/_/g, ' ') === key || words.includes(key)) return value;
  return undefined;
}

const ORDER_STATUS: ReadonlyArray<readonly [OrderStatus, readonly string[]]> = [
  ['confirmed', ['new', 'open', 'ordered', 'order confirmed', 'po received', '已确认', '确认', '已下单', '下单', '新订单']],
  ['in_production', ['production', 'producing', 'in progress', 'manufacturing', '生产中', '生产', '在产', '排产']],
  ['shipped', ['dispatched', 'sent', 'loaded', '已发货', '发货', '已出运', '出运', '已装船']],
  ['in_transit', ['transit', 'on the way', 'at sea', 'shipping', '运输中', '在途', '海运中']],
  ['customs', ['customs clearance', 'clearance', 'clearing', '清关', '清关中', '报关']],
  ['in_warehouse', ['warehouse', 'arrived', 'delivered', 'received', 'completed', 'complete', 'done', 'closed', '到仓', '入库', '已到货', '到货', '已交付', '已完成', '完成']],
  ['selling', ['on sale', 'sell through', '销售中', '在售', '销售']],
  ['remaining_stock', ['remaining', 'stock', 'leftover', 'remaining stock', '余货', '库存', '剩余库存']],
  ['cancelled', ['canceled', 'cancel', 'void', '已取消', '取消', '作废']],
];
export const ORDER_STATUSES = ORDER_STATUS.map(([s]) => s);
export function parseOrderStatus(cell: Cell): Parsed<OrderStatus> {
  const s = lookup(ORDER_STATUS, cell);
  return s ? good(s) : bad(`unknown order status "${cellText(cell)}" (use ${ORDER_STATUSES.join(', ')})`);
}

const CLIENT_STATUS: ReadonlyArray<readonly [ClientStatus, readonly string[]]> = [
  ['prospect', ['lead', 'potential', '潜在', '潜在客户', '意向', '意向客户', '开发中']],
  ['active', ['customer', 'current', 'buying', '合作中', '活跃', '成交', '已成交', '正常']],
  ['inactive', ['dormant', 'paused', 'sleeping', '休眠', '不活跃', '暂停']],
  ['lost', ['churned', 'gone', 'closed', '流失', '已流失', '丢失']],
];
export function parseClientStatus(cell: Cell): Parsed<ClientStatus> {
  const s = lookup(CLIENT_STATUS, cell);
  return s ? good(s) : bad(`unknown client status "${cellText(cell)}" (use prospect, active, inactive, lost)`);
}

const TIERS: ReadonlyArray<readonly [Tier, readonly string[]]> = [
  ['key', ['vip', 'strategic', '重点', '重点客户', '核心', '核心客户', '大客户']],
  ['major', ['important', '重要', '重要客户', '主要']],
  ['normal', ['regular', 'standard', '普通', '一般', '普通客户']],
  ['small', ['minor', 'low', '小', '小客户', '零散']],
];
export function parseTier(cell: Cell): Parsed<Tier> {
  const s = lookup(TIERS, cell);
  return s ? good(s) : bad(`unknown tier "${cellText(cell)}" (use key, major, normal, small)`);
}

const RELATIONSHIP: ReadonlyArray<readonly [RelationshipLevel, readonly string[]]> = [
  ['acquaintance', ['known', 'new', '认识', '熟人', '一般', '初识']],
  ['engaged', ['engagement', 'met', '交往', '深入', '见过面', '接触']],
  ['partner', ['friend', 'trusted', '伙伴', '朋友', '信任']],
  ['ally', ['champion', 'advocate', '盟友', '同盟', '内线']],
];
export function parseRelationship(cell: Cell): Parsed<RelationshipLevel> {
  const s = lookup(RELATIONSHIP, cell);
  return s ? good(s) : bad(`unknown relationship level "${cellText(cell)}" (use acquaintance, engaged, partner, ally)`);
}

/** Words that point to a department (checked in this order: the first match wins). */
const DEPARTMENT_WORDS: ReadonlyArray<readonly [Department, RegExp]> = [
  ['customs', /customs|documentation|docs?\b|logistic|shipping|forwarding|import|zoll|aduana|douane|dogana|报关|单证|关务|物流|船务|进出口/i],
  ['technical', /technical|tech\b|engineer|\bqc\b|\bqa\b|quality|qualit|calidad|r\s*&\s*d|research|develop|technik|técnic|tecnic|品管|技术|质检|品质|质量|研发|工程/i],
  ['purchasing', /purchas|procure|buyer|buying|sourcing|supply|einkauf|compra|achat|acquist|zakup|закуп|采购|采买|供应链/i],
  ['warehouse', /warehouse|storage|stock|inventory|仓库|仓储|库管/i],
  ['sales', /sales|marketing|commercial|销售|市场|营销/i],
  ['management', /manage|director|gerente|geschäftsführer|geschaftsfuhrer|directeur|direttore|директор|ceo|\bcoo\b|\bcfo\b|owner|president|founder|boss|\bgm\b|\bmd\b|partner|chairman|总经理|老板|管理|董事|总裁|总监|负责人|经理/i],
  ['other', /^other$|^其他$/i],
];
export const DEPARTMENTS: readonly Department[] = ['purchasing', 'technical', 'customs', 'sales', 'warehouse', 'management', 'other'];

/** A department from free text; undefined when nothing matches (the caller files it under other). */
export function parseDepartment(cell: Cell): Department | undefined {
  const text = cellText(cell).normalize('NFKC');
  if (!text) return undefined;
  const exact = DEPARTMENTS.find((d) => d === text.toLowerCase());
  if (exact) return exact;
  for (const [dept, re] of DEPARTMENT_WORDS) if (re.test(text)) return dept;
  return undefined;
}

const LANGUAGE_NAMES: Readonly<Record<string, string>> = {
  english: 'en', 英语: 'en', 英文: 'en', german: 'de', deutsch: 'de', 德语: 'de', 德文: 'de', french: 'fr', français: 'fr', francais: 'fr', 法语: 'fr',
  spanish: 'es', español: 'es', espanol: 'es', 西班牙语: 'es', portuguese: 'pt', português: 'pt', portugues: 'pt', 葡萄牙语: 'pt',
  italian: 'it', italiano: 'it', 意大利语: 'it', russian: 'ru', русский: 'ru', 俄语: 'ru', arabic: 'ar', العربية: 'ar', 阿拉伯语: 'ar',
  japanese: 'ja', 日本語: 'ja', 日语: 'ja', korean: 'ko', 한국어: 'ko', 韩语: 'ko', chinese: 'zh', mandarin: 'zh', 中文: 'zh', 汉语: 'zh', 简体中文: 'zh-Hans', 繁体中文: 'zh-Hant', 繁體中文: 'zh-Hant',
  turkish: 'tr', türkçe: 'tr', turkce: 'tr', 土耳其语: 'tr', vietnamese: 'vi', 越南语: 'vi', thai: 'th', 泰语: 'th', indonesian: 'id', 印尼语: 'id',
  malay: 'ms', 马来语: 'ms', polish: 'pl', polski: 'pl', 波兰语: 'pl', dutch: 'nl', nederlands: 'nl', 荷兰语: 'nl', hindi: 'hi', 印地语: 'hi',
  persian: 'fa', farsi: 'fa', 波斯语: 'fa', hebrew: 'he', 希伯来语: 'he', greek: 'el', 希腊语: 'el', czech: 'cs', 捷克语: 'cs', swedish: 'sv', 瑞典语: 'sv',
  danish: 'da', 丹麦语: 'da', norwegian: 'nb', 挪威语: 'nb', finnish: 'fi', 芬兰语: 'fi', hungarian: 'hu', 匈牙利语: 'hu', romanian: 'ro', 罗马尼亚语: 'ro',
  ukrainian: 'uk', 乌克兰语: 'uk', 'brazilian portuguese': 'pt-BR',
};

/** A BCP 47 language tag from a code ("en", "pt_BR") or a name ("German", "德语"). */
export function parseLanguage(cell: Cell): Parsed<string> {
  const text = cellText(cell).normalize('NFKC');
  const named = LANGUAGE_NAMES[text.toLowerCase()];
  if (named) return good(named);
  if (/^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$/.test(text)) {
    try {
      const [tag] = Intl.getCanonicalLocales(text.replace(/_/g, '-'));
      if (tag) return good(tag);
    } catch {
      /* falls through */
    }
  }
  return bad(`unknown language "${text}" (use a code like en, de, zh or a name like German)`);
}

const CURRENCY_SIGNS: Readonly<Record<string, string>> = {
  $: 'USD', us$: 'USD', usd$: 'USD', 美元: 'USD', 美金: 'USD', '€': 'EUR', 欧元: 'EUR', '£': 'GBP', 英镑: 'GBP', '¥': 'CNY', '￥': 'CNY', rmb: 'CNY',
  人民币: 'CNY', 元: 'CNY', 日元: 'JPY', 港币: 'HKD', 港元: 'HKD', 澳元: 'AUD', 加元: 'CAD', 卢布: 'RUB', 'a$': 'AUD', 'c$': 'CAD', 'hk$': 'HKD',
};
let currencies: Set<string> | undefined;

/** ISO 4217 code from a code or a sign/name. */
export function parseCurrency(cell: Cell): Parsed<string> {
  const text = cellText(cell).normalize('NFKC');
  const sign = CURRENCY_SIGNS[text.toLowerCase()];
  if (sign) return good(sign);
  currencies ??= new Set(Intl.supportedValuesOf('currency'));
  const code = text.toUpperCase();
  return /^[A-Z]{3}$/.test(code) && currencies.has(code) ? good(code) : bad(`unknown currency "${text}" (use an ISO code like USD, EUR, CNY)`);
}

/** yes/no in English and Chinese. */
export function parseBoolean(cell: Cell): Parsed<boolean> {
  if (typeof cell === 'boolean') return good(cell);
  const text = cellText(cell).toLowerCase();
  if (['yes', 'y', 'true', '1', 'x', '是', '对', '✓'].includes(text)) return good(true);
  if (['no', 'n', 'false', '0', '否', '不是', ''].includes(text)) return good(false);
  return bad(`"${text}" is not yes or no`);
}
