import { describe, expect, it } from 'vitest';
import { buildApp } from '../../src/http/index.ts';
import { enqueueMail, makeUnsubscribeToken, parseOutboundSettings, processBatch, SmtpTransports, unsubscribeKey } from '../../src/outbound/index.ts';
import { ManualClock } from '../../src/shared/clock.ts';
import { testBackend, useTestDb } from '../support/test-db.ts';
import { addTestAccount } from './helpers.ts';
import { startSink } from './smtp-sink.ts';

describe(`unsubscribe over HTTP on ${testBackend}`, () => {
  const t = useTestDb();
  const key = unsubscribeKey('0123456789abcdef0123456789abcdef');

  it('GET shows a confirm page and changes nothing; POST with a valid token unsubscribes; a bad token does nothing', async () => {
    const acct = await addTestAccount(t.db);
    await enqueueMail(t.db, [{ idempotencyKey: 'p1', accountId: acct.id, toAddress: 'Wang@acme.com', kind: 'promotion', subject: 's', html: '<p>x</p>' }]);
    const row = await t.db.kysely.selectFrom('outbox').select(['id']).executeTakeFirstOrThrow();
    const token = makeUnsubscribeToken(key, row.id, 'wang@acme.com');
    const app = await buildApp({ db: t.db, unsubscribeKey: key });
    try {
      const get = await app.inject({ method: 'GET', url: `/unsubscribe/${token}` });
      expect(get.statusCode).toBe(200);
      expect(get.body).toContain('W***@acme.com');
      expect(get.body).toContain('method="post"');
      expect(await t.db.kysely.selectFrom('suppressions').selectAll().execute()).toHaveLength(0);

      const forged = await app.inject({ method: 'POST', url: `/unsubscribe/${token.slice(0, -2)}AA`, payload: 'List-Unsubscribe=One-Click', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      expect(forged.statusCode).toBe(400);
      const other = await app.inject({ method: 'POST', url: `/unsubscribe/${makeUnsubscribeToken(key, row.id, 'someone@else.com')}`, payload: 'List-Unsubscribe=One-Click', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      expect(other.statusCode).toBe(400);
      expect(await t.db.kysely.selectFrom('suppressions').selectAll().execute()).toHaveLength(0);

      const post = await app.inject({ method: 'POST', url: `/unsubscribe/${token}`, payload: 'List-Unsubscribe=One-Click', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      expect(post.statusCode).toBe(200);
      expect(post.body).toContain('unsubscribed');
      const sup = await t.db.kysely.selectFrom('suppressions').selectAll().execute();
      expect(sup.map((s) => [s.address_key, s.source])).toEqual([['wang@acme.com', 'unsubscribe']]);
      const unsub = await t.db.kysely.selectFrom('unsubscribes').selectAll().execute();
      expect(unsub.map((u) => u.method)).toEqual(['one-click']);
      // A second POST is harmless.
      expect((await app.inject({ method: 'POST', url: `/unsubscribe/${token}`, payload: 'confirm=yes', headers: { 'content-type': 'application/x-www-form-urlencoded' } })).statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });

  it('a row planned before the unsubscribe is suppressed at claim time', async () => {
    const sink = await startSink();
    const acct = await addTestAccount(t.db, { smtpPort: sink.port });
    await enqueueMail(t.db, [
      { idempotencyKey: 'a', accountId: acct.id, toAddress: 'wang@acme.com', kind: 'promotion', subject: 's', html: '<p>1</p>' },
      { idempotencyKey: 'b', accountId: acct.id, toAddress: 'wang@acme.com', kind: 'promotion', subject: 's', html: '<p>2</p>', notBefore: new Date(Date.now() + 3_600_000) },
    ]);
    const settings = parseOutboundSettings({ throttles: false });
    const transports = new SmtpTransports(t.db, { settings, credentials: async () => null });
    const clock = new ManualClock(new Date());
    const deps = { db: t.db, settings, clock, transports, unsubscribe: { key, publicUrl: 'https://r.test', mailto: undefined } };
    try {
      expect((await processBatch(deps)).mails.map((m) => m.outcome)).toEqual(['sent']);
      const raw = sink.mails[0]!.raw.toString().replace(/\r\n[ \t]+/g, ' ');
      const url = /List-Unsubscribe: <https:\/\/r\.test(\/unsubscribe\/[^>]+)>/.exec(raw)?.[1];
      expect(url).toBeDefined();
      const app = await buildApp({ db: t.db, unsubscribeKey: key });
      expect((await app.inject({ method: 'POST', url: url!, payload: 'List-Unsubscribe=One-Click', headers: { 'content-type': 'application/x-www-form-urlencoded' } })).statusCode).toBe(200);
      await app.close();
      clock.advance(2 * 3_600_000);
      expect((await processBatch(deps)).mails.map((m) => m.outcome)).toEqual(['suppressed']);
      expect(sink.mails).toHaveLength(1);
    } finally {
      await transports.closeAll();
      await sink.close();
    }
  });
});
