// npm run bench:plan — plans a holiday campaign and a monthly card for many clients on PostgreSQL,
// then re-plans the unchanged data. Sizes: BENCH_CLIENTS (default 100000), BENCH_CONTACTS (250000); BENCH_WRITERS: connections
// writing decisions and outbox rows at once (the planner's default, 2, when unset).
// Database: BENCH_DATABASE_URL or DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test), in a schema of its own.
// Besides wall time it prints the CPU seconds of this process and of its PostgreSQL backends (read from /proc when
// the server runs on this machine): on a loaded machine those vary far less than wall time, so compare them.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { sql } from 'kysely';
import { openDatabase } from '../../src/db/database.ts';
import { migrateToLatest } from '../../src/db/migrator.ts';
import { ManualClock } from '../../src/shared/clock.ts';
import { campaignSchema } from '../../src/campaigns/campaign-schema.ts';
import { syncCampaignFolder, listStoredCampaigns } from '../../src/campaigns/campaign-store.ts';
import { planCampaigns } from '../../src/campaigns/planner.ts';
import { parseCampaignSettings } from '../../src/campaigns/settings.ts';

const clients = Number(process.env.BENCH_CLIENTS ?? 100_000);
const contacts = Number(process.env.BENCH_CONTACTS ?? 250_000);
const writers = process.env.BENCH_WRITERS ? Number(process.env.BENCH_WRITERS) : undefined;
const url = process.env.BENCH_DATABASE_URL ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `bench_plan_${process.pid}`;
const load = () => os.loadavg().map((x) => x.toFixed(2)).join(' ');
const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

const db = await openDatabase({ databaseUrl: `${url}${url.includes('?') ? '&' : '?'}application_name=${schema}`, schema, poolSize: Math.max(4, 1 + (writers ?? 2)) });

