import net, { type AddressInfo, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/database.ts';
import { enqueueMail, parseOutboundSettings, recoverExpiredLeases, resolveUncertain, runSender, SmtpTransports } from '../../src/outbound/index.ts';
import { ManualClock, systemClock } from '../../src/shared/clock.ts';
import { testBackend, testPgUrl, useTestDb } from '../support/test-db.ts';
import { addTestAccount } from './helpers.ts';
import { startSink } from './smtp-sink.ts';

/** A TCP proxy in front of PostgreSQL that the test can take down (every connection cut, new ones refused) and bring back: a database restart as the sender sees it. */
async function startPgProxy(): Promise<{ port: number; down(): void; up(): Promise<void>; close(): Promise<void> }> {
  const target = new URL(testPgUrl);
  const sockets = new Set<Socket>();
  let server: net.Server | null = null;
  let port = 0;
  const listen = (): Promise<void> =>
    new Promise((resolve) => {
      server = net.createServer((client) => {
        const upstream = net.connect(Number(target.port || 5432), target.hostname);
        for (const s of [client, upstream]) {
          sockets.add(s);
          s.on('error', () => undefined);
          s.on('close', () => sockets.delete(s));
        }
        client.pipe(upstream).pipe(client);
        client.on('close', () => upstream.destroy());
        upstream.on('close', () => client.destroy());
      });
      server.listen(port, '127.0.0.1', () => {
        port = (server!.address() as AddressInfo).port;
        resolve();
      });
    });
  await listen();
  const down = (): void => {
    server?.close();
    server = null;
    for (const s of sockets) s.destroy();
  };
  return { get port() { return port; }, down, up: listen, close: async () => down() };
}

describe(`a database restart under the sender on ${testBackend}`, () => {
  const t = useTestDb();

  it.skipIf(testBackend === 'pglite')('affects only the row in flight (uncertain, reason kept), the sender carries on, nothing is sent twice', async () => {
    const proxy = await startPgProxy();
    let restarted = false;
    const sink = await startSink({}, {
      onData(stream, session, cb) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          const to = session.envelope.rcptTo[0]?.address ?? '';
          sink.mails.push({ messageId: /^message-id:\s*<([^>]+)>/im.exec(Buffer.concat(chunks).toString())?.[1] ?? '', to: [to], raw: Buffer.concat(chunks), at: Date.now() });
          if (to.startsWith('inflight@') && !restarted) {
            // The database goes away between the server's acceptance and the sender's record of it.
            restarted = true;
            proxy.down();
            setTimeout(() => void proxy.up(), 2500);
          }
          cb(null, '250 2.0.0 queued as sink');
        });
      },
    });
    const url = new URL(t.db.url!);
    url.host = `127.0.0.1:${proxy.port}`;
    const senderDb = await openDatabase({ databaseUrl: url.toString(), schema: t.db.schema, poolSize: 2, connectTimeoutSeconds: 1 });
    try {
      const acct = await addTestAccount(t.db, { smtpPort: sink.port });
      await enqueueMail(t.db, ['first@x.com', 'inflight@x.com', 'after1@x.com', 'after2@x.com'].map((to, i) => ({ idempotencyKey: `d${i}`, accountId: acct.id, toAddress: to, kind: 'personal' as const, subject: `s${i}`, textBody: 't', notBefore: new Date(Date.now() - 10_000 + i * 1000) })));
      const settings = parseOutboundSettings({ throttles: false, claimBatch: 1, pollMs: 200, leaseSeconds: 30 });
      const transports = new SmtpTransports(senderDb, { settings, credentials: async () => null });
      await runSender({ db: senderDb, settings, clock: systemClock, transports }, { once: true });
      await transports.closeAll();

      const rows = new Map((await t.db.kysely.selectFrom('outbox').select(['address_key', 'state', 'last_error']).execute()).map((r) => [r.address_key, r]));
      expect(restarted).toBe(true);
      expect(['first@x.com', 'after1@x.com', 'after2@x.com'].map((a) => rows.get(a)!.state)).toEqual(['sent', 'sent', 'sent']);
      expect(rows.get('inflight@x.com')!.state).toBe('claimed'); // its answer was never recorded
      // After its lease, recovery makes it uncertain; the account keeps no Sent copy, so a person decides: never resent blindly.
      const later = new ManualClock(new Date(Date.now() + 60_000));
      expect(await recoverExpiredLeases(t.db, later)).toBe(1);
      await resolveUncertain(t.db, later, settings);
      const inflight = await t.db.kysely.selectFrom('outbox').select(['state', 'last_error']).where('address_key', '=', 'inflight@x.com').executeTakeFirstOrThrow();
      expect(inflight.state).toBe('uncertain');
      expect(inflight.last_error).toMatch(/^the worker stopped before recording the server's answer/);
      expect([...sink.counts().values()]).toEqual([1, 1, 1, 1]);
    } finally {
      await senderDb.close();
      await sink.close();
      await proxy.close();
    }
  }, 60_000);
});
