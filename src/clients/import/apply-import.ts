import { sql, type Insertable, type Selectable, type Transaction } from 'kysely';
import type { Database } from '../../db/schema.ts';
import type { ClientDomainsTable, ClientsTable, ContactsTable, OrderLinesTable, OrdersTable, OrderStatus, TouchpointsTable } from '../../db/tables/client-book.ts';
import { defaultTimeZone, timeZonesOf } from '../country.ts';
import { exportHeader, type FieldName } from './columns.ts';
import { isFreemailDomain } from '../freemail.ts';
import { clientNameKey } from '../client-input.ts';
import type { ImportCounts, ImportNote, RejectedRow } from './import-report.ts';
import { type ClientFields, type ClientRecord, type ContactFields, type ContactRecord, type OrderLineFields, type OrderRecord, type ParsedRecords } from './parse-records.ts';

type Trx = Transaction<Database>;

/** Rows of an import that the database rejects (address owned elsewhere, unknown client), found before anything is written. */
function chunks<T>(list: readonly T[], size = 1000): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}

const round = (n: number, digits: number): number => Math.round(n * 10 ** digits) / 10 ** digits;
const sameNumber = (a: number | null | undefined, b: number | null | undefined, digits: number): boolean =>
  (a === null || a === undefined) === (b === null || b === undefined) && (a === null || a === undefined || round(a, digits) === round(b as number, digits));

interface OwnedAddress { readonly contactId: number; readonly clientId: number; readonly clientName: string; readonly clientKey: string }

const CLIENT_SCALARS = ['country', 'region', 'timeZone', 'language', 'website', 'industry', 'nature', 'size', 'source', 'owner', 'tier', 'status', 'markedOld', 'notes', 'referredBy', 'lastContact'] as const;
type ClientScalar = (typeof CLIENT_SCALARS)[number];
const SCALAR_HEADER: Record<ClientScalar, FieldName> = {
  country: 'country', region: 'region', timeZone: 'timeZone', language: 'language', website: 'website', industry: 'industry', nature: 'nature', size: 'size',
  source: 'source', owner: 'owner', tier: 'tier', status: 'status', markedOld: 'markedOld', notes: 'notes', referredBy: 'referredBy', lastContact: 'lastContact',
};

interface ClientGroup { readonly line: number; readonly fields: ClientFields; readonly firstLine: Partial<Record<ClientScalar, number>>; readonly contacts: { line: number; contact: ContactFields }[] }

/**
 * Writes parsed records inside the caller's transaction: upserts on natural
 * keys (client name_key, contact email, order (client, order_no)), writes only
 * what differs, counts what changed. Database-level problems (an address that
 * belongs to another client's contact, an unknown client) reject rows before
 * any write, so a rejected row leaves nothing behind.
 */
export class ImportWriter {
  /** Per contact: fields set earlier in this import (the first row wins within one file). */
  private readonly touched = new Map<number, Set<string>>();
  /** Address -> owner, loaded before writing and kept current as this import adds addresses. */
  private owned = new Map<string, OwnedAddress>();
  /** Per client: contacts created by this import, by lower-case name. */
  private readonly createdContacts = new Map<number, Map<string, number>>();
  /** Clients created or already counted as updated by this import (a referral link then counts no further). */
  private readonly counted = new Set<number>();

  constructor(
    private readonly trx: Trx,
    private readonly counts: ImportCounts,
    private readonly rejected: RejectedRow[],
    private readonly notes: ImportNote[],
    private readonly now: Date,
  ) {}

  async write(parsed: ParsedRecords): Promise<void> {
    if (parsed.entity === 'clients') await this.writeClients(parsed.records);
    else if (parsed.entity === 'contacts') await this.writeContacts(parsed.records);
    else await this.writeOrders(parsed.records);
    this.rejected.sort((a, b) => a.line - b.line);
    this.notes.sort((a, b) => a.line - b.line);
  }

  private reject(line: number, reason: string): void {
    this.rejected.push({ line, reason });
  }

  private note(line: number, message: string): void {
    this.notes.push({ line, message });
  }

  // ---- look-ups done before any write ----

