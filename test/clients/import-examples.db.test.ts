import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { importSpreadsheet } from '../../src/clients/import/index.ts';
import { computeSegments } from '../../src/clients/segments.ts';
import { ManualClock } from '../../src/shared/clock.ts';
import { testBackend, useTestDb } from '../support/test-db.ts';

const example = (name: string): string => fileURLToPath(new URL(`../../examples/${name}`, import.meta.url));

describe(`the examples/ spreadsheets on ${testBackend}`, () => {
  const t = useTestDb();

  it('import cleanly, re-import as a no-op, and show every segment for some client', async () => {
    const clock = new ManualClock('2026-11-23T09:00:00Z');
    const clients = await importSpreadsheet(t.db, example('clients.csv'), 'clients', { clock });
    const contacts = await importSpreadsheet(t.db, example('contacts.csv'), 'contacts', { clock });
    const orders = await importSpreadsheet(t.db, example('orders.csv'), 'orders', { clock });
    for (const r of [clients, contacts, orders]) {
      expect(r.rejected).toEqual([]);
      expect(r.notes).toEqual([]);
      expect(r.ignoredColumns).toEqual([]);
    }
    expect(clients.counts.clients.created).toBe(40);
    expect(contacts.columns).toMatchObject({ 公司名称: 'company', 联系人: 'contact', 邮箱: 'email' });
    expect(orders.counts.orders.created).toBeGreaterThanOrEqual(300);

    const again = await importSpreadsheet(t.db, example('orders.csv'), 'orders', { clock });
    expect(again.counts.orders).toEqual({ created: 0, updated: 0, unchanged: orders.counts.orders.created });

    const segments = await computeSegments(t.db, undefined, { asOf: '2026-11-23' });
    const seen = new Set(segments.map((s) => s.segment));
    for (const s of ['old', 'new', 'prospect', 'tier:key', 'tier:major', 'tier:normal', 'tier:small', 'dormant', 'order-anomaly', 'narrow', 'not-contacted-this-year']) {
      expect(seen, `segment ${s}`).toContain(s);
    }
    // and not every client is in the "problem" segments
    for (const s of ['dormant', 'order-anomaly', 'narrow', 'not-contacted-this-year']) {
      const n = segments.filter((x) => x.segment === s).length;
      expect(n, s).toBeLessThan(30);
    }
  });
});
