import { sql, type Kysely, type Transaction } from 'kysely';
import type { Db } from '../db/database.ts';
import type { Database } from '../db/schema.ts';
import type {
  ChannelKind, ClientStatus, Department, OrderStatus, RelationshipLevel, Tier, TouchpointKind,
} from '../db/tables/client-book.ts';
import { AppError } from '../shared/app-error.ts';
import { resolveCountry, defaultTimeZone, timeZonesOf } from './country.ts';
import { clientNameKey, domainOf, parseEmail, parseTimeZone } from './client-input.ts';
import { isFreemailDomain } from './freemail.ts';

type Q = Kysely<Database> | Transaction<Database>;
const k = (db: Db | Q): Q => ('kysely' in db ? db.kysely : db);

export interface ClientInput {
  readonly name: string;
  readonly country?: string | null;
  readonly region?: string | null;
  readonly timeZone?: string | null;
  readonly language?: string | null;
  readonly website?: string | null;
  readonly industry?: string | null;
  readonly nature?: string | null;
  readonly size?: string | null;
  readonly source?: string | null;
  readonly owner?: string | null;
  readonly tier?: Tier | null;
  readonly status?: ClientStatus;
  readonly markedOld?: boolean;
  readonly notes?: string | null;
  readonly referredBy?: number | null;
  readonly tags?: readonly string[];
  readonly products?: readonly string[];
  readonly domains?: readonly string[];
}

/** Country and zone: an ISO code, and the IANA zone given, else the country's only zone, else a question. */
export function resolveCountryAndZone(country: string | null | undefined, timeZone: string | null | undefined): { country: string | null; timeZone: string | null } {
  const iso = country && country.trim() !== '' ? resolveCountry(country) : null;
  if (timeZone && timeZone.trim() !== '') return { country: iso, timeZone: parseTimeZone(timeZone) };
  if (!iso) return { country: null, timeZone: null };
  const zone = defaultTimeZone(iso);
  if (zone) return { country: iso, timeZone: zone };
  const zones = timeZonesOf(iso);
  throw new AppError('INPUT_INVALID', `time zone: country ${iso} has several (${zones.slice(0, 6).join(', ')}${zones.length > 6 ? ', ...' : ''}); give one with --time-zone`);
}

export async function ensureOwner(db: Db | Q, name: string | null | undefined): Promise<number | null> {
  if (!name || name.trim() === '') return null;
  const q = k(db);
  const found = await q.selectFrom('owners').select('id').where(sql<string>`lower(name)`, '=', name.trim().toLowerCase()).executeTakeFirst();
  if (found) return found.id;
  const row = await q.insertInto('owners').values({ name: name.trim() }).returning('id').executeTakeFirstOrThrow();
  return row.id;
}

/** Adds a web or mail domain to a client unless it is freemail or belongs to another client. */
export async function addClientDomain(db: Db | Q, clientId: number, raw: string, source: 'manual' | 'import' | 'website' | 'contact' | 'link' = 'manual'): Promise<'added' | 'exists' | 'freemail' | 'taken' | 'invalid'> {
  const domain = domainOf(raw);
  if (!domain) return 'invalid';
  if (isFreemailDomain(domain)) return 'freemail';
  const q = k(db);
  const existing = await q.selectFrom('client_domains').select('client_id').where('domain', '=', domain).executeTakeFirst();
  if (existing) return existing.client_id === clientId ? 'exists' : 'taken';
  await q.insertInto('client_domains').values({ domain, client_id: clientId, source }).onConflict((oc) => oc.column('domain').doNothing()).execute();
  return 'added';
}

