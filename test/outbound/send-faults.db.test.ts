import { createHash, createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo, Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import Handlebars from 'handlebars';
import { SMTPServer, type SMTPServerSession } from 'smtp-server';
import { afterEach, describe, expect, it } from 'vitest';
import { enqueueMail, parseOutboundSettings, processBatch, runSender, SmtpTransports, type Renderer, type SenderDeps } from '../../src/outbound/index.ts';
import { ManualClock, systemClock, type Clock } from '../../src/shared/clock.ts';
import { testBackend, useTestDb } from '../support/test-db.ts';
import { addTestAccount } from './helpers.ts';
import { startSink, type SmtpSink } from './smtp-sink.ts';

/** An smtp-server that misbehaves for some recipients: hangs mid-DATA, or reads the whole mail then drops the connection without an answer. */
async function startFaultyServer(mode: (rcpt: string) => 'hang' | 'drop' | 'ok'): Promise<{ port: number; received: Array<{ to: string; raw: string }>; close(): Promise<void> }> {
  const received: Array<{ to: string; raw: string }> = [];
  const server: SMTPServer = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session: SMTPServerSession, cb) {
      const to = session.envelope.rcptTo[0]?.address ?? '';
      const m = mode(to);
      const chunks: Buffer[] = [];
      if (m === 'hang') {
        stream.once('data', () => stream.pause()); // reads the first bytes, then nothing: no answer ever
        return;
      }
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        received.push({ to, raw: Buffer.concat(chunks).toString() });
        if (m === 'drop') {
          const conn = [...(server as unknown as { connections: Set<{ id: string; _socket: Socket }> }).connections].find((c) => c.id === session.id);
          conn?._socket.destroy();
          return;
        }
        cb(null, '250 2.0.0 queued');
      });
    },
  });
  server.on('error', () => undefined);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.server.address() as AddressInfo).port;
  return { port, received, close: () => new Promise<void>((r) => server.close(() => r())) };
}

