import { sql } from 'kysely';
import type { Db } from '../../src/db/database.ts';

export interface SeedClient {
  name: string;
  country?: string | null;
  region?: string | null;
  timeZone?: string | null;
  language?: string | null;
  owner?: number | null;
  tier?: 'key' | 'major' | 'normal' | 'small' | null;
  status?: 'prospect' | 'active' | 'inactive' | 'lost';
  contacts: Array<{ name: string; email?: string | null; language?: string | null; timeZone?: string | null; birthday?: string | null; department?: string; level?: string }>;
}

/** An owner with a mailbox; returns { ownerId, accountId }. */
export async function seedOwner(db: Db, name: string, email: string): Promise<{ ownerId: number; accountId: number }> {
  const o = await sql<{ id: number }>`INSERT INTO owners (name, email) VALUES (${name}, ${email}) RETURNING id`.execute(db.kysely);
  const ownerId = Number(o.rows[0]!.id);
  const a = await sql<{ id: number }>`INSERT INTO mail_accounts (name, email, owner_id) VALUES (${name.toLowerCase()}, ${email}, ${ownerId}) RETURNING id`.execute(db.kysely);
  return { ownerId, accountId: Number(a.rows[0]!.id) };
}

/** Clients with contacts; returns the contact ids per client name, in order. */
export async function seedClients(db: Db, clients: SeedClient[]): Promise<Map<string, { clientId: number; contactIds: number[] }>> {
  const out = new Map<string, { clientId: number; contactIds: number[] }>();
  for (const c of clients) {
    const r = await sql<{ id: number }>`INSERT INTO clients (name, name_key, country, region, time_zone, language, owner_id, tier_override, status)
      VALUES (${c.name}, ${c.name.toLowerCase()}, ${c.country ?? null}, ${c.region ?? null}, ${c.timeZone ?? null}, ${c.language ?? null}, ${c.owner ?? null}, ${c.tier ?? null}, ${c.status ?? 'active'}) RETURNING id`.execute(db.kysely);
    const clientId = Number(r.rows[0]!.id);
    const contactIds: number[] = [];
    for (const k of c.contacts) {
      const kr = await sql<{ id: number }>`INSERT INTO contacts (client_id, name, language, time_zone, birthday, department, relationship_level)
        VALUES (${clientId}, ${k.name}, ${k.language ?? null}, ${k.timeZone ?? null}, ${k.birthday ?? null}, ${k.department ?? 'purchasing'}, ${k.level ?? 'acquaintance'}) RETURNING id`.execute(db.kysely);
      const contactId = Number(kr.rows[0]!.id);
      contactIds.push(contactId);
      if (k.email) await sql`INSERT INTO contact_emails (contact_id, address, is_primary) VALUES (${contactId}, ${k.email}, true)`.execute(db.kysely);
    }
    out.set(c.name, { clientId, contactIds });
  }
  return out;
}

import { campaignSchema } from '../../src/campaigns/campaign-schema.ts';
import { audienceFilterSchema, type AudienceFilter } from '../../src/campaigns/audience-schema.ts';
import { syncCampaignFolder, listStoredCampaigns, type StoredCampaign } from '../../src/campaigns/campaign-store.ts';
import type { Clock } from '../../src/shared/clock.ts';

/** Stores campaign definitions (and audiences) as if read from a folder; returns them as stored. */
export async function storeCampaigns(db: Db, clock: Clock, defs: Array<Record<string, unknown>>, audiences: Record<string, AudienceFilter> = {}): Promise<StoredCampaign[]> {
  const campaigns = defs.map((d, i) => ({ file: `test-${i}.yaml`, definition: campaignSchema.parse(d) }));
  const aud = new Map(Object.entries(audiences).map(([n, f]) => [n, { file: 'audiences.yaml', filter: audienceFilterSchema.parse(f) }]));
  await syncCampaignFolder(db, { campaigns, audiences: aud, problems: [] }, clock);
  const all = await listStoredCampaigns(db);
  return all.filter((c) => defs.some((d) => d.name === c.name));
}
