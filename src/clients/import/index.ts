import type { Db } from '../../db/database.ts';
import { AppError, describeError, isAppError } from '../../shared/app-error.ts';
import { systemClock, type Clock } from '../../shared/clock.ts';
import { ImportWriter } from './apply-import.ts';
import type { ImportEntity } from './columns.ts';
import { emptyCounts, type ImportReport } from './import-report.ts';
import { parseRecords } from './parse-records.ts';
import { readSpreadsheet, type Sheet } from './read-spreadsheet.ts';

export { COLUMN_SPECS, columnMappingMarkdown, mapHeaders, headerKey, type ImportEntity, type FieldName, type ColumnSpec } from './columns.ts';
export { changedNothing, type ImportReport, type ImportCounts, type RejectedRow, type ImportNote } from './import-report.ts';
export { readSpreadsheet, parseCsvText, type Sheet, type SheetRow } from './read-spreadsheet.ts';
export { decodeText, detectDelimiter } from './decode-text.ts';
export { parseRecords } from './parse-records.ts';
export { parseDate as parseSpreadsheetDate, parseNumber as parseSpreadsheetNumber } from './cell-parsers.ts';

export interface ImportOptions {
  /** Check everything, report, write nothing. */
  readonly dryRun?: boolean;
  /** Write nothing when any row is rejected. */
  readonly strict?: boolean;
  readonly clock?: Clock;
}

const IMPORT_ENTITIES: readonly ImportEntity[] = ['clients', 'contacts', 'orders'];

export function parseImportEntity(input: string): ImportEntity {
  const e = IMPORT_ENTITIES.find((x) => x === input.toLowerCase());
  if (!e) throw new AppError('INPUT_INVALID', `import kind "${input}": use clients, contacts or orders`);
  return e;
}

class Rollback extends Error {}

/** Imports an already-read sheet: the good rows in one transaction, the bad ones reported with their line. */
export async function importSheet(db: Db, sheet: Sheet, entity: ImportEntity, options: ImportOptions = {}): Promise<ImportReport> {
  const parsed = parseRecords(sheet.rows, entity, { decimalComma: sheet.delimiter === ';' });
  if ('problem' in parsed) throw new AppError('INPUT_FILE_UNREADABLE', `${sheet.file}: ${parsed.problem}`);
  const counts = emptyCounts();
  const rejected = [...parsed.rejected];
  const notes = [...parsed.notes];
  const now = (options.clock ?? systemClock).now();
  let abandoned = false;
  try {
    await db.kysely.transaction().execute(async (trx) => {
      await new ImportWriter(trx, counts, rejected, notes, now).write(parsed.parsed);
      if (options.strict && rejected.length > 0) {
        abandoned = true;
        throw new Rollback();
      }
      if (options.dryRun) throw new Rollback();
    });
  } catch (error) {
    if (!(error instanceof Rollback)) {
      if (isAppError(error)) throw error;
      throw new AppError('DB_QUERY_FAILED', `${sheet.file}: the database refused the import, nothing was written (${describeError(error)})`, { cause: error });
    }
  }
  const columns: Record<string, string> = {};
  parsed.headers.forEach((h, i) => {
    const f = parsed.mapping.fields[i];
    if (f) columns[h] = f;
  });
  const rejectedLines = new Set(rejected.map((r) => r.line));
  return {
    file: sheet.file, entity, format: sheet.format, encoding: sheet.encoding, delimiter: sheet.delimiter, worksheet: sheet.worksheet,
    dryRun: options.dryRun === true, abandoned, headerLine: parsed.headerLine, columns, ignoredColumns: parsed.mapping.ignored,
    rows: parsed.rows, accepted: abandoned ? 0 : parsed.rows - rejectedLines.size, rejected, notes, counts,
  };
}

/** `rapport import clients|contacts|orders FILE`: reads CSV (UTF-8/GBK, , or ;) or XLSX and imports it. */
export async function importSpreadsheet(db: Db, file: string, entity: ImportEntity, options: ImportOptions = {}): Promise<ImportReport> {
  return importSheet(db, await readSpreadsheet(file), entity, options);
}
