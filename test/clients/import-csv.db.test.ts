import { readFile, writeFile, mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { importSpreadsheet, type ImportReport } from '../../src/clients/import/index.ts';
import { ManualClock } from '../../src/shared/clock.ts';
import { isAppError } from '../../src/shared/app-error.ts';
import { runCli } from '../support/cli.ts';
import { testBackend, useTestDb } from '../support/test-db.ts';
import { bookSnapshot } from './import-snapshot.ts';

const fixtures = fileURLToPath(new URL('../fixtures/import/', import.meta.url));
const fx = (name: string): string => path.join(fixtures, name);
const clock = new ManualClock('2026-06-01T08:00:00Z');
const lines = (r: ImportReport): Record<number, string> => Object.fromEntries(r.rejected.map((x) => [x.line, x.reason]));

describe(`spreadsheet import (CSV) on ${testBackend}`, () => {
  const t = useTestDb();

  it('imports the good rows of a clients file once, and reports each bad row with its line and reason', async () => {
    const report = await importSpreadsheet(t.db, fx('clients-mixed.csv'), 'clients', { clock });
    expect(report).toMatchObject({ format: 'csv', encoding: 'utf-8', delimiter: ',', headerLine: 1, rows: 9, accepted: 4 });
    expect(lines(report)).toEqual({
      5: 'no company',
      6: 'E-mail: malformed email "sam@"',
      7: 'unknown country "Atlantis"',
      8: 'duplicate address hans.mueller@mueller-mb.de (already on line 2)',
      9: 'time zone "Mars/Olympus" is not an IANA name (e.g. Europe/Berlin)',
    });
    expect(report.counts).toMatchObject({
      clients: { created: 3, updated: 0, unchanged: 0 }, contacts: { created: 4, updated: 0, unchanged: 0 },
      emailsAdded: 4, domainsAdded: 3, ownersCreated: 2, touchpointsAdded: 2, channelsAdded: 1,
    });
    const snap = await bookSnapshot(t.db);
    expect(snap.clients).toEqual([
      expect.objectContaining({ name: 'Acme Trading LLC', country: 'US', time_zone: 'America/Chicago', language: 'en', owner: 'Lily Wang' }),
      expect.objectContaining({ name: 'Müller Maschinenbau GmbH', country: 'DE', time_zone: 'Europe/Berlin', language: 'de', website: 'https://www.mueller-mb.de' }),
      expect.objectContaining({ name: 'Quoted, Inc.', country: 'BR', time_zone: 'America/Sao_Paulo', language: 'pt', owner: 'Tom Li' }),
    ]);
    expect(snap.contacts).toEqual([
      expect.objectContaining({ client: 'Acme Trading LLC', name: 'John Doe', department: 'purchasing', emails: 'john.doe@acmetrading.com*' }),
      expect.objectContaining({ client: 'Müller Maschinenbau GmbH', name: 'Hans Müller', department: 'purchasing', channels: 'phone:+49 711 1234' }),
      expect.objectContaining({ client: 'Müller Maschinenbau GmbH', name: 'Petra Schmidt', department: 'technical' }),
      expect.objectContaining({ client: 'Quoted, Inc.', name: 'Carla Souza', department: 'purchasing' }),
    ]);
    expect(snap.domains).toEqual([
      { domain: 'acmetrading.com', name: 'Acme Trading LLC' },
      { domain: 'mueller-mb.de', name: 'Müller Maschinenbau GmbH' },
      { domain: 'quoted.com.br', name: 'Quoted, Inc.' },
    ]);
    expect(snap.tags).toEqual([{ name: 'Müller Maschinenbau GmbH', tag: 'Hannover fair' }, { name: 'Müller Maschinenbau GmbH', tag: 'key account' }]);
    expect(snap.lastContact).toEqual([{ name: 'Müller Maschinenbau GmbH', last: '2026-02-10' }, { name: 'Quoted, Inc.', last: '2025-12-01' }]);
  });

  it('re-importing the same file changes nothing', async () => {
    await importSpreadsheet(t.db, fx('clients-mixed.csv'), 'clients', { clock });
    await importSpreadsheet(t.db, fx('contacts-zh.csv'), 'contacts', { clock });
    await importSpreadsheet(t.db, fx('orders-mixed.csv'), 'orders', { clock });
    const before = await bookSnapshot(t.db, { withIds: true });
    const later = new ManualClock('2026-07-01T00:00:00Z');
    for (const [file, entity] of [['clients-mixed.csv', 'clients'], ['contacts-zh.csv', 'contacts'], ['orders-mixed.csv', 'orders']] as const) {
      const again = await importSpreadsheet(t.db, fx(file), entity, { clock: later });
      const c = again.counts;
      expect(c.clients.created + c.clients.updated + c.contacts.created + c.contacts.updated + c.orders.created + c.orders.updated).toBe(0);
      expect(c.emailsAdded + c.channelsAdded + c.domainsAdded + c.ownersCreated + c.tagsAdded + c.touchpointsAdded).toBe(0);
    }
    expect(await bookSnapshot(t.db, { withIds: true })).toEqual(before);
  });

  it('--dry-run reports the same and writes nothing', async () => {
    const dry = await importSpreadsheet(t.db, fx('clients-mixed.csv'), 'clients', { clock, dryRun: true });
    expect(dry.dryRun).toBe(true);
    expect(dry.counts.clients.created).toBe(3);
    expect(dry.rejected.map((r) => r.line)).toEqual([5, 6, 7, 8, 9]);
    const snap = await bookSnapshot(t.db, { withIds: true });
    expect(snap).toMatchObject({ clients: [], contacts: [], owners: [], domains: [], touchpoints: 0 });
    const real = await importSpreadsheet(t.db, fx('clients-mixed.csv'), 'clients', { clock });
    expect({ ...real, dryRun: true }).toEqual(dry);
  });

  it('--strict writes nothing when a row is rejected', async () => {
    const r = await importSpreadsheet(t.db, fx('clients-mixed.csv'), 'clients', { clock, strict: true });
    expect(r.abandoned).toBe(true);
    expect(r.accepted).toBe(0);
    expect((await bookSnapshot(t.db)).clients).toEqual([]);
  });

  it('imports contacts with Chinese headers and refuses addresses of another client, unknown clients and non-dates', async () => {
    await importSpreadsheet(t.db, fx('clients-mixed.csv'), 'clients', { clock });
    const r = await importSpreadsheet(t.db, fx('contacts-zh.csv'), 'contacts', { clock });
    expect(r.columns).toMatchObject({ 公司名称: 'company', 联系人: 'contact', 部门: 'department', 邮箱: 'email', 手机: 'mobile', 微信: 'wechat', 生日: 'birthday', 关系: 'relationship' });
    expect(lines(r)).toEqual({
      5: 'no client named "未知公司" (import it with rapport import clients first)',
      6: '生日: "2024-02-30" is not a date',
      7: 'address p.schmidt@mueller-mb.de belongs to a contact of another client (Müller Maschinenbau GmbH)',
    });
    expect(r.counts.contacts).toEqual({ created: 2, updated: 1, unchanged: 0 });
    const snap = await bookSnapshot(t.db);
    expect(snap.contacts).toEqual(expect.arrayContaining([
      expect.objectContaining({ client: 'Müller Maschinenbau GmbH', name: 'Jörg Weber', department: 'customs', birthday: '1980-05-17', relationship_level: 'engaged', channels: 'mobile:+49 170 5555' }),
      expect.objectContaining({ client: 'Müller Maschinenbau GmbH', name: 'Hans Müller', relationship_level: 'partner', emails: 'hans.mueller@mueller-mb.de* hans@gmail.com', channels: 'phone:+49 711 1234 wechat:hansm' }),
      expect.objectContaining({ client: 'Acme Trading LLC', name: 'Mary Jones', department: 'technical', birthday: '1985-03-04' }),
    ]));
    // a freemail address never makes its domain a client's
    expect((snap.domains as { domain: string }[]).map((d) => d.domain)).not.toContain('gmail.com');
  });

  it('imports orders with lines from a semicolon file with decimal commas', async () => {
    await importSpreadsheet(t.db, fx('clients-mixed.csv'), 'clients', { clock });
    const r = await importSpreadsheet(t.db, fx('orders-mixed.csv'), 'orders', { clock });
    expect(r.delimiter).toBe(';');
    expect(lines(r)).toEqual({
      6: 'Date: "31/02/2025" is not a date',
      7: 'no client named "Ghost Corp" (import it with rapport import clients first)',
      8: 'Quantity: "ten" is not a number',
      9: 'order PO-80: left out with line 8',
    });
    expect(r.counts.orders).toEqual({ created: 3, updated: 0, unchanged: 0 });
    const snap = await bookSnapshot(t.db);
    expect(snap.orders).toEqual([
      { client: 'Acme Trading LLC', order_no: 'PO-77', ordered_on: '2025-07-01', status: 'in_production', amount: 10000, currency: 'USD', notes: null, lines: 'Valve V1|Valves|1000.000|10.0000|10000.00' },
      { client: 'Müller Maschinenbau GmbH', order_no: 'PO-1001', ordered_on: '2025-01-15', status: 'in_warehouse', amount: 13100, currency: 'EUR', notes: null, lines: 'Gear pump GP-20|Pumps|100.000|120.0000|12000.00 / Seal kit SK-3|Spare parts|200.000|5.5000|1100.00' },
      { client: 'Müller Maschinenbau GmbH', order_no: 'PO-1002', ordered_on: '2025-06-03', status: 'shipped', amount: 9600, currency: 'EUR', notes: null, lines: 'Gear pump GP-20|Pumps|80.000|120.0000|9600.00' },
    ]);
    // a prospect with an imported order is an active client now; one without orders stays a prospect
    const statuses = await t.db.kysely.selectFrom('clients').select(['name', 'status']).orderBy('name').execute();
    const ordered = new Set(['Acme Trading LLC', 'Müller Maschinenbau GmbH']);
    expect(statuses.filter((c) => ordered.has(c.name)).map((c) => c.status)).toEqual(['active', 'active']);
    expect(statuses.filter((c) => !ordered.has(c.name) && c.status === 'active')).toEqual([]);
  });

  it('updates what changed in a re-import, and keeps what the file leaves empty', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'rapport-import-'));
    const file = path.join(dir, 'c.csv');
    await writeFile(file, 'Company,Country,Industry,Contact,Email\nACME,DE,Valves,Anna,anna@acme.de\n');
    await importSpreadsheet(t.db, file, 'clients', { clock });
    await writeFile(file, 'Company,Country,Industry,Contact,Email,Title\n  acme ,Austria,,Anna,ANNA@acme.de,Buyer\n');
    const r = await importSpreadsheet(t.db, file, 'clients', { clock });
    expect(r.counts.clients).toEqual({ created: 0, updated: 1, unchanged: 0 });
    expect(r.counts.contacts).toEqual({ created: 0, updated: 1, unchanged: 0 });
    const snap = await bookSnapshot(t.db);
    expect(snap.clients).toEqual([expect.objectContaining({ name: 'acme', country: 'AT', industry: 'Valves', time_zone: 'Europe/Vienna' })]);
    expect(snap.contacts).toEqual([expect.objectContaining({ name: 'Anna', title: 'Buyer', emails: 'anna@acme.de*' })]);
  });

  it('reads a GBK file with Chinese headers', async () => {
    const r = await importSpreadsheet(t.db, fx('clients-gbk.csv'), 'clients', { clock });
    expect(r).toMatchObject({ encoding: 'gb18030', rows: 2, accepted: 2, rejected: [] });
    const snap = await bookSnapshot(t.db);
    expect(snap.clients).toEqual([
      expect.objectContaining({ name: '上海进出口有限公司', country: 'CN', time_zone: 'Asia/Shanghai', website: 'www.shjck.cn' }),
      expect.objectContaining({ name: '東京商事株式会社', country: 'JP', time_zone: 'Asia/Tokyo' }),
    ]);
    expect(snap.contacts).toEqual([
      expect.objectContaining({ name: '李明', department: 'purchasing', emails: 'liming@shjck.cn*' }),
      expect.objectContaining({ name: '山田太郎', department: 'technical' }),
    ]);
  });

  it('answers an unreadable file or one without a recognisable header with one line naming the file', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'rapport-import-'));
    const noHeader = path.join(dir, 'junk.csv');
    await writeFile(noHeader, 'foo,bar\n1,2\n');
    const binary = path.join(dir, 'pic.csv');
    await writeFile(binary, Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0]));
    const badXlsx = path.join(dir, 'fake.xlsx');
    await writeFile(badXlsx, 'Company\nACME\n');
    const cases: [string, RegExp][] = [
      [path.join(dir, 'missing.csv'), /missing\.csv: cannot be read \(no such file\)/],
      [noHeader, /junk\.csv: no recognisable header row/],
      [binary, /pic\.csv: a binary file, not CSV or XLSX/],
      [badXlsx, /fake\.xlsx: not a readable XLSX workbook/],
    ];
    for (const [file, re] of cases) {
      const e = await importSpreadsheet(t.db, file, 'clients').catch((x: unknown) => x);
      expect(isAppError(e) && e.code).toBe('INPUT_FILE_UNREADABLE');
      expect((e as Error).message).toMatch(re);
      expect((e as Error).message).not.toContain('\n');
    }
    const orders = path.join(dir, 'orders.csv');
    await writeFile(orders, 'Company,Amount\nACME,5\n');
    await expect(importSpreadsheet(t.db, orders, 'orders')).rejects.toThrow(/orders\.csv: no Order No, no Date column/);
  });

  it('CLI: prints the per-row report, --json, and exits non-zero naming the rejected lines', async () => {
    const text = await runCli(t.db, ['import', 'clients', fx('clients-mixed.csv'), '--dry-run'], { clock });
    expect(text.out).toContain('9 rows, would import 4, rejected 5 (dry run: nothing written)');
    expect(text.out).toContain('  line 6: E-mail: malformed email "sam@"');
    expect(text.error).toMatch(/clients-mixed\.csv: 5 of 9 rows rejected \(line 5, 6, 7, 8, 9\); dry run, nothing written/);
    const json = await runCli(t.db, ['import', 'clients', fx('clients-mixed.csv'), '--json'], { clock });
    const report = json.json<ImportReport>();
    expect(report.rejected.map((r) => r.line)).toEqual([5, 6, 7, 8, 9]);
    expect(report.counts.clients.created).toBe(3);
    expect(json.error).toMatch(/the other 4 were imported/);
    const clean = await runCli(t.db, ['import', 'clients', fx('clients-gbk.csv')], { clock });
    expect(clean.error).toBeUndefined();
    expect(clean.out).toMatch(/clients-gbk\.csv \(csv, gb18030, ","\): 2 rows, imported 2, rejected 0/);
    const missing = await runCli(t.db, ['import', 'orders', '/nonexistent/o.xlsx']);
    expect(missing.error).toBe('/nonexistent/o.xlsx: cannot be read (no such file)');
    void readFile;
  });
});
