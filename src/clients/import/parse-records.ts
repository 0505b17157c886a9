import type { ChannelKind, ClientStatus, Department, OrderStatus, RelationshipLevel, Tier } from '../../db/tables/client-book.ts';
import { findCountry, canonicalTimeZone } from '../country.ts';
import { clientNameKey } from '../client-input.ts';
import {
  cellText, parseBoolean, parseClientStatus, parseCurrency, parseDate, parseDepartment, parseEmails, parseLanguage, parseNumber,
  parseOrderStatus, parseRelationship, parseTier, splitList, websiteDomain, type Cell, type Parsed,
} from './cell-parsers.ts';
import { REQUIRED_FIELDS, exportHeader, mapHeaders, type FieldName, type HeaderMapping, type ImportEntity } from './columns.ts';
import type { ImportNote, RejectedRow } from './import-report.ts';
import type { SheetRow } from './read-spreadsheet.ts';

/**
 * Pure: sheet rows -> typed records, with every row-level problem found
 * without the database (missing company, malformed email, unknown country,
 * a date that is not a date, a duplicate address within the file...).
 */

export interface ClientFields {
  readonly name: string;
  readonly nameKey: string;
  country?: string;
  region?: string;
  timeZone?: string;
  language?: string;
  website?: string;
  industry?: string;
  nature?: string;
  size?: string;
  source?: string;
  owner?: string;
  tier?: Tier;
  status?: ClientStatus;
  markedOld?: boolean;
  notes?: string;
  referredBy?: string;
  lastContact?: string;
  domains: string[];
  tags: string[];
  interests: string[];
}

export interface ContactFields {
  name?: string;
  title?: string;
  department?: Department;
  role?: string;
  relationship?: RelationshipLevel;
  language?: string;
  timeZone?: string;
  birthday?: string;
  hobbies?: string;
  notes?: string;
  emails: string[];
  channels: { kind: ChannelKind; value: string }[];
}

export interface OrderLineFields {
  readonly product: string;
  readonly category: string | null;
  readonly quantity: number;
  readonly unit: string | null;
  readonly unitPrice: number | null;
  readonly amount: number | null;
}

export interface ClientRecord { readonly line: number; readonly client: ClientFields; readonly contact?: ContactFields }
export interface ContactRecord { readonly line: number; readonly company: string; readonly companyKey: string; readonly contact: ContactFields }
export interface OrderRecord {
  readonly line: number;
  readonly company: string;
  readonly companyKey: string;
  readonly orderNo: string;
  readonly date: string;
  readonly status?: OrderStatus;
  readonly currency?: string;
  readonly orderTotal?: number;
  readonly amount?: number;
  readonly notes?: string;
  readonly orderLine?: OrderLineFields;
}

export type ParsedRecords =
  | { readonly entity: 'clients'; readonly records: ClientRecord[] }
  | { readonly entity: 'contacts'; readonly records: ContactRecord[] }
  | { readonly entity: 'orders'; readonly records: OrderRecord[] };

export interface ParseResult {
  readonly headerLine: number;
  readonly mapping: HeaderMapping;
  readonly headers: readonly string[];
  readonly parsed: ParsedRecords;
  readonly rows: number;
  readonly rejected: RejectedRow[];
  readonly notes: ImportNote[];
}


/** Thrown (as a result) when the sheet has no usable header. */
export interface HeaderProblem { readonly problem: string }

/** The header is the first of the first 10 rows with a recognised column; data rows follow it. */
export function findHeader(rows: readonly SheetRow[], entity: ImportEntity): { index: number; mapping: HeaderMapping; headers: string[] } | HeaderProblem {
  for (let i = 0; i < Math.min(rows.length, 10); i += 1) {
    const headers = (rows[i]?.cells ?? []).map((c) => cellText(c));
    const mapping = mapHeaders(headers, entity);
    if (mapping.present.size === 0) continue;
    const missing = REQUIRED_FIELDS[entity].filter((group) => !group.some((f) => mapping.present.has(f)));
    if (missing.length > 0) {
      const names = missing.map((g) => g.map((f) => exportHeader(f)).join(' or '));
      return { problem: `no ${names.join(', no ')} column in the header on line ${rows[i]?.line ?? 1} (found: ${headers.filter(Boolean).join(', ')})` };
    }
    return { index: i, mapping, headers };
  }
  return rows.length === 0 ? { problem: 'the file is empty' } : { problem: `no recognisable header row (e.g. ${exportHeader('company')}/公司名称) in the first lines` };
}