  private async ownedAddresses(addresses: readonly string[]): Promise<Map<string, OwnedAddress>> {
    const out = new Map<string, OwnedAddress>();
    for (const part of chunks([...new Set(addresses.map((a) => a.toLowerCase()))])) {
      if (part.length === 0) continue;
      const rows = await this.trx
        .selectFrom('contact_emails as e')
        .innerJoin('contacts as c', 'c.id', 'e.contact_id')
        .innerJoin('clients as k', 'k.id', 'c.client_id')
        .select(['e.address_key', 'e.contact_id', 'c.client_id', 'k.name', 'k.name_key'])
        .where('e.address_key', 'in', part)
        .execute();
      for (const r of rows) out.set(r.address_key, { contactId: r.contact_id, clientId: r.client_id, clientName: r.name, clientKey: r.name_key });
    }
    return out;
  }

  private async clientsByKey(keys: readonly string[]): Promise<Map<string, { id: number; name: string }>> {
    const out = new Map<string, { id: number; name: string }>();
    for (const part of chunks([...new Set(keys)])) {
      if (part.length === 0) continue;
      const rows = await this.trx.selectFrom('clients').select(['id', 'name', 'name_key']).where('name_key', 'in', part).execute();
      for (const r of rows) out.set(r.name_key, { id: r.id, name: r.name });
    }
    return out;
  }

  /** Null when the contact's addresses are all free or all its client's; else the reason to reject. */
  private addressProblem(contact: ContactFields | undefined, clientKey: string, owned: ReadonlyMap<string, OwnedAddress>): string | null {
    if (!contact) return null;
    const contactIds = new Set<number>();
    for (const e of contact.emails) {
      const o = owned.get(e.toLowerCase());
      if (!o) continue;
      if (o.clientKey !== clientKey) return `address ${e} belongs to a contact of another client (${o.clientName})`;
      contactIds.add(o.contactId);
    }
    if (contactIds.size > 1) return `addresses ${contact.emails.join(', ')} belong to ${contactIds.size} different contacts`;
    return null;
  }

  // ---- clients ----

  private async writeClients(records: readonly ClientRecord[]): Promise<void> {
    const owned = await this.ownedAddresses(records.flatMap((r) => r.contact?.emails ?? []));
    const groups = new Map<string, ClientGroup>();
    for (const rec of records) {
      const problem = this.addressProblem(rec.contact, rec.client.nameKey, owned);
      if (problem) {
        this.reject(rec.line, problem);
        continue;
      }
      const group = groups.get(rec.client.nameKey);
      if (!group) {
        const firstLine: Partial<Record<ClientScalar, number>> = {};
        for (const k of CLIENT_SCALARS) if (rec.client[k] !== undefined) firstLine[k] = rec.line;
        groups.set(rec.client.nameKey, {
          line: rec.line,
          fields: { ...rec.client, domains: [...rec.client.domains], tags: [...rec.client.tags], interests: [...rec.client.interests] },
          firstLine,
          contacts: rec.contact ? [{ line: rec.line, contact: rec.contact }] : [],
        });
        continue;
      }
      this.mergeClient(group, rec);
    }

    const ownerIds = await this.ensureOwners([...groups.values()].map((g) => g.fields.owner).filter((o): o is string => o !== undefined));
    this.owned = owned;
    const existing = new Map<string, Selectable<ClientsTable>>();
    for (const part of chunks([...groups.keys()])) {
      for (const c of await this.trx.selectFrom('clients').selectAll().where('name_key', 'in', part).execute()) existing.set(c.name_key, c);
    }
    const lastTouch = new Map<number, Date>();
    for (const part of chunks([...existing.values()].map((c) => c.id))) {
      const rows = await this.trx.selectFrom('touchpoints').select(['client_id', (eb) => eb.fn.max('occurred_at').as('last')]).where('client_id', 'in', part).groupBy('client_id').execute();
      for (const r of rows) lastTouch.set(r.client_id, new Date(r.last as Date | string));
    }
    const domainOwners = await this.domainOwners([...groups.values()].flatMap((g) => [...g.fields.domains, ...g.contacts.flatMap((c) => c.contact.emails.map((e) => e.split('@')[1]!))]));
    const ids = new Map<string, number>();
    const tagRows: { client_id: number; tag: string }[] = [];
    const interestRows: { client_id: number; product: string }[] = [];
    const domainRows: Insertable<ClientDomainsTable>[] = [];
    const touchRows: Insertable<TouchpointsTable>[] = [];
    for (const group of groups.values()) {
      const before = existing.get(group.fields.nameKey);
      const id = await this.upsertClient(group, ownerIds, before);
      ids.set(group.fields.nameKey, id);
      for (const tag of group.fields.tags) tagRows.push({ client_id: id, tag });
      for (const product of group.fields.interests) interestRows.push({ client_id: id, product });
      for (const c of group.contacts) await this.upsertContact(id, c.contact, before === undefined);
      const mailDomains = group.contacts.flatMap((c) => c.contact.emails.map((e) => e.split('@')[1]!));
      domainRows.push(...this.claimDomains(id, group.fields.name, [...group.fields.domains, ...mailDomains], group.line, domainOwners));
      const last = group.fields.lastContact;
      if (last) {
        const since = lastTouch.get(id);
        const day = new Date(`${last}T00:00:00Z`);
        if (!since || since < day) {
          touchRows.push({ client_id: id, kind: 'note', occurred_at: `${last}T12:00:00Z`, summary: 'last contact (from an imported spreadsheet)', created_at: this.now });
          lastTouch.set(id, new Date(`${last}T12:00:00Z`));
        }
      }
    }
    for (const part of chunks(tagRows)) this.counts.tagsAdded += (await this.trx.insertInto('client_tags').values(part).onConflict((oc) => oc.doNothing()).returning('tag').execute()).length;
    for (const part of chunks(interestRows)) this.counts.tagsAdded += (await this.trx.insertInto('client_product_interests').values(part).onConflict((oc) => oc.doNothing()).returning('product').execute()).length;
    for (const part of chunks(domainRows)) await this.trx.insertInto('client_domains').values(part).execute();
    this.counts.domainsAdded += domainRows.length;
    for (const part of chunks(touchRows)) await this.trx.insertInto('touchpoints').values(part).execute();
    this.counts.touchpointsAdded += touchRows.length;
    await this.linkReferrals([...groups.values()], ids);
  }

