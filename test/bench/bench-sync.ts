// npm run bench:sync — IMAP initial sync throughput against a real Dovecot on loopback.
// The corpus (BENCH_SYNC_CORPUS=realistic, the default) is trade mail as Outlook, Foxmail and webmail send it:
// 3-8 KB, most of it multipart/alternative (quoted-printable text and Outlook-style HTML), 15% plain text, one
// in seven with a small PDF attached; one thread in seven in Chinese (GB18030 or UTF-8, base64, encoded
// subjects and names); replies quote the message before. BENCH_SYNC_CORPUS=plain is the earlier corpus:
// 7-bit text/plain only, which mailparser reads in half the time.
// Sizes: BENCH_SYNC_MESSAGES (default 20000). Database: BENCH_DATABASE_URL or DATABASE_URL
// (default postgres://postgres@127.0.0.1:5432/test), in a scratch schema dropped at the end.
// BENCH_SYNC_ROUNDS (default 3): rounds of (b) then (c), and a last (b); the figure is the median of each (c) against the mean of the (b)s either side.
// BENCH_SYNC_BATCH: the sync's batch size (default 500); BENCH_SYNC_WORKERS: its parse workers (default: one a core but one, up to 4). BENCH_SYNC_ONLY=c skips (a) and (b) (for profiling (c); no ratio).
// BENCH_SYNC_PROF=FILE writes a CPU profile of the main thread during (c) alone (with BENCH_SYNC_HEAP=1, a sampling
// heap profile of what it allocates instead); BENCH_SYNC_THREADS=1 prints the CPU seconds of this process's threads
// during (c) (main, V8's helpers; the parse workers have ended), user and system time, minor page faults and the
// main thread's GC pauses by kind; BENCH_SYNC_MARK=1 prints a line as (c) starts (to attach perf or strace) and when each of its batches was stored.
// BENCH_SYNC_SPLIT=1 runs (c) as a header pass alone (its time and CPU printed) then a resume that fetches the bodies: (c)'s figures cover both.
// BENCH_SYNC_KEEP=1 keeps the scratch schema (its name is printed) for reading its tables and plans afterwards: drop it by hand.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import inspector from 'node:inspector';
import { PerformanceObserver } from 'node:perf_hooks';
import os from 'node:os';
import { sql } from 'kysely';
import { simpleParser } from 'mailparser';
import { openDatabase } from '../../src/db/database.ts';
import { migrateToLatest } from '../../src/db/migrator.ts';
import { addAccount } from '../../src/mailbox/accounts.ts';
import { connectImap } from '../../src/mailbox/imap-connect.ts';
import { ourAddresses } from '../../src/mailbox/our-addresses.ts';
import { syncAccount } from '../../src/mailbox/sync-account.ts';
import { syncFolder } from '../../src/mailbox/sync-folder.ts';
import { parseSyncSettings } from '../../src/mailbox/sync-settings.ts';
import { systemClock } from '../../src/shared/clock.ts';
import { startDovecot } from '../mailbox/support/dovecot.ts';
import { plainCorpus, realisticCorpus } from './sync-corpus.ts';

const N = Number(process.env.BENCH_SYNC_MESSAGES ?? 20_000);
const CORPUS = process.env.BENCH_SYNC_CORPUS === 'plain' ? 'plain' : 'realistic';
const url = process.env.BENCH_DATABASE_URL ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const KEY = 'd'.repeat(64);
const load = (): string => os.loadavg().map((x) => x.toFixed(2)).join(' ');

