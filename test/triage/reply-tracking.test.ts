import { describe, expect, it } from 'vitest';
import { trackThread, type ThreadEvent } from '../../src/triage/reply-tracking.ts';
import { scoreMessage } from '../../src/triage/score-message.ts';
import { parseTriageSettings } from '../../src/triage/settings.ts';
import { WorkingCalendar } from '../../src/triage/working-calendar.ts';
import { makeUsMatcher } from '../../src/triage/us-matcher.ts';
import type { TriageMessage } from '../../src/triage/types.ts';

const settings = parseTriageSettings({ company: { names: ['Hengda'] } });
const calendar = new WorkingCalendar(settings.calendar);
const us = makeUsMatcher(['hengda-outdoor.com']);
const sh = (local: string) => new Date(`${local}+08:00`);

function inbound(subject: string, text: string, at: Date): TriageMessage {
  return { fromAddress: 'buyer@client.com', fromName: 'Buyer', to: ['linda@hengda-outdoor.com'], toNames: ['Linda Wu'], cc: [], bcc: [], replyTo: [], subject, sentAt: at, headers: {}, text };
}

function track(messages: Record<number, TriageMessage>, events: ThreadEvent[], now: Date) {
  return trackThread(events, (id, unansweredBefore) => scoreMessage(messages[id]!, { us, settings, calendar, client: { id: 1, tier: 'normal' }, unansweredBefore }), now);
}

describe('reply tracking (pure)', () => {
  const q = inbound('Quote for Hengda heaters', 'Hi Linda,\nplease quote 500 heaters.\nThanks', sh('2026-12-02T10:00:00'));
  it('the clock stops at our first human reply; auto-replies and internal forwards do not stop it', () => {
    const { targets } = track({ 1: q }, [
      { type: 'inbound', messageId: 1, at: q.sentAt, fromAddress: 'buyer@client.com' },
      { type: 'outbound', messageId: 2, at: sh('2026-12-02T10:01:00'), auto: true, internal: false, text: 'Thank you, we received your mail' },
      { type: 'outbound', messageId: 3, at: sh('2026-12-02T11:00:00'), auto: false, internal: true, text: 'Kevin, FYI' },
      { type: 'outbound', messageId: 4, at: sh('2026-12-02T15:00:00'), auto: false, internal: false, text: 'Dear Buyer, our price is ...' },
    ], sh('2026-12-03T10:00:00'));
    expect(targets).toHaveLength(1);
    expect(targets[0]).toMatchObject({ kind: 'reply', channel: 'email', metByMessageId: 4, status: 'met' });
    // one-to-one, normal client: 12 working hours = 8 on Wednesday + 4 on Thursday
    expect(targets[0]!.dueAt.toISOString()).toBe(sh('2026-12-03T13:00:00').toISOString());
  });
  it('an unanswered target past due is breached, a later one is open', () => {
    const ev: ThreadEvent[] = [{ type: 'inbound', messageId: 1, at: q.sentAt, fromAddress: 'buyer@client.com' }];
    expect(track({ 1: q }, ev, sh('2026-12-02T12:00:00')).targets[0]!.status).toBe('open');
    expect(track({ 1: q }, ev, sh('2026-12-04T12:00:00')).targets[0]!.status).toBe('breached');
  });
  it('a repeated message keeps the first clock and raises urgency', () => {
    const again = inbound('Re: Quote for Hengda heaters', 'Hi Linda,\nthis is my second mail without an answer, please reply today.', sh('2026-12-03T09:00:00'));
    const { targets, results } = track({ 1: q, 2: again }, [
      { type: 'inbound', messageId: 1, at: q.sentAt, fromAddress: 'buyer@client.com' },
      { type: 'inbound', messageId: 2, at: again.sentAt, fromAddress: 'buyer@client.com' },
    ], sh('2026-12-03T09:30:00'));
    const reply = targets.find((t) => t.kind === 'reply')!;
    expect(reply.startedAt.toISOString()).toBe(q.sentAt.toISOString());
    expect(results.get(2)!.urgency).toBeGreaterThan(results.get(1)!.urgency);
    expect(results.get(2)!.reasons.some((r) => r.code === 'unanswered')).toBe(true);
  });
  it('a complaint keeps two clocks: the first reply acknowledges, a reply with a plan meets the plan', () => {
    const c = inbound('Defective igniters', 'Hi Linda,\n40 heaters are defective, we want a refund.', sh('2026-12-02T10:00:00'));
    const { targets } = track({ 1: c }, [
      { type: 'inbound', messageId: 1, at: c.sentAt, fromAddress: 'buyer@client.com' },
      { type: 'outbound', messageId: 2, at: sh('2026-12-02T16:00:00'), auto: false, internal: false, text: 'We are sorry, we are looking into it.' },
      { type: 'outbound', messageId: 3, at: sh('2026-12-04T11:00:00'), auto: false, internal: false, text: 'Our plan: we will replace the igniters on the next shipment.' },
    ], sh('2026-12-10T10:00:00'));
    const ack = targets.find((t) => t.kind === 'ack')!;
    const plan = targets.find((t) => t.kind === 'plan')!;
    expect(ack).toMatchObject({ metByMessageId: 2, status: 'met' });
    expect(ack.dueAt.toISOString()).toBe(sh('2026-12-02T18:00:00').toISOString());
    expect(plan).toMatchObject({ metByMessageId: 3, status: 'met' });
  });
  it('a logged call stops a phone target; an email does not', () => {
    const u = inbound('URGENT gas leak', 'Linda, urgent: a gas leak on the grill, customer injured. Call me ASAP today.', sh('2026-12-02T10:00:00'));
    const base: ThreadEvent[] = [
      { type: 'inbound', messageId: 1, at: u.sentAt, fromAddress: 'buyer@client.com' },
      { type: 'outbound', messageId: 2, at: sh('2026-12-02T10:20:00'), auto: false, internal: false, text: 'We will call you.' },
    ];
    const noCall = track({ 1: u }, base, sh('2026-12-02T12:00:00')).targets.find((t) => t.kind === 'phone')!;
    expect(noCall.status).toBe('breached');
    const withCall = track({ 1: u }, [...base, { type: 'call', touchpointId: 9, at: sh('2026-12-02T10:40:00') }], sh('2026-12-02T12:00:00')).targets.find((t) => t.kind === 'phone')!;
    expect(withCall).toMatchObject({ metByTouchpointId: 9, status: 'met' });
  });
  it('not-for-triage inbound mail sets no target', () => {
    const ooo: TriageMessage = { ...q, subject: 'Automatic reply: Quote', headers: { 'auto-submitted': 'auto-replied' } };
    expect(track({ 1: ooo }, [{ type: 'inbound', messageId: 1, at: ooo.sentAt, fromAddress: 'buyer@client.com' }], sh('2026-12-05T10:00:00')).targets).toHaveLength(0);
  });
});
