// npm run bench:send — see issue 6 "Performance".
// (a) nodemailer's pool alone sending pre-rendered ~20 KB mails to a sink smtp-server on loopback;
// (b) Rapport's whole path (claim, render, send, record) with throttles off, 1 and 4 workers, ratio b/a;
// (c) an account limit of 50 a second for 10 seconds: total, and the largest sliding one-second window.
// Sizes: BENCH_SEND_N (20000), BENCH_SEND_KB (20), BENCH_SEND_CONNECTIONS (10), BENCH_SEND_RATE (50),
// BENCH_SEND_SECONDS (10), BENCH_SEND_PHASES (a,b1,b4,c: which parts to run, for profiling one of them),
// BENCH_SEND_ROUNDS (3: (a) and (b) with 4 workers take turns this many times; the ratio is printed per round and of the faster runs),
// BENCH_SEND_PROF=DIR (a CPU profile of each timed phase, a.cpuprofile, b1.cpuprofile...: set-up left out).
// Database: DATABASE_URL, else postgres://postgres@127.0.0.1:5432/test, else PGlite.
import { writeFileSync } from 'node:fs';
import inspector from 'node:inspector';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import Handlebars from 'handlebars';
import nodemailer from 'nodemailer';
import { SMTPServer } from 'smtp-server';
import type { AddressInfo } from 'node:net';
import { openDatabase, type Db } from '../../src/db/database.ts';
import { migrateToLatest } from '../../src/db/migrator.ts';
import { enqueueMail, parseOutboundSettings, runSender, SmtpTransports, type Renderer } from '../../src/outbound/index.ts';
import { systemClock } from '../../src/shared/clock.ts';

const N = Number(process.env.BENCH_SEND_N ?? 20_000);
const KB = Number(process.env.BENCH_SEND_KB ?? 20);
const CONNS = Number(process.env.BENCH_SEND_CONNECTIONS ?? 10);
const RATE = Number(process.env.BENCH_SEND_RATE ?? 50);
const SECONDS = Number(process.env.BENCH_SEND_SECONDS ?? 10);
const PHASES = new Set((process.env.BENCH_SEND_PHASES ?? 'a,b1,b4,c').split(','));
const ROUNDS = Math.max(1, Number(process.env.BENCH_SEND_ROUNDS ?? 3));
/** Each phase's timed runs (ms), in order. */
const times: Record<string, number[]> = { a: [], b1: [], b4: [] };

const arrivals: number[] = [];
const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS'],
  logger: false,
  size: 100 * 1024 * 1024,
  onData(stream, _s, cb) {
    stream.on('data', () => undefined);
    stream.on('end', () => {
      arrivals.push(Date.now());
      cb(null, '250 ok');
    });
  },
});
server.on('error', () => undefined);
await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
const port = (server.server.address() as AddressInfo).port;

const filler = (n: number): string => {
  const words = ['valve', 'flange', 'stainless', 'pressure', 'rated', 'shipment', 'quotation', 'sample', 'delivery', 'warranty'];
  let s = '';
  while (s.length < n) s += `${words[s.length % words.length]} `;
  return s.slice(0, n);
};
const body = filler(KB * 1024 * 0.6);
const text = filler(KB * 1024 * 0.35);

async function openBenchDb(): Promise<Db> {
  const schema = `bench_send_${process.pid}`;
  const url = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  try {
    return await openDatabase({ databaseUrl: url, schema, poolSize: 12 });
  } catch {
    console.log('PostgreSQL unreachable: using PGlite in memory');
    return openDatabase({ dataDir: 'memory://', schema });
  }
}

const rate = (n: number, ms: number): string => `${((n * 1000) / ms).toFixed(0)}/s`;
/** CPU seconds this process (sender and sink) spent in a phase: tells a CPU-bound phase from a waiting one. */
let cpu0 = process.cpuUsage();
const cpuStart = (): void => {
  cpu0 = process.cpuUsage();
};
/** With BENCH_SEND_PROF: profiles the timed part of a phase only (setting up the outbox is left out). */
const profiler = process.env.BENCH_SEND_PROF ? new inspector.Session() : null;
profiler?.connect();
const post = (method: string): Promise<unknown> => new Promise((resolve, reject) => profiler?.post(method, (err, res) => (err ? reject(err) : resolve(res))));
async function profileStart(): Promise<void> {
  if (!profiler) return;
  await post('Profiler.enable');
  await post('Profiler.start');
}
async function profileStop(phase: string): Promise<void> {
  if (!profiler) return;
  const res = (await post('Profiler.stop')) as { profile: unknown };
  writeFileSync(path.join(process.env.BENCH_SEND_PROF as string, `${phase}.cpuprofile`), JSON.stringify(res.profile));
}
const cpuSince = (): string => {
  const c = process.cpuUsage(cpu0);
  return `node CPU ${((c.user + c.system) / 1000 / 1000).toFixed(1)} s, of it system ${(c.system / 1000 / 1000).toFixed(1)} s`;
};