class RowError extends Error {}

/** Reads one row's cells by field, collecting problems as RowError. */
class RowReader {
  constructor(private readonly cells: readonly Cell[], private readonly mapping: HeaderMapping, private readonly headers: readonly string[]) {}
  /** The column's header as the file spells it. */
  label(field: FieldName): string {
    const i = this.mapping.fields.indexOf(field);
    return (i >= 0 ? this.headers[i] : undefined) || exportHeader(field);
  }
  cell(field: FieldName): Cell {
    const i = this.mapping.fields.indexOf(field);
    return i < 0 ? undefined : this.cells[i];
  }
  text(field: FieldName): string | undefined {
    const t = cellText(this.cell(field));
    return t === '' ? undefined : t;
  }
  has(field: FieldName): boolean {
    return this.text(field) !== undefined;
  }
  get<T>(field: FieldName, parser: (c: Cell) => Parsed<T>): T | undefined {
    if (!this.has(field)) return undefined;
    const res = parser(this.cell(field));
    if (!res.ok) throw new RowError(`${this.label(field)}: ${res.reason}`);
    return res.value;
  }
}

function countryOf(r: RowReader): string | undefined {
  const text = r.text('country');
  if (text === undefined) return undefined;
  const code = findCountry(text);
  if (!code) throw new RowError(`unknown country "${text}"`);
  return code;
}

function timeZoneOf(r: RowReader, field: FieldName): string | undefined {
  const text = r.text(field);
  if (text === undefined) return undefined;
  const zone = canonicalTimeZone(text);
  if (!zone) throw new RowError(`time zone "${text}" is not an IANA name (e.g. Europe/Berlin)`);
  return zone;
}

function nonNegative(decimalComma: boolean) {
  return (c: Cell): Parsed<number> => {
    const res = parseNumber(c, { decimalComma });
    if (!res.ok) return res;
    if (res.value < 0) return { ok: false, reason: `${res.value} is negative` };
    if (res.value >= 1e13) return { ok: false, reason: `${res.value} is too large` };
    return res;
  };
}

const CHANNEL_FIELDS: ReadonlyArray<readonly [FieldName, ChannelKind]> = [
  ['phone', 'phone'], ['mobile', 'mobile'], ['fax', 'fax'], ['whatsapp', 'whatsapp'], ['wechat', 'wechat'], ['skype', 'skype'], ['telegram', 'telegram'],
];

function contactOf(r: RowReader, entity: ImportEntity): ContactFields | undefined {
  const emails = [...new Map((r.get('email', parseEmails) ?? []).map((e) => [e.toLowerCase(), e] as const)).values()];
  const channels: { kind: ChannelKind; value: string }[] = [];
  for (const [field, kind] of CHANNEL_FIELDS) for (const value of splitList(r.cell(field), /[;；\n]+/)) channels.push({ kind, value });
  const c: ContactFields = { emails, channels };
  const name = r.text('contact');
  if (name !== undefined) c.name = name.replace(/\s+/g, ' ');
  const title = r.text('title');
  if (title !== undefined) c.title = title;
  const deptText = r.text('department');
  const role = r.text('role');
  if (deptText !== undefined) {
    const dept = parseDepartment(deptText);
    c.department = dept ?? 'other';
    if (!dept && role === undefined) c.role = deptText;
  }
  if (role !== undefined) c.role = role;
  const rel = r.get('relationship', parseRelationship);
  if (rel) c.relationship = rel;
  const lang = r.get('contactLanguage', parseLanguage);
  if (lang) c.language = lang;
  const tz = timeZoneOf(r, 'contactTimeZone');
  if (tz) c.timeZone = tz;
  const birthday = r.get('birthday', parseDate);
  if (birthday) c.birthday = birthday;
  const hobbies = r.text('hobbies');
  if (hobbies !== undefined) c.hobbies = hobbies;
  const notes = r.text('contactNotes');
  if (notes !== undefined) c.notes = notes;
  const hasAnything = emails.length > 0 || channels.length > 0 || Object.keys(c).length > 2;
  if (!hasAnything) return undefined;
  if (c.name === undefined && emails.length === 0) {
    if (entity === 'contacts') throw new RowError('no contact name or email');
    throw new RowError('contact details without a contact name or email');
  }
  return c;
}

