import { describe, expect, it } from 'vitest';
import { claimDue, enqueueMail, markSent, parseOutboundSettings, type ClaimedMail } from '../../src/outbound/index.ts';
import { ManualClock } from '../../src/shared/clock.ts';
import { testBackend, useTestDb } from '../support/test-db.ts';
import { addTestAccount } from './helpers.ts';

// Sends that finish together are recorded together (group commit); each keeps its own time.
describe(`recording sent mail on ${testBackend}`, () => {
  const t = useTestDb();

  it('records mails accepted while a record is being written in one go, each with its own acceptance time', async () => {
    const acct = await addTestAccount(t.db);
    const clock = new ManualClock('2027-03-01T09:00:00Z');
    await enqueueMail(t.db, Array.from({ length: 6 }, (_, i) => ({ idempotencyKey: `g${i}`, accountId: acct.id, toAddress: `p${i}@c${i}.com`, kind: 'personal' as const, subject: 's', textBody: 't' })), { clock });
    const settings = parseOutboundSettings({ defaults: { perSecond: 100, perMinute: null, perHour: null, perDay: null }, claimBatch: 10 });
    const { claimed } = await claimDue(t.db, { settings, clock, workerId: 'w' });
    expect(claimed).toHaveLength(6);
    // A stale claim (another worker's token) must not be marked sent by the batch it rides in.
    const stale: ClaimedMail = { ...claimed[5]!, claimToken: 'not-the-token' };
    const expected = new Map<number, number>();
    const pending: Promise<void>[] = [];
    for (const mail of [...claimed.slice(0, 5), stale]) {
      clock.advance(37);
      expected.set(mail.id, clock.now().getTime());
      pending.push(markSent(t.db, clock, mail, `250 ok ${mail.id}`));
    }
    await Promise.all(pending);
    const rows = await t.db.kysely.selectFrom('outbox').select(['id', 'state', 'sent_at', 'smtp_response']).orderBy('id').execute();
    for (const r of rows) {
      if (Number(r.id) === stale.id) {
        expect(r.state).toBe('claimed');
        continue;
      }
      expect(r.state).toBe('sent');
      expect(r.smtp_response).toBe(`250 ok ${r.id}`);
      expect(new Date(r.sent_at as Date).getTime()).toBe(expected.get(Number(r.id)));
    }
    const slots = await t.db.kysely.selectFrom('outbound_send_log').select(['outbox_id', 'finished_at', 'outcome']).execute();
    for (const s of slots) {
      if (Number(s.outbox_id) === stale.id) continue;
      expect(s.outcome).toBe('sent');
      expect(new Date(s.finished_at as Date).getTime()).toBe(expected.get(Number(s.outbox_id)));
    }
    const events = await t.db.kysely.selectFrom('outbox_events').select(['outbox_id', 'at']).where('event', '=', 'sent').execute();
    expect(events.map((e) => Number(e.outbox_id)).sort((a, b) => a - b)).toEqual(claimed.slice(0, 5).map((m) => m.id).sort((a, b) => a - b));
    for (const e of events) expect(new Date(e.at as Date).getTime()).toBe(expected.get(Number(e.outbox_id)));
  });

  it('fails every mail of a record that could not be written, and the next record still goes through', async () => {
    const acct = await addTestAccount(t.db);
    const clock = new ManualClock('2027-03-01T09:00:00Z');
    await enqueueMail(t.db, Array.from({ length: 2 }, (_, i) => ({ idempotencyKey: `f${i}`, accountId: acct.id, toAddress: `q${i}@c${i}.com`, kind: 'personal' as const, subject: 's', textBody: 't' })), { clock });
    const settings = parseOutboundSettings({ claimBatch: 10 });
    const { claimed } = await claimDue(t.db, { settings, clock, workerId: 'w' });
    expect(claimed).toHaveLength(2);
    // A claim token no text column can hold makes the statement fail (NUL byte): the caller hears of it.
    const broken: ClaimedMail = { ...claimed[0]!, claimToken: 'bad\u0000token' };
    await expect(markSent(t.db, clock, broken, '250 ok')).rejects.toThrow();
    await markSent(t.db, clock, claimed[1]!, '250 ok');
    const states = await t.db.kysely.selectFrom('outbox').select(['id', 'state']).orderBy('id').execute();
    expect(states.map((s) => s.state)).toEqual(['claimed', 'sent']);
  });
});
