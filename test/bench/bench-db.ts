// npm run bench:db — loads 100,000 clients, 300,000 contacts (with emails) and
// 1,000,000 orders (with one line each) into PostgreSQL and into PGlite through
// Kysely in batched INSERTs, prints rows per second, then times the segment
// computation over all clients (the SQL behind `rapport segments`).
// Sizes: BENCH_CLIENTS, BENCH_CONTACTS, BENCH_ORDERS; BENCH_BACKENDS=postgres,pglite;
// BENCH_PG_URL (default postgres://postgres@127.0.0.1:5432/test).
import os from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { sql } from 'kysely';
import { openDatabase, type Db } from '../../src/db/database.ts';
import { migrateToLatest } from '../../src/db/migrator.ts';
import { computeSegments, refreshSegments, storedSegments } from '../../src/clients/segments.ts';
import { defaultSegmentSettings } from '../../src/clients/segment-settings.ts';

const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 100_000);
const CONTACTS = Number(process.env.BENCH_CONTACTS ?? 300_000);
const ORDERS = Number(process.env.BENCH_ORDERS ?? 1_000_000);
const BACKENDS = (process.env.BENCH_BACKENDS ?? 'postgres,pglite').split(',');
const PG_URL = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const BATCH = 2000;
const AS_OF = '2026-11-23';

// A small deterministic PRNG so every run loads the same data.
let seed = 42;
const rand = (): number => {
  seed = (seed * 1664525 + 1013904223) % 4294967296;
  return seed / 4294967296;
};
const COUNTRIES = ['DE', 'FR', 'GB', 'IT', 'ES', 'PL', 'TR', 'AE', 'SA', 'IN', 'JP', 'KR', 'VN', 'TH', 'ZA', 'NG', 'EG', 'CL', 'PE', 'NZ'];
const DEPTS = ['purchasing', 'technical', 'customs', 'sales', 'management'] as const;
const CATS = ['valves', 'pumps', 'fittings', 'flanges', 'pipes', 'gaskets'];

function day(offset: number): string {
  const d = new Date(Date.UTC(2026, 10, 23) - offset * 86_400_000);
  return d.toISOString().slice(0, 10);
}

async function inBatches<T>(total: number, make: (i: number) => T, insert: (rows: T[]) => Promise<void>): Promise<void> {
  for (let start = 0; start < total; start += BATCH) {
    const rows: T[] = [];
    for (let i = start; i < Math.min(total, start + BATCH); i++) rows.push(make(i));
    await insert(rows);
  }
}

async function load(db: Db): Promise<{ rows: number; seconds: number }> {
  seed = 42;
  const k = db.kysely;
  const t0 = performance.now();
  let rows = 0;
  await inBatches(CLIENTS, (i) => ({ id: i + 1, name: `Client ${i + 1} Trading Co`, name_key: `client ${i + 1} trading co`, country: COUNTRIES[i % COUNTRIES.length] ?? 'DE', status: 'active' as const }),
    async (batch) => { await k.insertInto('clients').values(batch).execute(); rows += batch.length; });
  await inBatches(CONTACTS, (i) => ({ id: i + 1, client_id: (i % CLIENTS) + 1, name: `Contact ${i + 1}`, department: DEPTS[Math.floor(rand() * DEPTS.length)] ?? 'purchasing' }),
    async (batch) => { await k.insertInto('contacts').values(batch).execute(); rows += batch.length; });
  await inBatches(CONTACTS, (i) => ({ contact_id: i + 1, address: `c${i + 1}@client${(i % CLIENTS) + 1}.example` }),
    async (batch) => { await k.insertInto('contact_emails').values(batch).execute(); rows += batch.length; });
  // Orders: each client gets a share, spread over three years, with its own rhythm.
  await inBatches(ORDERS, (i) => {
    const client = (i % CLIENTS) + 1;
    const nth = Math.floor(i / CLIENTS);
    const rhythm = 20 + (client % 90);
    return { id: i + 1, client_id: client, order_no: `PO-${i + 1}`, ordered_on: day(Math.max(0, 1100 - nth * rhythm - Math.floor(rand() * 10))), amount: Math.round(500 + rand() * 20_000), status: 'shipped' as const };
  }, async (batch) => { await k.insertInto('orders').values(batch).execute(); rows += batch.length; });
  await inBatches(ORDERS, (i) => ({ order_id: i + 1, product: 'Item', category: CATS[i % CATS.length] ?? 'valves', quantity: Math.round(10 + rand() * 500) }),
    async (batch) => { await k.insertInto('order_lines').values(batch).execute(); rows += batch.length; });
  for (const table of ['clients', 'contacts', 'orders']) await sql.raw(`SELECT setval(pg_get_serial_sequence('${table}', 'id'), (SELECT max(id) FROM ${table}))`).execute(k);
  await sql`ANALYZE`.execute(k);
  return { rows, seconds: (performance.now() - t0) / 1000 };
}

