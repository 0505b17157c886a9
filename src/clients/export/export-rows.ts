import { sql } from 'kysely';
import type { Db } from '../../db/database.ts';
import { exportHeader, type FieldName, type ImportEntity } from '../import/columns.ts';

/** A value in an exported cell: dates are 'YYYY-MM-DD' strings tagged so XLSX can write a date cell. */
export type ExportValue = string | number | null | { readonly date: string };

export interface ExportTable {
  readonly entity: ImportEntity;
  readonly headers: readonly string[];
  readonly rows: ReadonlyArray<readonly ExportValue[]>;
}

const join = (list: readonly (string | null)[] | null | undefined): string | null => {
  const items = (list ?? []).filter((x): x is string => x !== null && x !== '');
  return items.length === 0 ? null : items.join('; ');
};
const date = (d: string | null | undefined): ExportValue => (d ? { date: d } : null);
const headers = (fields: readonly FieldName[], override: Partial<Record<FieldName, string>> = {}): string[] => fields.map((f) => override[f] ?? exportHeader(f));

const CLIENT_FIELDS: readonly FieldName[] = [
  'company', 'country', 'region', 'timeZone', 'language', 'website', 'domains', 'industry', 'nature', 'size', 'source', 'owner', 'tier', 'status',
  'markedOld', 'tags', 'interests', 'notes', 'referredBy', 'lastContact',
];

async function clientRows(db: Db): Promise<ExportTable> {
  const rows = await db.kysely
    .selectFrom('clients as c')
    .leftJoin('owners as o', 'o.id', 'c.owner_id')
    .leftJoin('clients as r', 'r.id', 'c.referred_by_client_id')
    .select([
      'c.id', 'c.name', 'c.country', 'c.region', 'c.time_zone', 'c.language', 'c.website', 'c.industry', 'c.nature', 'c.size', 'c.source',
      'o.name as owner', 'c.tier_override', 'c.status', 'c.marked_old', 'c.notes', 'r.name as referred_by',
      sql<string[] | null>`(SELECT array_agg(d.domain ORDER BY d.domain) FROM client_domains d WHERE d.client_id = c.id)`.as('domains'),
      sql<string[] | null>`(SELECT array_agg(t.tag ORDER BY t.tag) FROM client_tags t WHERE t.client_id = c.id)`.as('tags'),
      sql<string[] | null>`(SELECT array_agg(p.product ORDER BY p.product) FROM client_product_interests p WHERE p.client_id = c.id)`.as('interests'),
      sql<string | null>`(SELECT to_char(max(tp.occurred_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD') FROM touchpoints tp WHERE tp.client_id = c.id)`.as('last_contact'),
    ])
    .orderBy('c.name_key')
    .execute();
  return {
    entity: 'clients',
    headers: headers(CLIENT_FIELDS),
    rows: rows.map((r) => [
      r.name, r.country, r.region, r.time_zone, r.language, r.website, join(r.domains), r.industry, r.nature, r.size, r.source, r.owner,
      r.tier_override, r.status, r.marked_old ? 'yes' : 'no', join(r.tags), join(r.interests), r.notes, r.referred_by, date(r.last_contact),
    ]),
  };
}

const CONTACT_FIELDS: readonly FieldName[] = [
  'company', 'contact', 'title', 'department', 'role', 'email', 'phone', 'mobile', 'fax', 'whatsapp', 'wechat', 'skype', 'telegram', 'birthday',
  'relationship', 'contactLanguage', 'contactTimeZone', 'hobbies', 'contactNotes',
];
const CHANNELS = ['phone', 'mobile', 'fax', 'whatsapp', 'wechat', 'skype', 'telegram'] as const;

async function contactRows(db: Db): Promise<ExportTable> {
  const rows = await db.kysely
    .selectFrom('contacts as p')
    .innerJoin('clients as c', 'c.id', 'p.client_id')
    .select([
      'c.name as company', 'p.id', 'p.name', 'p.title', 'p.department', 'p.role', 'p.birthday', 'p.relationship_level', 'p.language', 'p.time_zone', 'p.hobbies', 'p.notes',
      sql<string[] | null>`(SELECT array_agg(e.address ORDER BY e.is_primary DESC, e.id) FROM contact_emails e WHERE e.contact_id = p.id)`.as('emails'),
      sql<{ kind: string; value: string }[] | null>`(SELECT json_agg(json_build_object('kind', h.kind, 'value', h.value) ORDER BY h.id) FROM contact_channels h WHERE h.contact_id = p.id)`.as('channels'),
    ])
    .orderBy('c.name_key')
    .orderBy('p.id')
    .execute();
  return {
    entity: 'contacts',
    // In a contacts file, Language, Time zone and Notes are the contact's.
    headers: headers(CONTACT_FIELDS, { contactLanguage: 'Language', contactTimeZone: 'Time zone', contactNotes: 'Notes' }),
    rows: rows.map((r) => {
      const channels = typeof r.channels === 'string' ? (JSON.parse(r.channels) as { kind: string; value: string }[]) : (r.channels ?? []);
      return [
        r.company, r.name, r.title, r.department, r.role, join(r.emails),
        ...CHANNELS.map((k) => join(channels.filter((h) => h.kind === k).map((h) => h.value))),
        date(r.birthday), r.relationship_level, r.language, r.time_zone, r.hobbies, r.notes,
      ];
    }),
  };
}

const ORDER_FIELDS: readonly FieldName[] = ['orderNo', 'date', 'company', 'orderStatus', 'currency', 'orderTotal', 'product', 'category', 'quantity', 'unit', 'unitPrice', 'amount', 'orderNotes'];

async function orderRows(db: Db): Promise<ExportTable> {
  const rows = await db.kysely
    .selectFrom('orders as o')
    .innerJoin('clients as c', 'c.id', 'o.client_id')
    .leftJoin('order_lines as l', 'l.order_id', 'o.id')
    .select(['o.order_no', 'o.ordered_on', 'c.name as company', 'o.status', 'o.currency', 'o.amount as total', 'l.product', 'l.category', 'l.quantity', 'l.unit', 'l.unit_price', 'l.amount', 'o.notes'])
    .orderBy('o.ordered_on')
    .orderBy('c.name_key')
    .orderBy('o.order_no')
    .orderBy('l.id')
    .execute();
  return {
    entity: 'orders',
    headers: headers(ORDER_FIELDS, { orderStatus: 'Status' }),
    rows: rows.map((r) => [
      r.order_no, date(r.ordered_on), r.company, r.status, r.currency, r.total, r.product, r.category, r.quantity, r.unit, r.unit_price, r.amount, r.notes,
    ]),
  };
}

/** The rows of an export, with the import's English headers (so an export imports back unchanged). */
export async function exportRows(db: Db, entity: ImportEntity): Promise<ExportTable> {
  if (entity === 'clients') return clientRows(db);
  if (entity === 'contacts') return contactRows(db);
  return orderRows(db);
}