  private mergeClient(group: ClientGroup, rec: ClientRecord): void {
    const f = group.fields as unknown as Record<ClientScalar, unknown>;
    const incoming = rec.client as unknown as Record<ClientScalar, unknown>;
    for (const k of CLIENT_SCALARS) {
      const v = incoming[k];
      if (v === undefined) continue;
      if (f[k] === undefined) {
        f[k] = v;
        group.firstLine[k] = rec.line;
      } else if (f[k] !== v) {
        this.note(rec.line, `${exportHeader(SCALAR_HEADER[k])} "${String(v)}" differs from line ${group.firstLine[k] ?? group.line} ("${String(f[k])}"): kept the first`);
      }
    }
    for (const [list, more] of [[group.fields.domains, rec.client.domains], [group.fields.tags, rec.client.tags], [group.fields.interests, rec.client.interests]] as const) {
      for (const v of more) if (!list.includes(v)) list.push(v);
    }
    if (rec.contact) group.contacts.push({ line: rec.line, contact: rec.contact });
  }

  private async ensureOwners(names: readonly string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    const wanted = new Map<string, string>();
    for (const n of names) if (!wanted.has(n.toLowerCase())) wanted.set(n.toLowerCase(), n);
    if (wanted.size === 0) return out;
    const rows = await this.trx
      .selectFrom('owners')
      .select(['id', 'name'])
      .where(sql<string>`lower(name)`, 'in', [...wanted.keys()])
      .execute();
    for (const r of rows) out.set(r.name.toLowerCase(), r.id);
    for (const [key, name] of wanted) {
      if (out.has(key)) continue;
      const row = await this.trx.insertInto('owners').values({ name }).returning('id').executeTakeFirstOrThrow();
      out.set(key, row.id);
      this.counts.ownersCreated += 1;
    }
    return out;
  }

