import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.ts';
import { testBackend, useTestDb } from '../support/test-db.ts';

describe(`client book CLI on ${testBackend}`, () => {
  const t = useTestDb();

  it('adds, lists, shows, edits and deletes clients with --json outputs', async () => {
    const add = await runCli(t.db, ['clients', 'add', '--name', 'ACME GmbH', '--country', '德国', '--owner', 'Li Lei', '--tag', 'fair-2026,valves', '--website', 'https://www.acme.de', '--json']);
    expect(add.error).toBeUndefined();
    const { id } = add.json<{ id: number }>();
    expect(id).toBeGreaterThan(0);

    const list = (await runCli(t.db, ['clients', 'list', '--json'])).json<Array<Record<string, unknown>>>();
    expect(list).toEqual([{ id, name: 'ACME GmbH', country: 'DE', timeZone: 'Europe/Berlin', owner: 'Li Lei', status: 'prospect', tags: ['fair-2026', 'valves'], segments: ['not-contacted-this-year', 'prospect', 'tier:small'], contacts: 0, orders: 0 }]);

    const contact = await runCli(t.db, ['contacts', 'add', '--client', String(id), '--name', 'Hans Weber', '--title', 'Mr.', '--department', 'purchasing', '--email', 'Hans.Weber@acme.de', '--wechat', 'hansw', '--birthday', '1980-02-29', '--json']);
    expect(contact.error).toBeUndefined();
    const contacts = (await runCli(t.db, ['contacts', 'list', '--client', String(id), '--json'])).json<Array<Record<string, unknown>>>();
    expect(contacts[0]).toMatchObject({ name: 'Hans Weber', department: 'purchasing', emails: ['Hans.Weber@acme.de'], birthday: '1980-02-29', channels: [{ kind: 'wechat', value: 'hansw' }] });

    const order = await runCli(t.db, ['orders', 'add', '--client', String(id), '--no', 'PO-1', '--date', '2026-03-01', '--line', 'Ball valve DN50:valves:100:5000', '--json']);
    expect(order.json()).toMatchObject({ anomaly: null });
    const orders = (await runCli(t.db, ['orders', 'list', '--json'])).json<Array<Record<string, unknown>>>();
    expect(orders[0]).toMatchObject({ order_no: 'PO-1', amount: 5000, ordered_on: '2026-03-01', status: 'confirmed', lines: [{ product: 'Ball valve DN50', category: 'valves', quantity: 100, amount: 5000 }] });

    const show = (await runCli(t.db, ['clients', 'show', String(id), '--json'])).json<Record<string, unknown>>();
    expect(show).toMatchObject({ name: 'ACME GmbH', status: 'active', domains: [{ domain: 'acme.de', source: 'website' }] });

    await runCli(t.db, ['clients', 'edit', String(id), '--tier', 'key', '--tag', 'vip']);
    const seg = (await runCli(t.db, ['segments', '--client', String(id), '--json'])).json<{ clients: Array<{ segments: Array<{ segment: string; reason: string }> }> }>();
    expect(seg.clients[0]?.segments).toContainEqual({ segment: 'tier:key', reason: 'set by hand to key' });
    const keyList = (await runCli(t.db, ['clients', 'list', '--segment', 'key', '--json'])).json<unknown[]>();
    expect(keyList).toHaveLength(1);

    expect((await runCli(t.db, ['clients', 'delete', String(id)])).error).toMatch(/add --yes to confirm/);
    await runCli(t.db, ['clients', 'delete', String(id), '--yes']);
    expect((await runCli(t.db, ['clients', 'list', '--json'])).json()).toEqual([]);
  });

  it('answers bad input with one line naming the input, and writes nothing', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['clients', 'add', '--name', 'X', '--country', 'Atlantis'], /country "Atlantis"/],
      [['clients', 'add', '--name', 'X', '--country', 'US'], /time zone: country US has several/],
      [['clients', 'add', '--name', 'X', '--time-zone', 'Mars/Base'], /time zone "Mars\/Base": not an IANA time zone/],
      [['clients', 'add', '--name', '   '], /name: a client needs a company name/],
      [['contacts', 'add', '--client', '999', '--name', 'Y'], /client 999: no such client/],
      [['clients', 'show', 'abc'], /client "abc": not an id/],
    ];
    for (const [args, re] of cases) {
      const res = await runCli(t.db, args);
      expect(res.error, args.join(' ')).toMatch(re);
      expect(res.error).not.toContain('\n');
    }
    expect((await runCli(t.db, ['clients', 'list', '--json'])).json()).toEqual([]);
  });

  it('refuses an email address that belongs to another contact, without a partial contact', async () => {
    const a = (await runCli(t.db, ['clients', 'add', '--name', 'A Co', '--json'])).json<{ id: number }>().id;
    const b = (await runCli(t.db, ['clients', 'add', '--name', 'B Co', '--json'])).json<{ id: number }>().id;
    await runCli(t.db, ['contacts', 'add', '--client', String(a), '--name', 'Ann', '--email', 'ann@a-co.com']);
    const res = await runCli(t.db, ['contacts', 'add', '--client', String(b), '--name', 'Ann Two', '--email', 'good@b-co.com', '--email', 'ANN@a-co.com']);
    expect(res.error).toMatch(/email "ANN@a-co.com": already belongs to contact \d+ \(Ann\) of client/);
    const bContacts = (await runCli(t.db, ['contacts', 'list', '--client', String(b), '--json'])).json<unknown[]>();
    expect(bContacts).toEqual([]);
    const bad = await runCli(t.db, ['contacts', 'add', '--client', String(b), '--name', 'Z', '--email', 'not-an-email']);
    expect(bad.error).toBe('email "not-an-email": not a valid email address');
  });

  it('wins an inquiry into an order, logs a call, and flags a dropping order at once', async () => {
    const id = (await runCli(t.db, ['clients', 'add', '--name', 'Buyer SA', '--country', 'BR', '--time-zone', 'America/Sao_Paulo', '--json'])).json<{ id: number }>().id;
    const inq = (await runCli(t.db, ['inquiries', 'add', '--client', String(id), '--product', 'Pump P1', '--quantity', '10', '--target-price', '300', '--currency', 'usd', '--received', '2026-01-05T09:00:00Z', '--json'])).json<{ id: number }>().id;
    const won = (await runCli(t.db, ['inquiries', 'won', String(inq), '--order-no', 'PI-77', '--date', '2026-01-20', '--json'])).json<{ order: number }>();
    const inquiries = (await runCli(t.db, ['inquiries', 'list', '--json'])).json<Array<Record<string, unknown>>>();
    expect(inquiries[0]).toMatchObject({ status: 'won', order_id: won.order, currency: 'USD' });
    expect((await runCli(t.db, ['orders', 'list', '--client', String(id), '--json'])).json<Array<{ amount: number }>>()[0]?.amount).toBe(3000);
    await runCli(t.db, ['orders', 'add', '--client', String(id), '--no', 'PI-78', '--date', '2026-02-20', '--amount', '3000']);
    const drop = (await runCli(t.db, ['orders', 'add', '--client', String(id), '--no', 'PI-79', '--date', '2026-03-20', '--amount', '900', '--json'])).json<{ anomaly: string }>();
    expect(drop.anomaly).toBe('amount 900.00 vs usual 3,000.00 (-70%)');
    const call = await runCli(t.db, ['touch', 'log', '--client', String(id), '--call', '--summary', 'price agreed', '--json']);
    expect(call.json()).toMatchObject({ kind: 'call' });
    expect((await runCli(t.db, ['touch', 'log', '--client', String(id), '--call', '--visit'])).error).toMatch(/exactly one of/);
  });
});
