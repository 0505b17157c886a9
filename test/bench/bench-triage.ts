// npm run bench:triage
// 1. Scoring throughput, single core: scoreMessage over BENCH_SCORE_N (100,000) messages built from the
//    labelled set (test/fixtures/triage), parsed once, dates spread over weeks.
// 2. On PostgreSQL: bulk-loads BENCH_MESSAGES (1,000,000) messages in threads of 5 (INSERT ... SELECT
//    generate_series), runs the whole stored-mail triage (`rapport triage run`: read, score, track,
//    write) over the linked threads holding BENCH_STORED_N (100,000) messages, then sets
//    BENCH_OPEN_TARGETS (50,000) open targets beside 200,000 met ones and times the board query.
// Sizes overridable by env; BENCH_PG_URL (default postgres://postgres@127.0.0.1:5432/test).
import os from 'node:os';
import { sql } from 'kysely';
import { openDatabase, type Db } from '../../src/db/database.ts';
import { migrateToLatest } from '../../src/db/migrator.ts';
import { ManualClock } from '../../src/shared/clock.ts';
import { scoreMessage } from '../../src/triage/score-message.ts';
import { runTriage } from '../../src/triage/triage-store.ts';
import { loadBoard } from '../../src/triage/board.ts';
import { loadLabelledSet } from '../triage/quality-set.ts';
import type { TriageMessage } from '../../src/triage/types.ts';

const SCORE_N = Number(process.env.BENCH_SCORE_N ?? 100_000);
const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 1_000_000);
const STORED_N = Math.min(MESSAGES, Number(process.env.BENCH_STORED_N ?? 100_000));
const OPEN_TARGETS = Number(process.env.BENCH_OPEN_TARGETS ?? 50_000);
const PG_URL = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const PER_THREAD = 5;

const load = () => os.loadavg().map((x) => x.toFixed(2)).join(' ');
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

async function benchScoring(): Promise<void> {
  const { us, settings, calendar, items } = await loadLabelledSet();
  const msgs: Array<{ m: TriageMessage; client: (typeof items)[number]['client'] }> = [];
  for (let i = 0; i < SCORE_N; i += 1) {
    const it = items[i % items.length]!;
    msgs.push({ m: { ...it.msg, sentAt: new Date(it.msg.sentAt.getTime() + (i % 997) * 3_600_000) }, client: it.client });
  }
  // warm-up (JIT, holiday tables)
  for (let i = 0; i < Math.min(2000, msgs.length); i += 1) scoreMessage(msgs[i]!.m, { us, settings, calendar, client: msgs[i]!.client });
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  let phone = 0;
  for (const { m, client } of msgs) if (scoreMessage(m, { us, settings, calendar, client }).channel === 'phone') phone += 1;
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(c0);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  // On a busy machine wall time includes waiting for a core; CPU time is what one core spent.
  console.log(`scoring (pure, single core): ${fmt(SCORE_N)} messages in ${(ms / 1000).toFixed(2)} s wall = ${fmt(SCORE_N / (ms / 1000))} messages/s; ${(cpuMs / 1000).toFixed(2)} s CPU = ${fmt(SCORE_N / (cpuMs / 1000))} messages/s per CPU-second (${phone} to phone)  [target >= 5,000/s]  load ${load()}`);
}

const SUBJECTS = ['Quote for patio heaters', 'URGENT: container held at customs', 'Defective igniters on PO 4471', 'PO 2305 - 2 containers', 'B/L and certificate of origin', 'Automatic reply: price list', 'Request for quotation', '询价：户外取暖器', 'Reklamation: beschädigte Ware', 'Solicitud de cotización'];
const BODIES = [
  'Hi Linda,\nplease quote 500 pcs of the HD-PH12 heater FOB Ningbo.\nBest regards',
  'Linda,\nurgent: customs holds our container, we need a corrected invoice today. Please call me ASAP.',
  'Linda,\n38 igniters are defective, we will claim the repair cost and want a replacement plan.',
  'Hi Linda,\nattached our purchase order PO 2305, please send the PI.',
  'Hello,\nplease send the B/L copy, packing list and certificate of origin.',
  'I am out of the office until Monday.',
  'Dear Sir/Madam,\nplease send your price list and catalogue.',
  '吴经理您好：\n请报价HD-PH12取暖器300台，本周五前回复，谢谢。',
  'Sehr geehrte Frau Wu,\n45 Heizstrahler sind beschädigt angekommen. Wir erwarten eine Gutschrift.',
  'Estimada Linda:\nnos gustaría recibir una cotización de 300 estufas.',
];

