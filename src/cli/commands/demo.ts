import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RegisterCommands, AppContext } from '../context.ts';
import { importSpreadsheet } from '../../clients/import/index.ts';
import { refreshSegments, computeSegments } from '../../clients/segments.ts';
import { parseSegmentSettings } from '../../clients/segment-settings.ts';
import { formatImportReport } from './import-export.ts';

/** The sample data shipped in examples/. */
export const EXAMPLES_DIR = fileURLToPath(new URL('../../../examples', import.meta.url));

async function step(ctx: AppContext, title: string, fn: () => Promise<void>): Promise<void> {
  ctx.out('');
  ctx.out(`== ${title}`);
  await fn();
}

/**
 * `rapport demo`: Rapport's main job on the sample data in examples/, on the
 * configured database (the embedded one by default). Safe to run again: every
 * step is idempotent.
 */
export const registerDemoCommands: RegisterCommands = (program, run) => {
  program
    .command('demo')
    .description('run the main job on the sample data in examples/ (import the client book, compute segments, ...)')
    .option('--as-of <date>', 'the day to compute for (YYYY-MM-DD, default today)')
    .action((o: { asOf?: string }) =>
      run(async (ctx) => {
        ctx.out(`Rapport demo on ${ctx.db.backend === 'pglite' ? `the embedded database in ${ctx.config.dataDir}` : 'PostgreSQL (DATABASE_URL)'}`);
        const asOf = o.asOf ?? ctx.clock.now().toISOString().slice(0, 10);
        await step(ctx, 'client book: import examples/clients.csv, contacts.csv, orders.csv', async () => {
          for (const [file, entity] of [['clients.csv', 'clients'], ['contacts.csv', 'contacts'], ['orders.csv', 'orders']] as const) {
            const full = path.join(EXAMPLES_DIR, file);
            if (!existsSync(full)) continue;
            const report = await importSpreadsheet(ctx.db, full, entity, { clock: ctx.clock });
            for (const line of formatImportReport({ ...report, file: path.relative(process.cwd(), full) || file })) ctx.out(line);
          }
        });
        await step(ctx, `segments as of ${asOf} (rapport segments)`, async () => {
          const settings = parseSegmentSettings(ctx.config.sections.segments);
          await refreshSegments(ctx.db, settings, { asOf });
          const rows = await computeSegments(ctx.db, settings, { asOf });
          const names = new Map((await ctx.db.kysely.selectFrom('clients').select(['id', 'name']).execute()).map((c) => [c.id, c.name]));
          const counts = new Map<string, number>();
          for (const r of rows) counts.set(r.segment, (counts.get(r.segment) ?? 0) + 1);
          ctx.out([...counts.entries()].sort().map(([k, v]) => `${k}: ${v}`).join(' | '));
          for (const seg of ['dormant', 'order-anomaly', 'narrow', 'tier:key'] as const) {
            for (const r of rows.filter((x) => x.segment === seg).slice(0, 3)) ctx.out(`  ${seg.padEnd(14)} ${names.get(r.clientId) ?? r.clientId}: ${r.reason}`);
          }
        });
      }),
    );
};