function clientOf(r: RowReader, name: string): ClientFields {
  const c: ClientFields = { name: name.replace(/\s+/g, ' '), nameKey: clientNameKey(name), domains: [], tags: splitList(r.cell('tags')), interests: splitList(r.cell('interests')) };
  const country = countryOf(r);
  if (country) c.country = country;
  const tz = timeZoneOf(r, 'timeZone');
  if (tz) c.timeZone = tz;
  const lang = r.get('language', parseLanguage);
  if (lang) c.language = lang;
  const website = r.text('website');
  if (website !== undefined) {
    const domain = websiteDomain(website);
    if (!domain) throw new RowError(`${r.label('website')}: "${website}" is not a web address`);
    c.website = website;
    c.domains.push(domain);
  }
  for (const d of splitList(r.cell('domains'), /[;,，；\s|]+/)) {
    const domain = websiteDomain(d.replace(/^@/, ''));
    if (!domain) throw new RowError(`${r.label('domains')}: "${d}" is not a domain`);
    if (!c.domains.includes(domain)) c.domains.push(domain);
  }
  for (const f of ['region', 'industry', 'nature', 'size', 'source', 'owner', 'notes', 'referredBy'] as const) {
    const v = r.text(f);
    if (v !== undefined) c[f] = v;
  }
  const tier = r.get('tier', parseTier);
  if (tier) c.tier = tier;
  const status = r.get('status', parseClientStatus);
  if (status) c.status = status;
  const old = r.get('markedOld', parseBoolean);
  if (old !== undefined) c.markedOld = old;
  const last = r.get('lastContact', parseDate);
  if (last) c.lastContact = last;
  return c;
}

function orderOf(r: RowReader, line: number, company: string, decimalComma: boolean): OrderRecord {
  const orderNo = r.text('orderNo');
  if (orderNo === undefined) throw new RowError('no order number');
  const dateText = r.text('date');
  if (dateText === undefined) throw new RowError('no order date');
  const date = r.get('date', parseDate)!;
  const num = nonNegative(decimalComma);
  const status = r.get('orderStatus', parseOrderStatus);
  const currency = r.get('currency', parseCurrency);
  const orderTotal = r.get('orderTotal', num);
  const amount = r.get('amount', num);
  const quantity = r.get('quantity', num);
  const unitPrice = r.get('unitPrice', num);
  const product = r.text('product') ?? r.text('category');
  if (!product && quantity !== undefined) throw new RowError('a quantity without a product or category');
  const notes = r.text('orderNotes');
  const rec: OrderRecord = {
    line, company: company.replace(/\s+/g, ' '), companyKey: clientNameKey(company), orderNo, date,
    ...(status ? { status } : {}), ...(currency ? { currency } : {}), ...(orderTotal !== undefined ? { orderTotal } : {}),
    ...(amount !== undefined ? { amount } : {}), ...(notes ? { notes } : {}),
    ...(product
      ? { orderLine: { product, category: r.text('category') ?? null, quantity: quantity ?? 0, unit: r.text('unit') ?? null, unitPrice: unitPrice ?? null, amount: amount ?? null } }
      : {}),
  };
  return rec;
}

/** Parses the data rows of a sheet for one kind of file. */
export interface ParseOptions {
  /** Numbers use a decimal comma ("5,5", "1.000"): true for semicolon-separated CSV. */
  readonly decimalComma?: boolean;
}

