import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { commandGroup, type AppContext, type RegisterCommands } from '../context.ts';
import { formatJson } from '../output.ts';
import { importSheet, parseImportEntity, readSpreadsheet, type ImportReport } from '../../clients/import/index.ts';
import { exportSpreadsheet, parseExportFormat } from '../../clients/export/index.ts';
import { AppError, describeError } from '../../shared/app-error.ts';

function countLine(label: string, c: { created: number; updated: number; unchanged: number }): string | undefined {
  if (c.created + c.updated + c.unchanged === 0) return undefined;
  return `${label}: ${c.created} new, ${c.updated} updated, ${c.unchanged} unchanged`;
}

/** The per-row report for people. */
export function formatImportReport(r: ImportReport): string[] {
  const source = r.format === 'csv' ? `csv, ${r.encoding ?? 'utf-8'}, "${r.delimiter === '\t' ? '\\t' : (r.delimiter ?? ',')}"` : `xlsx, sheet "${r.worksheet ?? ''}"`;
  const verb = r.dryRun || r.abandoned ? 'would import' : 'imported';
  const lines = [`${r.file} (${source}): ${r.rows} rows, ${verb} ${r.abandoned ? r.rows - new Set(r.rejected.map((x) => x.line)).size : r.accepted}, rejected ${new Set(r.rejected.map((x) => x.line)).size}${r.dryRun ? ' (dry run: nothing written)' : ''}${r.abandoned ? ' (--strict: nothing written)' : ''}`];
  const c = r.counts;
  const parts = [
    countLine('clients', c.clients), countLine('contacts', c.contacts), countLine('orders', c.orders),
    c.emailsAdded ? `emails added: ${c.emailsAdded}` : undefined, c.channelsAdded ? `phones/handles added: ${c.channelsAdded}` : undefined,
    c.domainsAdded ? `domains added: ${c.domainsAdded}` : undefined, c.ownersCreated ? `owners created: ${c.ownersCreated}` : undefined,
    c.tagsAdded ? `tags/interests added: ${c.tagsAdded}` : undefined, c.touchpointsAdded ? `last-contact notes added: ${c.touchpointsAdded}` : undefined,
  ].filter((x): x is string => x !== undefined);
  if (parts.length > 0) lines.push(`  ${parts.join('; ')}`);
  if (r.ignoredColumns.length > 0) lines.push(`  ignored columns: ${r.ignoredColumns.join(', ')}`);
  for (const x of r.rejected) lines.push(`  line ${x.line}: ${x.reason}`);
  for (const n of r.notes) lines.push(`  note, line ${n.line}: ${n.message}`);
  return lines;
}

export const registerImportExportCommands: RegisterCommands = (program, run) => {
  const imp = commandGroup(program, 'import', 'import data from files');
  for (const kind of ['clients', 'contacts', 'orders'] as const) {
    imp
      .command(`${kind} <file>`)
      .description(`import ${kind} from a CSV (UTF-8 or GBK, , or ;) or XLSX file; headers in English or Chinese (see README: column mapping)`)
      .option('--dry-run', 'check and report every row, write nothing')
      .option('--strict', 'write nothing when any row is rejected')
      .option('--json', 'print the report as JSON')
      .action(async (file: string, opts: { dryRun?: boolean; strict?: boolean; json?: boolean }) => {
        const entity = parseImportEntity(kind);
        const sheet = await readSpreadsheet(file); // a file that cannot be read fails before the database opens
        await run(async (ctx: AppContext) => {
          const report = await importSheet(ctx.db, sheet, entity, { dryRun: opts.dryRun === true, strict: opts.strict === true, clock: ctx.clock });
          if (opts.json) ctx.out(formatJson(report));
          else for (const line of formatImportReport(report)) ctx.out(line);
          const bad = new Set(report.rejected.map((x) => x.line));
          if (bad.size > 0) {
            const lines = [...bad].slice(0, 8).join(', ') + (bad.size > 8 ? ', ...' : '');
            const outcome = report.dryRun ? 'dry run, nothing written' : report.abandoned ? '--strict: nothing written' : `the other ${report.accepted} were imported`;
            throw new AppError('INPUT_INVALID', `${file}: ${bad.size} of ${report.rows} rows rejected (line ${lines}); ${outcome}`);
          }
        });
      });
  }

  const exp = commandGroup(program, 'export', 'export data to files');
  for (const kind of ['clients', 'contacts', 'orders'] as const) {
    exp
      .command(kind)
      .description(`export ${kind} as CSV or XLSX with the import's headers (an export imports back unchanged)`)
      .option('--format <format>', 'csv or xlsx (default: from --out, else csv)')
      .option('--out <file>', 'write to this file (default: CSV on standard output)')
      .action(async (opts: { format?: string; out?: string }) => {
        const ext = opts.out ? path.extname(opts.out).slice(1).toLowerCase() : '';
        const format = parseExportFormat(opts.format ?? (ext === 'xlsx' ? 'xlsx' : 'csv'));
        if (format === 'xlsx' && !opts.out) throw new AppError('INPUT_INVALID', '--format xlsx needs --out FILE (a workbook is not text)');
        await run(async (ctx: AppContext) => {
          const { bytes, rows } = await exportSpreadsheet(ctx.db, kind, format, { bom: opts.out !== undefined });
          if (!opts.out) {
            ctx.out(bytes.toString('utf8').replace(/\r\n$/, ''));
            return;
          }
          try {
            await writeFile(opts.out, bytes);
          } catch (cause) {
            throw new AppError('OUTPUT_FILE_UNWRITABLE', `${opts.out}: cannot be written (${describeError(cause)})`, { cause });
          }
          ctx.out(`wrote ${rows} ${kind === 'orders' ? 'order rows' : kind} to ${opts.out} (${format})`);
        });
      });
  }
};
