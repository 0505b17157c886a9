import { describe, expect, it } from 'vitest';
import { scoreMessage } from '../../src/triage/score-message.ts';
import { parseTriageSettings } from '../../src/triage/settings.ts';
import { WorkingCalendar } from '../../src/triage/working-calendar.ts';
import { makeUsMatcher } from '../../src/triage/us-matcher.ts';
import { newestPart } from '../../src/triage/text-parts.ts';
import type { TriageMessage } from '../../src/triage/types.ts';

const settings = parseTriageSettings({ company: { names: ['Hengda'], products: ['HD-PH12'] } });
const calendar = new WorkingCalendar(settings.calendar);
const us = makeUsMatcher(['hengda-outdoor.com']);
const msg = (over: Partial<TriageMessage>): TriageMessage => ({
  fromAddress: 'buyer@acme.com', fromName: 'Buyer', to: ['linda@hengda-outdoor.com'], toNames: ['Linda Wu'], cc: [], bcc: [], replyTo: [],
  subject: 'Quote', sentAt: new Date('2026-12-02T02:00:00Z'), headers: {}, text: 'Hi Linda,\nplease quote.', ...over,
});
const score = (m: TriageMessage, tier: 'key' | 'major' | 'normal' | null = null) => scoreMessage(m, { us, settings, calendar, client: tier ? { id: 1, tier } : null });

describe('classification and explanation', () => {
  it.each([
    ['Auto-Submitted: auto-replied', { 'auto-submitted': 'auto-replied' }],
    ['X-Autoreply', { 'x-autoreply': 'yes' }],
    ['Precedence: auto_reply', { precedence: 'auto_reply' }],
    ['X-Auto-Response-Suppress: All', { 'x-auto-response-suppress': 'All' }],
  ])('RFC 3834 / vendor header %s -> not for triage (auto-reply)', (_n, headers) => {
    const r = score(msg({ headers, text: 'Hi Linda, URGENT please call me' }));
    expect(r).toMatchObject({ category: 'not-for-triage', skipReason: 'auto-reply', channel: 'none', dueInHours: null });
  });
  it('Auto-Submitted: no is a human message', () => {
    expect(score(msg({ headers: { 'auto-submitted': 'no' } })).category).toBe('inquiry');
  });
  it.each(['Automatic reply: Quote', 'Abwesenheitsnotiz: Angebot', 'Réponse automatique : devis', '自动回复：报价', 'Автоответ: запрос', 'Respuesta automática: cotización'])('subject "%s" -> auto-reply', (subject) => {
    expect(score(msg({ subject })).skipReason).toBe('auto-reply');
  });
  it('bounces, newsletters, internal mail', () => {
    expect(score(msg({ fromAddress: 'mailer-daemon@mx.acme.com', subject: 'Undelivered Mail Returned to Sender' })).skipReason).toBe('bounce');
    expect(score(msg({ contentType: 'multipart/report; report-type=delivery-status' })).skipReason).toBe('bounce');
    expect(score(msg({ headers: { 'list-unsubscribe': '<mailto:u@acme.com>' } })).skipReason).toBe('newsletter');
    expect(score(msg({ fromAddress: 'kevin@hengda-outdoor.com' })).skipReason).toBe('internal');
  });
  it('a polite "no rush" that quotes "urgent" is not urgent', () => {
    const r = score(msg({ text: 'Hi Linda,\nno rush, whenever you have a moment please quote the black HD-PH12.\n\n> On Mon, Linda wrote:\n> URGENT ASAP call me' }), 'normal');
    expect(r.urgency).toBeLessThan(20);
    expect(r.reasons.some((x) => x.code === 'urgent-words')).toBe(false);
    expect(r.channel).toBe('email');
  });
  it('the same words unquoted are urgent, and a key client asking for a call today goes to phone', () => {
    const r = score(msg({ text: 'Linda,\nURGENT: the container is held at customs, we need the corrected invoice today. Please call me ASAP.' }), 'key');
    expect(r.channel).toBe('phone');
    expect(r.dueInHours).toBe(1);
    expect(r.urgency).toBeGreaterThanOrEqual(70);
  });
  it('mass: Bcc and a generic salutation, never phone even when it shouts', () => {
    const r = score(msg({ to: ['buyer@acme.com'], bcc: ['sales@hengda-outdoor.com'], text: 'Dear Sir/Madam,\nURGENT requirement, send price list ASAP.' }));
    expect(r.delivery).toBe('mass');
    expect(r.channel).toBe('email');
    expect(r.dueInHours).toBe(24);
  });
  it('explains every number, in the issue\'s format', () => {
    const r = score(msg({ subject: 'Hengda HD-PH12 quote', text: 'Hi Linda,\nplease send your best price for the HD-PH12 ASAP.' }), 'key');
    expect(r.explanation).toMatch(/^inquiry \(.*\) · one-to-one \(\+ addressed by name \("Linda"\), \+ our company named \("Hengda"\), .*\) · inquiry base \+20 · urgent word "asap" \+20 · key client \+15 · urgency 55 -> email within 6h, due 2026-12-02 16:00 Asia\/Shanghai$/);
  });
  it('cuts quoted history and signatures', () => {
    expect(newestPart('Hello\n\nOn Tue, 1 Dec 2026, Linda wrote:\n> urgent')).toBe('Hello');
    expect(newestPart('Hello\n--\nFor urgent issues call')).toBe('Hello');
    expect(newestPart('你好\n\n-----原始邮件-----\n紧急')).toBe('你好');
  });

  it('"URGENTE" counts as one urgent word, not "urgent" plus "urgente"', () => {
    const r = score(msg({ subject: 'URGENTE: precio', text: 'Hola Linda,\nnecesitamos el precio.' }), 'normal');
    const w = r.reasons.find((x) => x.code === 'urgent-words');
    expect(w?.text).toBe('urgent word "urgente"');
    expect(w?.weight).toBe(20);
  });
});

