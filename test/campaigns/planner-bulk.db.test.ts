import { describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { useTestDb } from '../support/test-db.ts';
import { ManualClock } from '../../src/shared/clock.ts';
import { planCampaigns, type PlanOptions } from '../../src/campaigns/planner.ts';
import { parseCampaignSettings } from '../../src/campaigns/settings.ts';
import type { TemplateLookup } from '../../src/campaigns/template-lookup.ts';
import { storeCampaigns } from './seed.ts';

const t = useTestDb();
const settings = parseCampaignSettings({ sendWindow: { start: '09:00', end: '11:00', days: [1, 2, 3, 4, 5, 6, 7] } });

/** 160 clients in four countries, 2 contacts each; one contact without an address, one unsubscribed, one suppressed by a bounce. */
async function seedBook(db: typeof t.db): Promise<void> {
  await sql`INSERT INTO owners (name, email) SELECT 'Rep ' || g, 'rep' || g || '@us.example' FROM generate_series(1, 3) g`.execute(db.kysely);
  await sql`INSERT INTO mail_accounts (name, email, owner_id) SELECT 'rep' || id, email, id FROM owners`.execute(db.kysely);
  await sql`INSERT INTO clients (name, name_key, country, language, owner_id, status)
    SELECT 'Client ' || g, 'client ' || g, (ARRAY['DE','BR','AU','SA'])[1 + g % 4], (ARRAY['de','pt-BR','en','ar'])[1 + g % 4], (SELECT min(id) FROM owners) + g % 3, 'active'
    FROM generate_series(1, 160) g`.execute(db.kysely);
  await sql`INSERT INTO contacts (client_id, name, department) SELECT c.id, 'Contact ' || c.id || '-' || n, 'purchasing' FROM clients c, generate_series(1, 2) n`.execute(db.kysely);
  await sql`INSERT INTO contact_emails (contact_id, address, is_primary) SELECT id, 'c' || id || '@client.example', true FROM contacts WHERE id <> (SELECT min(id) FROM contacts)`.execute(db.kysely);
  await sql`INSERT INTO suppressions (address_key, reason, source) SELECT 'c' || (min(id) + 1) || '@client.example', 'one-click', 'unsubscribe' FROM contacts`.execute(db.kysely);
  await sql`INSERT INTO suppressions (address_key, reason, source) SELECT 'c' || (min(id) + 2) || '@client.example', '550 no such user', 'bounce' FROM contacts`.execute(db.kysely);
}

/** What a plan leaves behind, without what differs by design between runs (ids, Message-IDs). */
async function snapshot(db: typeof t.db) {
  const outbox = await sql<Record<string, unknown>>`SELECT idempotency_key, account_id, client_id, contact_id, to_address, to_name, kind, template, locale, data,
      campaign_id, occurrence, not_before, not_after, state, (SELECT count(*)::int FROM outbox_events e WHERE e.outbox_id = o.id AND e.event = 'planned') AS planned_events
    FROM outbox o ORDER BY idempotency_key`.execute(db.kysely);
  const decisions = await sql<Record<string, unknown>>`SELECT campaign_id, occurrence, contact_id, idempotency_key, outcome, reason, priority, send_on::text AS send_on, not_before, not_after,
      time_zone, account_id, to_address, template, locale, data, enqueued_at IS NOT NULL AS enqueued
    FROM campaign_decisions ORDER BY idempotency_key`.execute(db.kysely);
  return { outbox: outbox.rows, decisions: decisions.rows };
}

describe('planner, bulk path', () => {
  it('writes in one statement per batch, on several connections, exactly what the row-by-row path writes', async () => {
    const db = t.db;
    const clock = new ManualClock('2026-12-20T00:00:00Z');
    await seedBook(db);
    const campaigns = await storeCampaigns(db, clock, [
      { name: 'holiday-cards', kind: 'holiday', audience: {}, template: 'holiday-greeting', holidays: ['christmas', 'new-year', 'eid-al-fitr'], ours: ['spring-festival'], daysBefore: 2 },
      { name: 'monthly-card', kind: 'recurring', every: 'month', day: 21, audience: {}, template: 'monthly-card' },
    ]);
    const base: PlanOptions = { clock, settings, campaigns, collectLines: false, batchSize: 100 };

    const slow = await planCampaigns(db, { ...base, outboxPath: 'enqueue-mail', writers: 1 });
    const expected = await snapshot(db);
    await sql`DELETE FROM outbox_events`.execute(db.kysely);
    await sql`DELETE FROM outbox`.execute(db.kysely);
    await sql`DELETE FROM campaign_decisions`.execute(db.kysely);

    const fast = await planCampaigns(db, { ...base, outboxPath: 'sql', writers: 3 });
    const got = await snapshot(db);
    expect(fast.planned).toBe(slow.planned);
    expect(fast.skipped).toBe(slow.skipped);
    expect(fast.enqueued).toBe(slow.enqueued);
    expect(got).toEqual(expected);

    // More than one batch, nothing sent twice, every mail with its one 'planned' event, every planned decision enqueued.
    expect(fast.planned).toBeGreaterThan(300);
    expect(fast.enqueued).toBe(fast.planned + fast.deferred);
    expect(new Set(got.outbox.map((r) => r.idempotency_key)).size).toBe(got.outbox.length);
    expect(got.outbox.every((r) => r.planned_events === 1)).toBe(true);
    expect(got.decisions.filter((d) => d.outcome !== 'skipped').every((d) => d.enqueued === true)).toBe(true);
    // The contact without an address, the unsubscribed and the bounced one are left out with the reason, never in the outbox.
    const reasons = new Set(got.decisions.filter((d) => d.outcome === 'skipped').map((d) => String(d.reason)));
    expect([...reasons].sort()).toEqual(['no valid address', 'suppressed (bounce: 550 no such user)', 'unsubscribed']);
    const left = new Set(got.decisions.filter((d) => d.outcome === 'skipped').map((d) => Number(d.contact_id)));
    expect(got.outbox.some((r) => left.has(Number(r.contact_id)))).toBe(false);

    // Re-planning unchanged data adds nothing.
    const again = await planCampaigns(db, { ...base, outboxPath: 'sql', writers: 3 });
    expect(again.planned + again.deferred + again.enqueued).toBe(0);
    expect(await snapshot(db)).toEqual(got);
  });

  it("picks each template's locale per language once, not per recipient, with the same outcome for everyone", async () => {
    const db = t.db;
    const clock = new ManualClock('2026-12-20T00:00:00Z');
    await seedBook(db);
    const campaigns = await storeCampaigns(db, clock, [{ name: 'monthly-card', kind: 'recurring', every: 'month', day: 21, audience: {}, template: 'monthly-card' }]);
    const asked: string[] = [];
    const chain: Record<string, string | undefined> = { de: 'de', 'pt-BR': 'pt', en: 'en', ar: undefined };
    const templates: TemplateLookup = {
      has: (name) => name === 'monthly-card',
      resolveLocale: (name, wanted) => {
        asked.push(`${name}/${wanted ?? ''}`);
        return chain[wanted ?? ''];
      },
      requiredVariables: () => [],
    };
    const res = await planCampaigns(db, { clock, settings, campaigns, templates, batchSize: 100 });
    expect(asked.sort()).toEqual(['monthly-card/ar', 'monthly-card/de', 'monthly-card/en', 'monthly-card/pt-BR']);
    const byLanguage = new Map<string, Set<string>>();
    const rows = await sql<{ language: string; locale: string | null; outcome: string; reason: string | null }>`SELECT c.language, d.locale, d.outcome, d.reason
      FROM campaign_decisions d JOIN clients c ON c.id = d.client_id WHERE coalesce(d.reason, '') NOT IN ('no valid address', 'unsubscribed') AND coalesce(d.reason, '') NOT LIKE 'suppressed%'`.execute(db.kysely);
    for (const r of rows.rows) {
      const seen = byLanguage.get(r.language) ?? new Set<string>();
      seen.add(`${r.outcome} ${r.locale ?? '-'} ${r.reason ?? ''}`);
      byLanguage.set(r.language, seen);
    }
    expect(Object.fromEntries([...byLanguage].map(([k, v]) => [k, [...v]]))).toEqual({
      de: ['planned de '], 'pt-BR': ['planned pt '], en: ['planned en '], ar: ['skipped - no template in the contact\'s language (ar) and no fallback'],
    });
    expect(res.planned).toBe(rows.rows.filter((r) => r.outcome === 'planned').length);
  });
});