async function bench(backend: string): Promise<void> {
  let db: Db;
  let cleanup: () => Promise<void>;
  if (backend === 'postgres') {
    // BENCH_KEEP_SCHEMA=name keeps the loaded data for EXPLAIN ANALYZE afterwards.
    const schema = process.env.BENCH_KEEP_SCHEMA ?? `bench_db_${process.pid}`;
    db = await openDatabase({ databaseUrl: PG_URL, schema, poolSize: 4 });
    cleanup = async () => {
      if (!process.env.BENCH_KEEP_SCHEMA) await sql.raw(`DROP SCHEMA ${schema} CASCADE`).execute(db.kysely);
      await db.close();
    };
  } else {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'rapport-bench-db-'));
    db = await openDatabase({ dataDir: dir });
    cleanup = async () => {
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    };
  }
  try {
    await migrateToLatest(db);
    const { rows, seconds } = await load(db);
    console.log(`${backend}: loaded ${rows.toLocaleString('en')} rows (${CLIENTS.toLocaleString('en')} clients, ${CONTACTS.toLocaleString('en')} contacts + emails, ${ORDERS.toLocaleString('en')} orders + lines) in ${seconds.toFixed(1)} s = ${Math.round(rows / seconds).toLocaleString('en')} rows/s`);
    let t = performance.now();
    const segs = await computeSegments(db, defaultSegmentSettings, { asOf: AS_OF });
    const computeMs = performance.now() - t;
    // `rapport segments`: refresh (compute + store), then read back what it prints (printing left out)
    t = performance.now();
    const written = await refreshSegments(db, defaultSegmentSettings, { asOf: AS_OF });
    const refreshMs = performance.now() - t;
    const stored = await storedSegments(db);
    const commandMs = performance.now() - t;
    if (stored.length !== segs.length || stored.some((x, i) => x.clientId !== segs[i]!.clientId || x.segment !== segs[i]!.segment || x.reason !== segs[i]!.reason)) throw new Error('stored segments differ from computed ones');
    const counts = new Map<string, number>();
    for (const s of segs) counts.set(s.segment, (counts.get(s.segment) ?? 0) + 1);
    console.log(`${backend}: segments over ${CLIENTS.toLocaleString('en')} clients: compute ${(computeMs / 1000).toFixed(2)} s (${segs.length.toLocaleString('en')} pairs to node), compute+store ${(refreshMs / 1000).toFixed(2)} s (${written.toLocaleString('en')} client rows), rapport segments (compute+store+read back) ${(commandMs / 1000).toFixed(2)} s`);
    console.log(`${backend}: ${[...counts.entries()].sort().map(([k2, v]) => `${k2}=${v}`).join(' ')}`);
  } finally {
    await cleanup();
  }
}

console.log(`bench:db on ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'cpu'}), load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
for (const backend of BACKENDS) await bench(backend.trim());
console.log(`load average after: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