export function parseRecords(rows: readonly SheetRow[], entity: ImportEntity, options: ParseOptions = {}): ParseResult | HeaderProblem {
  const header = findHeader(rows, entity);
  if ('problem' in header) return header;
  const rejected: RejectedRow[] = [];
  const notes: ImportNote[] = [];
  const data = rows.slice(header.index + 1);
  const seenAddress = new Map<string, number>();
  const clients: ClientRecord[] = [];
  const contacts: ContactRecord[] = [];
  const orders: OrderRecord[] = [];
  const badOrders = new Map<string, number>();
  for (const row of data) {
    const r = new RowReader(row.cells, header.mapping, header.headers);
    try {
      const company = r.text('company');
      if (company === undefined) throw new RowError('no company');
      if (entity === 'orders') {
        orders.push(orderOf(r, row.line, company, options.decimalComma === true));
        continue;
      }
      const client = entity === 'clients' ? clientOf(r, company) : undefined;
      const contact = contactOf(r, entity);
      if (entity === 'contacts' && !contact) throw new RowError('no contact name or email');
      for (const e of contact?.emails ?? []) {
        const key = e.toLowerCase();
        const first = seenAddress.get(key);
        if (first !== undefined) throw new RowError(`duplicate address ${e} (already on line ${first})`);
      }
      for (const e of contact?.emails ?? []) seenAddress.set(e.toLowerCase(), row.line);
      if (client) clients.push({ line: row.line, client, ...(contact ? { contact } : {}) });
      else if (contact) contacts.push({ line: row.line, company: company.replace(/\s+/g, ' '), companyKey: clientNameKey(company), contact });
    } catch (error) {
      if (!(error instanceof RowError)) throw error;
      rejected.push({ line: row.line, reason: error.message });
      const company = r.text('company');
      const orderNo = r.text('orderNo');
      if (entity === 'orders' && company !== undefined && orderNo !== undefined) badOrders.set(orderKey(clientNameKey(company), orderNo), row.line);
    }
  }
  const parsed: ParsedRecords =
    entity === 'clients' ? { entity, records: clients } : entity === 'contacts' ? { entity, records: contacts } : { entity, records: checkOrders(orders, rejected, badOrders) };
  return { headerLine: rows[header.index]?.line ?? 1, mapping: header.mapping, headers: header.headers, parsed, rows: data.length, rejected, notes };
}

function orderKey(companyKey: string, orderNo: string): string {
  return `${companyKey}\u0000${orderNo.toLowerCase()}`;
}

/** Rows of one order must agree on date, status, currency and total; an order with a bad row is left out whole. */
function checkOrders(orders: OrderRecord[], rejected: RejectedRow[], badOrders: ReadonlyMap<string, number>): OrderRecord[] {
  const byKey = new Map<string, OrderRecord[]>();
  for (const o of orders) {
    const key = orderKey(o.companyKey, o.orderNo);
    const list = byKey.get(key) ?? [];
    list.push(o);
    byKey.set(key, list);
  }
  const keep: OrderRecord[] = [];
  for (const [key, list] of byKey) {
    const first = list[0]!;
    let conflict: { line: number; reason: string } | undefined;
    for (const o of list.slice(1)) {
      for (const f of ['date', 'status', 'currency', 'orderTotal'] as const) {
        if (o[f] !== undefined && first[f] !== undefined && o[f] !== first[f]) {
          conflict = { line: o.line, reason: `order ${o.orderNo}: ${f === 'orderTotal' ? 'order total' : f} ${String(o[f])} differs from line ${first.line} (${String(first[f])})` };
          break;
        }
      }
      if (conflict) break;
    }
    const badLine = badOrders.get(key);
    if (conflict) rejected.push(conflict);
    const culprit = conflict?.line ?? badLine;
    if (culprit !== undefined) {
      for (const o of list) if (o.line !== culprit) rejected.push({ line: o.line, reason: `order ${o.orderNo}: left out with line ${culprit}` });
      continue;
    }
    keep.push(...list);
  }
  rejected.sort((a, b) => a.line - b.line);
  return keep;
}