  private async upsertClient(group: ClientGroup, ownerIds: ReadonlyMap<string, number>, existing: Selectable<ClientsTable> | undefined): Promise<number> {
    const f = group.fields;
    let timeZone: string | null | undefined = f.timeZone;
    const countryChanged = existing !== undefined && f.country !== undefined && f.country !== existing.country;
    if (!timeZone && (!existing?.time_zone || countryChanged)) {
      const country = f.country ?? existing?.country ?? undefined;
      if (country) {
        timeZone = defaultTimeZone(country) ?? (countryChanged ? null : undefined);
        if (!timeZone) {
          const zones = timeZonesOf(country);
          this.note(group.line, `${f.name}: ${country} has ${zones.length} time zones (${zones.slice(0, 4).join(', ')}${zones.length > 4 ? ', ...' : ''}): time zone left empty, set it with a Time zone column or rapport clients edit`);
        }
      }
    }
    const wanted: Partial<Record<keyof ClientsTable, string | number | boolean | null>> = {};
    const put = (col: keyof ClientsTable, v: string | number | boolean | null | undefined): void => {
      if (v !== undefined) wanted[col] = v;
    };
    put('name', f.name);
    put('country', f.country);
    put('region', f.region);
    put('time_zone', timeZone);
    put('language', f.language);
    put('website', f.website);
    put('industry', f.industry);
    put('nature', f.nature);
    put('size', f.size);
    put('source', f.source);
    put('owner_id', f.owner === undefined ? undefined : ownerIds.get(f.owner.toLowerCase()));
    put('tier_override', f.tier);
    put('status', f.status);
    put('marked_old', f.markedOld);
    put('notes', f.notes);
    if (!existing) {
      const row = await this.trx
        .insertInto('clients')
        .values({ ...(wanted as Record<string, never>), name: f.name, name_key: f.nameKey, created_at: this.now, updated_at: this.now })
        .returning('id')
        .executeTakeFirstOrThrow();
      this.counts.clients.created += 1;
      this.counted.add(row.id);
      return row.id;
    }
    const current = existing as unknown as Record<string, unknown>;
    const changes: Record<string, unknown> = {};
    for (const [col, v] of Object.entries(wanted)) if (current[col] !== v) changes[col] = v;
    if (Object.keys(changes).length === 0) {
      this.counts.clients.unchanged += 1;
      return existing.id;
    }
    await this.trx.updateTable('clients').set({ ...(changes as Record<string, never>), updated_at: this.now }).where('id', '=', existing.id).execute();
    this.counts.clients.updated += 1;
    this.counted.add(existing.id);
    return existing.id;
  }

  /** Who owns each of these domains now (freemail left out). */
  private async domainOwners(domains: readonly string[]): Promise<Map<string, { clientId: number; name: string }>> {
    const out = new Map<string, { clientId: number; name: string }>();
    const wanted = [...new Set(domains.map((d) => d.toLowerCase()))].filter((d) => !isFreemailDomain(d));
    for (const part of chunks(wanted)) {
      const rows = await this.trx.selectFrom('client_domains as d').innerJoin('clients as c', 'c.id', 'd.client_id').select(['d.domain', 'd.client_id', 'c.name']).where('d.domain', 'in', part).execute();
      for (const r of rows) out.set(r.domain, { clientId: r.client_id, name: r.name });
    }
    return out;
  }

  /** The domain rows to add for a client; a domain another client holds is noted, not moved. Updates `owners` in place. */
  private claimDomains(clientId: number, clientName: string, domains: readonly string[], line: number, owners: Map<string, { clientId: number; name: string }>): Insertable<ClientDomainsTable>[] {
    const rows: Insertable<ClientDomainsTable>[] = [];
    for (const domain of [...new Set(domains.map((d) => d.toLowerCase()))]) {
      if (isFreemailDomain(domain)) continue;
      const owner = owners.get(domain);
      if (owner && owner.clientId !== clientId) this.note(line, `domain ${domain} already belongs to ${owner.name}: not linked`);
      if (owner) continue;
      owners.set(domain, { clientId, name: clientName });
      rows.push({ domain, client_id: clientId, source: 'import', created_at: this.now });
    }
    return rows;
  }

