import type { Db } from '../../db/database.ts';
import { AppError } from '../../shared/app-error.ts';
import type { ImportEntity } from '../import/columns.ts';
import { exportRows } from './export-rows.ts';
import { toCsv, toXlsx, type ExportFormat } from './write-spreadsheet.ts';

export { exportRows, type ExportTable, type ExportValue } from './export-rows.ts';
export { toCsv, toXlsx, type ExportFormat } from './write-spreadsheet.ts';

export function parseExportFormat(input: string): ExportFormat {
  const f = input.toLowerCase();
  if (f !== 'csv' && f !== 'xlsx') throw new AppError('INPUT_INVALID', `--format "${input}": use csv or xlsx`);
  return f;
}

/** The file's bytes for `rapport export clients|contacts|orders --format csv|xlsx`, with the row count. */
export async function exportSpreadsheet(db: Db, entity: ImportEntity, format: ExportFormat, options: { bom?: boolean } = {}): Promise<{ bytes: Buffer; rows: number }> {
  const table = await exportRows(db, entity);
  const bytes = format === 'xlsx' ? await toXlsx(table) : Buffer.from(toCsv(table, options), 'utf8');
  return { bytes, rows: table.rows.length };
}
