import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { importSpreadsheet } from '../../src/clients/import/index.ts';
import { exportSpreadsheet, type ExportFormat } from '../../src/clients/export/index.ts';
import { ManualClock } from '../../src/shared/clock.ts';
import type { Db } from '../../src/db/database.ts';
import { runCli } from '../support/cli.ts';
import { testBackend, useTestDb } from '../support/test-db.ts';
import { bookSnapshot } from './import-snapshot.ts';

const fixtures = fileURLToPath(new URL('../fixtures/import/', import.meta.url));
const clock = new ManualClock('2026-06-01T08:00:00Z');

/** A book with what the spreadsheets carry: imports plus hand edits (referral, tier, notes, channels, no-line order). */
async function fillBook(db: Db): Promise<void> {
  await importSpreadsheet(db, path.join(fixtures, 'clients-mixed.csv'), 'clients', { clock });
  await importSpreadsheet(db, path.join(fixtures, 'clients-gbk.csv'), 'clients', { clock });
  await importSpreadsheet(db, path.join(fixtures, 'contacts-zh.csv'), 'contacts', { clock });
  await importSpreadsheet(db, path.join(fixtures, 'orders-mixed.csv'), 'orders', { clock });
  const k = db.kysely;
  const acme = await k.selectFrom('clients').select('id').where('name_key', '=', 'acme trading llc').executeTakeFirstOrThrow();
  const mueller = await k.selectFrom('clients').select('id').where('name_key', '=', 'müller maschinenbau gmbh').executeTakeFirstOrThrow();
  await k.updateTable('clients').set({ referred_by_client_id: mueller.id, tier_override: 'key', marked_old: true, notes: 'Met at Hannover, "quote" & comma, fine', region: 'Illinois', industry: 'Valves', nature: 'distributor', size: '50-200', source: 'trade fair', status: 'active' }).where('id', '=', acme.id).execute();
  await k.insertInto('client_product_interests').values([{ client_id: acme.id, product: 'Ball valves' }, { client_id: acme.id, product: '闸阀' }]).execute();
  await k.insertInto('client_domains').values({ client_id: acme.id, domain: 'acme-valves.com', source: 'manual' }).execute();
  const john = await k.selectFrom('contacts').select('id').where('name', '=', 'John Doe').executeTakeFirstOrThrow();
  await k.updateTable('contacts').set({ title: 'Head of Purchasing', role: 'decision maker', hobbies: 'golf; fishing', notes: 'multi\nline note', language: 'en-US', time_zone: 'America/Chicago', relationship_level: 'ally' }).where('id', '=', john.id).execute();
  await k.insertInto('contact_channels').values([{ contact_id: john.id, kind: 'whatsapp', value: '+1 312 555 0100' }, { contact_id: john.id, kind: 'phone', value: '+1 312 555 0101' }, { contact_id: john.id, kind: 'phone', value: '+1 312 555 0102' }]).execute();
  await k.insertInto('contact_emails').values({ contact_id: john.id, address: 'J.Doe@AcmeTrading.com' }).execute();
  await k.insertInto('orders').values({ client_id: acme.id, order_no: 'SAMPLE-1', ordered_on: '2024-11-30', status: 'cancelled', amount: 99.95, currency: 'USD', notes: 'sample, no lines' }).execute();
  await k.insertInto('touchpoints').values({ client_id: acme.id, kind: 'call', occurred_at: '2026-04-02T15:30:00Z', summary: 'call' }).execute();
}

describe(`export round trip on ${testBackend}`, () => {
  const t = useTestDb();

  for (const format of ['csv', 'xlsx'] as ExportFormat[]) {
    it(`exports clients, contacts and orders as ${format}; importing them into an empty book gives the same book`, async () => {
      await fillBook(t.db);
      const original = await bookSnapshot(t.db);
      expect((original.orders as unknown[]).length).toBe(4);
      const dir = await mkdtemp(path.join(os.tmpdir(), 'rapport-export-'));
      for (const entity of ['clients', 'contacts', 'orders'] as const) {
        const { bytes, rows } = await exportSpreadsheet(t.db, entity, format, { bom: true });
        expect(rows).toBeGreaterThan(0);
        await writeFile(path.join(dir, `${entity}.${format}`), bytes);
      }
      // the exported files import into the original as a no-op
      const before = await bookSnapshot(t.db, { withIds: true });
      for (const entity of ['clients', 'contacts', 'orders'] as const) await importSpreadsheet(t.db, path.join(dir, `${entity}.${format}`), entity, { clock });
      expect(await bookSnapshot(t.db, { withIds: true })).toEqual(before);
      // and into an emptied schema they rebuild the same book (one PGlite instance holds one search path, hence not a second schema)
      await sql`TRUNCATE owners, clients RESTART IDENTITY CASCADE`.execute(t.db.kysely);
      expect((await bookSnapshot(t.db)).clients).toEqual([]);
      for (const entity of ['clients', 'contacts', 'orders'] as const) {
        const r = await importSpreadsheet(t.db, path.join(dir, `${entity}.${format}`), entity, { clock });
        expect(r.rejected).toEqual([]);
        expect(r.ignoredColumns).toEqual([]);
      }
      expect(await bookSnapshot(t.db)).toEqual(original);
    });
  }

  it('CLI: export to stdout as CSV, to a file as XLSX, and refuses bad options in one line', async () => {
    await fillBook(t.db);
    const csv = await runCli(t.db, ['export', 'orders']);
    expect(csv.error).toBeUndefined();
    const [header, ...rest] = csv.out.split('\r\n');
    expect(header).toBe('Order No,Date,Company,Status,Currency,Order total,Product,Category,Quantity,Unit,Unit price,Amount,Notes');
    expect(rest).toContain('PO-1001,2025-01-15,Müller Maschinenbau GmbH,in_warehouse,EUR,13100,Seal kit SK-3,Spare parts,200,,5.5,1100,');
    const dir = await mkdtemp(path.join(os.tmpdir(), 'rapport-export-'));
    const out = path.join(dir, 'clients.xlsx');
    const x = await runCli(t.db, ['export', 'clients', '--out', out]);
    expect(x.out).toBe(`wrote 5 clients to ${out} (xlsx)`);
    expect((await readFile(out)).subarray(0, 2).toString()).toBe('PK');
    expect((await runCli(t.db, ['export', 'clients', '--format', 'xlsx'])).error).toBe('--format xlsx needs --out FILE (a workbook is not text)');
    expect((await runCli(t.db, ['export', 'clients', '--format', 'pdf'])).error).toBe('--format "pdf": use csv or xlsx');
    expect((await runCli(t.db, ['export', 'clients', '--out', '/nonexistent-dir/x.csv'])).error).toMatch(/^\/nonexistent-dir\/x\.csv: cannot be written/);
    const n = await sql<{ n: number }>`SELECT count(*)::int AS n FROM clients`.execute(t.db.kysely);
    expect(n.rows[0]?.n).toBe(5);
  });
});