describe(`faults while sending on ${testBackend}`, () => {
  const t = useTestDb();
  const closers: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of closers.splice(0).reverse()) await c();
  });

  function deps(clock: Clock, raw: Record<string, unknown> = {}, extra: Partial<SenderDeps> & { socketTimeoutMs?: number } = {}): SenderDeps {
    const settings = parseOutboundSettings({ throttles: false, ...raw });
    const transports = new SmtpTransports(t.db, { settings, credentials: async () => null, ...(extra.socketTimeoutMs ? { socketTimeoutMs: extra.socketTimeoutMs } : {}) });
    closers.push(() => transports.closeAll());
    return { db: t.db, settings, clock, transports, ...extra };
  }

  it('a server that hangs mid-DATA, and one that reads the mail then drops the line, affect only their own rows', async () => {
    const srv = await startFaultyServer((to) => (to.startsWith('hang@') ? 'hang' : to.startsWith('drop@') ? 'drop' : 'ok'));
    closers.push(srv.close);
    const acct = await addTestAccount(t.db, { smtpPort: srv.port });
    await enqueueMail(t.db, ['a@x.com', 'hang@x.com', 'b@x.com', 'drop@x.com', 'c@x.com'].map((to, i) => ({ idempotencyKey: `f${i}`, accountId: acct.id, toAddress: to, kind: 'personal' as const, subject: `s${i}`, textBody: 'body' })));
    const d = deps(systemClock, {}, { socketTimeoutMs: 1500 });
    const report = await processBatch(d);
    const by = new Map(report.mails.map((m) => [m.toAddress, m]));
    for (const a of ['a@x.com', 'b@x.com', 'c@x.com']) expect(by.get(a)?.outcome, a).toBe('sent');
    // Both faulty rows had the whole message handed over and got no answer: the server may have
    // accepted it, so neither is resent blindly; each keeps its reason.
    expect(by.get('hang@x.com')?.outcome).toBe('uncertain');
    expect(by.get('drop@x.com')?.outcome).toBe('uncertain');
    const rows = await t.db.kysely.selectFrom('outbox').select(['address_key', 'state', 'last_error', 'sent_at']).orderBy('id').execute();
    const row = new Map(rows.map((r) => [r.address_key, r]));
    expect(row.get('hang@x.com')!.last_error).toMatch(/^connection lost after the message was handed over: .*(timeout|timed out)/i);
    expect(row.get('drop@x.com')!.last_error).toMatch(/^connection lost after the message was handed over: /);
    expect(rows.filter((r) => r.state === 'sent')).toHaveLength(3);
    // Another pass sends nothing again: the uncertain rows wait for the documented rule.
    await processBatch(d);
    const counts = new Map<string, number>();
    for (const r of srv.received) counts.set(r.to, (counts.get(r.to) ?? 0) + 1);
    expect(Object.fromEntries(counts)).toEqual({ 'a@x.com': 1, 'b@x.com': 1, 'drop@x.com': 1, 'c@x.com': 1 });
  }, 30_000);

  it('a connection fault before the mail was handed over retries with backoff (the row is not lost, nothing is uncertain)', async () => {
    const srv = await startFaultyServer(() => 'ok');
    await srv.close(); // nothing listens on this port any more: connection refused
    const acct = await addTestAccount(t.db, { smtpPort: srv.port });
    await enqueueMail(t.db, [{ idempotencyKey: 'cf', accountId: acct.id, toAddress: 'a@x.com', kind: 'personal', subject: 's', textBody: 't' }]);
    const clock = new ManualClock(new Date());
    const report = await processBatch(deps(clock));
    expect(report.mails).toEqual([expect.objectContaining({ outcome: 'retry', detail: expect.stringMatching(/ECONNREFUSED/) })]);
    const row = await t.db.kysely.selectFrom('outbox').select(['state', 'attempts', 'due_at', 'defer_reason']).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ state: 'planned', attempts: 1, defer_reason: 'retry after a temporary failure' });
    const waitS = (row.due_at.getTime() - clock.now().getTime()) / 1000;
    expect(waitS).toBeGreaterThanOrEqual(48);
    expect(waitS).toBeLessThanOrEqual(72);
  });

  it('a template that fails to render for one recipient fails that row with the reason; the others go out', async () => {
    const sink = await startSink();
    closers.push(sink.close);
    const acct = await addTestAccount(t.db, { smtpPort: sink.port });
    const body = Handlebars.compile('Dear {{contact.name}}, your order {{order.number}} has shipped.', { strict: true });
    const renderer: Renderer = { render: (_name, _locale, data) => ({ subject: 'Your order', html: '', text: body(data) }) };
    await enqueueMail(t.db, [
      { idempotencyKey: 'r1', accountId: acct.id, toAddress: 'one@x.com', kind: 'transactional', template: 'order-status', locale: 'en', data: { contact: { name: 'Ann' }, order: { number: 'A-1' } } },
      { idempotencyKey: 'r2', accountId: acct.id, toAddress: 'two@x.com', kind: 'transactional', template: 'order-status', locale: 'en', data: { contact: { name: 'Bo' } } },
      { idempotencyKey: 'r3', accountId: acct.id, toAddress: 'three@x.com', kind: 'transactional', template: 'order-status', locale: 'en', data: { contact: { name: 'Cy' }, order: { number: 'C-3' } } },
    ]);
    const report = await processBatch(deps(systemClock, {}, { renderer }));
    expect(report.mails.map((m) => [m.toAddress, m.outcome]).sort()).toEqual([['one@x.com', 'sent'], ['three@x.com', 'sent'], ['two@x.com', 'render-failed']]);
    const two = await t.db.kysely.selectFrom('outbox').select(['state', 'last_error']).where('idempotency_key', '=', 'r2').executeTakeFirstOrThrow();
    expect(two.state).toBe('failed');
    expect(two.last_error).toMatch(/^render failed: .*"number" not defined/);
    expect(sink.mails.map((m) => m.to[0]).sort()).toEqual(['one@x.com', 'three@x.com']);
  });

  it('a 5xx that is not about the address fails the row with the server words and suppresses nothing; a run of hard bounces pauses the account', async () => {
    const sink = await startSink({
      rcpt: (a) => (a.startsWith('spam') ? { code: 554, message: '5.7.1 Message refused by policy (ZH-44)' } : a.startsWith('gone') ? { code: 550, message: '5.1.1 No such user' } : null),
    });
    closers.push(sink.close);
    const acct = await addTestAccount(t.db, { smtpPort: sink.port });
    await enqueueMail(t.db, [
      { idempotencyKey: 's', accountId: acct.id, toAddress: 'spam@x.com', kind: 'personal', subject: 's', textBody: 't' },
      ...[1, 2, 3].map((i) => ({ idempotencyKey: `g${i}`, accountId: acct.id, toAddress: `gone${i}@x.com`, kind: 'personal' as const, subject: 's', textBody: 't' })),
      { idempotencyKey: 'later', accountId: acct.id, toAddress: 'fine@x.com', kind: 'personal', subject: 's', textBody: 't', notBefore: new Date(Date.now() + 60_000) },
    ]);
    const clock = new ManualClock(new Date());
    const d = deps(clock, { pause: { bounceRun: 3 } });
    const report = await processBatch(d);
    expect(report.mails.map((m) => m.outcome).sort()).toEqual(['bounced', 'bounced', 'bounced', 'failed']);
    const spam = await t.db.kysely.selectFrom('outbox').select(['state', 'last_error', 'bounced_at']).where('idempotency_key', '=', 's').executeTakeFirstOrThrow();
    expect(spam).toMatchObject({ state: 'failed', last_error: '554 5.7.1 Message refused by policy (ZH-44)', bounced_at: null });
    expect((await t.db.kysely.selectFrom('suppressions').select('address_key').orderBy('address_key').execute()).map((r) => r.address_key)).toEqual(['gone1@x.com', 'gone2@x.com', 'gone3@x.com']);
    const st = await t.db.kysely.selectFrom('outbound_account_settings').select(['paused_at', 'paused_reason']).executeTakeFirstOrThrow();
    expect(st.paused_reason).toMatch(/^3 hard bounces in a row \(last: 550 5\.1\.1 No such user\); check the list, then run rapport send resume$/);
    clock.advance(120_000);
    expect((await processBatch(d)).claimed).toBe(0); // paused: the later row waits, not lost
    expect((await t.db.kysely.selectFrom('outbox').select('state').where('idempotency_key', '=', 'later').executeTakeFirstOrThrow()).state).toBe('planned');
  });

  it('signs with DKIM when the account has a key configured (the signature verifies with the public key; the bytes kept after sending are those sent)', async () => {
    const sink = await startSink();
    closers.push(sink.close);
    const acct = await addTestAccount(t.db, { name: 'signed', email: 'sales@maker.cn', smtpPort: sink.port });
    const dir = mkdtempSync(path.join(os.tmpdir(), 'rapport-dkim-'));
    closers.push(async () => rmSync(dir, { recursive: true, force: true }));
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    writeFileSync(path.join(dir, 'key.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
    await enqueueMail(t.db, [{ idempotencyKey: 'd', accountId: acct.id, toAddress: 'wang@acme.com', kind: 'personal', subject: 'Signed 签名', textBody: 'Line one\r\n\r\nLine  two  \r\n\r\n' }]);
    // the bytes kept for the copy in Sent and the thread are the bytes the server got, signature included
    const kept: Buffer[] = [];
    await processBatch(deps(systemClock, { accounts: { signed: { dkim: { domainName: 'maker.cn', keySelector: 'rapport', privateKeyFile: path.join(dir, 'key.pem') } } } }, { afterSent: async (_mail, bytes) => (kept.push(bytes), null) }));
    expect(sink.mails).toHaveLength(1);
    expect(kept).toHaveLength(1);
    expect(kept[0]!.equals(sink.mails[0]!.raw)).toBe(true);
    const raw = sink.mails[0]!.raw.toString('latin1');
    expect(verifyDkim(raw, publicKey.export({ type: 'spki', format: 'pem' }).toString())).toEqual({ d: 'maker.cn', s: 'rapport', ok: true });
    // A changed body no longer verifies (the check can fail).
    expect(verifyDkim(raw.replace('Line one', 'Line 0ne'), publicKey.export({ type: 'spki', format: 'pem' }).toString()).ok).toBe(false);
    // A key file that cannot be read fails the row with the config key named, and sends nothing.
    await enqueueMail(t.db, [{ idempotencyKey: 'd2', accountId: acct.id, toAddress: 'wang@acme.com', kind: 'personal', subject: 's', textBody: 't' }]);
    const r = await processBatch(deps(systemClock, { accounts: { signed: { dkim: { domainName: 'maker.cn', keySelector: 'rapport', privateKeyFile: path.join(dir, 'missing.pem') } } } }));
    expect(r.mails[0]).toMatchObject({ outcome: 'render-failed', detail: expect.stringContaining('config outbound.accounts.signed.dkim.privateKeyFile: cannot be read') });
    expect(sink.mails).toHaveLength(1);
  });

  it('--dry-run renders and throttles what is due, sends nothing and changes nothing', async () => {
    const sink = await startSink();
    closers.push(sink.close);
    const acct = await addTestAccount(t.db, { smtpPort: sink.port });
    const renderer: Renderer = { render: (_n, _l, data) => { if (!data.name) throw new Error('name missing'); return { subject: 's', html: '', text: String(data.name) }; } };
    await enqueueMail(t.db, [
      { idempotencyKey: 'ok', accountId: acct.id, toAddress: 'ok@x.com', kind: 'personal', template: 't', locale: 'en', data: { name: 'A' } },
      { idempotencyKey: 'bad', accountId: acct.id, toAddress: 'bad@x.com', kind: 'personal', template: 't', locale: 'en', data: {} },
      { idempotencyKey: 'over', accountId: acct.id, toAddress: 'over@x.com', kind: 'personal', template: 't', locale: 'en', data: { name: 'C' } },
    ]);
    const before = await t.db.kysely.selectFrom('outbox').selectAll().orderBy('id').execute();
    const eventsBefore = await t.db.kysely.selectFrom('outbox_events').selectAll().orderBy('id').execute();
    const reports: string[] = [];
    const res = await runSender(deps(systemClock, { throttles: true, defaults: { perSecond: null, perMinute: 2, perHour: null, perDay: null }, windows: { personal: null } }, { renderer }), {
      dryRun: true,
      onBatch: (b) => reports.push(...b.mails.map((m) => `${m.toAddress} ${m.outcome}`)),
    });
    expect(res.sent).toBe(0);
    expect(reports.sort()).toEqual(['bad@x.com render-failed', 'ok@x.com would-send', 'over@x.com deferred']);
    expect(sink.mails).toHaveLength(0);
    expect(await t.db.kysely.selectFrom('outbox').selectAll().orderBy('id').execute()).toEqual(before);
    expect(await t.db.kysely.selectFrom('outbound_send_log').selectAll().execute()).toEqual([]);
    expect(await t.db.kysely.selectFrom('outbox_events').selectAll().orderBy('id').execute()).toEqual(eventsBefore);
  });
});

