import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { useTestDb } from '../support/test-db.ts';
import { ManualClock } from '../../src/shared/clock.ts';
import { planCampaigns } from '../../src/campaigns/planner.ts';
import { parseCampaignSettings } from '../../src/campaigns/settings.ts';
import { setCampaignPaused } from '../../src/campaigns/campaign-store.ts';
import { loadTemplateLibrary, type TemplateLibrary } from '../../src/templates/index.ts';
import { parseOutboundSettings, runSender, SmtpTransports } from '../../src/outbound/index.ts';
import { startSink } from '../outbound/smtp-sink.ts';
import { seedClients, seedOwner, storeCampaigns } from './seed.ts';

const t = useTestDb();
const root = path.resolve(import.meta.dirname, '../..');
const settings = parseCampaignSettings({ sendWindow: { start: '09:00', end: '10:00', days: [1, 2, 3, 4, 5, 6, 7] } });
let lib: TemplateLibrary;

beforeAll(async () => {
  lib = await loadTemplateLibrary(path.join(root, 'templates'), { cacheDir: false });
});
afterAll(() => lib?.close());

interface Row { id: number; idempotency_key: string; occurrence: string; to_address: string; not_before: Date; kind: string; template: string; locale: string; data: Record<string, unknown>; state: string }
async function outbox(): Promise<Row[]> {
  const r = await sql<Row>`SELECT id, idempotency_key, occurrence, to_address, not_before, kind, template, locale, data, state FROM outbox ORDER BY occurrence, to_address`.execute(t.db.kysely);
  return r.rows;
}

/** Renders an outbox row the way the sender does (with the unsubscribe link it adds). */
function render(r: Row) {
  return lib.render(r.template, r.locale, { ...r.data, unsubscribeUrl: 'https://us.example/u/x' });
}

