import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import ExcelJS from 'exceljs';
import { describe, expect, it } from 'vitest';
import { importSpreadsheet } from '../../src/clients/import/index.ts';
import { ManualClock } from '../../src/shared/clock.ts';
import { testBackend, useTestDb } from '../support/test-db.ts';
import { bookSnapshot } from './import-snapshot.ts';

const clock = new ManualClock('2026-06-01T08:00:00Z');

/** A workbook as a sales team keeps it: a title row, Chinese headers, hyperlinks, rich text, date cells, formulas. */
async function writeWorkbook(dir: string): Promise<{ clients: string; orders: string }> {
  const wb = new ExcelJS.Workbook();
  const ws = wb.addWorksheet('客户');
  ws.addRow(['2026 客户名单']); // row 1: a title, not the header
  ws.addRow(['公司名称', '国家', '联系人', '部门', '邮箱', '网站', '业务员', '标签', '最近联系', '时区']); // row 2
  ws.addRow(['Nordic Pumps AB', 'Sweden', 'Erik Larsson', '采购', { text: 'erik@nordicpumps.se', hyperlink: 'mailto:erik@nordicpumps.se' }, 'nordicpumps.se', '王丽', '重点;展会', new Date(Date.UTC(2026, 0, 20)), null]); // row 3
  ws.addRow([{ richText: [{ text: 'Andes ' }, { text: 'Import SA', font: { bold: true } }] }, '智利', 'Lucía Pérez', 'Gerente general', 'lucia@andesimport.cl', null, '王丽', null, null, 'America/Santiago']); // row 4
  ws.addRow([null, 'Chile', 'Ghost', null, 'ghost@nowhere.cl']); // row 5: no company
  ws.addRow(['Typo GmbH', 'Germny', 'Klaus', null, 'klaus@typo.de']); // row 6: unknown country
  ws.addRow(['Broken Mail Co', 'US', 'Al', null, 'al(at)broken.com', null, null, null, null, 'America/New_York']); // row 7: malformed email
  ws.addRow(['Soon Ltd', 'UK', 'Sue', null, 'sue@soon.co.uk', null, null, null, 'soon']); // row 8: not a date
  ws.addRow([]); // row 9: empty, skipped
  ws.addRow(['Copy AB', 'SE', 'Erik Again', null, 'ERIK@nordicpumps.se']); // row 10: duplicate address (case-insensitive)
  const clients = path.join(dir, 'clients.xlsx');
  await wb.xlsx.writeFile(clients);

  const wo = new ExcelJS.Workbook();
  const os1 = wo.addWorksheet('Orders');
  os1.addRow(['Order No', 'Date', 'Company', 'Product', 'Category', 'Qty', 'Unit price', 'Amount', 'Currency', 'Status']);
  os1.addRow(['NP-1', new Date(Date.UTC(2025, 2, 3)), 'Nordic Pumps AB', 'Gear pump GP-20', 'Pumps', 50, 120, { formula: 'F2*G2', result: 6000 }, 'EUR', 'shipped']);
  os1.addRow(['NP-2', 45900, 'nordic pumps ab', 'Gear pump GP-20', 'Pumps', 40, 120, 4800, 'EUR', 'In production']); // Excel serial date, name in other case
  os1.addRow(['AI-1', 'yesterday', 'Andes Import SA', 'Valve', 'Valves', 1, 1, 1, 'USD', 'confirmed']); // row 4: not a date
  const orders = path.join(dir, 'orders.xlsx');
  await wo.xlsx.writeFile(orders);
  return { clients, orders };
}

describe(`spreadsheet import (XLSX) on ${testBackend}`, () => {
  const t = useTestDb();

  it('imports good rows, reports bad rows by sheet row number, and a re-import is a no-op', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'rapport-xlsx-'));
    const { clients, orders } = await writeWorkbook(dir);
    const r = await importSpreadsheet(t.db, clients, 'clients', { clock });
    expect(r).toMatchObject({ format: 'xlsx', worksheet: '客户', headerLine: 2, rows: 7, accepted: 2 });
    expect(r.rejected).toEqual([
      { line: 5, reason: 'no company' },
      { line: 6, reason: 'unknown country "Germny"' },
      { line: 7, reason: '邮箱: malformed email "al(at)broken.com"' },
      { line: 8, reason: '最近联系: "soon" is not a date' },
      { line: 10, reason: 'duplicate address ERIK@nordicpumps.se (already on line 3)' },
    ]);
    expect(r.notes).toEqual([]);
    const snap = await bookSnapshot(t.db);
    expect(snap.clients).toEqual([
      expect.objectContaining({ name: 'Andes Import SA', country: 'CL', time_zone: 'America/Santiago', owner: '王丽' }),
      expect.objectContaining({ name: 'Nordic Pumps AB', country: 'SE', time_zone: 'Europe/Stockholm', website: 'nordicpumps.se', owner: '王丽' }),
    ]);
    expect(snap.contacts).toEqual([
      expect.objectContaining({ name: 'Lucía Pérez', department: 'management', emails: 'lucia@andesimport.cl*' }),
      expect.objectContaining({ name: 'Erik Larsson', department: 'purchasing', emails: 'erik@nordicpumps.se*' }),
    ]);
    expect(snap.tags).toEqual([{ name: 'Nordic Pumps AB', tag: '展会' }, { name: 'Nordic Pumps AB', tag: '重点' }]);
    expect(snap.lastContact).toEqual([{ name: 'Nordic Pumps AB', last: '2026-01-20' }]);
    expect(snap.owners).toEqual([{ name: '王丽' }]);

    const o = await importSpreadsheet(t.db, orders, 'orders', { clock });
    expect(o.rejected).toEqual([{ line: 4, reason: 'Date: "yesterday" is not a date' }]);
    expect((await bookSnapshot(t.db)).orders).toEqual([
      expect.objectContaining({ client: 'Nordic Pumps AB', order_no: 'NP-1', ordered_on: '2025-03-03', amount: 6000, status: 'shipped' }),
      expect.objectContaining({ client: 'Nordic Pumps AB', order_no: 'NP-2', ordered_on: '2025-08-31', amount: 4800, status: 'in_production' }),
    ]);

    const before = await bookSnapshot(t.db, { withIds: true });
    const again = await importSpreadsheet(t.db, clients, 'clients', { clock });
    expect(again.counts.clients).toEqual({ created: 0, updated: 0, unchanged: 2 });
    expect((await importSpreadsheet(t.db, orders, 'orders', { clock })).counts.orders).toEqual({ created: 0, updated: 0, unchanged: 2 });
    expect(await bookSnapshot(t.db, { withIds: true })).toEqual(before);
  });

  it('a dry run of a workbook writes nothing', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'rapport-xlsx-'));
    const { clients } = await writeWorkbook(dir);
    const r = await importSpreadsheet(t.db, clients, 'clients', { clock, dryRun: true });
    expect(r.counts.clients.created).toBe(2);
    expect(await bookSnapshot(t.db)).toMatchObject({ clients: [], contacts: [], owners: [], tags: [] });
  });
});