/** CPU seconds (user + system) per backend of this benchmark, by pid; empty when /proc does not show them. */
async function backendCpu(): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  const pids = await sql<{ pid: number }>`SELECT pid FROM pg_stat_activity WHERE application_name = ${schema}`.execute(db.kysely);
  for (const { pid } of pids.rows) {
    try {
      const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
      out.set(pid, (Number(f[11]) + Number(f[12])) / 100);
    } catch {
      /* not on this machine */
    }
  }
  return out;
}
const cpuSince = async (node: NodeJS.CpuUsage, pg: Map<number, number>): Promise<string> => {
  const n = process.cpuUsage(node);
  const now = await backendCpu();
  let p = 0;
  for (const [pid, v] of now) p += v - (pg.get(pid) ?? 0);
  return `cpu: node ${((n.user + n.system) / 1e6).toFixed(2)} s, PostgreSQL backends ${p.toFixed(2)} s`;
};
try {
  let t = Date.now();
  await migrateToLatest(db);
  const countries = ['DE', 'BR', 'AU', 'US', 'FR', 'GB', 'CN', 'JP', 'IN', 'TR', 'SA', 'AE', 'ID', 'ES', 'IT', 'NL', 'MX', 'CA', 'KR', 'VN'];
  const langs = ['de', 'pt-BR', 'en', 'en', 'fr', 'en', 'zh-CN', 'ja', 'en', 'tr', 'ar', 'ar', 'id', 'es', 'it', 'nl', 'es', 'en', 'ko', 'vi'];
  await sql`INSERT INTO owners (name, email) SELECT 'Rep ' || g, 'rep' || g || '@us.example' FROM generate_series(1, 20) g`.execute(db.kysely);
  await sql`INSERT INTO mail_accounts (name, email, owner_id) SELECT 'rep' || id, email, id FROM owners`.execute(db.kysely);
  await sql`INSERT INTO clients (name, name_key, country, language, owner_id, status)
    SELECT 'Client ' || g, 'client ' || g, (${sql.val(countries)}::text[])[1 + g % ${countries.length}], (${sql.val(langs)}::text[])[1 + g % ${langs.length}],
      (SELECT min(id) FROM owners) + g % 20, 'active' FROM generate_series(1, ${clients}) g`.execute(db.kysely);
  await sql`INSERT INTO contacts (client_id, name, department, birthday)
    SELECT (SELECT min(id) FROM clients) + (g % ${clients}), 'Contact ' || g, (ARRAY['purchasing','technical','customs','management'])[1 + g % 4],
      CASE WHEN g % 7 = 0 THEN DATE '1980-01-01' + (g % 10000) END FROM generate_series(1, ${contacts}) g`.execute(db.kysely);
  await sql`INSERT INTO contact_emails (contact_id, address, is_primary) SELECT id, 'c' || id || '@client' || (id % 5000) || '.example', true FROM contacts`.execute(db.kysely);
  await sql`ANALYZE`.execute(db.kysely);
  process.stdout.write(`data: ${clients} clients, ${contacts} contacts generated in ${secs(Date.now() - t)} (PostgreSQL, schema ${schema})\n`);

  const clock = new ManualClock('2026-12-20T00:00:00Z');
  const defs = [
    { name: 'holiday-cards', kind: 'holiday', audience: {}, template: 'holiday-greeting', holidays: ['christmas', 'new-year', 'eid-al-fitr'], ours: ['spring-festival'], daysBefore: 2 },
    { name: 'monthly-card', kind: 'recurring', every: 'month', day: 21, audience: {}, template: 'monthly-card' },
  ].map((d, i) => ({ file: `bench-${i}.yaml`, definition: campaignSchema.parse(d) }));
  await syncCampaignFolder(db, { campaigns: defs, audiences: new Map(), problems: [] }, clock);
  const campaigns = await listStoredCampaigns(db);
  const settings = parseCampaignSettings({ horizonDays: 7, sendWindow: { start: '09:00', end: '11:00', days: [1, 2, 3, 4, 5, 6, 7] } });

  process.stdout.write(`load average before plan: ${load()}\n`);
  let pgCpu = await backendCpu();
  let nodeCpu = process.cpuUsage();
  t = Date.now();
  const first = await planCampaigns(db, { clock, settings, campaigns, collectLines: false, ...(writers ? { writers } : {}) });
  const planMs = Date.now() - t;
  const rows = first.planned + first.deferred + first.skipped;
  process.stdout.write(`plan:    ${secs(planMs)}  decisions ${rows} (planned ${first.planned}, deferred ${first.deferred}, left out ${first.skipped}), outbox rows ${first.enqueued}, ${Math.round((first.enqueued / planMs) * 1000)} outbox rows/s, ${Math.round((rows / planMs) * 1000)} decisions/s  [target < 60 s]\n`);
  process.stdout.write(`${await cpuSince(nodeCpu, pgCpu)}; load average: ${load()}\n`);
  pgCpu = await backendCpu();
  nodeCpu = process.cpuUsage();
  t = Date.now();
  const again = await planCampaigns(db, { clock, settings, campaigns, collectLines: false, ...(writers ? { writers } : {}) });
  const replanMs = Date.now() - t;
  process.stdout.write(`re-plan: ${secs(replanMs)}  new decisions ${again.planned + again.deferred + again.skipped}, new outbox rows ${again.enqueued}  [target < 10 s]; ${await cpuSince(nodeCpu, pgCpu)}\n`);
  const n = await sql<{ n: number; k: number }>`SELECT count(*)::int AS n, count(DISTINCT idempotency_key)::int AS k FROM outbox`.execute(db.kysely);
  process.stdout.write(`outbox: ${n.rows[0]?.n} rows, ${n.rows[0]?.k} distinct idempotency keys; load average: ${load()}\n`);
} finally {
  if (!process.env.BENCH_KEEP) await sql.raw(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).execute(db.kysely).catch(() => undefined);
  await db.close();
}
