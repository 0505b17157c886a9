import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import { AppError } from '../shared/app-error.ts';
import type { Clock } from '../shared/clock.ts';
import { audienceFilterSchema, type AudienceFilter } from './audience-schema.ts';
import { campaignSchema, type CampaignDefinition } from './campaign-schema.ts';
import type { CampaignFolder } from './campaign-files.ts';

export interface StoredCampaign {
  readonly id: number;
  readonly name: string;
  readonly definition: CampaignDefinition;
  readonly paused: boolean;
  readonly sourceFile: string | null;
  readonly runNowAt: Date | null;
}

/** Writes the folder's audiences and campaigns into the database (upsert by name); pause state is kept. */
export async function syncCampaignFolder(db: Db, folder: CampaignFolder, clock: Clock): Promise<{ campaigns: number; audiences: number }> {
  const now = clock.now();
  await db.kysely.transaction().execute(async (trx) => {
    for (const [name, a] of folder.audiences) {
      await trx.insertInto('campaign_audiences').values({ name, filter: JSON.stringify(a.filter), source_file: a.file, updated_at: now })
        .onConflict((oc) => oc.column('name').doUpdateSet({ filter: JSON.stringify(a.filter), source_file: a.file, updated_at: now })).execute();
    }
    for (const c of folder.campaigns) {
      const d = c.definition;
      await trx.insertInto('campaigns').values({ name: d.name, kind: d.kind, title: d.title ?? null, definition: JSON.stringify(d), source_file: c.file, created_at: now, updated_at: now })
        .onConflict((oc) => oc.column('name').doUpdateSet({ kind: d.kind, title: d.title ?? null, definition: JSON.stringify(d), source_file: c.file, updated_at: now })).execute();
    }
  });
  return { campaigns: folder.campaigns.length, audiences: folder.audiences.size };
}

function toStored(r: { id: number; name: string; definition: unknown; paused: boolean; source_file: string | null; run_now_at: Date | null }): StoredCampaign {
  const parsed = campaignSchema.safeParse(r.definition);
  if (!parsed.success) throw new AppError('CAMPAIGN_INVALID', `campaign ${r.name}: stored definition is invalid (${parsed.error.issues[0]?.message ?? ''}); fix its file and sync again`);
  return { id: Number(r.id), name: r.name, definition: parsed.data, paused: r.paused || parsed.data.paused === true, sourceFile: r.source_file, runNowAt: r.run_now_at };
}

export async function listStoredCampaigns(db: Db): Promise<StoredCampaign[]> {
  const rows = await db.kysely.selectFrom('campaigns').select(['id', 'name', 'definition', 'paused', 'source_file', 'run_now_at']).orderBy('name').execute();
  return rows.map(toStored);
}

export async function getStoredCampaign(db: Db, name: string): Promise<StoredCampaign> {
  const r = await db.kysely.selectFrom('campaigns').select(['id', 'name', 'definition', 'paused', 'source_file', 'run_now_at']).where('name', '=', name).executeTakeFirst();
  if (!r) throw new AppError('NOT_FOUND', `campaign ${name}: no such campaign (run 'rapport campaigns validate' to load the folder)`);
  return toStored(r);
}

/** A saved audience by name, or the inline filter itself. */
export async function resolveAudience(db: Db, audience: string | AudienceFilter): Promise<AudienceFilter> {
  if (typeof audience !== 'string') return audience;
  const r = await db.kysely.selectFrom('campaign_audiences').select(['filter']).where('name', '=', audience).executeTakeFirst();
  if (!r) throw new AppError('NOT_FOUND', `audience ${audience}: no saved audience of that name`);
  return audienceFilterSchema.parse(r.filter);
}

/**
 * Pauses a campaign: it plans nothing new, and its unsent outbox rows wait
 * (held with defer_until = infinity). Resume releases each of them once.
 */
export async function setCampaignPaused(db: Db, name: string, paused: boolean, clock: Clock): Promise<{ held: number }> {
  const c = await getStoredCampaign(db, name);
  const now = clock.now();
  return db.kysely.transaction().execute(async (trx) => {
    await trx.updateTable('campaigns').set({ paused, paused_at: paused ? now : null, updated_at: now }).where('id', '=', c.id).execute();
    const res = paused
      ? await sql`UPDATE outbox SET defer_until = 'infinity', defer_reason = 'campaign paused', updated_at = ${now} WHERE campaign_id = ${c.id} AND state = 'planned' AND defer_until IS DISTINCT FROM 'infinity'`.execute(trx)
      : await sql`UPDATE outbox SET defer_until = NULL, defer_reason = NULL, updated_at = ${now} WHERE campaign_id = ${c.id} AND state = 'planned' AND defer_reason = 'campaign paused'`.execute(trx);
    return { held: Number(res.numAffectedRows ?? 0) };
  });
}

/** Marks a campaign to plan now, ignoring the horizon's start for its next occurrence. */
export async function markRunNow(db: Db, name: string, clock: Clock): Promise<StoredCampaign> {
  const c = await getStoredCampaign(db, name);
  await db.kysely.updateTable('campaigns').set({ run_now_at: clock.now() }).where('id', '=', c.id).execute();
  return c;
}
