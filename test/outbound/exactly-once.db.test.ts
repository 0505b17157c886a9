import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { importMessage } from '../../src/mailbox/index.ts';
import { enqueueMail, parseOutboundSettings, recoverExpiredLeases, resolveUncertain, runSender, SmtpTransports } from '../../src/outbound/index.ts';
import { ManualClock } from '../../src/shared/clock.ts';
import { testBackend, useTestDb } from '../support/test-db.ts';
import { addTestAccount } from './helpers.ts';
import { startSink } from './smtp-sink.ts';

const here = path.dirname(fileURLToPath(import.meta.url));

// The children hold an account limit of 15 a second between them (a sliding window counted in the database).
const CHILD_SETTINGS = JSON.stringify({ claimBatch: 5, pollMs: 100, leaseSeconds: 30, defaults: { perSecond: 15, perMinute: null, perHour: null, perDay: null }, domains: { perMinute: null, perHour: null, freemailPerMinute: null, freemailPerHour: null } });

function startChild(url: string, schema: string): ChildProcess {
  // node itself (with tsx as a loader), so SIGKILL hits the process that sends, not a wrapper.
  return spawn(process.execPath, ['--import', 'tsx', path.join(here, 'send-worker-child.ts')], {
    cwd: path.resolve(here, '../..'),
    env: { ...process.env, RAPPORT_TEST_CHILD_URL: url, RAPPORT_TEST_CHILD_SCHEMA: schema, RAPPORT_TEST_CHILD_SETTINGS: CHILD_SETTINGS },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

const readiness = new WeakMap<ChildProcess, Promise<void>>();
function ready(child: ChildProcess): Promise<void> {
  let p = readiness.get(child);
  if (!p) {
    p = new Promise((resolve) => {
      child.stdout?.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
      child.once('exit', () => resolve());
    });
    readiness.set(child, p);
  }
  return p;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe(`exactly once on ${testBackend}`, () => {
  const t = useTestDb();

  it.skipIf(testBackend === 'pglite')(
    '3 sender processes killed with SIGKILL again and again send no mail twice and lose none (skipped on PGlite: one process by nature)',
    async () => {
      const sink = await startSink({ light: false });
      try {
        const acct = await addTestAccount(t.db, { smtpPort: sink.port, savesSent: true });
        const N = 1500;
        await enqueueMail(t.db, Array.from({ length: N }, (_, i) => ({ idempotencyKey: `once:${i}`, accountId: acct.id, toAddress: `r${i}@d${i % 17}.com`, kind: 'transactional' as const, subject: `n${i}`, textBody: 'x'.repeat(2000) })));
        const url = t.db.url!;
        const children: ChildProcess[] = [startChild(url, t.db.schema), startChild(url, t.db.schema), startChild(url, t.db.schema)];
        let kills = 0;
        const seed = 12345;
        let rnd = seed;
        const next = (): number => ((rnd = (rnd * 1103515245 + 12345) % 2147483648) / 2147483648);
        // Kill a child that is sending, at a random moment, again and again for ~60 s (at least 3 kills,
        // however slowly the machine starts processes).
        const isReady = new WeakSet<ChildProcess>();
        const track = (c: ChildProcess): ChildProcess => {
          void ready(c).then(() => isReady.add(c));
          return c;
        };
        children.forEach(track);
        const budget = Date.now() + 60_000;
        while (Date.now() < budget || kills < 3) {
          await sleep(2000 + next() * 3000);
          const live = children.map((c, i) => [c, i] as const).filter(([c]) => isReady.has(c));
          if (live.length === 0) continue;
          const [victim, i] = live[Math.floor(next() * live.length)]!;
          victim.kill('SIGKILL');
          kills += 1;
          children[i] = track(startChild(url, t.db.schema));
          if (Date.now() > budget + 120_000) break;
        }
        await sleep(1000);
        for (const c of children) c.kill('SIGKILL');
        await sleep(300);
        const sentBeforeDrain = sink.mails.length;
        process.stderr.write(`kills done at ${new Date().toISOString()}, ${sentBeforeDrain} received\n`);
        expect(sentBeforeDrain).toBeGreaterThan(10); // a killed worker's slots hold the window until its lease ends: slow on purpose
        expect(kills).toBeGreaterThanOrEqual(3);
        // The limit held across processes: no sliding second holds more than 15 arrivals.
        const times = sink.mails.map((m) => m.at).sort((a, b) => a - b);
        let maxWindow = 0;
        for (let a = 0, b = 0; b < times.length; b += 1) {
          while (times[b]! - times[a]! >= 1000) a += 1;
          maxWindow = Math.max(maxWindow, b - a + 1);
        }
        expect(maxWindow).toBeLessThanOrEqual(15);

        // Recovery after every lease has run out (a clock 10 minutes ahead), then drain what is left.
        const settings = parseOutboundSettings({ throttles: false, uncertainGraceSeconds: 0 });
        const later = new ManualClock(new Date(Date.now() + 600_000));
        await recoverExpiredLeases(t.db, later);
        const transports = new SmtpTransports(t.db, { settings, credentials: async () => null });
        await runSender({ db: t.db, settings, clock: later, transports }, { once: true, workers: 2 });

        const rows = await t.db.kysely.selectFrom('outbox').select(['id', 'message_id', 'state', 'last_error', 'due_at', 'attempts']).execute();
        expect(rows).toHaveLength(N);
        const counts = sink.counts();
        const byState = new Map<string, number>();
        for (const r of rows) {
          byState.set(r.state, (byState.get(r.state) ?? 0) + 1);
          const got = counts.get(r.message_id) ?? 0;
          expect(got, `row ${r.id} in state ${r.state} arrived ${got} times`).toBeLessThanOrEqual(1);
          if (r.state === 'sent') expect(got, `sent row ${r.id}`).toBe(1);
          else expect(r.state, `row ${r.id}: ${r.last_error} due ${r.due_at.toISOString()} attempts ${r.attempts}`).toBe('uncertain');
        }
        for (const [, n] of counts) expect(n).toBe(1);

        // The documented resolution: the provider stores sent mail (saves_sent); the Sent folder is synced.
        // What the sink received is what such a Sent folder holds.
        const folder = await sql<{ id: number }>`INSERT INTO mail_folders (account_id, path, role, last_success_at) VALUES (${acct.id}, 'Sent', 'sent', ${new Date(later.now().getTime() + 1000)}) RETURNING id`.execute(t.db.kysely);
        // (Only the mails the uncertain rows are about are imported, to keep the test short.)
        const uncertainIds = new Set(rows.filter((r) => r.state === 'uncertain').map((r) => r.message_id));
        let uid = 1;
        for (const m of sink.mails) if (uncertainIds.has(m.messageId)) await importMessage(t.db, m.raw, { accountId: acct.id, folderId: Number(folder.rows[0]!.id), uid: uid++ });
        later.advance(5000);
        const resolutions = await resolveUncertain(t.db, later, settings);
        expect(resolutions.every((r) => r.to !== 'uncertain')).toBe(true);
        await runSender({ db: t.db, settings, clock: later, transports }, { once: true });
        await transports.closeAll();
        const final = await t.db.kysely.selectFrom('outbox').select(['message_id', 'state']).execute();
        expect(final.every((r) => r.state === 'sent')).toBe(true);
        const after = sink.counts();
        for (const r of final) expect(after.get(r.message_id), r.message_id).toBe(1);
        console.log(`exactly-once: ${kills} kills, ${sentBeforeDrain} sent by the children (max ${maxWindow} in a sliding second), ${byState.get('uncertain') ?? 0} uncertain rows resolved (${resolutions.filter((r) => r.to === 'sent').length} found in Sent, ${resolutions.filter((r) => r.to === 'planned').length} resent)`);
      } finally {
        await sink.close();
      }
    },
    400_000,
  );
});
