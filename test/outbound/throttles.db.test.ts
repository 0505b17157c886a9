import { afterEach, describe, expect, it } from 'vitest';
import { claimDue, contactBudget, enqueueMail, parseOutboundSettings, processBatch, seededJitterMs, SmtpTransports, type SenderDeps } from '../../src/outbound/index.ts';
import { ManualClock } from '../../src/shared/clock.ts';
import { testBackend, useTestDb } from '../support/test-db.ts';
import { addTestAccount } from './helpers.ts';
import { startSink, type SmtpSink } from './smtp-sink.ts';

const noDomain = { perMinute: null, perHour: null, freemailPerMinute: null, freemailPerHour: null };

describe(`throttles over time on ${testBackend}`, () => {
  const t = useTestDb();
  let sink: SmtpSink | undefined;
  let transports: SmtpTransports | undefined;
  afterEach(async () => {
    await transports?.closeAll();
    await sink?.close();
  });
  const deps = (clock: ManualClock, raw: unknown): SenderDeps => {
    const settings = parseOutboundSettings(raw);
    transports = new SmtpTransports(t.db, { settings, credentials: async () => null });
    return { db: t.db, settings, clock, transports };
  };

  it('holds an account to 5 a minute as a sliding window, deferring (not dropping) the rest', async () => {
    sink = await startSink();
    const acct = await addTestAccount(t.db, { smtpPort: sink.port });
    const clock = new ManualClock('2027-01-12T10:00:00Z');
    await enqueueMail(t.db, Array.from({ length: 12 }, (_, i) => ({ idempotencyKey: `m${i}`, accountId: acct.id, toAddress: `p${i}@c${i}.com`, kind: 'personal' as const, subject: 's', textBody: 't' })), { clock });
    const d = deps(clock, { defaults: { perMinute: 5, perHour: null, perDay: null }, domains: noDomain, claimBatch: 50 });
    const sentAt: number[] = [];
    for (let step = 0; step < 40 && sentAt.length < 12; step += 1) {
      const r = await processBatch(d);
      for (const m of r.mails) if (m.outcome === 'sent') sentAt.push(clock.now().getTime());
      clock.advance(10_000);
    }
    expect(sentAt).toHaveLength(12);
    for (let i = 5; i < sentAt.length; i += 1) expect(sentAt[i]! - sentAt[i - 5]!).toBeGreaterThanOrEqual(60_000);
    expect(sink.mails).toHaveLength(12);
    const deferred = await t.db.kysely.selectFrom('outbox_events').select('detail').where('event', '=', 'deferred').execute();
    expect(deferred.length).toBeGreaterThan(0);
    expect(deferred[0]!.detail).toMatch(/account acct\w+ limit 5 per minute/);
  });

  it('limits one recipient domain across accounts', async () => {
    sink = await startSink();
    const a1 = await addTestAccount(t.db, { smtpPort: sink.port });
    const a2 = await addTestAccount(t.db, { smtpPort: sink.port });
    const clock = new ManualClock('2027-01-12T10:00:00Z');
    await enqueueMail(t.db, Array.from({ length: 8 }, (_, i) => ({ idempotencyKey: `d${i}`, accountId: i % 2 ? a1.id : a2.id, toAddress: `p${i}@acme.com`, kind: 'personal' as const, subject: 's', textBody: 't' })), { clock });
    const d = deps(clock, { defaults: { perMinute: null, perHour: null, perDay: null }, domains: { ...noDomain, perMinute: 3 } });
    const r = await processBatch(d);
    expect(r.mails.filter((m) => m.outcome === 'sent')).toHaveLength(3);
    expect(r.mails.filter((m) => m.outcome === 'deferred').every((m) => /recipient domain acme\.com limit 3 per minute/.test(m.detail ?? ''))).toBe(true);
  });

  it('spaces promotions to one contact 14 days apart, budgets greetings apart, and sends in the local window', async () => {
    sink = await startSink();
    const acct = await addTestAccount(t.db, { smtpPort: sink.port });
    const client = await t.db.kysely.insertInto('clients').values({ name: 'ACME', name_key: 'acme', country: 'DE' }).returning('id').executeTakeFirstOrThrow();
    const contact = await t.db.kysely.insertInto('contacts').values({ client_id: client.id, name: 'Wang' }).returning('id').executeTakeFirstOrThrow();
    // Tuesday 2027-01-12 07:00 UTC = 08:00 in Berlin: before the 09:00-11:00 promotion window.
    const clock = new ManualClock('2027-01-12T07:00:00Z');
    const base = { accountId: acct.id, toAddress: 'wang@acme.de', contactId: contact.id, clientId: client.id, subject: 's', textBody: 't' };
    await enqueueMail(t.db, [
      { ...base, idempotencyKey: 'promo1', kind: 'promotion' },
      { ...base, idempotencyKey: 'promo2', kind: 'promotion' },
      { ...base, idempotencyKey: 'card', kind: 'greeting' },
    ], { clock });
    const d = deps(clock, { domains: noDomain });
    const first = await processBatch(d);
    expect(first.mails.find((m) => m.outcome === 'sent')).toBeDefined(); // the greeting: its window is 08:00-20:00
    const promos = first.mails.filter((m) => m.outcome === 'deferred');
    expect(promos).toHaveLength(2);
    expect(promos[0]!.detail).toContain('until 2027-01-12T08:00:00.000Z: outside the promotion send window 09:00-11:00 in Europe/Berlin');
    clock.set('2027-01-12T08:00:00Z');
    const second = await processBatch(d);
    expect(second.mails.map((m) => m.outcome).sort()).toEqual(['deferred', 'sent']);
    const next = second.mails.find((m) => m.outcome === 'deferred')!;
    expect(next.detail).toMatch(/until 2027-01-26T08:00:00.000Z: contact promotion budget/);
    // 14 days later, a Tuesday at 09:00 Berlin: the second promotion goes.
    clock.set('2027-01-26T08:00:00Z');
    expect((await processBatch(d)).mails.map((m) => m.outcome)).toEqual(['sent']);
    expect(sink.mails).toHaveLength(3);
    // What the planner asks: when may this contact next get a promotion? 14 days after the last would be
    // 9 February, but two in 30 days is the monthly cap: 30 days after 12 January.
    const budget = await contactBudget(t.db, [contact.id], 'promotion', clock.now(), d.settings);
    expect(budget.get(contact.id)?.toISOString()).toBe('2027-02-11T08:00:00.000Z');
    expect((await contactBudget(t.db, [contact.id], 'reply', clock.now())).get(contact.id)).toEqual(clock.now());
  });

  it('lets a new account warm up: 20 on day one, more the next day', async () => {
    sink = await startSink({ light: true });
    const acct = await addTestAccount(t.db, { smtpPort: sink.port, name: 'fresh' });
    const clock = new ManualClock('2027-01-12T10:00:00Z');
    await enqueueMail(t.db, Array.from({ length: 60 }, (_, i) => ({ idempotencyKey: `w${i}`, accountId: acct.id, toAddress: `p${i}@c${i}.com`, kind: 'transactional' as const, subject: 's', textBody: 't' })), { clock });
    const d = deps(clock, { accounts: { fresh: { warmup: true, perMinute: null, perHour: null, perDay: 500 } }, domains: noDomain, claimBatch: 100 });
    await processBatch(d);
    expect(sink.mails).toHaveLength(20);
    clock.advance(86_400_000 + 1000);
    await processBatch(d);
    expect(sink.mails).toHaveLength(50); // day two: 30 a day
  });

  it('spaces one account\'s sends by a seeded jitter: each gap is the repeatable delay seeded by the row before', async () => {
    const acct = await addTestAccount(t.db);
    const start = new Date('2027-01-12T10:00:00Z');
    await enqueueMail(t.db, Array.from({ length: 4 }, (_, i) => ({ idempotencyKey: `j${i}`, accountId: acct.id, toAddress: `p${i}@c${i}.com`, kind: 'personal' as const, subject: 's', textBody: 't' })), { clock: new ManualClock(start) });
    const settings = parseOutboundSettings({ jitter: { minMs: 2000, maxMs: 9000, seed: 'test-seed' }, domains: noDomain, leaseSeconds: 30 });
    const run = async (clock: ManualClock): Promise<Array<[number, number]>> => {
      const out: Array<[number, number]> = [];
      for (let step = 0; step < 200 && out.length < 4; step += 1) {
        const { claimed } = await claimDue(t.db, { settings, clock, workerId: 'w', dryRun: false });
        for (const c of claimed) {
          out.push([c.id, clock.now().getTime() - start.getTime()]);
          await t.db.kysely.updateTable('outbox').set({ state: 'sent', sent_at: clock.now() }).where('id', '=', c.id).execute();
        }
        clock.advance(250);
      }
      return out;
    };
    const times = await run(new ManualClock(start));
    expect(times).toHaveLength(4);
    // One at a time; each next claim waits the seeded jitter of the previous row (to the 250 ms step).
    for (let i = 1; i < times.length; i += 1) {
      const gap = times[i]![1] - times[i - 1]![1];
      const want = seededJitterMs('test-seed', times[i - 1]![0], 2000, 9000);
      expect(gap).toBeGreaterThanOrEqual(want);
      expect(gap).toBeLessThan(want + 250 + 1);
    }
    const gaps = times.slice(1).map((x, i) => x[1] - times[i]![1]);
    expect(new Set(gaps).size).toBeGreaterThan(1); // jitter, not a fixed pace
  });

  it('keeps no more mails of a per-second account in flight than its SMTP connections, across senders, leaving the rest planned untouched', async () => {
    const acct = await addTestAccount(t.db);
    const clock = new ManualClock('2027-01-12T10:00:00Z');
    await enqueueMail(t.db, Array.from({ length: 10 }, (_, i) => ({ idempotencyKey: `f${i}`, accountId: acct.id, toAddress: `p${i}@c${i}.com`, kind: 'personal' as const, subject: 's', textBody: 't' })), { clock });
    const settings = parseOutboundSettings({ defaults: { perSecond: 50, perMinute: null, perHour: null, perDay: null }, domains: noDomain, claimBatch: 50 });
    const connectionsFor = (): number => 3;
    const first = await claimDue(t.db, { settings, clock, workerId: 'w1', connectionsFor });
    expect(first.claimed).toHaveLength(3);
    expect(first.busy).toBe(7);
    expect(first.decisions.filter((d) => d.action !== 'send')).toHaveLength(0);
    // another process sees the same three in flight in the send log
    const second = await claimDue(t.db, { settings, clock, workerId: 'w2', connectionsFor });
    expect(second.claimed).toHaveLength(0);
    expect(second.busy).toBe(7);
    const untouched = await t.db.kysely.selectFrom('outbox').select(['state', 'defer_until']).where('state', '=', 'planned').execute();
    expect(untouched).toHaveLength(7);
    expect(untouched.every((r) => r.defer_until === null)).toBe(true);
    // two answers free two connections
    await t.db.kysely.updateTable('outbound_send_log').set({ finished_at: clock.now(), outcome: 'sent' }).where('outbox_id', 'in', first.claimed.slice(0, 2).map((c) => c.id)).execute();
    const third = await claimDue(t.db, { settings, clock, workerId: 'w2', connectionsFor });
    expect(third.claimed).toHaveLength(2);
    // a sender that died with a mail in flight holds no connection: after two minutes its slot stops counting
    clock.advance(121_000);
    const fourth = await claimDue(t.db, { settings, clock, workerId: 'w3', connectionsFor });
    expect(fourth.claimed).toHaveLength(3);
    // without a per-second limit the connections do not cap a claim
    const open = parseOutboundSettings({ defaults: { perSecond: null, perMinute: 100, perHour: null, perDay: null }, domains: noDomain, claimBatch: 50 });
    expect((await claimDue(t.db, { settings: open, clock, workerId: 'w4', connectionsFor })).claimed).toHaveLength(2);
  });
});