export async function addClient(db: Db, input: ClientInput): Promise<number> {
  const name = input.name?.trim();
  if (!name) throw new AppError('INPUT_INVALID', 'name: a client needs a company name');
  const { country, timeZone } = resolveCountryAndZone(input.country, input.timeZone);
  return db.kysely.transaction().execute(async (trx) => {
    const dup = await trx.selectFrom('clients').select('id').where('name_key', '=', clientNameKey(name)).executeTakeFirst();
    if (dup) throw new AppError('CONFLICT', `name "${name}": client ${dup.id} already has this name`);
    const ownerId = await ensureOwner(trx, input.owner);
    const row = await trx
      .insertInto('clients')
      .values({
        name, name_key: clientNameKey(name), country, time_zone: timeZone, region: input.region ?? null, language: input.language ?? null,
        website: input.website ?? null, industry: input.industry ?? null, nature: input.nature ?? null, size: input.size ?? null,
        source: input.source ?? null, owner_id: ownerId, tier_override: input.tier ?? null, status: input.status ?? 'prospect',
        marked_old: input.markedOld ?? false, notes: input.notes ?? null, referred_by_client_id: input.referredBy ?? null,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await setTagsAndProducts(trx, row.id, input.tags, input.products);
    for (const d of [...(input.website ? [input.website] : []), ...(input.domains ?? [])]) {
      const r = await addClientDomain(trx, row.id, d, input.website === d ? 'website' : 'manual');
      if (r === 'taken') throw new AppError('CONFLICT', `domain "${d}": already belongs to another client`);
      if (r === 'invalid') throw new AppError('INPUT_INVALID', `domain "${d}": not a domain`);
    }
    return row.id;
  });
}

async function setTagsAndProducts(trx: Q, clientId: number, tags?: readonly string[], products?: readonly string[]): Promise<void> {
  if (tags) {
    await trx.deleteFrom('client_tags').where('client_id', '=', clientId).execute();
    const uniq = [...new Set(tags.map((t) => t.trim()).filter(Boolean))];
    if (uniq.length) await trx.insertInto('client_tags').values(uniq.map((tag) => ({ client_id: clientId, tag }))).execute();
  }
  if (products) {
    await trx.deleteFrom('client_product_interests').where('client_id', '=', clientId).execute();
    const uniq = [...new Set(products.map((t) => t.trim()).filter(Boolean))];
    if (uniq.length) await trx.insertInto('client_product_interests').values(uniq.map((product) => ({ client_id: clientId, product }))).execute();
  }
}

export async function requireClient(db: Db | Q, id: number): Promise<{ id: number; name: string }> {
  const row = await k(db).selectFrom('clients').select(['id', 'name']).where('id', '=', id).executeTakeFirst();
  if (!row) throw new AppError('NOT_FOUND', `client ${id}: no such client`);
  return row;
}

export async function editClient(db: Db, id: number, input: Partial<ClientInput>): Promise<void> {
  await requireClient(db, id);
  await db.kysely.transaction().execute(async (trx) => {
    const patch: Record<string, unknown> = { updated_at: new Date() };
    if (input.name !== undefined) {
      const name = input.name.trim();
      if (!name) throw new AppError('INPUT_INVALID', 'name: must not be empty');
      const dup = await trx.selectFrom('clients').select('id').where('name_key', '=', clientNameKey(name)).where('id', '<>', id).executeTakeFirst();
      if (dup) throw new AppError('CONFLICT', `name "${name}": client ${dup.id} already has this name`);
      patch.name = name;
      patch.name_key = clientNameKey(name);
    }
    if (input.country !== undefined || input.timeZone !== undefined) {
      const current = await trx.selectFrom('clients').select(['country', 'time_zone']).where('id', '=', id).executeTakeFirstOrThrow();
      const r = resolveCountryAndZone(input.country !== undefined ? input.country : current.country, input.timeZone !== undefined ? input.timeZone : input.country !== undefined ? null : current.time_zone);
      patch.country = r.country;
      patch.time_zone = r.timeZone;
    }
    const simple: Array<[keyof ClientInput, string]> = [
      ['region', 'region'], ['language', 'language'], ['website', 'website'], ['industry', 'industry'], ['nature', 'nature'],
      ['size', 'size'], ['source', 'source'], ['tier', 'tier_override'], ['status', 'status'], ['markedOld', 'marked_old'],
      ['notes', 'notes'], ['referredBy', 'referred_by_client_id'],
    ];
    for (const [from, to] of simple) if (input[from] !== undefined) patch[to] = input[from];
    if (input.owner !== undefined) patch.owner_id = await ensureOwner(trx, input.owner);
    await trx.updateTable('clients').set(patch).where('id', '=', id).execute();
    await setTagsAndProducts(trx, id, input.tags, input.products);
    if (input.website) await addClientDomain(trx, id, input.website, 'website');
    for (const d of input.domains ?? []) {
      const r = await addClientDomain(trx, id, d, 'manual');
      if (r === 'taken') throw new AppError('CONFLICT', `domain "${d}": already belongs to another client`);
    }
  });
}

export async function deleteClient(db: Db, id: number): Promise<void> {
  await requireClient(db, id);
  await db.kysely.deleteFrom('clients').where('id', '=', id).execute();
}

export interface ListClientsFilter {
  readonly segment?: string;
  readonly owner?: string;
  readonly country?: string;
  readonly tag?: string;
  readonly search?: string;
  readonly limit?: number;
}

export interface ClientSummary {
  readonly id: number;
  readonly name: string;
  readonly country: string | null;
  readonly timeZone: string | null;
  readonly owner: string | null;
  readonly status: string;
  readonly tags: string[];
  readonly segments: string[];
  readonly contacts: number;
  readonly orders: number;
}

export async function listClients(db: Db, filter: ListClientsFilter = {}): Promise<ClientSummary[]> {
  let q = db.kysely
    .selectFrom('clients as c')
    .leftJoin('owners as o', 'o.id', 'c.owner_id')
    .select([
      'c.id', 'c.name', 'c.country', 'c.time_zone', 'c.status', 'o.name as owner',
      sql<string[]>`coalesce((SELECT array_agg(tag ORDER BY tag) FROM client_tags t WHERE t.client_id = c.id), '{}')`.as('tags'),
      sql<string[]>`coalesce((SELECT array_agg(segment ORDER BY segment) FROM client_segment_rows s WHERE s.client_id = c.id), '{}')`.as('segments'),
      sql<number>`(SELECT count(*) FROM contacts ct WHERE ct.client_id = c.id)`.as('contacts'),
      sql<number>`(SELECT count(*) FROM orders od WHERE od.client_id = c.id AND od.status <> 'cancelled')`.as('orders'),
    ])
    .orderBy('c.name_key');
  if (filter.segment) {
    const seg = filter.segment.startsWith('tier:') || !['key', 'major', 'normal', 'small'].includes(filter.segment) ? filter.segment : `tier:${filter.segment}`;
    q = q.where(({ exists, selectFrom }) => exists(selectFrom('client_segment_rows as s').select('s.client_id').whereRef('s.client_id', '=', 'c.id').where('s.segment', '=', seg)));
  }
  if (filter.owner) q = q.where(sql<string>`lower(o.name)`, '=', filter.owner.toLowerCase());
  if (filter.country) q = q.where('c.country', '=', resolveCountry(filter.country));
  if (filter.tag) q = q.where(({ exists, selectFrom }) => exists(selectFrom('client_tags as t').select('t.client_id').whereRef('t.client_id', '=', 'c.id').where('t.tag', '=', filter.tag ?? '')));
  if (filter.search) q = q.where('c.name_key', 'like', `%${clientNameKey(filter.search).replace(/[%_]/g, '\\$&')}%`);
  if (filter.limit) q = q.limit(filter.limit);
  const rows = await q.execute();
  return rows.map((r) => ({
    id: r.id, name: r.name, country: r.country, timeZone: r.time_zone, owner: r.owner, status: r.status,
    tags: r.tags, segments: r.segments, contacts: Number(r.contacts), orders: Number(r.orders),
  }));
}

export async function showClient(db: Db, id: number) {
  await requireClient(db, id);
  const client = await db.kysely.selectFrom('clients as c').leftJoin('owners as o', 'o.id', 'c.owner_id').selectAll('c').select('o.name as owner').where('c.id', '=', id).executeTakeFirstOrThrow();
  const [tags, products, domains, contacts, orders, inquiries, touchpoints, segments] = await Promise.all([
    db.kysely.selectFrom('client_tags').select('tag').where('client_id', '=', id).orderBy('tag').execute(),
    db.kysely.selectFrom('client_product_interests').select('product').where('client_id', '=', id).orderBy('product').execute(),
    db.kysely.selectFrom('client_domains').select(['domain', 'source']).where('client_id', '=', id).orderBy('domain').execute(),
    listContacts(db, { clientId: id }),
    listOrders(db, { clientId: id }),
    db.kysely.selectFrom('inquiries').selectAll().where('client_id', '=', id).orderBy('received_at', 'desc').execute(),
    db.kysely.selectFrom('touchpoints').selectAll().where('client_id', '=', id).orderBy('occurred_at', 'desc').limit(50).execute(),
    db.kysely.selectFrom('client_segment_rows').select(['segment', 'reason']).where('client_id', '=', id).orderBy('segment').execute(),
  ]);
  const { name_key: _nk, owner_id: _oid, ...rest } = client;
  return {
    ...rest,
    tags: tags.map((t) => t.tag),
    products: products.map((p) => p.product),
    domains,
    contacts,
    orders,
    inquiries,
    touchpoints,
    segments,
  };
}

// ---- contacts ---------------------------------------------------------------------------------

export interface ContactInput {
  readonly clientId: number;
  readonly name: string;
  readonly title?: string | null;
  readonly department?: Department;
  readonly role?: string | null;
  readonly level?: RelationshipLevel;
  readonly language?: string | null;
  readonly timeZone?: string | null;
  readonly birthday?: string | null;
  readonly hobbies?: string | null;
  readonly notes?: string | null;
  readonly emails?: readonly string[];
  readonly channels?: ReadonlyArray<{ kind: ChannelKind; value: string }>;
  readonly weeklyNote?: boolean;
}

/** Adds an email to a contact; an address belongs to one contact, and its domain joins the client's. */
export async function addContactEmail(trx: Q, contactId: number, clientId: number, address: string, primary: boolean): Promise<void> {
  const email = parseEmail(address);
  const owner = await trx
    .selectFrom('contact_emails as e').innerJoin('contacts as c', 'c.id', 'e.contact_id')
    .select(['e.contact_id', 'c.client_id', 'c.name']).where('e.address_key', '=', email.toLowerCase()).executeTakeFirst();
  if (owner) {
    if (owner.contact_id === contactId) return;
    throw new AppError('CONFLICT', `email "${email}": already belongs to contact ${owner.contact_id} (${owner.name}) of client ${owner.client_id}`);
  }
  await trx.insertInto('contact_emails').values({ contact_id: contactId, address: email, is_primary: primary }).execute();
  await addClientDomain(trx, clientId, email, 'contact');
}

export async function addContact(db: Db, input: ContactInput): Promise<number> {
  const name = input.name?.trim();
  if (!name) throw new AppError('INPUT_INVALID', 'name: a contact needs a name');
  await requireClient(db, input.clientId);
  const timeZone = input.timeZone ? parseTimeZone(input.timeZone) : null;
  return db.kysely.transaction().execute(async (trx) => {
    const row = await trx
      .insertInto('contacts')
      .values({
        client_id: input.clientId, name, title: input.title ?? null, department: input.department ?? 'other', role: input.role ?? null,
        relationship_level: input.level ?? 'acquaintance', language: input.language ?? null, time_zone: timeZone,
        birthday: input.birthday ?? null, hobbies: input.hobbies ?? null, notes: input.notes ?? null, weekly_note: input.weeklyNote ?? false,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    let first = true;
    for (const e of input.emails ?? []) {
      await addContactEmail(trx, row.id, input.clientId, e, first);
      first = false;
    }
    for (const ch of input.channels ?? []) {
      await trx.insertInto('contact_channels').values({ contact_id: row.id, kind: ch.kind, value: ch.value.trim() }).onConflict((oc) => oc.doNothing()).execute();
    }
    return row.id;
  });
}

export async function requireContact(db: Db | Q, id: number): Promise<{ id: number; client_id: number }> {
  const row = await k(db).selectFrom('contacts').select(['id', 'client_id']).where('id', '=', id).executeTakeFirst();
  if (!row) throw new AppError('NOT_FOUND', `contact ${id}: no such contact`);
  return row;
}

export async function editContact(db: Db, id: number, input: Partial<Omit<ContactInput, 'clientId'>> & { active?: boolean }): Promise<void> {
  const contact = await requireContact(db, id);
  await db.kysely.transaction().execute(async (trx) => {
    const patch: Record<string, unknown> = { updated_at: new Date() };
    if (input.name !== undefined) {
      if (!input.name.trim()) throw new AppError('INPUT_INVALID', 'name: must not be empty');
      patch.name = input.name.trim();
    }
    const map: Array<[string, string]> = [['title', 'title'], ['department', 'department'], ['role', 'role'], ['level', 'relationship_level'], ['language', 'language'], ['birthday', 'birthday'], ['hobbies', 'hobbies'], ['notes', 'notes'], ['weeklyNote', 'weekly_note'], ['active', 'active']];
    for (const [from, to] of map) {
      const v = (input as Record<string, unknown>)[from];
      if (v !== undefined) patch[to] = v;
    }
    if (input.timeZone !== undefined) patch.time_zone = input.timeZone ? parseTimeZone(input.timeZone) : null;
    await trx.updateTable('contacts').set(patch).where('id', '=', id).execute();
    for (const e of input.emails ?? []) await addContactEmail(trx, id, contact.client_id, e, false);
    for (const ch of input.channels ?? []) {
      await trx.insertInto('contact_channels').values({ contact_id: id, kind: ch.kind, value: ch.value.trim() }).onConflict((oc) => oc.doNothing()).execute();
    }
  });
}

export async function deleteContact(db: Db, id: number): Promise<void> {
  await requireContact(db, id);
  await db.kysely.deleteFrom('contacts').where('id', '=', id).execute();
}

export async function listContacts(db: Db, filter: { clientId?: number; department?: string } = {}) {
  let q = db.kysely
    .selectFrom('contacts as c')
    .innerJoin('clients as cl', 'cl.id', 'c.client_id')
    .select([
      'c.id', 'c.client_id', 'cl.name as client', 'c.name', 'c.title', 'c.department', 'c.role', 'c.relationship_level', 'c.language', 'c.time_zone',
      'c.birthday', 'c.active',
      sql<string[]>`coalesce((SELECT array_agg(address ORDER BY is_primary DESC, id) FROM contact_emails e WHERE e.contact_id = c.id), '{}')`.as('emails'),
      sql<Array<{ kind: string; value: string }>>`coalesce((SELECT json_agg(json_build_object('kind', kind, 'value', value) ORDER BY id) FROM contact_channels h WHERE h.contact_id = c.id), '[]'::json)`.as('channels'),
    ])
    .orderBy('c.client_id')
    .orderBy('c.id');
  if (filter.clientId !== undefined) q = q.where('c.client_id', '=', filter.clientId);
  if (filter.department) q = q.where('c.department', '=', filter.department as Department);
  return q.execute();
}

// ---- orders -----------------------------------------------------------------------------------

export interface OrderLineInput {
  readonly product: string;
  readonly category?: string | null;
  readonly quantity?: number;
  readonly unit?: string | null;
  readonly unitPrice?: number | null;
  readonly amount?: number | null;
}

export interface OrderInput {
  readonly clientId: number;
  readonly orderNo: string;
  readonly orderedOn: string;
  readonly status?: OrderStatus;
  readonly amount?: number;
  readonly currency?: string;
  readonly inquiryId?: number | null;
  readonly notes?: string | null;
  readonly lines?: readonly OrderLineInput[];
}

export async function addOrder(db: Db | Q, input: OrderInput): Promise<number> {
  const q = k(db);
  await requireClient(q, input.clientId);
  const orderNo = input.orderNo?.trim();
  if (!orderNo) throw new AppError('INPUT_INVALID', 'order no: an order needs a number');
  const run = async (trx: Q) => {
    const dup = await trx.selectFrom('orders').select('id').where('client_id', '=', input.clientId).where('order_no', '=', orderNo).executeTakeFirst();
    if (dup) throw new AppError('CONFLICT', `order no "${orderNo}": client ${input.clientId} already has order ${dup.id} with this number`);
    const lineTotal = (input.lines ?? []).reduce((s, l) => s + (l.amount ?? (l.quantity ?? 0) * (l.unitPrice ?? 0)), 0);
    const row = await trx
      .insertInto('orders')
      .values({
        client_id: input.clientId, order_no: orderNo, ordered_on: input.orderedOn, status: input.status ?? 'confirmed',
        amount: input.amount ?? lineTotal, currency: (input.currency ?? 'USD').toUpperCase(), inquiry_id: input.inquiryId ?? null, notes: input.notes ?? null,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    if (input.lines?.length) {
      await trx.insertInto('order_lines').values(input.lines.map((l) => ({
        order_id: row.id, product: l.product, category: l.category ?? null, quantity: l.quantity ?? 0, unit: l.unit ?? null,
        unit_price: l.unitPrice ?? null, amount: l.amount ?? (l.quantity !== undefined && l.unitPrice != null ? l.quantity * l.unitPrice : null),
      }))).execute();
    }
    await trx.updateTable('clients').set({ status: 'active', updated_at: new Date() }).where('id', '=', input.clientId).where('status', '=', 'prospect').execute();
    return row.id;
  };
  return q.isTransaction ? run(q) : q.transaction().execute(run);
}

export async function setOrderStatus(db: Db, id: number, status: OrderStatus): Promise<void> {
  const res = await db.kysely.updateTable('orders').set({ status, status_changed_at: new Date() }).where('id', '=', id).executeTakeFirst();
  if (Number(res.numUpdatedRows) === 0) throw new AppError('NOT_FOUND', `order ${id}: no such order`);
}

export async function listOrders(db: Db, filter: { clientId?: number; status?: string } = {}) {
  let q = db.kysely
    .selectFrom('orders as o')
    .innerJoin('clients as c', 'c.id', 'o.client_id')
    .select([
      'o.id', 'o.client_id', 'c.name as client', 'o.order_no', 'o.ordered_on', 'o.status', 'o.amount', 'o.currency',
      sql<Array<{ product: string; category: string | null; quantity: number; amount: number | null }>>`coalesce((SELECT json_agg(json_build_object('product', product, 'category', category, 'quantity', quantity, 'amount', amount) ORDER BY id) FROM order_lines l WHERE l.order_id = o.id), '[]'::json)`.as('lines'),
    ])
    .orderBy('o.ordered_on', 'desc')
    .orderBy('o.id', 'desc');
  if (filter.clientId !== undefined) q = q.where('o.client_id', '=', filter.clientId);
  if (filter.status) q = q.where('o.status', '=', filter.status as OrderStatus);
  return q.execute();
}

// ---- inquiries --------------------------------------------------------------------------------

export interface InquiryInput {
  readonly clientId: number;
  readonly contactId?: number | null;
  readonly ref?: string | null;
  readonly receivedAt: Date;
  readonly country?: string | null;
  readonly project?: string | null;
  readonly application?: string | null;
  readonly product?: string | null;
  readonly quantity?: number | null;
  readonly unit?: string | null;
  readonly targetPrice?: number | null;
  readonly currency?: string | null;
  readonly amount?: number | null;
  readonly packing?: string | null;
  readonly delivery?: string | null;
  readonly progress?: string | null;
  readonly background?: string | null;
}

export async function addInquiry(db: Db, input: InquiryInput): Promise<number> {
  await requireClient(db, input.clientId);
  if (input.contactId != null) {
    const c = await requireContact(db, input.contactId);
    if (c.client_id !== input.clientId) throw new AppError('INPUT_INVALID', `contact ${input.contactId}: belongs to client ${c.client_id}, not ${input.clientId}`);
  }
  const row = await db.kysely
    .insertInto('inquiries')
    .values({
      client_id: input.clientId, contact_id: input.contactId ?? null, ref: input.ref ?? null, received_at: input.receivedAt,
      country: input.country ? resolveCountry(input.country) : null, project: input.project ?? null, application: input.application ?? null,
      product: input.product ?? null, quantity: input.quantity ?? null, unit: input.unit ?? null, target_price: input.targetPrice ?? null,
      currency: input.currency ? input.currency.toUpperCase() : null, amount: input.amount ?? null, packing: input.packing ?? null,
      delivery_requirement: input.delivery ?? null, progress: input.progress ?? null, background: input.background ?? null,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

export async function listInquiries(db: Db, filter: { clientId?: number; status?: string } = {}) {
  let q = db.kysely
    .selectFrom('inquiries as i')
    .innerJoin('clients as c', 'c.id', 'i.client_id')
    .selectAll('i')
    .select('c.name as client')
    .orderBy('i.received_at', 'desc');
  if (filter.clientId !== undefined) q = q.where('i.client_id', '=', filter.clientId);
  if (filter.status) q = q.where('i.status', '=', filter.status as 'open');
  return q.execute();
}

/** A won inquiry becomes an order, and stays findable from it for repeat orders. */
export async function winInquiry(db: Db, id: number, order: { orderNo: string; orderedOn: string; amount?: number; currency?: string }): Promise<number> {
  return db.kysely.transaction().execute(async (trx) => {
    const inq = await trx.selectFrom('inquiries').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
    if (!inq) throw new AppError('NOT_FOUND', `inquiry ${id}: no such inquiry`);
    if (inq.status === 'won' && inq.order_id) throw new AppError('CONFLICT', `inquiry ${id}: already won as order ${inq.order_id}`);
    const orderId = await addOrder(trx, {
      clientId: inq.client_id, orderNo: order.orderNo, orderedOn: order.orderedOn, inquiryId: id,
      amount: order.amount ?? inq.amount ?? (inq.quantity != null && inq.target_price != null ? inq.quantity * inq.target_price : 0),
      currency: order.currency ?? inq.currency ?? 'USD',
      lines: inq.product ? [{ product: inq.product, quantity: inq.quantity ?? 0, unit: inq.unit, unitPrice: inq.target_price }] : [],
    });
    await trx.updateTable('inquiries').set({ status: 'won', order_id: orderId, updated_at: new Date() }).where('id', '=', id).execute();
    return orderId;
  });
}

// ---- touchpoints ------------------------------------------------------------------------------

export interface TouchInput {
  readonly clientId: number;
  readonly contactId?: number | null;
  readonly owner?: string | null;
  readonly kind: TouchpointKind;
  readonly occurredAt: Date;
  readonly summary?: string | null;
  readonly gift?: string | null;
  readonly reaction?: string | null;
}

export async function logTouch(db: Db, input: TouchInput): Promise<number> {
  await requireClient(db, input.clientId);
  if (input.contactId != null) {
    const c = await requireContact(db, input.contactId);
    if (c.client_id !== input.clientId) throw new AppError('INPUT_INVALID', `contact ${input.contactId}: belongs to client ${c.client_id}, not ${input.clientId}`);
  }
  if (input.kind === 'gift' && !input.gift) throw new AppError('INPUT_INVALID', 'gift: say what was given');
  const ownerId = await ensureOwner(db, input.owner);
  const row = await db.kysely
    .insertInto('touchpoints')
    .values({
      client_id: input.clientId, contact_id: input.contactId ?? null, owner_id: ownerId, kind: input.kind, occurred_at: input.occurredAt,
      summary: input.summary ?? null, gift: input.gift ?? null, reaction: input.reaction ?? null,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}