// (a) nodemailer alone.
async function benchNodemailer(): Promise<number> {
  const t = nodemailer.createTransport({ pool: true, host: '127.0.0.1', port, secure: false, ignoreTLS: true, maxConnections: CONNS, maxMessages: Infinity });
  const start = arrivals.length;
  await profileStart();
  cpuStart();
  const t0 = Date.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < N) {
      const i = next++;
      await t.sendMail({ from: 'bench@sender.test', to: `r${i}@client${i % 50}.com`, subject: `Patio heaters for ACME ${i}`, html: `<html><body><p>Dear Mr. Wang ${i},</p><p>${body}</p></body></html>`, text, messageId: `<a${i}.${randomBytes(6).toString('hex')}@sender.test>` });
    }
  };
  await Promise.all(Array.from({ length: CONNS * 4 }, worker));
  const ms = Date.now() - t0;
  await profileStop(`a.${times.a!.length + 1}`);
  t.close();
  if (arrivals.length - start !== N) throw new Error(`nodemailer: sink got ${arrivals.length - start} of ${N}`);
  return ms;
}

// A renderer compiled once, rendering per recipient (the template library's job in production).
const subjectT = Handlebars.compile('Patio heaters for {{client}}');
const htmlT = Handlebars.compile('<html><body><p>Dear {{name}},</p><p>{{body}}</p><p><a href="{{unsubscribeUrl}}">unsubscribe</a></p></body></html>');
const textT = Handlebars.compile('Dear {{name}},\n\n{{text}}\n');
const renderer: Renderer = {
  render: (_name, _locale, d) => ({ subject: subjectT(d), html: htmlT({ ...d, body }), text: textT({ ...d, text }) }),
};

async function prepare(db: Db, count: number, tag: string, accountId: number): Promise<void> {
  for (let i = 0; i < count; i += 5000) {
    const rows = Array.from({ length: Math.min(5000, count - i) }, (_, j) => ({
      idempotencyKey: `${tag}:${i + j}`, accountId, toAddress: `r${i + j}@client${(i + j) % 50}.com`, kind: 'transactional' as const,
      template: 'bench', locale: 'en', data: { name: `Mr. Wang ${i + j}`, client: 'ACME' },
    }));
    await enqueueMail(db, rows);
  }
}

async function benchRapport(db: Db, accountId: number, workers: number): Promise<number> {
  // the send log first: its outbox_id is indexed only for open slots, so deleting outbox rows first would scan it once a row
  await sql`DELETE FROM outbound_send_log`.execute(db.kysely);
  await sql`DELETE FROM outbox`.execute(db.kysely);
  await prepare(db, N, `w${workers}`, accountId);
  const settings = parseOutboundSettings({ throttles: false, claimBatch: Number(process.env.BENCH_SEND_CLAIM ?? CONNS * 4), pollMs: 50 });
  const transports = new SmtpTransports(db, { settings, credentials: async () => null, maxConnections: CONNS });
  const start = arrivals.length;
  await profileStart();
  cpuStart();
  const t0 = Date.now();
  const res = await runSender({ db, settings, clock: systemClock, transports, renderer }, { workers, once: true });
  const ms = Date.now() - t0;
  await profileStop(`b${workers}.${times[`b${workers}`]!.length + 1}`);
  await transports.closeAll();
  const sent = (await sql<{ n: number }>`SELECT count(*)::int AS n FROM outbox WHERE state = 'sent'`.execute(db.kysely)).rows[0]?.n;
  if (res.sent !== N || sent !== N || arrivals.length - start !== N) throw new Error(`rapport ${workers}w: sent ${res.sent}, recorded ${sent}, sink got ${arrivals.length - start} of ${N}`);
  return ms;
}

