import { describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { useTestDb } from '../support/test-db.ts';
import { previewAudience, audienceMembers } from '../../src/campaigns/audience-query.ts';
import { audienceFilterSchema } from '../../src/campaigns/audience-schema.ts';
import { seedClients, seedOwner } from './seed.ts';

const t = useTestDb();

async function names(filter: unknown): Promise<string[]> {
  const rows = await audienceMembers(t.db, audienceFilterSchema.parse(filter), '2027-06-01');
  return rows.map((r) => r.contact_name);
}

describe('audiences', { timeout: 120_000 }, () => {
  it('filters the client book by tier, age, dormancy, relationship, place, language, tags, interests, owner, inquiries, orders and department', async () => {
    const db = t.db;
    const ana = await seedOwner(db, 'Ana', 'ana@us.example');
    const bo = await seedOwner(db, 'Bo', 'bo@us.example');
    const ids = await seedClients(db, [
      { name: 'Key DE', country: 'DE', region: 'BY', language: 'de', owner: ana.ownerId, tier: 'key', contacts: [{ name: 'Karl', email: 'k@de.example', department: 'management', level: 'partner' }, { name: 'Kim', email: 'kim@de.example', department: 'technical' }] },
      { name: 'Small FR', country: 'FR', language: 'fr', owner: bo.ownerId, contacts: [{ name: 'Luc', email: 'l@fr.example', language: 'fr-CA' }] },
      { name: 'Lost GB', country: 'GB', owner: bo.ownerId, status: 'lost', contacts: [{ name: 'Gil', email: 'g@gb.example' }] },
      { name: 'Seg CN', country: 'CN', owner: ana.ownerId, contacts: [{ name: 'Wang', email: null, department: 'purchasing' }] },
    ]);
    const de = ids.get('Key DE')!.clientId;
    const fr = ids.get('Small FR')!.clientId;
    const cn = ids.get('Seg CN')!.clientId;
    await sql`INSERT INTO client_segments (client_id, age, age_reason, tier, tier_reason, dormant) VALUES (${fr}, 'new', 'r', 'small', 'r', NULL), (${cn}, 'old', 'r', 'major', 'r', 'r')`.execute(db.kysely);
    await sql`INSERT INTO client_tags (client_id, tag) VALUES (${de}, 'Fair-2026'), (${fr}, 'vip')`.execute(db.kysely);
    await sql`INSERT INTO client_product_interests (client_id, product) VALUES (${fr}, 'Heaters')`.execute(db.kysely);
    await sql`INSERT INTO inquiries (client_id, received_at, status) VALUES (${fr}, '2027-05-01T00:00:00Z', 'open'), (${de}, '2027-05-01T00:00:00Z', 'won')`.execute(db.kysely);
    const o = await sql<{ id: number }>`INSERT INTO orders (client_id, order_no, ordered_on) VALUES (${de}, 'PO-1', '2027-03-01'), (${cn}, 'PO-2', '2025-01-01') RETURNING id`.execute(db.kysely);
    await sql`INSERT INTO order_lines (order_id, product, category) VALUES (${o.rows[0]!.id}, 'Tower 13', 'patio heaters'), (${o.rows[1]!.id}, 'Tower 13', 'patio heaters')`.execute(db.kysely);

    expect(await names({})).toEqual(['Karl', 'Kim', 'Luc', 'Gil', 'Wang']);
    expect(await names({ tiers: ['key', 'major'] })).toEqual(['Karl', 'Kim', 'Wang']);
    expect(await names({ tiers: ['small'] })).toEqual(['Luc']);
    expect(await names({ age: 'old' })).toEqual(['Wang']);
    expect(await names({ age: 'new', statuses: ['active'] })).toEqual(['Karl', 'Kim', 'Luc']);
    expect(await names({ dormant: true })).toEqual(['Wang']);
    expect(await names({ relationshipLevels: ['partner', 'ally'] })).toEqual(['Karl']);
    expect(await names({ countries: ['de', 'FR'] })).toEqual(['Karl', 'Kim', 'Luc']);
    expect(await names({ regions: ['by'] })).toEqual(['Karl', 'Kim']);
    expect(await names({ languages: ['fr'] })).toEqual(['Luc']);
    expect(await names({ tags: ['fair-2026'] })).toEqual(['Karl', 'Kim']);
    expect(await names({ productInterests: ['heaters'] })).toEqual(['Luc']);
    expect(await names({ owners: ['bo@us.example'] })).toEqual(['Luc', 'Gil']);
    expect(await names({ hasOpenInquiry: true })).toEqual(['Luc']);
    expect(await names({ orderedProduct: { product: 'patio heaters', withinMonths: 6 } })).toEqual(['Karl', 'Kim']);
    expect(await names({ departments: ['purchasing'] })).toEqual(['Luc', 'Gil', 'Wang']);
    expect(await names({ onePerClient: true, countries: ['DE'] })).toEqual(['Karl']);
  });

  it('previews a count and the first rows, the same on unchanged data', async () => {
    const db = t.db;
    const ana = await seedOwner(db, 'Ana', 'ana@us.example');
    await sql`INSERT INTO clients (name, name_key, country, owner_id) SELECT 'C' || g, 'c' || g, 'DE', ${ana.ownerId} FROM generate_series(1, 40) g`.execute(db.kysely);
    await sql`INSERT INTO contacts (client_id, name) SELECT id, 'K' || id FROM clients ORDER BY id DESC`.execute(db.kysely);
    await sql`INSERT INTO contact_emails (contact_id, address) SELECT id, 'k' || id || '@x.example' FROM contacts WHERE id % 2 = 0`.execute(db.kysely);
    const f = audienceFilterSchema.parse({ countries: ['DE'] });
    const a = await previewAudience(db, f, '2027-01-01', 5);
    const b = await previewAudience(db, f, '2027-01-01', 5);
    expect(a).toEqual(b);
    expect(a.count).toBe(40);
    expect(a.withAddress).toBe(20);
    expect(a.first.map((m) => m.client_id)).toEqual([...a.first.map((m) => m.client_id)].sort((x, y) => x - y));
    expect(a.first.length).toBe(5);
  });
});
