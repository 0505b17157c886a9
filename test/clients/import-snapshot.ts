import { sql } from 'kysely';
import type { Db } from '../../src/db/database.ts';

/**
 * A client book dump keyed by natural keys (no ids), to compare two databases
 * or a database before and after a re-import. withIds adds ids and update
 * times, so "changes nothing" can be checked exactly.
 */
export async function bookSnapshot(db: Db, options: { withIds?: boolean } = {}): Promise<Record<string, unknown>> {
  const k = db.kysely;
  const ids = options.withIds === true;
  const clients = await k
    .selectFrom('clients as c')
    .leftJoin('owners as o', 'o.id', 'c.owner_id')
    .leftJoin('clients as r', 'r.id', 'c.referred_by_client_id')
    .select(['c.id', 'c.name', 'c.name_key', 'c.country', 'c.region', 'c.time_zone', 'c.language', 'c.website', 'c.industry', 'c.nature', 'c.size', 'c.source', 'o.name as owner', 'c.tier_override', 'c.status', 'c.marked_old', 'c.notes', 'r.name as referred_by', 'c.updated_at'])
    .orderBy('c.name_key')
    .execute();
  const contacts = await k
    .selectFrom('contacts as p')
    .innerJoin('clients as c', 'c.id', 'p.client_id')
    .select(['p.id', 'c.name as client', 'p.name', 'p.title', 'p.department', 'p.role', 'p.relationship_level', 'p.language', 'p.time_zone', 'p.birthday', 'p.hobbies', 'p.notes', 'p.updated_at',
      sql<string>`(SELECT string_agg(e.address || CASE WHEN e.is_primary THEN '*' ELSE '' END, ' ' ORDER BY e.is_primary DESC, e.address_key) FROM contact_emails e WHERE e.contact_id = p.id)`.as('emails'),
      sql<string>`(SELECT string_agg(h.kind || ':' || h.value, ' ' ORDER BY h.kind, h.value) FROM contact_channels h WHERE h.contact_id = p.id)`.as('channels')])
    .orderBy('c.name_key').orderBy('p.name').orderBy('emails')
    .execute();
  const orders = await k
    .selectFrom('orders as o')
    .innerJoin('clients as c', 'c.id', 'o.client_id')
    .select(['o.id', 'c.name as client', 'o.order_no', 'o.ordered_on', 'o.status', 'o.amount', 'o.currency', 'o.notes', 'o.status_changed_at',
      sql<string>`(SELECT string_agg(concat_ws('|', l.product, l.category, l.quantity::text, l.unit, l.unit_price::text, l.amount::text), ' / ' ORDER BY l.id) FROM order_lines l WHERE l.order_id = o.id)`.as('lines'),
      sql<string>`(SELECT string_agg(l.id::text, ',' ORDER BY l.id) FROM order_lines l WHERE l.order_id = o.id)`.as('line_ids')])
    .orderBy('c.name_key').orderBy('o.order_no')
    .execute();
  const strip = <T extends Record<string, unknown>>(rows: T[], keys: string[]): Record<string, unknown>[] =>
    rows.map((r) => Object.fromEntries(Object.entries(r).filter(([key]) => ids || !keys.includes(key))));
  const tags = await k.selectFrom('client_tags as t').innerJoin('clients as c', 'c.id', 't.client_id').select(['c.name', 't.tag']).orderBy('c.name').orderBy('t.tag').execute();
  const interests = await k.selectFrom('client_product_interests as t').innerJoin('clients as c', 'c.id', 't.client_id').select(['c.name', 't.product']).orderBy('c.name').orderBy('t.product').execute();
  const domains = await k.selectFrom('client_domains as d').innerJoin('clients as c', 'c.id', 'd.client_id').select(['d.domain', 'c.name']).orderBy('d.domain').execute();
  const owners = await k.selectFrom('owners').select(['name']).orderBy('name').execute();
  const lastContact = await k
    .selectFrom('touchpoints as t').innerJoin('clients as c', 'c.id', 't.client_id')
    .select(['c.name', sql<string>`to_char(max(t.occurred_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD')`.as('last')])
    .groupBy('c.name').orderBy('c.name').execute();
  return {
    clients: strip(clients, ['id', 'updated_at']),
    contacts: strip(contacts, ['id', 'updated_at']),
    orders: strip(orders, ['id', 'status_changed_at', 'line_ids']),
    tags, interests, domains, owners, lastContact,
    ...(ids ? { touchpoints: (await k.selectFrom('touchpoints').select(['id']).execute()).length } : {}),
  };
}
