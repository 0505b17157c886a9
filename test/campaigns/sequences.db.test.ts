import { describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { testBackend, useTestDb } from '../support/test-db.ts';
import { ManualClock } from '../../src/shared/clock.ts';
import { planCampaigns } from '../../src/campaigns/planner.ts';
import { parseCampaignSettings } from '../../src/campaigns/settings.ts';
import { stopEnrolmentsByHand } from '../../src/campaigns/sequences.ts';
import { seedClients, seedOwner, storeCampaigns } from './seed.ts';

const t = useTestDb();
const settings = parseCampaignSettings({ sendWindow: { start: '09:00', end: '10:00', days: [1, 2, 3, 4, 5, 6, 7] } });

async function inbound(db: typeof t.db, clientId: number, from: string, at: string, subject: string, headers: Record<string, string> = {}, text = 'Thanks') {
  const th = await sql<{ id: number }>`INSERT INTO threads (subject, normalized_subject, client_id) VALUES (${subject}, ${subject.toLowerCase()}, ${clientId}) RETURNING id`.execute(db.kysely);
  await sql`INSERT INTO messages (message_id, content_hash, thread_id, direction, from_address, subject, sent_at, headers, text_body)
    VALUES (${`${Math.random()}@x`}, ${String(Math.random())}, ${th.rows[0]!.id}, 'inbound', ${from}, ${subject}, ${at}, ${JSON.stringify(headers)}::jsonb, ${text})`.execute(db.kysely);
}

async function states(db: typeof t.db) {
  const r = await sql<{ occurrence: string; state: string }>`SELECT occurrence, state FROM outbox ORDER BY occurrence`.execute(db.kysely);
  return r.rows.map((x) => `${x.occurrence}:${x.state}`);
}

const followUp = { name: 'follow-up', kind: 'sequence', trigger: 'inquiry', audience: {}, template: 'follow-up', steps: [{ afterDays: 2, data: { step: 1 } }, { afterDays: 3 }, { afterDays: 4 }] };

async function setup(db: typeof t.db, clock: ManualClock) {
  const ana = await seedOwner(db, 'Ana', 'ana@us.example');
  const ids = await seedClients(db, [{ name: 'Acme', country: 'GB', owner: ana.ownerId, contacts: [{ name: 'Buyer', email: 'buyer@acme.example' }, { name: 'Engineer', email: 'eng@acme.example', department: 'technical' }] }]);
  const acme = ids.get('Acme')!;
  await sql`INSERT INTO inquiries (client_id, contact_id, ref, received_at, product, status) VALUES (${acme.clientId}, ${acme.contactIds[0]}, 'RFQ-1', '2027-03-01T10:00:00Z', 'valves', 'open')`.execute(db.kysely);
  const campaigns = await storeCampaigns(db, clock, [followUp]);
  return { acme, campaigns };
}

describe('triggered sequences', () => {
  it('follows up an inquiry step by step and stops when another contact of the same client replies', async () => {
    const db = t.db;
    const clock = new ManualClock('2027-03-02T00:00:00Z');
    const { acme, campaigns } = await setup(db, clock);
    const first = await planCampaigns(db, { clock, settings, campaigns });
    expect(first.sequences.enrolled).toBe(1); // the inquiry's own contact only
    expect(await states(db)).toEqual(['inquiry-1-step1:planned', 'inquiry-1-step2:planned']);
    // An auto-reply from the client does not stop it.
    await inbound(db, acme.clientId, 'buyer@acme.example', '2027-03-02T12:00:00Z', 'Automatic reply: RFQ-1', { 'auto-submitted': 'auto-replied' }, 'I am travelling.');
    clock.set('2027-03-03T00:00:00Z');
    expect((await planCampaigns(db, { clock, settings, campaigns })).sequences.stopped).toBe(0);
    // The engineer (a different contact of the same client) answers.
    await inbound(db, acme.clientId, 'eng@acme.example', '2027-03-03T08:00:00Z', 'Re: RFQ-1');
    clock.set('2027-03-04T00:00:00Z');
    const after = await planCampaigns(db, { clock, settings, campaigns });
    expect(after.sequences.stopped).toBe(1);
    const e = await sql<{ state: string; stop_reason: string; stop_detail: string }>`SELECT state, stop_reason, stop_detail FROM campaign_enrolments`.execute(db.kysely);
    expect(e.rows[0]).toMatchObject({ state: 'stopped', stop_reason: 'reply' });
    expect(e.rows[0]!.stop_detail).toContain('eng@acme.example');
    // Step 3 (due 03-10) entered the 7-day horizon on 03-03: every queued step is cancelled.
    expect(await states(db)).toEqual(['inquiry-1-step1:cancelled', 'inquiry-1-step2:cancelled', 'inquiry-1-step3:cancelled']);
    const why = await sql<{ reason: string }>`SELECT DISTINCT reason FROM campaign_decisions`.execute(db.kysely);
    expect(why.rows.map((r) => r.reason)).toEqual([expect.stringContaining('sequence stopped: reply')]);
    clock.set('2027-03-09T00:00:00Z');
    await planCampaigns(db, { clock, settings, campaigns });
    expect(await states(db)).toEqual(['inquiry-1-step1:cancelled', 'inquiry-1-step2:cancelled', 'inquiry-1-step3:cancelled']);
  });

  it('pauses on an out-of-office until the return date, and stops by hand', async () => {
    const db = t.db;
    const clock = new ManualClock('2027-03-01T12:00:00Z');
    const { acme, campaigns } = await setup(db, clock);
    await inbound(db, acme.clientId, 'buyer@acme.example', '2027-03-01T12:30:00Z', 'Out of office', { 'auto-submitted': 'auto-replied' }, 'I am out of the office and will be back on 20 March.');
    clock.set('2027-03-02T00:00:00Z');
    const res = await planCampaigns(db, { clock, settings, campaigns });
    expect(res.sequences.paused).toBe(1);
    expect(await states(db)).toEqual([]);
    clock.set('2027-03-19T00:00:00Z');
    await planCampaigns(db, { clock, settings, campaigns });
    expect(await states(db)).toEqual(['inquiry-1-step1:planned', 'inquiry-1-step2:planned', 'inquiry-1-step3:planned']);
    const stopped = await stopEnrolmentsByHand(db.kysely, campaigns[0]!.id, acme.contactIds[0]!, clock.now(), 'called instead');
    expect(stopped).toBe(1);
    expect(await states(db)).toEqual(['inquiry-1-step1:cancelled', 'inquiry-1-step2:cancelled', 'inquiry-1-step3:cancelled']);
  });

  it('stops when an order arrives', async () => {
    const db = t.db;
    const clock = new ManualClock('2027-03-02T00:00:00Z');
    const { acme, campaigns } = await setup(db, clock);
    await planCampaigns(db, { clock, settings, campaigns });
    await sql`INSERT INTO orders (client_id, order_no, ordered_on, created_at) VALUES (${acme.clientId}, 'PO-9', '2027-03-02', '2027-03-02T10:00:00Z')`.execute(db.kysely);
    clock.set('2027-03-03T00:00:00Z');
    const res = await planCampaigns(db, { clock, settings, campaigns });
    expect(res.sequences.stopped).toBe(1);
    const e = await sql<{ stop_reason: string }>`SELECT stop_reason FROM campaign_enrolments`.execute(db.kysely);
    expect(e.rows[0]!.stop_reason).toBe('order');
  });
});

describe('triggered sequences: unsubscribe', () => {
  it('stops when the contact unsubscribes, cancelling its queued steps', async () => {
    const db = t.db;
    const clock = new ManualClock('2027-03-02T00:00:00Z');
    const { campaigns } = await setup(db, clock);
    await planCampaigns(db, { clock, settings, campaigns });
    expect(await states(db)).toEqual(['inquiry-1-step1:planned', 'inquiry-1-step2:planned']);
    await sql`INSERT INTO suppressions (address_key, reason, source) VALUES ('buyer@acme.example', 'one-click', 'unsubscribe')`.execute(db.kysely);
    clock.set('2027-03-02T06:00:00Z');
    const res = await planCampaigns(db, { clock, settings, campaigns });
    expect(res.sequences.stopped).toBe(1);
    const e = await sql<{ stop_reason: string }>`SELECT stop_reason FROM campaign_enrolments`.execute(db.kysely);
    expect(e.rows[0]!.stop_reason).toBe('unsubscribe');
    expect(await states(db)).toEqual(['inquiry-1-step1:cancelled', 'inquiry-1-step2:cancelled']);
  });
});

describe('concurrency', () => {
  it.skipIf(testBackend === 'pglite')('adds each row once when two planner processes run at once (PostgreSQL only: PGlite is single-process)', async () => {
    const db = t.db;
    const clock = new ManualClock('2026-12-20T00:00:00Z');
    const ana = await seedOwner(db, 'Ana', 'ana@us.example');
    await sql`INSERT INTO clients (name, name_key, country, owner_id) SELECT 'C' || g, 'c' || g, (ARRAY['DE','BR','AU','US','FR'])[1 + g % 5], ${ana.ownerId} FROM generate_series(1, 300) g`.execute(db.kysely);
    await sql`INSERT INTO contacts (client_id, name) SELECT id, 'K' || id FROM clients`.execute(db.kysely);
    await sql`INSERT INTO contact_emails (contact_id, address, is_primary) SELECT id, 'k' || id || '@x.example', true FROM contacts`.execute(db.kysely);
    await storeCampaigns(db, clock, [
      { name: 'xmas', kind: 'holiday', audience: {}, template: 'holiday-greeting', holidays: ['christmas'], daysBefore: 1 },
      { name: 'monthly', kind: 'recurring', every: 'month', day: 22, audience: {}, template: 'monthly-card' },
    ]);
    const worker = fileURLToPath(new URL('./plan-worker.ts', import.meta.url));
    const run = () => new Promise<string>((resolve, reject) => {
      const p = spawn(process.execPath, ['--import', 'tsx', worker], { env: { ...process.env, RAPPORT_TEST_URL: db.url, RAPPORT_TEST_NOW: clock.now().toISOString() } });
      let out = '';
      let err = '';
      p.stdout.on('data', (d: Buffer) => (out += d.toString()));
      p.stderr.on('data', (d: Buffer) => (err += d.toString()));
      p.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`worker exited ${code}: ${err}`))));
    });
    const outs = await Promise.all([run(), run()]);
    const parsed = outs.map((o) => JSON.parse(o.trim()) as { planned: number; enqueued: number });
    // Christmas: 240 clients keep it (DE, BR, AU, US; not FR? FR does) -> count from the outbox itself.
    const n = await sql<{ n: number; k: number }>`SELECT count(*)::int AS n, count(DISTINCT idempotency_key)::int AS k FROM outbox`.execute(db.kysely);
    expect(n.rows[0]!.n).toBe(n.rows[0]!.k);
    expect(parsed[0]!.planned + parsed[1]!.planned).toBe(n.rows[0]!.n);
    expect(parsed[0]!.enqueued + parsed[1]!.enqueued).toBe(n.rows[0]!.n);
    expect(n.rows[0]!.n).toBe(600);
    const d = await sql<{ n: number }>`SELECT count(*)::int AS n FROM campaign_decisions`.execute(db.kysely);
    expect(d.rows[0]!.n).toBe(600);
  }, 60_000);
});
