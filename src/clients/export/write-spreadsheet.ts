import { stringify } from 'csv-stringify/sync';
import ExcelJS from 'exceljs';
import type { ExportTable, ExportValue } from './export-rows.ts';

export type ExportFormat = 'csv' | 'xlsx';

function plain(v: ExportValue): string | number | null {
  if (v !== null && typeof v === 'object') return v.date;
  return v;
}

/** CSV text, comma-separated, CRLF (what Excel writes). A UTF-8 BOM makes Excel read Chinese right. */
export function toCsv(table: ExportTable, options: { bom?: boolean } = {}): string {
  const text = stringify([table.headers, ...table.rows.map((r) => r.map((v) => plain(v)))], { record_delimiter: '\r\n', cast: { number: (n) => String(n) } });
  return (options.bom ? '\uFEFF' : '') + text;
}

/** An XLSX workbook with one sheet named after the entity, bold frozen header, date cells for dates. */
export async function toXlsx(table: ExportTable): Promise<Buffer> {
  const workbook = new ExcelJS.Workbook();
  workbook.creator = 'Rapport';
  const sheet = workbook.addWorksheet(table.entity, { views: [{ state: 'frozen', ySplit: 1 }] });
  sheet.addRow([...table.headers]);
  sheet.getRow(1).font = { bold: true };
  for (const row of table.rows) {
    const added = sheet.addRow(row.map((v) => (v !== null && typeof v === 'object' ? new Date(`${v.date}T00:00:00Z`) : v)));
    row.forEach((v, i) => {
      if (v !== null && typeof v === 'object') added.getCell(i + 1).numFmt = 'yyyy-mm-dd';
    });
  }
  table.headers.forEach((h, i) => {
    const longest = Math.max(h.length, ...table.rows.slice(0, 200).map((r) => String(plain(r[i] ?? null) ?? '').length));
    sheet.getColumn(i + 1).width = Math.min(60, Math.max(8, longest + 2));
  });
  const out = await workbook.xlsx.writeBuffer();
  return Buffer.from(out as ArrayBuffer);
}