/** CPU seconds (user + system) of processes, by pid: this run's PostgreSQL backends (by application_name), and Dovecot's imap processes. */
function procCpu(pids: Iterable<number>): Map<number, number> {
  const out = new Map<number, number>();
  for (const pid of pids) {
    try {
      const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
      out.set(pid, (Number(f[11]) + Number(f[12])) / 100);
    } catch {
      /* gone, or no /proc here */
    }
  }
  return out;
}
/** CPU seconds of this process's threads, summed by thread name (main, parse workers, GC helpers, libuv). */
function threadCpu(): Map<string, number> {
  const out = new Map<string, number>();
  try {
    for (const t of readdirSync('/proc/self/task')) {
      const name = readFileSync(`/proc/self/task/${t}/comm`, 'utf8').trim();
      const f = readFileSync(`/proc/self/task/${t}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
      out.set(`${name}#${t}`, (Number(f[11]) + Number(f[12])) / 100);
    }
  } catch {
    /* no /proc here */
  }
  return out;
}
function imapPids(): number[] {
  try {
    return readdirSync('/proc').filter((d) => /^\d+$/.test(d) && readFileSync(`/proc/${d}/comm`, 'utf8').trim() === 'imap').map(Number);
  } catch {
    return [];
  }
}
const cpuDelta = (before: Map<number, number>, after: Map<number, number>): number => {
  let s = 0;
  for (const [pid, v] of after) s += v - (before.get(pid) ?? 0);
  return s;
};

/**
 * The CPU of Dovecot's imap processes from now until stop(): an imap process ends with its connection
 * (before the pass measured returns), so its CPU is sampled while it lives.
 */
function dovecotCpu(everyMs: number): { stop(): number } {
  const before = procCpu(imapPids());
  const seen = new Map(before);
  const sampler = setInterval(() => {
    for (const [pid, v] of procCpu(imapPids())) seen.set(pid, v);
  }, everyMs);
  return {
    stop: () => {
      clearInterval(sampler);
      return cpuDelta(before, seen);
    },
  };
}

const HEADER_FIELDS = ['message-id', 'in-reply-to', 'references', 'from', 'to', 'cc', 'subject', 'date', 'list-id', 'auto-submitted', 'thread-index'];

async function main(): Promise<void> {
  console.log(`bench:sync  messages=${N}  load before: ${load()}`);
  const d = await startDovecot({ users: [{ user: 'bench', password: 'bench-pw' }] });
  const schema = `bench_sync_${process.pid}`;
  const db = await openDatabase({ databaseUrl: `${url}${url.includes('?') ? '&' : '?'}application_name=${schema}`, schema, poolSize: 4 });
  const backends = async (): Promise<number[]> => (await sql<{ pid: number }>`SELECT pid FROM pg_stat_activity WHERE application_name = ${schema}`.execute(db.kysely)).rows.map((r) => r.pid);
  try {
    const corpus = CORPUS === 'plain' ? plainCorpus(N) : realisticCorpus(N);
    const sizes = corpus.map((m) => m.raw.length).sort((x, y) => x - y);
    const kb = (i: number): string => ((sizes[Math.min(sizes.length - 1, Math.floor(i))] ?? 0) / 1024).toFixed(1);
    console.log(`corpus: ${CORPUS}, message sizes min ${kb(0)} / median ${kb(sizes.length / 2)} / p99 ${kb(sizes.length * 0.99)} / max ${kb(sizes.length)} KB`);
    for (const m of corpus) d.deliver('bench', m.folder, m.raw, { seen: true, time: m.time });
    const inboxCount = corpus.filter((m) => m.folder === 'INBOX').length;
    const target = { host: d.host, port: d.port, tls: 'none' as const, user: 'bench', pass: 'bench-pw' };
    // warm Dovecot's index so every pass sees the same server
    {
      const c = await connectImap(target);
      for (const f of ['INBOX', 'Sent']) {
        const lock = await c.getMailboxLock(f);
        await c.fetchAll('1:*', { uid: true, flags: true }, { uid: true });
        lock.release();
      }
      await c.logout();
    }

    const onlyC = process.env.BENCH_SYNC_ONLY === 'c';
    // (a) imapflow alone, header fields (11, as measured since 2026-11-23), then what Rapport's header pass fetches: the header block
    const headerRate = async (headers: string[] | true): Promise<{ rate: number; count: number }> => {
      const t = performance.now();
      let n = 0;
      const c = await connectImap(target);
      for (const f of ['INBOX', 'Sent']) {
        const lock = await c.getMailboxLock(f, { readOnly: true });
        for await (const m of c.fetch('1:*', { uid: true, flags: true, internalDate: true, size: true, headers }, { uid: true })) if (m.headers) n++;
        lock.release();
      }
      await c.logout();
      return { rate: n / ((performance.now() - t) / 1000), count: n };
    };
    if (!onlyC) {
      const fields = await headerRate(HEADER_FIELDS);
      console.log(`(a) imapflow header fields:            ${fields.rate.toFixed(0)} msg/s (${fields.count} messages; 11 fields, as measured since 2026-11-23)`);
      const block = await headerRate(true);
      console.log(`    imapflow header block (BODY[HEADER], what the header pass fetches): ${block.rate.toFixed(0)} msg/s`);
    }

    // (b) imapflow full sources + mailparser, one after the other (measured around each round of (c): see the rounds below).
    let bCpu = '';
    const bRate = async (): Promise<number> => {
      const t = performance.now();
      const nodeCpu = process.cpuUsage();
      const imap = dovecotCpu(500);
      let count = 0;
      const c = await connectImap(target);
      for (const f of ['INBOX', 'Sent']) {
        const lock = await c.getMailboxLock(f, { readOnly: true });
        const sources: Buffer[] = [];
        for await (const m of c.fetch('1:*', { uid: true, source: true }, { uid: true })) if (m.source) sources.push(m.source);
        for (const s of sources) {
          await simpleParser(s);
          count++;
        }
        lock.release();
      }
      await c.logout();
      const imapSecs = imap.stop();
      const used = process.cpuUsage(nodeCpu);
      // what (b) costs, beside (c)'s own figures: node's CPU here is mailparser's, imapflow's and V8's helpers'
      bCpu = `    cpu: node (all threads) ${((used.user + used.system) / 1e6).toFixed(2)} s, Dovecot imap ${imapSecs.toFixed(2)} s`;
      return count / ((performance.now() - t) / 1000);
    };
    // (c) Rapport's whole initial sync into PostgreSQL, into an empty schema each round
    const settings = parseSyncSettings({ batchSize: Number(process.env.BENCH_SYNC_BATCH ?? 500), ...(process.env.BENCH_SYNC_WORKERS ? { parseWorkers: Number(process.env.BENCH_SYNC_WORKERS) } : {}) });
    const cRun = async (round: number): Promise<{ rate: number; accountId: number }> => {
      if (round > 1) await sql.raw(`DROP SCHEMA ${schema} CASCADE; CREATE SCHEMA ${schema}`).execute(db.kysely);
      await migrateToLatest(db);
      for (let i = 0; i < 40; i += 2) {
        const c = await db.kysely.insertInto('clients').values({ name: `Client ${i}`, name_key: `client ${i}` }).returning('id').executeTakeFirstOrThrow();
        await db.kysely.insertInto('client_domains').values({ domain: `client${i}.example.com`, client_id: c.id }).execute();
      }
      const acc = await addAccount(db, { secretKey: KEY }, { name: 'bench', email: 'sales@maker.cn', imapHost: d.host, imapPort: d.port, imapTls: 'none', imapUser: 'bench', secret: 'bench-pw' });
      const threadsBefore = threadCpu();
      const faults = (): number => Number(readFileSync('/proc/self/stat', 'utf8').split(') ')[1]?.split(' ')[7] ?? 0);
      const faults0 = faults();
      const gcMs = new Map<string, number>();
      const gcObs = new PerformanceObserver((list) => {
        for (const e of list.getEntries()) {
          const k = String((e as unknown as { detail?: { kind?: number } }).detail?.kind ?? '?');
          gcMs.set(k, (gcMs.get(k) ?? 0) + e.duration);
        }
      });
      if (process.env.BENCH_SYNC_THREADS) gcObs.observe({ entryTypes: ['gc'] });
      const nodeCpu = process.cpuUsage();
      const pgBefore = procCpu(await backends());
      const imap = dovecotCpu(1000);
      const prof = process.env.BENCH_SYNC_PROF ? new inspector.Session() : null;
      if (prof) {
        prof.connect();
        if (process.env.BENCH_SYNC_HEAP) await new Promise<void>((r) => prof.post('HeapProfiler.enable', () => prof.post('HeapProfiler.startSampling', { samplingInterval: 16384, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true } as never, () => r())));
        else await new Promise<void>((r) => prof.post('Profiler.enable', () => prof.post('Profiler.start', () => r())));
      }
      if (process.env.BENCH_SYNC_MARK) console.log('(c) starting');
      const t0 = performance.now();
      const marks: string[] = [];
      if (process.env.BENCH_SYNC_SPLIT) {
        // the header pass alone, then the bodies as the next run resumes them (what a stop between the passes costs)
        const h0 = performance.now();
        const hCpu = process.cpuUsage();
        const hPg = procCpu(await backends());
        await syncAccount(db, { secretKey: KEY, sections: {} }, acc.id, { settings, stopAfterHeaders: true });
        const used = process.cpuUsage(hCpu);
        console.log(`    headers alone (stopAfterHeaders): ${((performance.now() - h0) / 1000).toFixed(1)} s, cpu: node ${((used.user + used.system) / 1e6).toFixed(2)} s, PostgreSQL backends ${cpuDelta(hPg, procCpu(await backends())).toFixed(2)} s`);
      }
      const rep = await syncAccount(db, { secretKey: KEY, sections: {} }, acc.id, {
        settings,
        ...(process.env.BENCH_SYNC_MARK ? { afterBatch: (n: number, pass: string) => void marks.push(`${((performance.now() - t0) / 1000).toFixed(1)}${pass[0]}`) } : {}),
      });
      const cSecs = (performance.now() - t0) / 1000;
      if (marks.length > 0) console.log(`    batches stored (s, h = header, b = bodies): ${marks.join(' ')}`);
      const imapSecs = imap.stop();
      const pgAfter = procCpu(await backends());
      const nodeUsed = process.cpuUsage(nodeCpu);
      // the parse workers have ended by now: what is missing from these is theirs
      gcObs.disconnect();
      if (process.env.BENCH_SYNC_THREADS) {
        console.log(`    user ${(nodeUsed.user / 1e6).toFixed(2)} s, system ${(nodeUsed.system / 1e6).toFixed(2)} s, minor faults ${faults() - faults0}`);
        console.log(`    main gc ms by kind (1 minor, 2 major, 4 incremental, 8 weakcb): ${[...gcMs].map(([k, v]) => `${k}:${v.toFixed(0)}`).join(' ')}`);
        console.log(`    threads: ${[...threadCpu()].map(([k, v]) => [k, v - (threadsBefore.get(k) ?? 0)] as const).filter(([, v]) => v > 0.05).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ')}`);
      }
      if (prof) {
        // the main thread's profile of (c) alone (the parse workers are not in it), of its CPU or of what it allocated
        const stop = process.env.BENCH_SYNC_HEAP ? 'HeapProfiler.stopSampling' : 'Profiler.stop';
        await new Promise<void>((r) => prof.post(stop as 'Profiler.stop', (err, res) => {
          if (!err) writeFileSync(process.env.BENCH_SYNC_PROF as string, JSON.stringify(res.profile));
          r();
        }));
        prof.disconnect();
      }
      if (!rep.ok) throw new Error(JSON.stringify(rep));
      const stored = (await db.kysely.selectFrom('messages').select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow()).n;
      const threads = (await db.kysely.selectFrom('threads').select([sql<number>`count(*)::int`.as('n'), sql<number>`count(client_id)::int`.as('linked')]).where('merged_into', 'is', null).executeTakeFirstOrThrow());
      const c = stored / cSecs;
      console.log(`(c) rapport initial sync (${settings.parseWorkers} parse worker${settings.parseWorkers === 1 ? '' : 's'}, batch ${settings.batchSize}): ${c.toFixed(0)} msg/s (${stored} messages, ${threads.n} threads, ${threads.linked} linked, ${cSecs.toFixed(1)} s)`);
      const perMsg = (secs: number): string => `${((secs * 1000) / stored).toFixed(2)} ms/msg`;
      const nodeSecs = (nodeUsed.user + nodeUsed.system) / 1e6;
      console.log(`    cpu: node (all threads) ${nodeSecs.toFixed(2)} s = ${perMsg(nodeSecs)}, PostgreSQL backends ${cpuDelta(pgBefore, pgAfter).toFixed(2)} s = ${perMsg(cpuDelta(pgBefore, pgAfter))}, Dovecot imap ${imapSecs.toFixed(2)} s; load ${load()}`);
      return { rate: c, accountId: acc.id };
    };

    // Rounds of (b) then (c), and a last (b): each (c) is taken against the mean of the (b)s either side of
    // it. This machine's speed drifts by up to a third between half-minutes (one run saw (b) at 924 msg/s
    // before (c) and 1,242 after it), so one (c) against one (b) says little; the median of the rounds' c/b is the figure.
    const rounds = onlyC ? 1 : Math.max(1, Number(process.env.BENCH_SYNC_ROUNDS ?? 3));
    const bs: number[] = [];
    const cs: number[] = [];
    let accountId = 0;
    for (let r = 1; r <= rounds; r++) {
      if (!onlyC) {
        bs.push(await bRate());
        console.log(`(b) imapflow sources + mailparser:     ${(bs[r - 1] as number).toFixed(0)} msg/s${rounds > 1 ? ` (before round ${r} of (c))` : ''}`);
        console.log(bCpu);
      }
      const res = await cRun(r);
      cs.push(res.rate);
      accountId = res.accountId;
    }
    if (!onlyC) {
      bs.push(await bRate());
      console.log(`(b) again, after the last (c):         ${(bs[rounds] as number).toFixed(0)} msg/s`);
      console.log(bCpu);
      const ratios = cs.map((c, i) => (2 * c) / ((bs[i] as number) + (bs[i + 1] as number)));
      const sorted = [...ratios].sort((x, y) => x - y);
      const mid = Math.floor(sorted.length / 2);
      const median = sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
      console.log(`    c/b against the mean of the (b)s either side, round by round: ${ratios.map((x) => x.toFixed(2)).join(' / ')}; median ${median.toFixed(2)}`);
      console.log(`    (c) ${cs.map((x) => x.toFixed(0)).join(' / ')} msg/s, (b) ${bs.map((x) => x.toFixed(0)).join(' / ')} msg/s`);
    }

    // (d) incremental sync of the unchanged INBOX on an open connection
    const client = await connectImap(target);
    const us = await ourAddresses(db);
    const folder = await db.kysely.selectFrom('mail_folders').select('id').where('path', '=', 'INBOX').executeTakeFirstOrThrow();
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t1 = performance.now();
      const r = await syncFolder({ db, client, accountId, us, settings, clock: systemClock }, folder.id);
      times.push(performance.now() - t1);
      if (!r.unchanged) console.log('    (first pass after the sweep was not a no-op)');
    }
    await client.logout();
    console.log(`(d) incremental sync, unchanged INBOX of ${inboxCount}: median ${times.sort((x, y) => x - y)[2]?.toFixed(1)} ms (open connection)`);
    console.log(`load after: ${load()}  (cores: ${os.cpus().length})`);
  } finally {
    if (process.env.BENCH_SYNC_KEEP) console.log(`schema ${schema} kept (BENCH_SYNC_KEEP): DROP SCHEMA ${schema} CASCADE when done`);
    else await sql.raw(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).execute(db.kysely).catch(() => undefined);
    await db.close();
    await d.stop();
  }
}

await main();
