import { DateTime } from 'luxon';
import type { ClientFacts, Reason, TriageMessage, TriageResult } from './types.ts';
import type { TriageSettings } from './settings.ts';
import type { WorkingCalendar } from './working-calendar.ts';
import type { UsMatcher } from './us-matcher.ts';
import { newestPart } from './text-parts.ts';
import { classifyCategory, detectNotForTriage, relayOf } from './classify.ts';
import { assessDelivery } from './delivery.ts';
import { extractDeadline, senderZone } from './deadline.ts';
import { scoreUrgency } from './urgency.ts';
import { planTargets } from './targets.ts';

export interface ScoreContext {
  readonly us: UsMatcher;
  readonly settings: TriageSettings;
  readonly calendar: WorkingCalendar;
  readonly client?: ClientFacts | null;
  /** Inbound messages of the thread before this one that are still unanswered. */
  readonly unansweredBefore?: number;
  /** Our people's names (owners): a greeting naming one is a one-to-one signal. */
  readonly people?: readonly string[];
  /** When the clock starts (default: the message's date). */
  readonly receivedAt?: Date;
}

/** Classifies one message and plans its reply targets. Pure: same input, same result. */
export function scoreMessage(msg: TriageMessage, ctx: ScoreContext): TriageResult {
  const newest = msg.newestPart && msg.newestPart.trim() !== '' ? newestPart(msg.newestPart) : newestPart(msg.text);
  const receivedAt = ctx.receivedAt ?? msg.sentAt;
  const skip = detectNotForTriage(msg, newest, ctx.us, ctx.settings.relayDomains);
  if (skip) {
    const reasons: Reason[] = [{ group: 'category', code: `skip:${skip.reason}`, text: skip.text, weight: 0 }];
    return {
      category: 'not-for-triage', skipReason: skip.reason, delivery: null, urgency: 0, channel: 'none', dueInHours: null, dueAt: null,
      targets: [], deadline: null, reasons, explanation: `not for triage: ${skip.text}`,
    };
  }
  const client = ctx.client ?? null;
  const { category, reasons: catReasons } = classifyCategory(msg.subject, newest);
  const relay = relayOf(msg.fromAddress, ctx.settings.relayDomains);
  const products = [...ctx.settings.company.products, ...(client?.products ?? [])];
  const del = assessDelivery({ msg, newest, us: ctx.us, companyNames: ctx.settings.company.names, products, relay, linkedClient: Boolean(client?.id), people: ctx.people ?? [] });
  const zone = senderZone(client?.timeZone, msg.utcOffsetMinutes);
  const deadline = extractDeadline(`${msg.subject}\n${newest}`, msg.sentAt, zone);
  const urg = scoreUrgency({
    category, delivery: del.delivery, subject: msg.subject, newest, client,
    deadline: deadline ? { deadline, hoursLeft: (deadline.at.getTime() - msg.sentAt.getTime()) / 3_600_000 } : null,
    unansweredBefore: ctx.unansweredBefore ?? 0,
  });
  const plan = planTargets({ category, delivery: del.delivery, urgency: urg.urgency, client, receivedAt }, ctx.settings.rules, ctx.calendar);
  const first = plan.targets[0]!;
  const reasons = [...catReasons, ...del.reasons, ...urg.reasons, ...plan.reasons];
  const result = {
    category, skipReason: null, delivery: del.delivery, urgency: urg.urgency, channel: first.channel, dueInHours: first.hours, dueAt: first.dueAt,
    targets: plan.targets, deadline, reasons,
  } as const;
  return { ...result, explanation: explain(result, ctx.calendar.zone, (d) => ctx.calendar.format(d)) };
}

function signed(n: number): string {
  return n >= 0 ? `+${n}` : `${n}`;
}

/** e.g. `one-to-one (+ our company named, + single recipient) · urgent word "ASAP" +25 · key client +15 -> email within 6h, due 2026-12-02 14:00 Asia/Shanghai` */
export function explain(r: Omit<TriageResult, 'explanation'>, zone: string, format?: (d: Date) => string): string {
  const parts: string[] = [];
  const cat = r.reasons.find((x) => x.group === 'category');
  if (cat) parts.push(cat.text);
  const mass = r.delivery === 'mass';
  const del = r.reasons.filter((x) => x.group === 'delivery' && (mass ? x.weight > 0 : x.weight < 0)).map((x) => `+ ${x.text}`);
  parts.push(`${r.delivery}${del.length ? ` (${del.join(', ')})` : ''}`);
  for (const u of r.reasons.filter((x) => x.group === 'urgency')) parts.push(`${u.text} ${signed(u.weight)}`);
  parts.push(`urgency ${r.urgency}`);
  const fmt = format ?? ((d: Date) => DateTime.fromJSDate(d, { zone }).toFormat('yyyy-MM-dd HH:mm'));
  const t = r.targets.map((x) => {
    const what = x.kind === 'phone' ? 'phone within' : x.kind === 'ack' ? 'acknowledge by end of day' : x.kind === 'plan' ? 'plan within' : 'email within';
    const span = x.kind === 'ack' ? '' : x.kind === 'plan' ? ` ${x.rule.replace('plan-', '')}` : ` ${x.hours}h`;
    return `${what}${span}, due ${fmt(x.dueAt)}`;
  });
  return `${parts.join(' · ')} -> ${t.join('; ')} ${zone}`;
}