describe('campaign kinds end to end (outbox data renders with the real templates)', { timeout: 120_000 }, () => {
  it('fills a quarterly VIP summary with the figures of the quarter before from orders', async () => {
    const db = t.db;
    const clock = new ManualClock('2027-03-30T00:00:00Z');
    const ana = await seedOwner(db, 'Ana', 'ana@us.example');
    const ids = await seedClients(db, [
      { name: 'Key GmbH', country: 'DE', owner: ana.ownerId, tier: 'key', contacts: [{ name: 'Karl', email: 'karl@key.example', language: 'de' }] },
      { name: 'Small SARL', country: 'FR', owner: ana.ownerId, tier: 'small', contacts: [{ name: 'Luc', email: 'luc@small.example' }] },
    ]);
    const key = ids.get('Key GmbH')!.clientId;
    const orders = await sql<{ id: number; order_no: string }>`INSERT INTO orders (client_id, order_no, ordered_on, status, amount, currency) VALUES
      (${key}, 'PO-1', '2027-01-10', 'shipped', 1000, 'EUR'), (${key}, 'PO-2', '2027-02-20', 'in_production', 500, 'EUR'),
      (${key}, 'PO-X', '2027-03-01', 'cancelled', 9999, 'EUR'), (${key}, 'PO-0', '2026-12-20', 'selling', 7777, 'EUR') RETURNING id, order_no`.execute(db.kysely);
    const oid = Object.fromEntries(orders.rows.map((o) => [o.order_no, Number(o.id)]));
    await sql`INSERT INTO order_lines (order_id, product, quantity, amount) VALUES (${oid['PO-1']}, 'Tower 13', 10, 800), (${oid['PO-1']}, 'Covers', 20, 200),
      (${oid['PO-2']}, 'Halo heater', 5, 500), (${oid['PO-X']}, 'Cancelled thing', 1, 9999), (${oid['PO-0']}, 'Old thing', 1, 7777)`.execute(db.kysely);
    const campaigns = await storeCampaigns(db, clock, [{ name: 'vip-quarterly', kind: 'recurring', every: 'quarter', day: 5, audience: { tiers: ['key'] }, template: 'vip-summary', figures: true, data: { outlook: 'Two container loads next quarter.' } }]);
    const res = await planCampaigns(db, { clock, settings, campaigns, templates: lib });
    expect(res.lines.map((l) => [l.contact, l.occurrence, l.outcome])).toEqual([['Karl', '2027-Q2', 'planned']]);
    const [row] = await outbox();
    expect(row!.kind).toBe('vip');
    expect(row!.data).toMatchObject({
      period: { label: '2027-Q1', from: '2027-01-01', to: '2027-03-31' },
      currency: 'EUR',
      totals: { orders: 2, amount: 1500 },
      topProducts: [{ name: 'Tower 13', quantity: 10, amount: 800 }, { name: 'Halo heater', quantity: 5, amount: 500 }, { name: 'Covers', quantity: 20, amount: 200 }],
      orders: [{ orderNo: 'PO-1', date: '2027-01-10', products: 'Tower 13, Covers', amount: 1000, status: 'shipped' }, { orderNo: 'PO-2', date: '2027-02-20', products: 'Halo heater', amount: 500, status: 'in production' }],
      outlook: 'Two container loads next quarter.',
    });
    const mail = render(row!);
    expect(mail.text).toContain('Tower 13');
    expect(mail.text).toContain('PO-2');
    expect(mail.text).not.toContain('Cancelled thing');
    expect(mail.text).not.toContain('Old thing');
  });

  it('sends an order-status note when an order changes status, one per change', async () => {
    const db = t.db;
    const clock = new ManualClock('2027-05-10T12:00:00Z');
    const ana = await seedOwner(db, 'Ana', 'ana@us.example');
    const ids = await seedClients(db, [{ name: 'Acme Ltd', country: 'GB', owner: ana.ownerId, contacts: [{ name: 'Buyer', email: 'buyer@acme.example' }] }]);
    const acme = ids.get('Acme Ltd')!.clientId;
    const o = await sql<{ id: number }>`INSERT INTO orders (client_id, order_no, ordered_on, status, status_changed_at) VALUES
      (${acme}, 'PO-7', '2027-04-20', 'in_production', '2027-05-10T08:00:00Z'), (${acme}, 'PO-8', '2027-04-21', 'confirmed', '2027-05-10T08:00:00Z') RETURNING id`.execute(db.kysely);
    const po7 = Number(o.rows[0]!.id);
    await sql`INSERT INTO order_lines (order_id, product, quantity, unit) VALUES (${po7}, 'Halo wall heater', 480, 'pcs'), (${po7}, 'covers', 480, NULL)`.execute(db.kysely);
    const campaigns = await storeCampaigns(db, clock, [{ name: 'order-notes', kind: 'sequence', trigger: 'order-status', audience: {}, template: 'order-status', steps: [{ afterDays: 0 }] }]);
    const first = await planCampaigns(db, { clock, settings, campaigns, templates: lib });
    expect(first.sequences.enrolled).toBe(1); // PO-8 is only confirmed: no note
    let rows = await outbox();
    expect(rows.map((r) => r.occurrence)).toEqual([`order-${po7}-in_production-step1`]);
    expect(rows[0]!.data).toMatchObject({ status: 'production', orderStatus: 'in_production', order: { no: 'PO-7', products: '480 pcs Halo wall heater, 480 covers' } });
    expect(render(rows[0]!).subject).toContain('PO-7');
    // Shipped two days later: a second note, the first one untouched; re-planning adds nothing.
    await sql`UPDATE orders SET status = 'shipped', status_changed_at = '2027-05-12T07:00:00Z' WHERE id = ${po7}`.execute(db.kysely);
    clock.set('2027-05-12T08:00:00Z');
    const second = await planCampaigns(db, { clock, settings, campaigns, templates: lib });
    expect(second.sequences.enrolled).toBe(1);
    expect((await planCampaigns(db, { clock, settings, campaigns, templates: lib })).planned).toBe(0);
    rows = await outbox();
    expect(rows.map((r) => [r.occurrence, r.data.status])).toEqual([[`order-${po7}-in_production-step1`, 'production'], [`order-${po7}-shipped-step1`, 'shipped']]);
    expect(render(rows[1]!).subject).toMatch(/PO-7.*shipped/);
  });

  it('starts the dormant wake-up when a client turns dormant, with its last order', async () => {
    const db = t.db;
    const clock = new ManualClock('2027-05-03T00:00:00Z');
    const ana = await seedOwner(db, 'Ana', 'ana@us.example');
    const ids = await seedClients(db, [
      { name: 'Old Co', country: 'NL', owner: ana.ownerId, contacts: [{ name: 'Piet', email: 'piet@old.example', department: 'management' }, { name: 'Jan', email: 'jan@old.example' }] },
      { name: 'Busy Co', country: 'NL', owner: ana.ownerId, contacts: [{ name: 'Els', email: 'els@busy.example' }] },
    ]);
    const old = ids.get('Old Co')!.clientId;
    const o = await sql<{ id: number }>`INSERT INTO orders (client_id, order_no, ordered_on, status, created_at) VALUES (${old}, 'PO-3', '2025-06-01', 'selling', '2025-06-01T00:00:00Z') RETURNING id`.execute(db.kysely);
    await sql`INSERT INTO order_lines (order_id, product, amount) VALUES (${o.rows[0]!.id}, 'Covers', 10), (${o.rows[0]!.id}, 'Tower 13 patio heaters', 900)`.execute(db.kysely);
    const campaigns = await storeCampaigns(db, clock, [{
      name: 'wake-up', kind: 'sequence', trigger: 'dormant', audience: { onePerClient: true }, template: 'dormant-wakeup',
      data: { angle: 'manager', ctaUrl: 'https://us.example/quote' }, steps: [{ afterDays: 0 }, { afterDays: 45, data: { angle: 'new-plan' } }],
    }]);
    // Not dormant yet: nobody is enrolled.
    expect((await planCampaigns(db, { clock, settings, campaigns, templates: lib })).sequences.enrolled).toBe(0);
    await sql`INSERT INTO client_segments (client_id, age, age_reason, tier, tier_reason, dormant, computed_at) VALUES (${old}, 'old', 'r', 'small', 'r', 'no order for 23 months', '2027-05-03T06:00:00Z')`.execute(db.kysely);
    clock.set('2027-05-03T07:00:00Z');
    const res = await planCampaigns(db, { clock, settings, campaigns, templates: lib });
    expect(res.sequences.enrolled).toBe(1);
    const rows = await outbox();
    expect(rows.map((r) => [r.to_address, r.occurrence, r.kind])).toEqual([['piet@old.example', 'dormant-2025-06-01-step1', 'promotion']]);
    expect(rows[0]!.data).toMatchObject({ angle: 'manager', lastOrder: { date: '2025-06-01', product: 'Tower 13 patio heaters' } });
    expect(render(rows[0]!).text).toContain('since June 2025');
    // A re-plan on unchanged data enrols nobody twice and adds no row.
    const again = await planCampaigns(db, { clock, settings, campaigns, templates: lib });
    expect([again.sequences.enrolled, again.planned]).toEqual([0, 0]);
  });

  it('serves one budget per contact in priority order: personal, greeting, VIP, promotion', async () => {
    const db = t.db;
    const clock = new ManualClock('2027-06-14T00:00:00Z');
    const ana = await seedOwner(db, 'Ana', 'ana@us.example');
    await seedClients(db, [{ name: 'Key GmbH', country: 'DE', owner: ana.ownerId, tier: 'key', contacts: [{ name: 'Karl', email: 'karl@key.example', birthday: '1970-06-15' }] }]);
    // Names sort against the priority order, so the order cannot come from the names.
    const campaigns = await storeCampaigns(db, clock, [
      { name: 'a-push', kind: 'one-off', on: '2027-06-15', audience: {}, template: 'new-product-push' },
      { name: 'b-vip', kind: 'recurring', every: 'quarter', month: 3, day: 15, audience: {}, template: 'vip-summary' },
      { name: 'c-monthly', kind: 'recurring', every: 'month', day: 15, audience: {}, template: 'monthly-card', overBudget: 'defer' },
      { name: 'd-birthdays', kind: 'personal', audience: {}, template: 'birthday' },
      { name: 'e-monthly-drop', kind: 'recurring', every: 'month', day: 15, audience: {}, template: 'monthly-card' },
    ]);
    const res = await planCampaigns(db, { clock, settings, campaigns });
    const got = Object.fromEntries(res.lines.map((l) => [l.campaign, [l.outcome, l.sendAt?.toISOString().slice(0, 10) ?? null]]));
    expect(got).toEqual({
      'd-birthdays': ['planned', '2027-06-15'],
      'c-monthly': ['deferred', '2027-06-16'],
      'e-monthly-drop': ['skipped', null],
      'b-vip': ['deferred', '2027-06-17'],
      'a-push': ['deferred', '2027-06-18'],
    });
    const why = Object.fromEntries(res.lines.map((l) => [l.campaign, l.reason]));
    expect(why['c-monthly']).toBe('deferred from 2027-06-15: day budget used (1 mail on 2027-06-15)');
    expect(why['e-monthly-drop']).toMatch(/^day budget used .* \(dropped by the campaign's rule\)$/);
    const kinds = (await outbox()).map((r) => `${r.kind}@${new Date(r.not_before).toISOString().slice(0, 10)}`).sort();
    expect(kinds).toEqual(['greeting@2027-06-16', 'personal@2027-06-15', 'promotion@2027-06-18', 'vip@2027-06-17']);
  });

  it('moves lower-priority mail planned in an earlier run off the day a personal mail takes, or drops it per its rule', async () => {
    const db = t.db;
    const clock = new ManualClock('2027-06-03T00:00:00Z');
    const ana = await seedOwner(db, 'Ana', 'ana@us.example');
    const ids = await seedClients(db, [
      { name: 'One GmbH', country: 'DE', owner: ana.ownerId, contacts: [{ name: 'Uwe', email: 'uwe@one.example', birthday: '1975-06-10' }] },
      { name: 'Two GmbH', country: 'DE', owner: ana.ownerId, contacts: [{ name: 'Tina', email: 'tina@two.example', birthday: '1980-06-10' }] },
    ]);
    const stored = await storeCampaigns(db, clock, [
      { name: 'push', kind: 'one-off', on: '2027-06-10', audience: { clientIds: [ids.get('One GmbH')!.clientId] }, template: 'new-product-push' },
      { name: 'zz-monthly', kind: 'recurring', every: 'month', day: 10, audience: { clientIds: [ids.get('Two GmbH')!.clientId] }, template: 'monthly-card' },
      { name: 'birthdays', kind: 'personal', audience: {}, template: 'birthday' },
    ]);
    const byName = (n: string) => stored.find((c) => c.name === n)!;
    const [push, monthly, birthdays] = [byName('push'), byName('zz-monthly'), byName('birthdays')];
    // The push and the monthly card are planned first (run-now of each) ...
    await planCampaigns(db, { clock, settings, campaigns: [push, monthly] });
    const day = async () => (await outbox()).map((r) => `${r.to_address} ${r.kind} ${r.state} ${new Date(r.not_before).toISOString().slice(0, 10)}`);
    expect((await day()).sort()).toEqual(['tina@two.example greeting planned 2027-06-10', 'uwe@one.example promotion planned 2027-06-10']);
    // ... then the birthdays: each takes the 10th; the push moves a day, the card (a dated greeting) is dropped.
    const res = await planCampaigns(db, { clock, settings, campaigns: [birthdays] });
    expect(res.moved).toBe(2);
    const why = Object.fromEntries(res.lines.map((l) => [`${l.campaign}/${l.contact}`, `${l.outcome}: ${l.reason ?? ''}`]));
    expect(why).toEqual({
      'birthdays/Uwe': 'planned: ',
      'birthdays/Tina': 'planned: ',
      'push/Uwe': 'deferred: moved from 2027-06-10 to 2027-06-11: a personal mail takes 2027-06-10',
      'zz-monthly/Tina': "skipped: a personal mail takes 2027-06-10; day budget used (1 mail on 2027-06-10) (dropped by the campaign's rule)",
    });
    expect((await day()).sort()).toEqual([
      'tina@two.example greeting cancelled 2027-06-10', 'tina@two.example personal planned 2027-06-10',
      'uwe@one.example personal planned 2027-06-10', 'uwe@one.example promotion planned 2027-06-11',
    ]);
    const d = await sql<{ occurrence: string; outcome: string; send_on: string | null }>`SELECT occurrence, outcome, send_on::text FROM campaign_decisions ORDER BY campaign_id, contact_id`.execute(db.kysely);
    expect(d.rows.map((r) => `${r.occurrence} ${r.outcome} ${r.send_on ?? '-'}`)).toEqual(['2027-06-10 deferred 2027-06-11', '2027-06 skipped -', 'birthday-2027 planned 2027-06-10', 'birthday-2027 planned 2027-06-10']);
    // Planning everything again changes nothing.
    const again = await planCampaigns(db, { clock, settings, campaigns: [push, monthly, birthdays] });
    expect([again.planned, again.deferred, again.moved, again.enqueued]).toEqual([0, 0, 0, 0]);
    expect((await day()).sort()).toEqual([
      'tina@two.example greeting cancelled 2027-06-10', 'tina@two.example personal planned 2027-06-10',
      'uwe@one.example personal planned 2027-06-10', 'uwe@one.example promotion planned 2027-06-11',
    ]);
  });

  it('plans recorded personal events: a yearly wedding anniversary and a one-time new child, with the note', async () => {
    const db = t.db;
    const clock = new ManualClock('2027-09-01T00:00:00Z');
    const ana = await seedOwner(db, 'Ana', 'ana@us.example');
    const ids = await seedClients(db, [{ name: 'Lyon SA', country: 'FR', owner: ana.ownerId, contacts: [{ name: 'Marie', email: 'marie@lyon.example' }, { name: 'Paul', email: 'paul@lyon.example' }] }]);
    const [marie, paul] = ids.get('Lyon SA')!.contactIds;
    await sql`INSERT INTO personal_events (contact_id, kind, occurred_on, recurring, note) VALUES
      (${marie}, 'wedding', '2015-09-04', true, 'married in Annecy'), (${paul}, 'new_child', '2027-09-06', false, 'a daughter, Léa'),
      (${paul}, 'new_child', '2026-09-06', false, 'last year: not again'), (${marie}, 'illness', '2027-09-03', false, 'not a campaign event')`.execute(db.kysely);
    const campaigns = await storeCampaigns(db, clock, [{ name: 'moments', kind: 'personal', events: ['wedding', 'new_child'], daysBefore: 1, audience: {}, template: 'birthday' }]);
    const res = await planCampaigns(db, { clock, settings, campaigns });
    expect([...res.lines].sort((a, b) => a.contact.localeCompare(b.contact)).map((l) => [l.contact, l.occurrence.replace(/-\d+-/, '-N-'), l.outcome, l.sendAt?.toISOString().slice(0, 10)])).toEqual([
      ['Marie', 'wedding-N-2027', 'planned', '2027-09-03'],
      ['Paul', expect.stringMatching(/^new_child-\d+$/), 'planned', '2027-09-05'],
    ]);
    const data = Object.fromEntries((await outbox()).map((r) => [r.to_address, r.data]));
    expect(data['marie@lyon.example']).toMatchObject({ event: 'wedding', note: 'married in Annecy', years: 12, eventDate: '2027-09-04' });
    expect(data['paul@lyon.example']).toMatchObject({ event: 'new_child', note: 'a daughter, Léa', eventDate: '2027-09-06' });
  });

  it('keeps a monthly card at 09:00 local in New York and Berlin across their daylight-saving changes', async () => {
    const db = t.db;
    const clock = new ManualClock('2027-02-10T00:00:00Z');
    const ana = await seedOwner(db, 'Ana', 'ana@us.example');
    await seedClients(db, [
      { name: 'NY Inc', country: 'US', owner: ana.ownerId, contacts: [{ name: 'Nina', email: 'nina@ny.example', timeZone: 'America/New_York' }] },
      { name: 'Berlin GmbH', country: 'DE', owner: ana.ownerId, contacts: [{ name: 'Bernd', email: 'bernd@berlin.example' }] },
    ]);
    // A one-minute window: no spread, so the instant is exactly 09:00 local.
    const exact = parseCampaignSettings({ sendWindow: { start: '09:00', end: '09:01', days: [1, 2, 3, 4, 5, 6, 7] } });
    const campaigns = await storeCampaigns(db, clock, [{ name: 'monthly', kind: 'recurring', every: 'month', day: 14, audience: {}, template: 'monthly-card' }]);
    for (const now of ['2027-02-10T00:00:00Z', '2027-03-10T00:00:00Z', '2027-04-10T00:00:00Z']) {
      clock.set(now);
      await planCampaigns(db, { clock, settings: exact, campaigns });
    }
    const at = (await outbox()).map((r) => `${r.occurrence} ${r.to_address} ${new Date(r.not_before).toISOString()}`);
    expect(at).toEqual([
      '2027-02 bernd@berlin.example 2027-02-14T08:00:00.000Z',
      '2027-02 nina@ny.example 2027-02-14T14:00:00.000Z',
      '2027-03 bernd@berlin.example 2027-03-14T08:00:00.000Z', // Berlin still on CET
      '2027-03 nina@ny.example 2027-03-14T13:00:00.000Z', // New York changed to EDT that very night
      '2027-04 bernd@berlin.example 2027-04-14T07:00:00.000Z', // CEST
      '2027-04 nina@ny.example 2027-04-14T13:00:00.000Z',
    ]);
  });

  it('pause holds unsent rows from the sender; resume sends each exactly once', async () => {
    const db = t.db;
    const sink = await startSink();
    const transportsSettings = parseOutboundSettings({ throttles: false });
    const transports = new SmtpTransports(db, { settings: transportsSettings, credentials: async () => null });
    try {
      const clock = new ManualClock('2027-03-01T00:00:00Z');
      const ana = await seedOwner(db, 'Ana', 'ana@us.example');
      await sql`UPDATE mail_accounts SET smtp_host = '127.0.0.1', smtp_port = ${sink.port}, smtp_tls = 'none', smtp_user = 'ana' WHERE id = ${ana.accountId}`.execute(db.kysely);
      await seedClients(db, [{ name: 'A', country: 'GB', owner: ana.ownerId, contacts: [{ name: 'A1', email: 'a1@a.example' }, { name: 'A2', email: 'a2@a.example' }, { name: 'A3', email: 'a3@a.example' }] }]);
      const campaigns = await storeCampaigns(db, clock, [{ name: 'monthly', kind: 'recurring', every: 'month', day: 2, audience: {}, template: 'monthly-card' }]);
      expect((await planCampaigns(db, { clock, settings, campaigns, templates: lib })).enqueued).toBe(3);
      await setCampaignPaused(db, 'monthly', true, clock);
      const sendAt = new ManualClock('2027-03-02T11:00:00Z'); // after every row's slot
      const deps = { db, settings: transportsSettings, clock: sendAt, transports, renderer: lib };
      await runSender(deps, { once: true });
      expect(sink.mails.length).toBe(0);
      expect((await outbox()).map((r) => r.state)).toEqual(['planned', 'planned', 'planned']);
      // Paused: a plan run adds nothing for the campaign.
      const [paused] = await storeCampaigns(db, sendAt, [{ name: 'monthly', kind: 'recurring', every: 'month', day: 2, audience: {}, template: 'monthly-card' }]);
      expect((await planCampaigns(db, { clock: sendAt, settings, campaigns: [paused!], templates: lib })).planned).toBe(0);
      expect((await setCampaignPaused(db, 'monthly', false, sendAt)).held).toBe(3);
      // Resumed twice (a double click) and the sender run twice: each row goes out once.
      expect((await setCampaignPaused(db, 'monthly', false, sendAt)).held).toBe(0);
      await runSender(deps, { once: true });
      await runSender(deps, { once: true });
      const rows = await sql<{ message_id: string; state: string }>`SELECT message_id, state FROM outbox`.execute(db.kysely);
      expect(rows.rows.map((r) => r.state)).toEqual(['sent', 'sent', 'sent']);
      const counts = sink.counts();
      expect(rows.rows.map((r) => counts.get(r.message_id))).toEqual([1, 1, 1]);
      expect(sink.mails.length).toBe(3);
    } finally {
      await transports.closeAll();
      await sink.close();
    }
  });
});