async function bulkLoad(db: Db): Promise<void> {
  const threads = Math.ceil(MESSAGES / PER_THREAD);
  const linked = Math.ceil(STORED_N / PER_THREAD);
  const k = db.kysely;
  await sql`INSERT INTO owners (id, name, email) SELECT g, 'Rep ' || g, 'rep' || g || '@ourco.com' FROM generate_series(1, 10) g`.execute(k);
  await sql`INSERT INTO mail_accounts (name, email, owner_id) VALUES ('sales', 'sales@ourco.com', 1)`.execute(k);
  await sql`INSERT INTO clients (id, name, name_key, owner_id, time_zone, tier_override, status)
    SELECT g, 'Client ' || g, 'client ' || g, 1 + g % 10, (ARRAY['Europe/Berlin','America/New_York','Asia/Dubai','Australia/Sydney','Europe/London'])[1 + g % 5],
      CASE WHEN g % 100 = 0 THEN 'key' WHEN g % 5 = 0 THEN 'major' WHEN g % 2 = 0 THEN 'normal' ELSE 'small' END, 'active'
    FROM generate_series(1, 5000) g`.execute(k);
  await sql`INSERT INTO threads (id, subject, normalized_subject, client_id, first_message_at, last_message_at, message_count)
    SELECT g, 'Thread ' || g, 'thread ' || g, CASE WHEN g <= ${linked} THEN 1 + g % 5000 ELSE NULL END,
      timestamptz '2026-09-01 00:00+00' + g * interval '40 seconds', timestamptz '2026-09-01 00:00+00' + g * interval '40 seconds' + interval '4 hours', 5
    FROM generate_series(1, ${threads}) g`.execute(k);
  // Message p of thread t (p = 0..4): 0 inbound, 1 our reply (missing in every third thread), 2 inbound, 3 inbound auto-reply, 4 our reply.
  await sql`INSERT INTO messages (id, message_id, content_hash, thread_id, direction, account_id, from_address, from_name, to_addresses, subject, sent_at,
      in_reply_to, headers, text_body, newest_part)
    SELECT i, 'm' || i || '@bench', 'h' || i, t, CASE WHEN p IN (1, 4) THEN 'outbound' ELSE 'inbound' END, 1,
      CASE WHEN p IN (1, 4) THEN 'sales@ourco.com' ELSE 'buyer' || t || '@client' || (t % 5000) || '.com' END, 'Buyer',
      CASE WHEN p IN (1, 4) THEN ARRAY['buyer' || t || '@client' || (t % 5000) || '.com'] ELSE ARRAY['sales@ourco.com'] END,
      (${sql.val(SUBJECTS)}::text[])[1 + (t % ${SUBJECTS.length})],
      timestamptz '2026-09-01 00:00+00' + t * interval '40 seconds' + p * interval '1 hour',
      CASE WHEN p = 0 THEN NULL ELSE 'm' || (i - 1) || '@bench' END,
      CASE WHEN p = 3 THEN '{"auto-submitted":"auto-replied"}'::jsonb ELSE '{}'::jsonb END,
      CASE WHEN p IN (1, 4) THEN 'Dear customer, thank you, our offer is attached.' ELSE (${sql.val(BODIES)}::text[])[1 + ((t + p) % ${BODIES.length})] END, NULL
    FROM (SELECT i, 1 + (i - 1) / ${PER_THREAD} AS t, (i - 1) % ${PER_THREAD} AS p FROM generate_series(1, ${MESSAGES}) i) s
    WHERE NOT (p = 1 AND t % 3 = 0)`.execute(k);
  await sql`SELECT setval(pg_get_serial_sequence('messages', 'id'), ${MESSAGES})`.execute(k);
  await sql`SELECT setval(pg_get_serial_sequence('threads', 'id'), ${threads})`.execute(k);
  await sql`SELECT setval(pg_get_serial_sequence('clients', 'id'), 5000)`.execute(k);
  await sql`ANALYZE`.execute(k);
}

async function setBoardTargets(db: Db): Promise<void> {
  const threads = Math.ceil(MESSAGES / PER_THREAD);
  const k = db.kysely;
  await sql`TRUNCATE reply_targets`.execute(k);
  // met targets: one per thread on its message p = 2
  await sql`INSERT INTO reply_targets (thread_id, message_id, client_id, owner_id, kind, channel, category, urgency, started_at, due_at, met_at, status, reasons, explanation)
    SELECT t, (t - 1) * ${PER_THREAD} + 3, 1 + t % 5000, 1 + t % 10, 'reply', 'email', 'inquiry', t % 100,
      timestamptz '2026-09-01 00:00+00' + t * interval '40 seconds', timestamptz '2026-09-01 12:00+00' + t * interval '40 seconds',
      timestamptz '2026-09-01 06:00+00' + t * interval '40 seconds', 'met', '[]', 'inquiry · one-to-one -> email within 12h'
    FROM generate_series(1, ${threads}) t WHERE ((t - 1) * ${PER_THREAD} + 3) <= ${MESSAGES}`.execute(k);
  // open targets, due from 2 days ago to 2 days ahead of "now" (2026-12-15 10:00 +08)
  await sql`INSERT INTO reply_targets (thread_id, message_id, client_id, owner_id, kind, channel, category, urgency, started_at, due_at, status, reasons, explanation)
    SELECT t, (t - 1) * ${PER_THREAD} + 1, 1 + t % 5000, 1 + t % 10, CASE WHEN g % 20 = 0 THEN 'phone' ELSE 'reply' END, CASE WHEN g % 20 = 0 THEN 'phone' ELSE 'email' END,
      'inquiry', g % 100, timestamptz '2026-12-13 02:00+00' + g * interval '3 seconds', timestamptz '2026-12-13 02:00+00' + g * interval '7 seconds',
      'open', '[{"group":"urgency","code":"base","text":"inquiry base","weight":20}]', 'inquiry · one-to-one (+ addressed by name) · inquiry base +20 -> email within 12h'
    FROM (SELECT g, 1 + ((g - 1) * ${Math.max(1, Math.floor(threads / Math.max(1, OPEN_TARGETS)))}) % ${threads} AS t FROM generate_series(1, ${OPEN_TARGETS}) g) s
    ON CONFLICT (message_id, kind) DO NOTHING`.execute(k);
  await sql`ANALYZE reply_targets`.execute(k);
}

