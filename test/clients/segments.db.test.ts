import { describe, expect, it } from 'vitest';
import { computeSegments, refreshSegments } from '../../src/clients/segments.ts';
import { deleteClient } from '../../src/clients/client-book.ts';
import { defaultSegmentSettings, parseSegmentSettings } from '../../src/clients/segment-settings.ts';
import type { Db } from '../../src/db/database.ts';
import { testBackend, useTestDb } from '../support/test-db.ts';

const AS_OF = '2026-06-30';

async function client(db: Db, name: string): Promise<number> {
  const row = await db.kysely.insertInto('clients').values({ name, name_key: name.toLowerCase() }).returning('id').executeTakeFirstOrThrow();
  return row.id;
}

async function order(db: Db, clientId: number, on: string, amount: number, lines: Array<[string, number]> = []): Promise<number> {
  const n = await db.kysely.selectFrom('orders').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  const row = await db.kysely.insertInto('orders').values({ client_id: clientId, order_no: `PO-${Number(n.n) + 1}`, ordered_on: on, amount }).returning('id').executeTakeFirstOrThrow();
  if (lines.length) await db.kysely.insertInto('order_lines').values(lines.map(([category, quantity]) => ({ order_id: row.id, product: `${category} item`, category, quantity }))).execute();
  return row.id;
}

function daysBefore(date: string, days: number): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() - days);
  return d.toISOString().slice(0, 10);
}

function of(segs: Awaited<ReturnType<typeof computeSegments>>, clientId: number): Record<string, string> {
  return Object.fromEntries(segs.filter((s) => s.clientId === clientId).map((s) => [s.segment, s.reason]));
}

