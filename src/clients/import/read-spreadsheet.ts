import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import ExcelJS from 'exceljs';
import { AppError, describeError } from '../../shared/app-error.ts';
import type { Cell } from './cell-parsers.ts';
import { decodeText, detectDelimiter } from './decode-text.ts';

/** One row of a sheet with the line (CSV) or row number (XLSX) people see in their editor. */
export interface SheetRow {
  readonly line: number;
  readonly cells: readonly Cell[];
}

export interface Sheet {
  readonly file: string;
  readonly format: 'csv' | 'xlsx';
  /** CSV only: the encoding detected and the delimiter. */
  readonly encoding?: string;
  readonly delimiter?: string;
  /** XLSX only: the worksheet read. */
  readonly worksheet?: string;
  /** Every non-empty row, header included. */
  readonly rows: readonly SheetRow[];
}

const isEmptyRow = (cells: readonly Cell[]): boolean => cells.every((c) => c === null || c === undefined || String(c).trim() === '');

/** Parses CSV text (any delimiter among , ; tab). Throws AppError naming the file on malformed CSV. */
export function parseCsvText(text: string, file: string): { rows: SheetRow[]; delimiter: string } {
  const delimiter = detectDelimiter(text);
  let records: { record: string[]; info: { lines: number }; raw: string }[];
  try {
    records = parse(text, { delimiter, bom: true, info: true, raw: true, relax_column_count: true, relax_quotes: true, skip_empty_lines: true }) as unknown as typeof records;
  } catch (cause) {
    throw new AppError('INPUT_FILE_UNREADABLE', `${file}: not a readable CSV file (${describeError(cause)})`, { cause });
  }
  const rows: SheetRow[] = [];
  for (const r of records) {
    const inner = r.raw.replace(/^(?:\r?\n)+/, '').replace(/\r?\n$/, '');
    const start = r.info.lines - (inner.match(/\n/g)?.length ?? 0);
    if (!isEmptyRow(r.record)) rows.push({ line: start, cells: r.record });
  }
  return { rows, delimiter };
}

type ExcelValue = ExcelJS.CellValue;

function excelCell(value: ExcelValue): Cell {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' || value instanceof Date) return value;
  if ('richText' in value) return value.richText.map((t) => t.text).join('');
  if ('hyperlink' in value) {
    const text = value.text as unknown;
    if (typeof text === 'string') return text;
    if (text && typeof text === 'object' && 'richText' in text) return excelCell(text as ExcelJS.CellRichTextValue);
    return value.hyperlink.replace(/^mailto:/i, '');
  }
  if ('formula' in value || 'sharedFormula' in value) {
    const result = (value as ExcelJS.CellFormulaValue).result;
    return result === undefined ? null : excelCell(result as ExcelValue);
  }
  if ('error' in value) return value.error;
  return String(value);
}

/** Reads the first worksheet that has data. */
export async function readXlsx(bytes: Buffer, file: string): Promise<{ rows: SheetRow[]; worksheet: string }> {
  const workbook = new ExcelJS.Workbook();
  try {
    await workbook.xlsx.load(bytes as unknown as ArrayBuffer);
  } catch (cause) {
    throw new AppError('INPUT_FILE_UNREADABLE', `${file}: not a readable XLSX workbook (${describeError(cause)})`, { cause });
  }
  const sheet = workbook.worksheets.find((ws) => ws.actualRowCount > 0);
  if (!sheet) throw new AppError('INPUT_FILE_UNREADABLE', `${file}: the workbook has no worksheet with data`);
  const rows: SheetRow[] = [];
  const width = sheet.columnCount;
  sheet.eachRow({ includeEmpty: false }, (row, rowNumber) => {
    const cells: Cell[] = [];
    for (let i = 1; i <= width; i += 1) cells.push(excelCell(row.getCell(i).value));
    if (!isEmptyRow(cells)) rows.push({ line: rowNumber, cells });
  });
  return { rows, worksheet: sheet.name };
}

/** Reads a CSV or XLSX file (decided by its bytes, not its name). One-line AppError naming the file on failure. */
export async function readSpreadsheet(file: string): Promise<Sheet> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (cause) {
    const code = (cause as { code?: string }).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a folder' : code === 'EACCES' ? 'permission denied' : describeError(cause);
    throw new AppError('INPUT_FILE_UNREADABLE', `${file}: cannot be read (${why})`, { cause });
  }
  if (bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04) {
    const { rows, worksheet } = await readXlsx(bytes, file);
    return { file, format: 'xlsx', worksheet, rows };
  }
  if (bytes.length >= 4 && bytes[0] === 0xd0 && bytes[1] === 0xcf && bytes[2] === 0x11 && bytes[3] === 0xe0) {
    throw new AppError('INPUT_FILE_UNREADABLE', `${file}: an old binary .xls workbook: save it as .xlsx or .csv first`);
  }
  if (/\.xlsx$/i.test(file)) throw new AppError('INPUT_FILE_UNREADABLE', `${file}: not a readable XLSX workbook (not a zip archive)`);
  if (bytes.subarray(0, 4096).includes(0) && !(bytes[0] === 0xff && bytes[1] === 0xfe) && !(bytes[0] === 0xfe && bytes[1] === 0xff)) {
    throw new AppError('INPUT_FILE_UNREADABLE', `${file}: a binary file, not CSV or XLSX (${path.extname(file) || 'no extension'})`);
  }
  const { text, encoding } = decodeText(bytes);
  const { rows, delimiter } = parseCsvText(text, file);
  return { file, format: 'csv', encoding, delimiter, rows };
}
