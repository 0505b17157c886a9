import { describe, expect, it } from 'vitest';
import { enqueueMail } from '../../src/outbound/index.ts';
import { ManualClock } from '../../src/shared/clock.ts';
import { testBackend, useTestDb } from '../support/test-db.ts';
import { addTestAccount } from './helpers.ts';

describe(`enqueueMail on ${testBackend}`, () => {
  const t = useTestDb();

  it('inserts once per idempotency key and assigns a Message-ID on the account domain', async () => {
    const acct = await addTestAccount(t.db, { email: 'sales@maker.example' });
    const clock = new ManualClock('2026-03-02T08:00:00Z');
    const rows = [
      { idempotencyKey: 'c1:2026-03:7', accountId: acct.id, toAddress: 'Wang@ACME.com', kind: 'promotion' as const, template: 'new-product-push', locale: 'en', data: { a: 1 } },
      { idempotencyKey: 'c1:2026-03:8', accountId: acct.id, toAddress: 'li@acme.com', kind: 'greeting' as const, subject: 'Hi', textBody: 'Hello' },
      { idempotencyKey: 'c1:2026-03:8', accountId: acct.id, toAddress: 'li@acme.com', kind: 'greeting' as const, subject: 'Hi again', textBody: 'Hello' },
    ];
    expect(await enqueueMail(t.db, rows, { clock })).toEqual({ inserted: 2, existing: 1 });
    expect(await enqueueMail(t.db, rows, { clock })).toEqual({ inserted: 0, existing: 3 });
    const stored = await t.db.kysely.selectFrom('outbox').selectAll().orderBy('id').execute();
    expect(stored).toHaveLength(2);
    expect(stored[0]!.state).toBe('planned');
    expect(stored[0]!.to_domain).toBe('acme.com');
    expect(stored[0]!.address_key).toBe('wang@acme.com');
    expect(stored[0]!.message_id).toMatch(/^rapport\.[a-z0-9]+\.[A-Za-z0-9_-]+@maker\.example$/);
    expect(stored[0]!.message_id).not.toBe(stored[1]!.message_id);
    expect(stored[0]!.data).toEqual({ a: 1 });
    expect(stored[0]!.not_before.toISOString()).toBe('2026-03-02T08:00:00.000Z');
    expect(stored[1]!.subject).toBe('Hi');
    const events = await t.db.kysely.selectFrom('outbox_events').selectAll().execute();
    expect(events.map((e) => e.event)).toEqual(['planned', 'planned']);
  });

  it('refuses a bad row with a message naming it, and writes nothing', async () => {
    const acct = await addTestAccount(t.db);
    const good = { idempotencyKey: 'k1', accountId: acct.id, toAddress: 'a@b.com', kind: 'personal' as const, subject: 's', textBody: 't' };
    await expect(enqueueMail(t.db, [good, { ...good, idempotencyKey: 'k2', toAddress: 'not an address' }])).rejects.toThrow(
      /outbox row 2 \(key "k2"\): toAddress "not an address" is not a valid email address/,
    );
    await expect(enqueueMail(t.db, [{ ...good, subject: 'a\r\nBcc: x@y.com' }])).rejects.toThrow(/subject must be a single line/);
    await expect(enqueueMail(t.db, [{ ...good, subject: null, textBody: null }])).rejects.toThrow(/needs a template/);
    await expect(enqueueMail(t.db, [{ ...good, accountId: 999999 }])).rejects.toThrow(/sending account 999999 does not exist/);
    await expect(enqueueMail(t.db, [{ ...good, notBefore: new Date('2026-02-01'), notAfter: new Date('2026-01-01') }])).rejects.toThrow(/notAfter is before notBefore/);
    const count = await t.db.kysely.selectFrom('outbox').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    expect(Number(count.n)).toBe(0);
  });

  it('inserts a large batch in chunks', async () => {
    const acct = await addTestAccount(t.db);
    const rows = Array.from({ length: 2500 }, (_, i) => ({ idempotencyKey: `bulk:${i}`, accountId: acct.id, toAddress: `p${i}@x${i % 7}.com`, kind: 'promotion' as const, subject: 's', html: '<p>x</p>' }));
    expect(await enqueueMail(t.db, rows)).toEqual({ inserted: 2500, existing: 0 });
  });
});