async function benchPostgres(): Promise<void> {
  const schema = 'bench_triage';
  const admin = await openDatabase({ databaseUrl: PG_URL });
  await sql.raw(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).execute(admin.kysely);
  await admin.close();
  const db = await openDatabase({ databaseUrl: PG_URL, schema, poolSize: 4 });
  try {
    await migrateToLatest(db);
    let t0 = performance.now();
    await bulkLoad(db);
    const stored = await sql<{ n: number }>`SELECT count(*)::int AS n FROM messages`.execute(db.kysely);
    console.log(`bulk load: ${fmt(stored.rows[0]!.n)} messages in ${fmt(Math.ceil(MESSAGES / PER_THREAD))} threads in ${((performance.now() - t0) / 1000).toFixed(1)} s  load ${load()}`);

    const clock = new ManualClock('2026-12-15T02:00:00Z');
    t0 = performance.now();
    const c0 = process.cpuUsage();
    const res = await runTriage(db, (await import('../../src/triage/settings.ts')).parseTriageSettings({ company: { names: ['Hengda'], products: ['HD-PH12'] } }), clock, { batchSize: 1000 });
    let ms = performance.now() - t0;
    const cpu = process.cpuUsage(c0);
    const cpuS = (cpu.user + cpu.system) / 1e6;
    const inboundScored = res.scored;
    const total = await sql<{ n: number }>`SELECT count(*)::int AS n FROM messages m JOIN threads t ON t.id = m.thread_id WHERE t.client_id IS NOT NULL`.execute(db.kysely);
    console.log(`stored triage (read, score, track, write; triage run): ${fmt(res.threads)} threads, ${fmt(total.rows[0]!.n)} messages (${fmt(inboundScored)} inbound scored), ${fmt(res.targets)} targets in ${(ms / 1000).toFixed(1)} s = ${fmt(total.rows[0]!.n / (ms / 1000))} messages/s wall; node CPU ${cpuS.toFixed(1)} s = ${fmt(total.rows[0]!.n / cpuS)} messages per CPU-second (the rest is PostgreSQL and waiting)  load ${load()}`);

    t0 = performance.now();
    await setBoardTargets(db);
    const counts = await sql<{ open: number; all: number }>`SELECT count(*) FILTER (WHERE met_at IS NULL)::int AS open, count(*)::int AS all FROM reply_targets`.execute(db.kysely);
    console.log(`targets: ${fmt(counts.rows[0]!.open)} open of ${fmt(counts.rows[0]!.all)} (set in ${((performance.now() - t0) / 1000).toFixed(1)} s)`);
    const boardClock = new ManualClock('2026-12-15T02:00:00Z');
    for (let i = 0; i < 5; i += 1) await loadBoard(db, boardClock);
    const times: number[] = [];
    let board = await loadBoard(db, boardClock);
    for (let i = 0; i < 50; i += 1) {
      t0 = performance.now();
      board = await loadBoard(db, boardClock);
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    ms = times[Math.floor(times.length / 2)]!;
    console.log(`board (100 rows + open/overdue counts over ${fmt(board.open)} open, ${fmt(board.overdue)} overdue, ${fmt(MESSAGES)} messages): median ${ms.toFixed(1)} ms, p95 ${times[Math.floor(times.length * 0.95)]!.toFixed(1)} ms  [target < 100 ms]  load ${load()}`);
    const plan = await sql<{ 'QUERY PLAN': string }>`EXPLAIN SELECT * FROM reply_targets WHERE met_at IS NULL AND status <> 'void' ORDER BY due_at LIMIT 100`.execute(db.kysely);
    console.log(`  plan: ${plan.rows.map((r) => r['QUERY PLAN']).join(' | ').slice(0, 200)}`);
  } finally {
    if (process.env.BENCH_KEEP !== '1') await sql.raw(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).execute(db.kysely).catch(() => undefined);
    await db.close();
  }
}

console.log(`bench:triage on ${os.cpus().length} cores, node ${process.version}; load average ${load()}`);
await benchScoring();
if (process.env.BENCH_SKIP_PG !== '1') await benchPostgres();