describe(`segments on ${testBackend}`, () => {
  const t = useTestDb();

  it('a client with no orders is a prospect, small, and not contacted this year', async () => {
    const id = await client(t.db, 'Empty Co');
    const s = of(await computeSegments(t.db, defaultSegmentSettings, { asOf: AS_OF }), id);
    expect(s).toEqual({
      prospect: 'no order yet',
      'tier:small': 'no revenue in the last 365 days',
      'not-contacted-this-year': 'no call, visit, meeting, gift or logged mail since 2026-01-01',
    });
  });

  it('one order only: new, never dormant, never an anomaly', async () => {
    const id = await client(t.db, 'One Order');
    await order(t.db, id, '2024-01-10', 5000, [['valves', 100]]);
    const s = of(await computeSegments(t.db, defaultSegmentSettings, { asOf: AS_OF }), id);
    expect(s.new).toBe('1 completed order (old from 2)');
    expect(s.dormant).toBeUndefined();
    expect(s['order-anomaly']).toBeUndefined();
  });

  it('dormant shows the rule: median gap 41 days x 2.0 exceeded by 37 days', async () => {
    const id = await client(t.db, 'Regular');
    const last = daysBefore(AS_OF, 41 * 2 + 37);
    for (let i = 4; i >= 0; i--) await order(t.db, id, daysBefore(last, 41 * i), 1000);
    const s = of(await computeSegments(t.db, defaultSegmentSettings, { asOf: AS_OF }), id);
    expect(s.old).toBe('5 completed orders (old from 2)');
    expect(s.dormant).toBe(`median gap 41 days x 2.0 exceeded by 37 days (last order ${last})`);
  });

  it('an old client within its usual interval is not dormant', async () => {
    const id = await client(t.db, 'Active');
    const last = daysBefore(AS_OF, 50);
    for (let i = 3; i >= 0; i--) await order(t.db, id, daysBefore(last, 41 * i), 1000);
    const s = of(await computeSegments(t.db, defaultSegmentSettings, { asOf: AS_OF }), id);
    expect(s.dormant).toBeUndefined();
  });

  it('orders on the same day: the usual interval has a floor instead of 0 days', async () => {
    const id = await client(t.db, 'Same Day');
    const day = daysBefore(AS_OF, 100);
    await order(t.db, id, day, 1000);
    await order(t.db, id, day, 1000);
    const s = of(await computeSegments(t.db, defaultSegmentSettings, { asOf: AS_OF }), id);
    expect(s.old).toBeDefined();
    expect(s.dormant).toBe(`median gap 30 days x 2.0 exceeded by 40 days (last order ${day})`);
    const soon = of(await computeSegments(t.db, defaultSegmentSettings, { asOf: daysBefore(AS_OF, 50) }), id);
    expect(soon.dormant).toBeUndefined();
  });

  it('flags an order anomaly at once: amount, a quantity and a missing category', async () => {
    const id = await client(t.db, 'Dropper');
    await order(t.db, id, '2026-01-10', 3000, [['valves', 100], ['pumps', 10]]);
    await order(t.db, id, '2026-02-10', 3000, [['valves', 100], ['pumps', 10]]);
    await order(t.db, id, '2026-03-10', 3000, [['valves', 100], ['pumps', 10]]);
    await order(t.db, id, '2026-04-10', 1200, [['valves', 40]]);
    const s = of(await computeSegments(t.db, defaultSegmentSettings, { asOf: AS_OF }), id);
    expect(s['order-anomaly']).toBe('amount 1,200.00 vs usual 3,000.00 (-60%); valves quantity 40 vs usual 100 (-60%); pumps missing (in 3 of 3 earlier orders)');
  });

  it('the refresh that computes categories on a second connection (PostgreSQL) stores what the one-statement refresh stores', async () => {
    const a = await client(t.db, 'Dropper A');
    const b = await client(t.db, 'Only categories B');
    const c = await client(t.db, 'Only amount C');
    for (const [m, amount] of [['01', 3000], ['02', 3000], ['03', 3000]] as const) {
      await order(t.db, a, `2026-${m}-10`, amount, [['valves', 100], ['pumps', 10]]);
      await order(t.db, b, `2026-${m}-11`, amount, [['valves', 100], ['pumps', 10]]);
      await order(t.db, c, `2026-${m}-12`, amount, [['valves', 100]]);
    }
    await order(t.db, a, '2026-04-10', 1200, [['valves', 40]]);
    await order(t.db, b, '2026-04-11', 3000, [['valves', 40]]);
    await order(t.db, c, '2026-04-12', 1000, [['valves', 100]]);
    // A Kysely handle has no second connection to use: it always computes in one statement.
    const oneStatement = await computeSegments(t.db.kysely, defaultSegmentSettings, { asOf: AS_OF });
    expect(of(oneStatement, a)['order-anomaly']).toBe('amount 1,200.00 vs usual 3,000.00 (-60%); valves quantity 40 vs usual 100 (-60%); pumps missing (in 3 of 3 earlier orders)');
    expect(of(oneStatement, b)['order-anomaly']).toBe('valves quantity 40 vs usual 100 (-60%); pumps missing (in 3 of 3 earlier orders)');
    expect(of(oneStatement, c)['order-anomaly']).toBe('amount 1,000.00 vs usual 3,000.00 (-67%)');
    expect(await computeSegments(t.db, defaultSegmentSettings, { asOf: AS_OF })).toEqual(oneStatement);
    await refreshSegments(t.db, defaultSegmentSettings, { asOf: AS_OF });
    const stored = await t.db.kysely.selectFrom('client_segment_rows').select(['client_id', 'segment', 'reason']).execute();
    const asPairs = (rows: { clientId: number; segment: string; reason: string }[]) => rows.map((r) => `${r.clientId} ${r.segment} ${r.reason}`).sort();
    expect(asPairs(stored.map((r) => ({ clientId: Number(r.client_id), segment: r.segment, reason: r.reason })))).toEqual(asPairs(oneStatement));
  });

  it('no anomaly when the new order matches the history', async () => {
    const id = await client(t.db, 'Steady');
    await order(t.db, id, '2026-01-10', 3000, [['valves', 100]]);
    await order(t.db, id, '2026-02-10', 3100, [['valves', 110]]);
    const s = of(await computeSegments(t.db, defaultSegmentSettings, { asOf: AS_OF }), id);
    expect(s['order-anomaly']).toBeUndefined();
  });

  it('ranks value tiers by revenue share: 1 / 19 / 30 / 50 of 100 clients', async () => {
    for (let i = 1; i <= 100; i++) {
      const id = await client(t.db, `Tiered ${i}`);
      await order(t.db, id, '2026-05-01', i * 100);
    }
    const segs = await computeSegments(t.db, defaultSegmentSettings, { asOf: AS_OF });
    const count = (tier: string) => segs.filter((s) => s.segment === `tier:${tier}`).length;
    expect([count('key'), count('major'), count('normal'), count('small')]).toEqual([1, 19, 30, 50]);
    const top = segs.find((s) => s.segment === 'tier:key');
    expect(top?.reason).toBe('revenue 10,000.00 in the last 365 days, rank 1 of 100 (top 1.0%)');
  });

  it('a hand-set tier wins over the revenue rank', async () => {
    const id = await client(t.db, 'Hand Key');
    await t.db.kysely.updateTable('clients').set({ tier_override: 'key' }).where('id', '=', id).execute();
    const s = of(await computeSegments(t.db, defaultSegmentSettings, { asOf: AS_OF }), id);
    expect(s['tier:key']).toBe('set by hand to key');
  });

  it('breadth: 3+ orders and fewer than three departments reachable', async () => {
    const id = await client(t.db, 'Narrow');
    for (const d of ['2026-01-01', '2026-02-01', '2026-03-01']) await order(t.db, id, d, 100);
    const c = await t.db.kysely.insertInto('contacts').values({ client_id: id, name: 'Buyer', department: 'purchasing' }).returning('id').executeTakeFirstOrThrow();
    await t.db.kysely.insertInto('contact_emails').values({ contact_id: c.id, address: 'buyer@narrow.example' }).execute();
    const qc = await t.db.kysely.insertInto('contacts').values({ client_id: id, name: 'QC', department: 'technical' }).returning('id').executeTakeFirstOrThrow();
    await t.db.kysely.insertInto('contact_emails').values({ contact_id: qc.id, address: 'qc@narrow.example', status: 'invalid' }).execute();
    const s = of(await computeSegments(t.db, defaultSegmentSettings, { asOf: AS_OF }), id);
    expect(s.narrow).toBe('3 orders, reachable in 1 of purchasing/technical/customs (missing technical, customs)');
  });

  it('a touchpoint this year clears "not contacted this year"; refresh stores the rows and filters by client', async () => {
    const id = await client(t.db, 'Touched');
    const other = await client(t.db, 'Untouched');
    await t.db.kysely.insertInto('touchpoints').values({ client_id: id, kind: 'call', occurred_at: '2026-03-01T10:00:00Z' }).execute();
    // one stored row a client; the view gives (client, segment, reason) rows: prospect + tier:small each, + not contacted for one
    const n = await refreshSegments(t.db, defaultSegmentSettings, { asOf: AS_OF });
    expect(n).toBe(2);
    const stored = await t.db.kysely.selectFrom('client_segments').select(['client_id']).where('not_contacted', 'is not', null).execute();
    expect(stored.map((r) => r.client_id)).toEqual([other]);
    const viaView = await t.db.kysely.selectFrom('client_segment_rows').select(['client_id', 'segment']).where('segment', '=', 'not-contacted-this-year').execute();
    expect(viaView.map((r) => r.client_id)).toEqual([other]);
    await refreshSegments(t.db, defaultSegmentSettings, { asOf: AS_OF, clientId: id });
    expect((await t.db.kysely.selectFrom('client_segments').select('client_id').execute()).length).toBe(2);
    expect((await t.db.kysely.selectFrom('client_segment_rows').select('client_id').execute()).length).toBe(5);
    // a refresh after a refresh replaces, never adds; a deleted client takes its segments with it
    expect(await refreshSegments(t.db, defaultSegmentSettings, { asOf: AS_OF })).toBe(2);
    expect((await t.db.kysely.selectFrom('client_segment_rows').select('client_id').execute()).length).toBe(5);
    await deleteClient(t.db, other);
    const left = await t.db.kysely.selectFrom('client_segment_rows').select('client_id').distinct().execute();
    expect(left.map((r) => r.client_id)).toEqual([id]);
  });

  it('settings are validated with floors', () => {
    expect(() => parseSegmentSettings({ dormantFactor: 0 })).toThrow(/segments.dormantFactor/);
    expect(() => parseSegmentSettings({ tierShares: { key: 0.5, major: 0.4, normal: 0.3 } })).toThrow(/tierShares/);
    expect(() => parseSegmentSettings({ dormantFactor: 'twice' })).toThrow(/^config segments.dormantFactor: /);
    expect(() => parseSegmentSettings({ dormantFactr: 2 })).toThrow(/^config segments.dormantFactr: unknown key$/);
    expect(parseSegmentSettings({ oldAfterOrders: 3 }).oldAfterOrders).toBe(3);
  });
});