describe('configurable targets', () => {
  const base = { company: { names: ['Hengda'], products: ['HD-PH12'] } };
  const with_ = (rules: Record<string, unknown>) => {
    const s = parseTriageSettings({ ...base, rules });
    return (m: TriageMessage, tier: 'key' | 'normal' | null) => scoreMessage(m, { us, settings: s, calendar, client: tier ? { id: 1, tier } : null });
  };
  it('one-to-one and mass hours come from triage.rules, and the explanation says so', () => {
    const s = with_({ oneToOneHours: { normal: 8, key: 4 }, massHours: 48 });
    const normal = s(msg({ text: 'Hi Linda,\nplease quote 100 HD-PH12.' }), 'normal');
    expect(normal).toMatchObject({ channel: 'email', dueInHours: 8 });
    expect(normal.explanation).toMatch(/email within 8h, due 2026-12-02 18:00 Asia\/Shanghai$/);
    expect(s(msg({ text: 'Hi Linda,\nplease quote 100 HD-PH12.' }), 'key').dueInHours).toBe(4);
    const mass = s(msg({ to: ['buyer@acme.com'], bcc: ['sales@hengda-outdoor.com'], text: 'Dear Sir/Madam,\nsend price list.' }), null);
    expect(mass).toMatchObject({ delivery: 'mass', dueInHours: 48 });
    // the defaults, for contrast
    expect(score(msg({ text: 'Hi Linda,\nplease quote 100 HD-PH12.' }), 'normal').dueInHours).toBe(12);
  });
  it('the phone threshold and phone hours are configurable', () => {
    const text = 'Hi Linda,\nplease send the HD-PH12 price ASAP.';
    expect(score(msg({ text }), 'key').channel).toBe('email');
    const low = with_({ phoneThreshold: 50, phoneHours: 2 })(msg({ text }), 'key');
    expect(low).toMatchObject({ channel: 'phone', dueInHours: 2 });
    expect(low.explanation).toMatch(/urgency 55 >= 50: phone|phone within 2h/);
  });
  it('a complaint plan is tighter for key clients (1 working day) than for others (3), and configurable', () => {
    const text = 'Hi Linda,\n20 of the HD-PH12 heaters arrived damaged and two are defective. Please explain.';
    const plan = (r: ReturnType<typeof score>) => r.targets.find((t) => t.kind === 'plan')!;
    expect(plan(score(msg({ text }), 'normal')).rule).toBe('plan-3d');
    expect(plan(score(msg({ text }), 'key')).rule).toBe('plan-1d');
    expect(plan(with_({ complaintPlanDays: { normal: 2 } })(msg({ text }), 'normal')).rule).toBe('plan-2d');
  });
  it('complaint words beyond English: dents, broken ribs, gas leaks, "won\'t ignite"', () => {
    for (const text of [
      'Sehr geehrte Frau Wu,\n40 Heizstrahler haben Kratzer und Dellen.',
      'Madame Wu,\n15 parasols sont arrivés avec des baleines cassées.',
      'Линда,\nу 12 штук вмятины на крышке, просим компенсировать.',
      'Linda,\nun cliente ha detectado una fuga de gas en dos calentadores.',
      '林经理：\n有8台点不着火，客户已经退回来了。',
    ]) expect(score(msg({ subject: 'Lieferung', text }), 'normal').category, text).toBe('complaint');
    // "won't ignite" is a complaint but not a fire
    const zh = score(msg({ subject: '烧烤炉', text: '林经理：\n有8台点不着火，客户已经退回来了。' }), 'normal');
    expect(zh.reasons.some((x) => x.code === 'safety')).toBe(false);
  });
});