async function benchRate(db: Db, accountId: number): Promise<{ total: number; fromFirst: number; firstMs: number; maxWindow: number }> {
  await sql`DELETE FROM outbound_send_log`.execute(db.kysely);
  await sql`DELETE FROM outbox`.execute(db.kysely);
  await prepare(db, RATE * SECONDS * 3, 'rate', accountId);
  const settings = parseOutboundSettings({
    claimBatch: 20,
    pollMs: 50,
    defaults: { perSecond: RATE, perMinute: null, perHour: null, perDay: null },
    domains: { perMinute: null, perHour: null, freemailPerMinute: null, freemailPerHour: null },
  });
  const transports = new SmtpTransports(db, { settings, credentials: async () => null, maxConnections: CONNS });
  const abort = new AbortController();
  const start = arrivals.length;
  const t0 = Date.now();
  const timer = setTimeout(() => abort.abort(), SECONDS * 1000);
  await runSender({ db, settings, clock: systemClock, transports, renderer }, { workers: 4, signal: abort.signal });
  clearTimeout(timer);
  await transports.closeAll();
  const all = arrivals.slice(start).sort((a, b) => a - b);
  const got = all.filter((t) => t < t0 + SECONDS * 1000);
  // The same 10 s counted from the first mail's arrival: start-up (pool, greeting, first claim) left out.
  const first = all[0] ?? t0;
  const fromFirst = all.filter((t) => t < first + SECONDS * 1000).length;
  let maxWindow = 0;
  for (let a = 0, b = 0; b < all.length; b += 1) {
    while (all[b]! - all[a]! >= 1000) a += 1;
    maxWindow = Math.max(maxWindow, b - a + 1);
  }
  const slots = (await sql<{ r: Date; f: Date | null }>`SELECT reserved_at AS r, finished_at AS f FROM outbound_send_log WHERE finished_at IS NOT NULL ORDER BY reserved_at`.execute(db.kysely)).rows;
  const holds = slots.map((s) => s.f!.getTime() - s.r.getTime()).sort((x, y) => x - y);
  const median = holds[Math.floor(holds.length / 2)] ?? 0;
  console.log(`    slot hold (reserved to finished): median ${median} ms, p90 ${holds[Math.floor(holds.length * 0.9)] ?? 0} ms, max ${holds[holds.length - 1] ?? 0} ms over ${holds.length} slots`);
  return { total: got.length, fromFirst, firstMs: first - t0, maxWindow };
}

const db = await openBenchDb();
try {
  await migrateToLatest(db);
  const acct = await sql<{ id: number }>`INSERT INTO mail_accounts (name, email, smtp_host, smtp_port, smtp_tls, saves_sent) VALUES ('bench', 'bench@sender.test', '127.0.0.1', ${port}, 'none', true) RETURNING id`.execute(db.kysely);
  const accountId = Number(acct.rows[0]!.id);
  console.log(`bench:send  ${N} mails of ~${KB} KB, ${CONNS} SMTP connections, ${db.backend}, loadavg before ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  // (a) and (b) take turns, ROUNDS times (1 worker in the first round only): this machine's speed drifts
  // by a fifth from one half-minute to the next, so each is timed more than once, side by side.
  for (let round = 1; round <= ROUNDS; round++) {
    if (PHASES.has('a')) {
      const a = await benchNodemailer();
      times.a!.push(a);
      console.log(`(a) nodemailer pool alone:            ${rate(N, a)}  (${(a / 1000).toFixed(1)} s, ${cpuSince()})  [round ${round}]`);
    }
    for (const workers of round === 1 ? [1, 4] : [4]) {
      if (!PHASES.has(`b${workers}`)) continue;
      const b = await benchRapport(db, accountId, workers);
      times[`b${workers}`]!.push(b);
      const a = times.a!.at(-1) ?? NaN;
      console.log(`(b) Rapport, ${workers} worker${workers > 1 ? 's' : ' '}:               ${rate(N, b)}  (${(b / 1000).toFixed(1)} s, ${cpuSince()})  b/a = ${(a / b).toFixed(2)} against this round's (a)  [round ${round}]`);
    }
  }
  const best = (k: string): number => Math.min(...(times[k] ?? []));
  if (ROUNDS > 1 && times.a!.length > 0 && times.b4!.length > 0) {
    console.log(`    b/a with 4 workers, the faster of ${ROUNDS} runs each: ${rate(N, best('b4'))} / ${rate(N, best('a'))} = ${(best('a') / best('b4')).toFixed(2)}; round by round: ${times.b4!.map((b, i) => (times.a![i]! / b).toFixed(2)).join(', ')}`);
  }
  if (PHASES.has('c')) {
    const r = await benchRate(db, accountId);
    console.log(`(c) limit ${RATE}/s for ${SECONDS} s, 4 workers:  total ${r.total} from the start of the run, ${r.fromFirst} in the ${SECONDS} s from the first mail (arrived after ${r.firstMs} ms) (target ${RATE * SECONDS} ±5%), max sliding 1 s window ${r.maxWindow} (limit ${RATE})`);
  }
  console.log(`loadavg after ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
} finally {
  await sql.raw(`DROP SCHEMA IF EXISTS "${db.schema}" CASCADE`).execute(db.kysely).catch(() => undefined);
  await db.close();
  server.close();
}