  private async linkReferrals(groups: readonly ClientGroup[], ids: ReadonlyMap<string, number>): Promise<void> {
    const wanted = groups.filter((g) => g.fields.referredBy !== undefined);
    if (wanted.length === 0) return;
    const found = await this.clientsByKey(wanted.map((g) => clientNameKey(g.fields.referredBy!)));
    for (const g of wanted) {
      const ref = found.get(clientNameKey(g.fields.referredBy!));
      const id = ids.get(g.fields.nameKey)!;
      if (!ref) {
        this.note(g.firstLine.referredBy ?? g.line, `Referred by: no client named "${g.fields.referredBy}": not linked`);
        continue;
      }
      if (ref.id === id) continue;
      const res = await this.trx
        .updateTable('clients')
        .set({ referred_by_client_id: ref.id, updated_at: this.now })
        .where('id', '=', id)
        .where((eb) => eb.or([eb('referred_by_client_id', 'is', null), eb('referred_by_client_id', '!=', ref.id)]))
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) > 0 && !this.counted.has(id)) {
        this.counts.clients.updated += 1;
        this.counts.clients.unchanged -= 1;
        this.counted.add(id);
      }
    }
  }

  // ---- contacts ----

  private async writeContacts(records: readonly ContactRecord[]): Promise<void> {
    const clients = await this.clientsByKey(records.map((r) => r.companyKey));
    const owned = await this.ownedAddresses(records.flatMap((r) => r.contact.emails));
    const ok: { rec: ContactRecord; clientId: number }[] = [];
    for (const rec of records) {
      const client = clients.get(rec.companyKey);
      if (!client) {
        this.reject(rec.line, `no client named "${rec.company}" (import it with rapport import clients first)`);
        continue;
      }
      const problem = this.addressProblem(rec.contact, rec.companyKey, owned);
      if (problem) {
        this.reject(rec.line, problem);
        continue;
      }
      ok.push({ rec, clientId: client.id });
    }
    this.owned = owned;
    const domainOwners = await this.domainOwners(ok.flatMap(({ rec }) => rec.contact.emails.map((e) => e.split('@')[1]!)));
    const domainRows: Insertable<ClientDomainsTable>[] = [];
    for (const { rec, clientId } of ok) {
      await this.upsertContact(clientId, rec.contact, false);
      domainRows.push(...this.claimDomains(clientId, clients.get(rec.companyKey)!.name, rec.contact.emails.map((e) => e.split('@')[1]!), rec.line, domainOwners));
    }
    for (const part of chunks(domainRows)) await this.trx.insertInto('client_domains').values(part).execute();
    this.counts.domainsAdded += domainRows.length;
  }

  /**
   * A contact is found by any of its addresses, else by name within the client
   * (a second address for the same person), else created.
   */
  private async upsertContact(clientId: number, c: ContactFields, clientIsNew: boolean): Promise<void> {
    const keys = c.emails.map((e) => e.toLowerCase());
    let contactId = keys.map((k) => this.owned.get(k)?.contactId).find((id) => id !== undefined);
    const nameKey = c.name?.toLowerCase();
    if (contactId === undefined && nameKey !== undefined) {
      contactId = this.createdContacts.get(clientId)?.get(nameKey);
      if (contactId === undefined && !clientIsNew) {
        const hit = await this.trx
          .selectFrom('contacts')
          .select('id')
          .where('client_id', '=', clientId)
          .where(sql<string>`lower(name)`, '=', nameKey)
          .orderBy('id')
          .limit(1)
          .executeTakeFirst();
        contactId = hit?.id;
      }
    }
    const wanted: Partial<Record<keyof ContactsTable, string>> = {};
    const put = (col: keyof ContactsTable, v: string | undefined): void => {
      if (v !== undefined) wanted[col] = v;
    };
    put('name', c.name);
    put('title', c.title);
    put('department', c.department);
    put('role', c.role);
    put('relationship_level', c.relationship);
    put('language', c.language);
    put('time_zone', c.timeZone);
    put('birthday', c.birthday);
    put('hobbies', c.hobbies);
    put('notes', c.notes);
    let isNew = false;
    if (contactId === undefined) {
      const name = c.name ?? c.emails[0]!.split('@')[0]!;
      const row = await this.trx
        .insertInto('contacts')
        .values({ ...(wanted as Record<string, never>), client_id: clientId, name, created_at: this.now, updated_at: this.now })
        .returning('id')
        .executeTakeFirstOrThrow();
      contactId = row.id;
      isNew = true;
      const byName = this.createdContacts.get(clientId) ?? new Map<string, number>();
      byName.set(name.toLowerCase(), contactId);
      this.createdContacts.set(clientId, byName);
      this.touched.set(contactId, new Set(Object.keys(wanted)));
      this.counts.contacts.created += 1;
    } else {
      const current = (await this.trx.selectFrom('contacts').selectAll().where('id', '=', contactId).executeTakeFirstOrThrow()) as unknown as Record<string, unknown>;
      const touched = this.touched.get(contactId) ?? new Set<string>();
      const changes: Record<string, string> = {};
      for (const [col, v] of Object.entries(wanted)) if (!touched.has(col) && current[col] !== v) changes[col] = v;
      for (const col of Object.keys(wanted)) touched.add(col);
      this.touched.set(contactId, touched);
      if (Object.keys(changes).length > 0) {
        await this.trx.updateTable('contacts').set({ ...(changes as Record<string, never>), updated_at: this.now }).where('id', '=', contactId).execute();
        this.counts.contacts.updated += 1;
      } else this.counts.contacts.unchanged += 1;
    }
    const missing = c.emails.filter((e) => !this.owned.has(e.toLowerCase()));
    if (missing.length > 0) {
      let hasPrimary = false;
      if (!isNew) {
        const p = await this.trx.selectFrom('contact_emails').select('id').where('contact_id', '=', contactId).where('is_primary', '=', true).limit(1).executeTakeFirst();
        hasPrimary = p !== undefined;
      }
      const id = contactId;
      await this.trx
        .insertInto('contact_emails')
        .values(missing.map((address, i) => ({ contact_id: id, address, is_primary: !hasPrimary && i === 0, created_at: this.now })))
        .execute();
      for (const e of missing) this.owned.set(e.toLowerCase(), { contactId: id, clientId, clientName: '', clientKey: '' });
      this.counts.emailsAdded += missing.length;
    }
    if (c.channels.length > 0) {
      const id = contactId;
      const rows = await this.trx
        .insertInto('contact_channels')
        .values(c.channels.map((ch) => ({ contact_id: id, kind: ch.kind, value: ch.value })))
        .onConflict((oc) => oc.doNothing())
        .returning('id')
        .execute();
      this.counts.channelsAdded += rows.length;
    }
  }

  // ---- orders ----

  private async writeOrders(records: readonly OrderRecord[]): Promise<void> {
    const clients = await this.clientsByKey(records.map((r) => r.companyKey));
    const groups = new Map<string, { clientId: number; rows: OrderRecord[] }>();
    for (const rec of records) {
      const client = clients.get(rec.companyKey);
      if (!client) {
        this.reject(rec.line, `no client named "${rec.company}" (import it with rapport import clients first)`);
        continue;
      }
      const key = `${client.id}\u0000${rec.orderNo}`;
      const g = groups.get(key) ?? { clientId: client.id, rows: [] };
      g.rows.push(rec);
      groups.set(key, g);
    }
    // Existing orders and their lines, read in a few statements rather than per row.
    const existing = new Map<string, Selectable<OrdersTable>>();
    const clientIds = [...new Set([...groups.values()].map((g) => g.clientId))];
    const orderNos = [...new Set([...groups.values()].map((g) => g.rows[0]!.orderNo))];
    for (const ids of chunks(clientIds, 500)) {
      for (const nos of chunks(orderNos, 2000)) {
        const rows = await this.trx.selectFrom('orders').selectAll().where('client_id', 'in', ids).where('order_no', 'in', nos).execute();
        for (const o of rows) existing.set(`${o.client_id}\u0000${o.order_no}`, o);
      }
    }
    const linesOf = new Map<number, Selectable<OrderLinesTable>[]>();
    for (const ids of chunks([...existing.values()].map((o) => o.id), 2000)) {
      const rows = await this.trx.selectFrom('order_lines').selectAll().where('order_id', 'in', ids).orderBy('id').execute();
      for (const l of rows) {
        const list = linesOf.get(l.order_id) ?? [];
        list.push(l);
        linesOf.set(l.order_id, list);
      }
    }
    const fresh: { values: Insertable<OrdersTable>; lines: OrderLineFields[] }[] = [];
    for (const [key, g] of groups) {
      const o = this.orderFromRows(g.clientId, g.rows);
      const current = existing.get(key);
      if (current) await this.updateOrder(current, linesOf.get(current.id) ?? [], o);
      else fresh.push({ values: o.values, lines: o.lines });
    }
    for (const part of chunks(fresh, 500)) {
      const ids = await this.trx.insertInto('orders').values(part.map((f) => f.values)).returning('id').execute();
      const lines = part.flatMap((f, i) => f.lines.map((l) => this.lineValues(ids[i]!.id, l)));
      for (const lp of chunks(lines, 2000)) await this.trx.insertInto('order_lines').values(lp).execute();
      this.counts.orders.created += part.length;
    }
    // A prospect that has ordered is a client now, as when an order is added by hand.
    for (const ids of chunks(clientIds, 2000)) {
      await this.trx
        .updateTable('clients')
        .set({ status: 'active', updated_at: this.now })
        .where('id', 'in', ids)
        .where('status', '=', 'prospect')
        .where(({ exists, selectFrom }) => exists(selectFrom('orders as o').select('o.id').whereRef('o.client_id', '=', 'clients.id').where('o.status', '<>', 'cancelled')))
        .execute();
    }
  }

  /** One order from its rows: first row's date, first given status/currency/notes, total = Order total or the sum of Amounts. */
  private orderFromRows(clientId: number, rows: readonly OrderRecord[]) {
    const first = rows[0]!;
    const pick = <K extends 'status' | 'currency' | 'orderTotal' | 'notes'>(k: K): OrderRecord[K] | undefined => rows.find((r) => r[k] !== undefined)?.[k];
    const lines: OrderLineFields[] = rows.flatMap((r) => (r.orderLine ? [r.orderLine] : []));
    const total = pick('orderTotal');
    const amountGiven = total !== undefined || rows.some((r) => r.amount !== undefined || (r.orderLine?.unitPrice !== null && r.orderLine?.unitPrice !== undefined));
    const amount = round(
      total ?? rows.reduce((sum, r) => sum + (r.amount ?? (r.orderLine && r.orderLine.unitPrice !== null ? r.orderLine.quantity * r.orderLine.unitPrice : 0)), 0),
      2,
    );
    const status: OrderStatus | undefined = pick('status');
    const currency = pick('currency');
    const notes = pick('notes');
    const values: Insertable<OrdersTable> = {
      client_id: clientId, order_no: first.orderNo, ordered_on: first.date, status: status ?? 'confirmed', status_changed_at: this.now,
      amount, currency: currency ?? 'USD', notes: notes ?? null, created_at: this.now,
    };
    return { values, lines, amount, amountGiven, status, currency, notes, date: first.date };
  }

  private async updateOrder(existing: Selectable<OrdersTable>, have: readonly Selectable<OrderLinesTable>[], o: ReturnType<ImportWriter['orderFromRows']>): Promise<void> {
    const changes: Record<string, unknown> = {};
    if (existing.ordered_on !== o.date) changes.ordered_on = o.date;
    if (o.status && existing.status !== o.status) {
      changes.status = o.status;
      changes.status_changed_at = this.now;
    }
    if (o.amountGiven && !sameNumber(existing.amount, o.amount, 2)) changes.amount = o.amount;
    if (o.currency && existing.currency !== o.currency) changes.currency = o.currency;
    if (o.notes !== undefined && existing.notes !== o.notes) changes.notes = o.notes;
    let linesChanged = false;
    if (o.lines.length > 0) {
      linesChanged =
        have.length !== o.lines.length ||
        have.some((h, i) => {
          const l = o.lines[i]!;
          return h.product !== l.product || h.category !== l.category || h.unit !== l.unit || !sameNumber(h.quantity, l.quantity, 3) || !sameNumber(h.unit_price, l.unitPrice, 4) || !sameNumber(h.amount, l.amount, 2);
        });
      if (linesChanged) {
        await this.trx.deleteFrom('order_lines').where('order_id', '=', existing.id).execute();
        await this.insertLines(existing.id, o.lines);
      }
    }
    if (Object.keys(changes).length > 0) await this.trx.updateTable('orders').set(changes as Record<string, never>).where('id', '=', existing.id).execute();
    if (Object.keys(changes).length > 0 || linesChanged) this.counts.orders.updated += 1;
    else this.counts.orders.unchanged += 1;
  }

  private lineValues(orderId: number, l: OrderLineFields): Insertable<OrderLinesTable> {
    return {
      order_id: orderId, product: l.product, category: l.category, quantity: round(l.quantity, 3), unit: l.unit,
      unit_price: l.unitPrice === null ? null : round(l.unitPrice, 4), amount: l.amount === null ? null : round(l.amount, 2),
    };
  }

  private async insertLines(orderId: number, lines: readonly OrderLineFields[]): Promise<void> {
    if (lines.length === 0) return;
    await this.trx.insertInto('order_lines').values(lines.map((l) => this.lineValues(orderId, l))).execute();
  }
}