/** DKIM verification (RFC 6376, relaxed/relaxed or simple, rsa-sha256) against a known public key. */
function verifyDkim(raw: string, publicKeyPem: string): { d: string; s: string; ok: boolean } {
  const split = raw.indexOf('\r\n\r\n');
  const headerBlock = raw.slice(0, split + 2);
  const body = raw.slice(split + 4);
  const headers = headerBlock.split(/\r\n(?![ \t])/).filter((h) => h !== '').map((h) => ({ name: h.slice(0, h.indexOf(':')), line: h }));
  const sigHeader = headers.find((h) => h.name.toLowerCase() === 'dkim-signature')!;
  const tags = new Map(sigHeader.line.slice(sigHeader.line.indexOf(':') + 1).replace(/\s+/g, '').split(';').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)] as [string, string]));
  const [hc, bc] = (tags.get('c') ?? 'simple/simple').split('/');
  const relaxedHeader = (line: string): string => {
    const i = line.indexOf(':');
    return `${line.slice(0, i).trim().toLowerCase()}:${line.slice(i + 1).replace(/\r\n/g, '').replace(/[ \t]+/g, ' ').trim()}`;
  };
  let canonBody = body;
  if (bc === 'relaxed') canonBody = body.split('\r\n').map((l) => l.replace(/[ \t]+/g, ' ').replace(/ $/, '')).join('\r\n');
  canonBody = canonBody.replace(/(\r\n)*$/, '') + '\r\n';
  const bh = createHash('sha256').update(Buffer.from(canonBody, 'latin1')).digest('base64');
  if (bh !== tags.get('bh')) return { d: tags.get('d')!, s: tags.get('s')!, ok: false };
  const used = new Map<string, number>();
  const parts: string[] = [];
  for (const name of tags.get('h')!.split(':')) {
    const key = name.toLowerCase();
    const all = headers.filter((h) => h.name.toLowerCase() === key && h !== sigHeader);
    const n = used.get(key) ?? 0;
    used.set(key, n + 1);
    const h = all[all.length - 1 - n];
    if (h) parts.push(hc === 'relaxed' ? relaxedHeader(h.line) : h.line);
  }
  const sigLine = sigHeader.line.replace(/(\bb=)[^;]*$/, '$1').replace(/(\bb=)[^;]*;/, '$1;');
  const signed = `${parts.map((p) => `${p}\r\n`).join('')}${hc === 'relaxed' ? relaxedHeader(sigLine) : sigLine}`;
  const ok = verify('sha256', Buffer.from(signed, 'latin1'), createPublicKey(publicKeyPem), Buffer.from(tags.get('b')!, 'base64'));
  return { d: tags.get('d')!, s: tags.get('s')!, ok };
}
