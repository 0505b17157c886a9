import type { RegisterCommands } from '../context.ts';
import { migrateToLatest, migrationStatus } from '../../db/migrator.ts';
import { formatJson, formatTable } from '../output.ts';

export const registerDbCommands: RegisterCommands = (program, run) => {
  const db = program.command('db').description('the database: migrations and status');
  db.command('migrate')
    .description('apply every pending migration')
    .action(() =>
      run(async (ctx) => {
        const res = await migrateToLatest(ctx.db);
        const applied = res.results?.filter((r) => r.status === 'Success').map((r) => r.migrationName) ?? [];
        ctx.out(applied.length === 0 ? 'database is up to date' : `applied ${applied.length}: ${applied.join(', ')}`);
      }),
    );
  db.command('status')
    .description('list migrations and whether each is applied')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) =>
      run(async (ctx) => {
        const list = await migrationStatus(ctx.db);
        const backend = ctx.db.backend === 'pglite' ? `pglite ${ctx.config.dataDir}` : 'postgres (DATABASE_URL)';
        if (opts.json) ctx.out(formatJson({ backend: ctx.db.backend, migrations: list }));
        else {
          ctx.out(`backend: ${backend}`);
          ctx.out(formatTable(list.map((m) => ({ migration: m.name, applied: m.executedAt ? m.executedAt.toISOString() : 'pending' })), ['migration', 'applied']));
        }
      }, ),
    );
};
