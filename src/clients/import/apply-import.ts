import { sql, type Transaction } from 'kysely';
import type { Database } from '../../db/schema.ts';
import type { ClientsTable, ContactsTable, OrderStatus } from '../../db/tables/client-book.ts';
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
    const ids = new Map<string, number>();
    for (const group of groups.values()) {
      const id = await this.upsertClient(group, ownerIds);
      ids.set(group.fields.nameKey, id);
      await this.addTags(id, group.fields.tags, group.fields.interests);
      for (const c of group.contacts) await this.upsertContact(id, c.contact, c.line);
      const mailDomains = group.contacts.flatMap((c) => c.contact.emails.map((e) => e.split('@')[1]!.toLowerCase()));
      await this.addDomains(id, [...group.fields.domains, ...mailDomains], group.line);
      if (group.fields.lastContact) await this.addLastContact(id, group.fields.lastContact);
    }
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

  private async upsertClient(group: ClientGroup, ownerIds: ReadonlyMap<string, number>): Promise<number> {
    const f = group.fields;
    const existing = await this.trx.selectFrom('clients').selectAll().where('name_key', '=', f.nameKey).executeTakeFirst();
    let timeZone = f.timeZone;
    if (!timeZone && !existing?.time_zone) {
      const country = f.country ?? existing?.country ?? undefined;
      if (country) {
        timeZone = defaultTimeZone(country);
        if (!timeZone) {
          const zones = timeZonesOf(country);
          this.note(group.line, `${f.name}: ${country} has ${zones.length} time zones (${zones.slice(0, 4).join(', ')}${zones.length > 4 ? ', ...' : ''}): time zone left empty, set it with a Time zone column or rapport clients edit`);
        }
      }
    }
    const wanted: Partial<Record<keyof ClientsTable, string | number | boolean | null>> = {};
    const put = (col: keyof ClientsTable, v: string | number | boolean | undefined): void => {
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

  private async addTags(clientId: number, tags: readonly string[], interests: readonly string[]): Promise<void> {
    if (tags.length > 0) {
      const rows = await this.trx.insertInto('client_tags').values(tags.map((tag) => ({ client_id: clientId, tag }))).onConflict((oc) => oc.doNothing()).returning('tag').execute();
      this.counts.tagsAdded += rows.length;
    }
    if (interests.length > 0) {
      const rows = await this.trx
        .insertInto('client_product_interests')
        .values(interests.map((product) => ({ client_id: clientId, product })))
        .onConflict((oc) => oc.doNothing())
        .returning('product')
        .execute();
      this.counts.tagsAdded += rows.length;
    }
  }

  private async addDomains(clientId: number, domains: readonly string[], line: number): Promise<void> {
    const wanted = [...new Set(domains.map((d) => d.toLowerCase()))].filter((d) => !isFreemailDomain(d));
    if (wanted.length === 0) return;
    const rows = await this.trx
      .selectFrom('client_domains as d')
      .innerJoin('clients as c', 'c.id', 'd.client_id')
      .select(['d.domain', 'd.client_id', 'c.name'])
      .where('d.domain', 'in', wanted)
      .execute();
    const taken = new Map(rows.map((r) => [r.domain, r]));
    for (const domain of wanted) {
      const t = taken.get(domain);
      if (t && t.client_id !== clientId) this.note(line, `domain ${domain} already belongs to ${t.name}: not linked`);
      if (t) continue;
      await this.trx.insertInto('client_domains').values({ domain, client_id: clientId, source: 'import', created_at: this.now }).execute();
      this.counts.domainsAdded += 1;
    }
  }

  /** A "last contact" date becomes a note touchpoint unless the client has a touchpoint since that day. */
  private async addLastContact(clientId: number, date: string): Promise<void> {
    const since = await this.trx
      .selectFrom('touchpoints')
      .select('id')
      .where('client_id', '=', clientId)
      .where('occurred_at', '>=', new Date(`${date}T00:00:00Z`))
      .limit(1)
      .executeTakeFirst();
    if (since) return;
    await this.trx
      .insertInto('touchpoints')
      .values({ client_id: clientId, kind: 'note', occurred_at: `${date}T12:00:00Z`, summary: 'last contact (from an imported spreadsheet)', created_at: this.now })
      .execute();
    this.counts.touchpointsAdded += 1;
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
    for (const { rec, clientId } of ok) {
      await this.upsertContact(clientId, rec.contact, rec.line);
      await this.addDomains(clientId, rec.contact.emails.map((e) => e.split('@')[1]!.toLowerCase()), rec.line);
    }
  }

  private async upsertContact(clientId: number, c: ContactFields, line: number): Promise<void> {
    void line;
    const keys = c.emails.map((e) => e.toLowerCase());
    let contactId: number | undefined;
    if (keys.length > 0) {
      const hit = await this.trx.selectFrom('contact_emails').select('contact_id').where('address_key', 'in', keys).executeTakeFirst();
      contactId = hit?.contact_id;
    }
    if (contactId === undefined && c.name !== undefined) {
      const hit = await this.trx
        .selectFrom('contacts')
        .select('id')
        .where('client_id', '=', clientId)
        .where(sql<string>`lower(name)`, '=', c.name.toLowerCase())
        .orderBy('id')
        .limit(1)
        .executeTakeFirst();
      contactId = hit?.id;
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
    let existingEmails = 0;
    if (contactId === undefined) {
      const name = c.name ?? c.emails[0]!.split('@')[0]!;
      const row = await this.trx
        .insertInto('contacts')
        .values({ ...(wanted as Record<string, never>), client_id: clientId, name, created_at: this.now, updated_at: this.now })
        .returning('id')
        .executeTakeFirstOrThrow();
      contactId = row.id;
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
      const n = await this.trx.selectFrom('contact_emails').select((eb) => eb.fn.countAll<number>().as('n')).where('contact_id', '=', contactId).executeTakeFirstOrThrow();
      existingEmails = Number(n.n);
    }
    if (keys.length > 0) {
      const have = new Set(
        (await this.trx.selectFrom('contact_emails').select('address_key').where('address_key', 'in', keys).execute()).map((r) => r.address_key),
      );
      for (const e of c.emails) {
        if (have.has(e.toLowerCase())) continue;
        await this.trx.insertInto('contact_emails').values({ contact_id: contactId, address: e, is_primary: existingEmails === 0, created_at: this.now }).execute();
        existingEmails += 1;
        have.add(e.toLowerCase());
        this.counts.emailsAdded += 1;
      }
    }
    if (c.channels.length > 0) {
      const rows = await this.trx
        .insertInto('contact_channels')
        .values(c.channels.map((ch) => ({ contact_id: contactId, kind: ch.kind, value: ch.value })))
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
    for (const g of groups.values()) await this.upsertOrder(g.clientId, g.rows);
  }

  private async upsertOrder(clientId: number, rows: readonly OrderRecord[]): Promise<void> {
    const first = rows[0]!;
    const pick = <K extends 'status' | 'currency' | 'orderTotal' | 'notes'>(k: K): OrderRecord[K] | undefined => rows.find((r) => r[k] !== undefined)?.[k];
    const lines: OrderLineFields[] = rows.flatMap((r) => (r.orderLine ? [r.orderLine] : []));
    const total = pick('orderTotal');
    const anyAmount = total !== undefined || rows.some((r) => r.amount !== undefined || (r.orderLine?.unitPrice !== null && r.orderLine?.unitPrice !== undefined));
    const amount =
      total ?? round(rows.reduce((sum, r) => sum + (r.amount ?? (r.orderLine && r.orderLine.unitPrice !== null ? r.orderLine.quantity * r.orderLine.unitPrice : 0)), 0), 2);
    const status: OrderStatus | undefined = pick('status');
    const currency = pick('currency');
    const notes = pick('notes');
    const existing = await this.trx.selectFrom('orders').selectAll().where('client_id', '=', clientId).where('order_no', '=', first.orderNo).executeTakeFirst();
    if (!existing) {
      const row = await this.trx
        .insertInto('orders')
        .values({
          client_id: clientId, order_no: first.orderNo, ordered_on: first.date, status: status ?? 'confirmed', status_changed_at: this.now,
          amount: round(amount, 2), currency: currency ?? 'USD', notes: notes ?? null, created_at: this.now,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      await this.insertLines(row.id, lines);
      this.counts.orders.created += 1;
      return;
    }
    const changes: Record<string, unknown> = {};
    if (existing.ordered_on !== first.date) changes.ordered_on = first.date;
    if (status && existing.status !== status) {
      changes.status = status;
      changes.status_changed_at = this.now;
    }
    if (anyAmount && !sameNumber(existing.amount, amount, 2)) changes.amount = round(amount, 2);
    if (currency && existing.currency !== currency) changes.currency = currency;
    if (notes !== undefined && existing.notes !== notes) changes.notes = notes;
    let linesChanged = false;
    if (lines.length > 0) {
      const have = await this.trx.selectFrom('order_lines').selectAll().where('order_id', '=', existing.id).orderBy('id').execute();
      linesChanged =
        have.length !== lines.length ||
        have.some((h, i) => {
          const l = lines[i]!;
          return h.product !== l.product || h.category !== l.category || h.unit !== l.unit || !sameNumber(h.quantity, l.quantity, 3) || !sameNumber(h.unit_price, l.unitPrice, 4) || !sameNumber(h.amount, l.amount, 2);
        });
      if (linesChanged) {
        await this.trx.deleteFrom('order_lines').where('order_id', '=', existing.id).execute();
        await this.insertLines(existing.id, lines);
      }
    }
    if (Object.keys(changes).length > 0) await this.trx.updateTable('orders').set(changes as Record<string, never>).where('id', '=', existing.id).execute();
    if (Object.keys(changes).length > 0 || linesChanged) this.counts.orders.updated += 1;
    else this.counts.orders.unchanged += 1;
  }

  private async insertLines(orderId: number, lines: readonly OrderLineFields[]): Promise<void> {
    if (lines.length === 0) return;
    await this.trx
      .insertInto('order_lines')
      .values(
        lines.map((l) => ({
          order_id: orderId, product: l.product, category: l.category, quantity: round(l.quantity, 3), unit: l.unit,
          unit_price: l.unitPrice === null ? null : round(l.unitPrice, 4), amount: l.amount === null ? null : round(l.amount, 2),
        })),
      )
      .execute();
  }
}
