import { CompiledQuery, sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { importMessage } from '../../src/mailbox/index.ts';
import { bounceCandidatesQuery, claimDue, enqueueMail, parseOutboundSettings, processBounces, runSender, SmtpTransports, type BounceResult } from '../../src/outbound/index.ts';
import { ManualClock } from '../../src/shared/clock.ts';
import { testBackend, useTestDb } from '../support/test-db.ts';
import { dsnFixture } from './dsn-fixtures.ts';
import { addTestAccount } from './helpers.ts';

describe(`bounce reports synced into the INBOX on ${testBackend}`, () => {
  const t = useTestDb();

  async function setup() {
    const acct = await addTestAccount(t.db, { name: 'sales', email: 'sales@maker.cn' });
    const inbox = await sql<{ id: number }>`INSERT INTO mail_folders (account_id, path, role) VALUES (${acct.id}, 'INBOX', 'inbox') RETURNING id`.execute(t.db.kysely);
    const client = await t.db.kysely.insertInto('clients').values({ name: 'ACME Gone', name_key: 'acme gone' }).returning('id').executeTakeFirstOrThrow();
    const wang = await t.db.kysely.insertInto('contacts').values({ client_id: client.id, name: 'Wang' }).returning('id').executeTakeFirstOrThrow();
    const li = await t.db.kysely.insertInto('contacts').values({ client_id: client.id, name: 'Li Na' }).returning('id').executeTakeFirstOrThrow();
    await t.db.kysely.insertInto('contact_emails').values([{ contact_id: wang.id, address: 'Wang@acme-gone.com' }, { contact_id: li.id, address: 'li.na@initech.com.cn' }]).execute();
    const to = ['wang@acme-gone.com', 'Hans.Mueller@globex.de', 'li.na@initech.com.cn', 'j.smith@umbrella.co.uk', 'buyer@slow-co.com.br', 'ok@fine.com'];
    await enqueueMail(t.db, to.map((a, i) => ({ idempotencyKey: `m${i}`, accountId: acct.id, toAddress: a, kind: 'personal' as const, subject: `s${i}`, textBody: 't', ...(i === 0 ? { contactId: wang.id } : i === 2 ? { contactId: li.id } : {}) })));
    // Sent on 1 November (the reports are dated 10-14 November).
    await sql`UPDATE outbox SET state = 'sent', sent_at = '2026-11-01T08:00:00Z', smtp_response = '250 ok'`.execute(t.db.kysely);
    const rows = await t.db.kysely.selectFrom('outbox').select(['id', 'message_id', 'address_key']).orderBy('id').execute();
    const mid = (addr: string): string => rows.find((r) => r.address_key === addr.toLowerCase())!.message_id;
    let uid = 1;
    const deliver = (name: string, messageId: string) => importMessage(t.db, dsnFixture(name, messageId), { accountId: acct.id, folderId: Number(inbox.rows[0]!.id), uid: uid++ });
    return { acct, rows, mid, deliver, wang: Number(wang.id), li: Number(li.id) };
  }

  it('suppresses dead addresses, marks the contact address invalid, records blocks and delays on their rows, once', async () => {
    const s = await setup();
    await s.deliver('postfix-user-unknown', s.mid('wang@acme-gone.com')); // matched by recipient: its text has no Message-ID
    await s.deliver('exchange-ndr', s.mid('hans.mueller@globex.de')); // matched by In-Reply-To
    await s.deliver('gmail-policy-block', s.mid('li.na@initech.com.cn')); // matched by X-Original-Message-ID
    await s.deliver('exim-user-unknown', s.mid('j.smith@umbrella.co.uk')); // matched by References
    await s.deliver('postfix-delayed', s.mid('buyer@slow-co.com.br'));
    await s.deliver('postmaster-human-note', 'unused@x');
    await s.deliver('exim-legacy-plain', s.mid('ok@fine.com')); // an old-style bounce about the last row
    const clock = new ManualClock('2026-11-15T00:00:00Z');
    const settings = parseOutboundSettings({ pause: { bounceRun: 3 } });

    const first = await processBounces(t.db, { clock, settings });
    expect(first).toMatchObject({ dsnMessages: 7, hard: 4, failed: 1, soft: 1, unmatched: 0, notDsn: 1 });
    expect(first.paused).toEqual([s.acct.id]);

    const sup = await t.db.kysely.selectFrom('suppressions').select(['address_key', 'source', 'reason', 'outbox_id']).orderBy('address_key').execute();
    expect(sup.map((x) => [x.address_key, x.source])).toEqual([
      ['hans.mueller@globex.de', 'bounce'],
      ['j.smith@umbrella.co.uk', 'bounce'],
      ['m.rossi@pasta-gone.it', 'bounce'],
      ['wang@acme-gone.com', 'bounce'],
    ]);
    expect(sup.find((x) => x.address_key === 'wang@acme-gone.com')!.reason).toContain('5.1.1');
    expect(sup.find((x) => x.address_key === 'wang@acme-gone.com')!.outbox_id).toBe(s.rows[0]!.id);

    const emails = await t.db.kysely.selectFrom('contact_emails').select(['address_key', 'status', 'status_reason']).orderBy('address_key').execute();
    expect(emails[0]).toMatchObject({ address_key: 'li.na@initech.com.cn', status: 'valid' }); // a spam block is not a dead address
    expect(emails[1]).toMatchObject({ address_key: 'wang@acme-gone.com', status: 'invalid' });
    expect(emails[1]!.status_reason).toContain('User unknown');

    const out = await t.db.kysely.selectFrom('outbox').select(['address_key', 'state', 'bounced_at', 'bounce_reason']).orderBy('id').execute();
    const by = new Map(out.map((o) => [o.address_key, o]));
    for (const a of ['wang@acme-gone.com', 'hans.mueller@globex.de', 'li.na@initech.com.cn', 'j.smith@umbrella.co.uk']) {
      expect(by.get(a)!.bounced_at, a).toEqual(clock.now());
      expect(by.get(a)!.state).toBe('sent'); // it was sent; the report says what happened next
    }
    expect(by.get('li.na@initech.com.cn')!.bounce_reason).toContain('5.7.1 550 5.7.1 Message rejected as spam');
    expect(by.get('buyer@slow-co.com.br')!.bounced_at).toBeNull();
    // Matched by the quoted Message-ID, though the failed address differs from the row's.
    expect(by.get('ok@fine.com')!.bounced_at).toEqual(clock.now());
    const events = await t.db.kysely.selectFrom('outbox_events').select(['outbox_id', 'event', 'detail']).orderBy('id').execute();
    expect(events.filter((e) => e.event === 'bounced')).toHaveLength(5);
    expect(events.find((e) => e.event === 'dsn-delayed')!.detail).toContain('4.4.1');

    const paused = await t.db.kysely.selectFrom('outbound_account_settings').select(['paused_at', 'paused_reason']).where('account_id', '=', s.acct.id).executeTakeFirstOrThrow();
    expect(paused.paused_reason).toMatch(/^3 hard bounces in a row \(last: .*\); check the list, then run rapport send resume$/);

    // A second run reads nothing again and changes nothing.
    const counts = async () => [
      Number((await sql<{ n: number }>`SELECT count(*)::int AS n FROM outbound_bounces`.execute(t.db.kysely)).rows[0]!.n),
      Number((await sql<{ n: number }>`SELECT count(*)::int AS n FROM outbox_events`.execute(t.db.kysely)).rows[0]!.n),
      Number((await sql<{ n: number }>`SELECT count(*)::int AS n FROM suppressions`.execute(t.db.kysely)).rows[0]!.n),
    ];
    const before = await counts();
    clock.advance(60_000);
    expect(await processBounces(t.db, { clock, settings })).toMatchObject({ dsnMessages: 0, hard: 0, failed: 0, soft: 0 });
    expect(await counts()).toEqual(before);
    expect((await t.db.kysely.selectFrom('outbox').select('bounced_at').where('id', '=', s.rows[0]!.id).executeTakeFirstOrThrow()).bounced_at).toEqual(new Date('2026-11-15T00:00:00Z'));

    // A new mail to the dead address is stopped at claim time.
    await sql`UPDATE outbound_account_settings SET paused_at = NULL, paused_reason = NULL`.execute(t.db.kysely);
    await enqueueMail(t.db, [{ idempotencyKey: 'again', accountId: s.acct.id, toAddress: 'wang@acme-gone.com', kind: 'personal', subject: 'again', textBody: 't' }], { clock });
    const claim = await claimDue(t.db, { settings: parseOutboundSettings({ throttles: false }), clock, workerId: 'w' });
    expect(claim.claimed).toHaveLength(0);
    expect(claim.decisions).toEqual([expect.objectContaining({ action: 'suppress', reason: expect.stringContaining('hard bounce (DSN): 5.1.1') })]);
  });

  it('suppresses an address from a report about mail Rapport did not send, and counts it unmatched', async () => {
    const s = await setup();
    await s.deliver('exim-user-unknown', 'typed-by-hand@maker.cn');
    await sql`DELETE FROM outbox WHERE address_key = 'j.smith@umbrella.co.uk'`.execute(t.db.kysely);
    const res = await processBounces(t.db, { clock: new ManualClock('2026-11-15T00:00:00Z') });
    expect(res).toMatchObject({ dsnMessages: 1, hard: 1, unmatched: 1, paused: [] });
    expect((await t.db.kysely.selectFrom('suppressions').select('address_key').execute()).map((r) => r.address_key)).toEqual(['j.smith@umbrella.co.uk']);
  });

  it('send run reads new reports as it goes (at its start and every outbound.bounceCheckSeconds)', async () => {
    const s = await setup();
    await s.deliver('exchange-ndr', s.mid('hans.mueller@globex.de'));
    const settings = parseOutboundSettings({ throttles: false });
    const transports = new SmtpTransports(t.db, { settings, credentials: async () => null });
    const seen: BounceResult[] = [];
    await runSender({ db: t.db, settings, clock: new ManualClock('2026-11-15T00:00:00Z'), transports }, { once: true, onBounces: (r) => seen.push(r) });
    await transports.closeAll();
    expect(seen).toEqual([expect.objectContaining({ dsnMessages: 1, hard: 1 })]);
    expect((await t.db.kysely.selectFrom('suppressions').select('address_key').execute()).map((r) => r.address_key)).toEqual(['hans.mueller@globex.de']);
    // Switched off: nothing is read.
    await s.deliver('exim-user-unknown', s.mid('j.smith@umbrella.co.uk'));
    const off = parseOutboundSettings({ throttles: false, bounceCheckSeconds: 0 });
    const tr2 = new SmtpTransports(t.db, { settings: off, credentials: async () => null });
    await runSender({ db: t.db, settings: off, clock: new ManualClock('2026-11-15T00:00:00Z'), transports: tr2 }, { once: true, onBounces: (r) => seen.push(r) });
    await tr2.closeAll();
    expect(seen).toHaveLength(1);
  });

  it('finds the candidates through the partial index, not by reading every message', async () => {
    const compiled = bounceCandidatesQuery(1000).compile(t.db.kysely);
    const plan = await t.db.kysely.transaction().execute(async (trx) => {
      await sql`SET LOCAL enable_seqscan = off`.execute(trx);
      return (await trx.executeQuery<{ 'QUERY PLAN': string }>(CompiledQuery.raw(`EXPLAIN ${compiled.sql}`, [...compiled.parameters]))).rows.map((r) => r['QUERY PLAN']).join('\n');
    });
    expect(plan).toContain('messages_bounce_candidates_idx');
  });
});
