import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RegisterCommands, AppContext } from '../context.ts';
import { importSpreadsheet } from '../../clients/import/index.ts';
import { refreshSegments, storedSegments } from '../../clients/segments.ts';
import { parseSegmentSettings } from '../../clients/segment-settings.ts';
import { formatImportReport } from './import-export.ts';
import { randomBytes } from 'node:crypto';
import { addAccount, listAccounts } from '../../mailbox/index.ts';
import { ensureOwner } from '../../clients/client-book.ts';

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
          const rows = await storedSegments(ctx.db);
          const names = new Map((await ctx.db.kysely.selectFrom('clients').select(['id', 'name']).execute()).map((c) => [c.id, c.name]));
          const counts = new Map<string, number>();
          for (const r of rows) counts.set(r.segment, (counts.get(r.segment) ?? 0) + 1);
          ctx.out([...counts.entries()].sort().map(([k, v]) => `${k}: ${v}`).join(' | '));
          for (const seg of ['dormant', 'order-anomaly', 'narrow', 'tier:key'] as const) {
            for (const r of rows.filter((x) => x.segment === seg).slice(0, 3)) ctx.out(`  ${seg.padEnd(14)} ${names.get(r.clientId) ?? r.clientId}: ${r.reason}`);
          }
        });
        // The rest runs the real subcommands, on this same database and clock.
        const { buildProgram } = await import('../program.ts');
        // No SMTP password is stored in the demo; a throwaway key signs its unsubscribe links when none is configured.
        const secretKey = ctx.config.secretKey ?? randomBytes(32).toString('base64');
        // Two weeks ahead, so the demo shows next month's card as well as this week's holidays.
        const campaigns = { horizonDays: 14, ...(ctx.config.sections['campaigns'] as object | undefined) };
        const sections = { ...ctx.config.sections, campaigns };
        const demoCtx: AppContext = { ...ctx, config: { ...ctx.config, secretKey, sections, campaignsDir: path.join(EXAMPLES_DIR, 'campaigns') } };
        const sub = async (args: string[]): Promise<void> => {
          ctx.out(`$ rapport ${args.join(' ')}`);
          await buildProgram((fn) => fn(demoCtx)).parseAsync(args, { from: 'user' });
        };
        await step(ctx, 'mailboxes: two sales reps, and sample mail imported as if synced (threaded and linked to clients)', async () => {
          const have = new Set((await listAccounts(ctx.db)).map((a) => a.name));
          for (const [name, email, owner] of [['lily', 'lily.wang@rapport-demo.example', 'Lily Wang'], ['tom', 'tom.li@rapport-demo.example', 'Tom Li']] as const) {
            if (!have.has(name)) await addAccount(ctx.db, ctx.config, { name, email, ownerId: await ensureOwner(ctx.db, owner), savesSent: true });
          }
          await sub(['import', 'mail', path.join(EXAMPLES_DIR, 'mail')]);
          await sub(['threads', 'list']);
        });
        await step(ctx, 'triage: every inbound inquiry scored, its reply-time target set, our replies found', async () => {
          await sub(['triage', 'run']);
          await sub(['board']);
        });
        await step(ctx, 'templates: a monthly card for a client, in its language', async () => {
          const first = await ctx.db.kysely.selectFrom('clients').select('id').orderBy('id').executeTakeFirst();
          const out = path.join(path.dirname(ctx.config.dataDir), 'preview');
          if (first) await sub(['templates', 'preview', 'monthly-card', '--client', String(first.id), '--out', out]);
        });
        await step(ctx, 'campaigns: plan the next days from examples/campaigns (who gets what, when, from which account, and why not)', async () => {
          await sub(['campaigns', 'validate']);
          await sub(['campaigns', 'plan', '--limit', '25']);
        });
        await step(ctx, 'sending: what is due now, rendered and throttled without sending (no SMTP server in the demo)', async () => {
          await sub(['send', 'run', '--once', '--dry-run']);
          await sub(['outbox', 'list', '--limit', '10']);
        });
      }),
    );
};
