import { describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { useTestDb } from '../support/test-db.ts';
import { ManualClock } from '../../src/shared/clock.ts';
import { planCampaigns } from '../../src/campaigns/planner.ts';
import { parseCampaignSettings } from '../../src/campaigns/settings.ts';
import { setCampaignPaused } from '../../src/campaigns/campaign-store.ts';
import { seedClients, seedOwner, storeCampaigns } from './seed.ts';

const t = useTestDb();
const settings = parseCampaignSettings({ sendWindow: { start: '09:00', end: '10:00', days: [1, 2, 3, 4, 5, 6, 7] } });

async function outbox(db: typeof t.db) {
  const r = await sql<{ idempotency_key: string; to_address: string; not_before: Date; not_after: Date | null; account_id: number; kind: string; template: string; locale: string; data: Record<string, unknown>; state: string; defer_until: Date | null }>`
    SELECT idempotency_key, to_address, not_before, not_after, account_id, kind, template, locale, data, state, defer_until FROM outbox ORDER BY idempotency_key`.execute(db.kysely);
  return r.rows;
}

describe('planner', () => {
  it('plans a Christmas card for Germany, Brazil and Australia on each local morning, once however often it runs', async () => {
    const db = t.db;
    const clock = new ManualClock('2026-12-20T00:00:00Z');
    const ana = await seedOwner(db, 'Ana', 'ana@us.example');
    const ids = await seedClients(db, [
      { name: 'Berlin GmbH', country: 'DE', owner: ana.ownerId, language: 'de', contacts: [{ name: 'Karl', email: 'karl@berlin.example' }] },
      { name: 'Rio Ltda', country: 'BR', owner: ana.ownerId, contacts: [{ name: 'Paula', email: 'paula@rio.example', language: 'pt-BR' }] },
      { name: 'Sydney Pty', country: 'AU', owner: ana.ownerId, contacts: [{ name: 'Jack', email: 'jack@sydney.example' }, { name: 'No Mail' }] },
      { name: 'Shanghai Co', country: 'CN', owner: ana.ownerId, contacts: [{ name: 'Wang', email: 'wang@sh.example' }] },
    ]);
    const campaigns = await storeCampaigns(db, clock, [{ name: 'xmas', kind: 'holiday', audience: 'everyone', template: 'holiday-greeting', holidays: ['christmas'], daysBefore: 1 }], { everyone: {} });
    const first = await planCampaigns(db, { clock, settings, campaigns });
    expect(first.planned).toBe(3);
    expect(first.enqueued).toBe(3);
    const rows = await outbox(db);
    const at = Object.fromEntries(rows.map((r) => [r.to_address, new Date(r.not_before).toISOString()]));
    // 09:00 local plus a per-contact spread inside the 09:00-10:00 window.
    const spread = (id: number) => id % 60;
    const karl = ids.get('Berlin GmbH')!.contactIds[0]!;
    const paula = ids.get('Rio Ltda')!.contactIds[0]!;
    const jack = ids.get('Sydney Pty')!.contactIds[0]!;
    expect(at['karl@berlin.example']).toBe(new Date(Date.parse('2026-12-24T08:00:00Z') + spread(karl) * 60_000).toISOString());
    expect(at['paula@rio.example']).toBe(new Date(Date.parse('2026-12-24T12:00:00Z') + spread(paula) * 60_000).toISOString());
    expect(at['jack@sydney.example']).toBe(new Date(Date.parse('2026-12-23T22:00:00Z') + spread(jack) * 60_000).toISOString());
    expect(rows.every((r) => r.kind === 'greeting' && r.account_id === ana.accountId && r.template === 'holiday-greeting')).toBe(true);
    const karlRow = rows.find((r) => r.to_address === 'karl@berlin.example')!;
    expect(karlRow.locale).toBe('de');
    expect(karlRow.data).toMatchObject({ holiday: 'christmas', contact: { name: 'Karl' }, client: { name: 'Berlin GmbH', country: 'DE' }, sender: { name: 'Ana', email: 'ana@us.example' } });
    // The card must not arrive after Christmas day in the recipient's zone.
    expect(new Date(karlRow.not_after!).toISOString()).toBe('2026-12-25T22:59:59.999Z');
    const noMail = first.lines.find((l) => l.contact === 'No Mail');
    expect(noMail).toMatchObject({ outcome: 'skipped', reason: 'no valid address' });
    expect(first.lines.some((l) => l.client === 'Shanghai Co')).toBe(false);

    const second = await planCampaigns(db, { clock, settings, campaigns });
    expect(second.planned + second.deferred).toBe(0);
    expect(second.enqueued).toBe(0);
    expect((await outbox(db)).length).toBe(3);
  });

  it('says why a contact is left out: unsubscribed, no owner mailbox, holiday already passed', async () => {
    const db = t.db;
    const clock = new ManualClock('2026-12-25T23:30:00Z');
    const ana = await seedOwner(db, 'Ana', 'ana@us.example');
    await seedClients(db, [
      { name: 'Late GmbH', country: 'DE', owner: ana.ownerId, contacts: [{ name: 'Late', email: 'late@x.example' }] },
      { name: 'Orphan Inc', country: 'US', owner: null, contacts: [{ name: 'Orphan', email: 'o@y.example' }] },
      { name: 'Gone Ltd', country: 'GB', owner: ana.ownerId, contacts: [{ name: 'Gone', email: 'gone@z.example' }] },
    ]);
    await sql`INSERT INTO suppressions (address_key, reason, source) VALUES ('gone@z.example', 'one-click', 'unsubscribe')`.execute(db.kysely);
    const campaigns = await storeCampaigns(db, clock, [{ name: 'cards', kind: 'holiday', audience: {}, template: 'holiday-greeting', holidays: ['christmas', 'new-year'], daysBefore: 1 }]);
    const res = await planCampaigns(db, { clock, settings, campaigns });
    const why = Object.fromEntries(res.lines.map((l) => [`${l.contact}/${l.occurrence}`, `${l.outcome}: ${l.reason ?? ''}`]));
    expect(why['Late/christmas-2026']).toMatch(/^skipped: holiday .* already passed \(2026-12-25 in Europe\/Berlin\)/);
    expect(why['Late/new-year-2027']).toBe('planned: ');
    expect(why['Orphan/new-year-2027']).toMatch(/^skipped: no sending account/);
    expect(why['Gone/new-year-2027']).toBe('skipped: unsubscribed');
    // Christmas is over in Berlin (00:30 on the 26th): a passed card is not sent late.
    expect((await outbox(db)).map((r) => r.to_address)).toEqual(['late@x.example']);
  });

  it('defers a promotion by the 14-day rule and by the recipient\'s own holiday', async () => {
    const db = t.db;
    const clock = new ManualClock('2027-02-01T00:00:00Z');
    const ana = await seedOwner(db, 'Ana', 'ana@us.example');
    await seedClients(db, [
      { name: 'Beijing Co', country: 'CN', owner: ana.ownerId, contacts: [{ name: 'Li', email: 'li@bj.example' }] },
      { name: 'Paris SA', country: 'FR', owner: ana.ownerId, contacts: [{ name: 'Luc', email: 'luc@paris.example' }] },
    ]);
    const longSettings = { ...settings, horizonDays: 30 };
    const campaigns = await storeCampaigns(db, clock, [
      { name: 'push-a', kind: 'one-off', audience: {}, template: 'new-product-push', on: '2027-02-02' },
      { name: 'push-b', kind: 'one-off', audience: {}, template: 'new-product-push', on: '2027-02-08' },
    ]);
    const res = await planCampaigns(db, { clock, settings: longSettings, campaigns });
    const got = Object.fromEntries(res.lines.map((l) => [`${l.campaign}/${l.contact}`, l]));
    // Li (China): push-a on 02-02 is fine; push-b on 02-08 falls in Spring Festival week (02-05..02-12) and within 14 days of push-a -> 02-16.
    expect(got['push-a/Li']).toMatchObject({ outcome: 'planned' });
    expect(got['push-b/Li']).toMatchObject({ outcome: 'deferred' });
    expect(got['push-b/Li']!.reason).toMatch(/spring-festival|14-day/);
    expect(got['push-b/Luc']).toMatchObject({ outcome: 'deferred' });
    expect(got['push-b/Luc']!.reason).toContain('14-day gap: capped until 2027-02-16');
    const rows = await outbox(db);
    const luc = rows.find((r) => r.idempotency_key === `campaign:push-b:2027-02-08:${got['push-b/Luc']!.contactId}`)!;
    expect(new Date(luc.not_before).toISOString().slice(0, 10)).toBe('2027-02-16');
    expect(luc.kind).toBe('promotion');
    // Holiday alone: a promotion on a Chinese client's Spring Festival week moves past it.
    const solo = await storeCampaigns(db, clock, [{ name: 'push-cny', kind: 'one-off', audience: { countries: ['CN'] }, template: 'new-product-push', on: '2027-02-20' }]);
    await sql`DELETE FROM campaign_decisions`.execute(db.kysely);
    await sql`DELETE FROM outbox`.execute(db.kysely);
    const clock2 = new ManualClock('2028-01-20T00:00:00Z');
    const cny = await storeCampaigns(db, clock2, [{ name: 'push-cny', kind: 'one-off', audience: { countries: ['CN'] }, template: 'new-product-push', on: '2028-01-27' }]);
    expect(solo.length).toBe(1);
    const r2 = await planCampaigns(db, { clock: clock2, settings: longSettings, campaigns: cny });
    // Spring Festival 2028-01-26: quiet 01-25..02-01 -> first day 02-02.
    expect(r2.lines[0]).toMatchObject({ outcome: 'deferred' });
    expect(r2.lines[0]!.reason).toContain("recipient's holiday (spring-festival)");
    expect(r2.lines[0]!.sendAt!.toISOString().slice(0, 10)).toBe('2028-02-02');
  });

  it('plans a 29 February birthday on 28 February in a common year', async () => {
    const db = t.db;
    const clock = new ManualClock('2027-02-25T00:00:00Z');
    const ana = await seedOwner(db, 'Ana', 'ana@us.example');
    await seedClients(db, [{ name: 'Leap Co', country: 'GB', owner: ana.ownerId, contacts: [{ name: 'Leapling', email: 'leap@x.example', birthday: '1992-02-29' }, { name: 'Other', email: 'o@x.example', birthday: '1980-07-01' }] }]);
    const campaigns = await storeCampaigns(db, clock, [{ name: 'birthdays', kind: 'personal', audience: {}, template: 'birthday' }]);
    const res = await planCampaigns(db, { clock, settings, campaigns });
    expect(res.lines.map((l) => [l.contact, l.occurrence, l.outcome, l.sendAt?.toISOString().slice(0, 10)])).toEqual([['Leapling', 'birthday-2027', 'planned', '2027-02-28']]);
  });

  it('pauses a campaign: nothing new is planned, unsent rows wait, resume releases each once', async () => {
    const db = t.db;
    const clock = new ManualClock('2027-03-01T00:00:00Z');
    const ana = await seedOwner(db, 'Ana', 'ana@us.example');
    await seedClients(db, [{ name: 'A', country: 'DE', owner: ana.ownerId, contacts: [{ name: 'A1', email: 'a1@a.example' }] }]);
    let [monthly] = await storeCampaigns(db, clock, [{ name: 'monthly', kind: 'recurring', every: 'month', day: 5, audience: {}, template: 'monthly-card' }]);
    await planCampaigns(db, { clock, settings, campaigns: [monthly!] });
    expect((await outbox(db)).length).toBe(1);
    await setCampaignPaused(db, 'monthly', true, clock);
    expect((await outbox(db))[0]!.defer_until).not.toBeNull();
    [monthly] = await storeCampaigns(db, clock, [{ name: 'monthly', kind: 'recurring', every: 'month', day: 5, audience: {}, template: 'monthly-card' }]);
    expect(monthly!.paused).toBe(true);
    clock.set('2027-03-30T00:00:00Z');
    const res = await planCampaigns(db, { clock, settings, campaigns: [monthly!] });
    expect(res.planned).toBe(0);
    await setCampaignPaused(db, 'monthly', false, clock);
    const rows = await outbox(db);
    expect(rows.length).toBe(1);
    expect(rows[0]!.defer_until).toBeNull();
  });
});
