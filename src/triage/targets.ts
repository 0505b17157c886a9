import type { Category, ClientFacts, Delivery, PlannedTarget, Reason } from './types.ts';
import type { TriageSettings } from './settings.ts';
import type { WorkingCalendar } from './working-calendar.ts';

export interface TargetInput {
  readonly category: Exclude<Category, 'not-for-triage'>;
  readonly delivery: Delivery;
  readonly urgency: number;
  readonly client: ClientFacts | null;
  readonly receivedAt: Date;
}

function round1(n: number): number {
  return Math.round(n * 10) / 10;
}

/** The rules of issue 4, section 4: channel and due times in our working calendar. */
export function planTargets(input: TargetInput, rules: TriageSettings['rules'], cal: WorkingCalendar): { targets: PlannedTarget[]; reasons: Reason[] } {
  const tierKey = input.client?.tier ?? 'none';
  const reasons: Reason[] = [];
  const phone = input.urgency >= rules.phoneThreshold && !(input.delivery === 'mass' && rules.massNeverPhone);
  const targets: PlannedTarget[] = [];
  if (phone) {
    targets.push({ kind: 'phone', channel: 'phone', hours: rules.phoneHours, rule: `${rules.phoneHours}h`, dueAt: cal.addWorkingHours(input.receivedAt, rules.phoneHours) });
    reasons.push({ group: 'target', code: 'phone', text: `urgency ${input.urgency} >= ${rules.phoneThreshold}: phone`, weight: 0 });
  } else if (input.urgency >= rules.phoneThreshold) {
    reasons.push({ group: 'target', code: 'mass-no-phone', text: `urgency ${input.urgency} but mass: email`, weight: 0 });
  }
  if (input.category === 'complaint') {
    if (!phone) {
      const ackDue = cal.endOfWorkingDay(input.receivedAt, rules.ackMinHours);
      targets.push({ kind: 'ack', channel: 'email', hours: round1(cal.workingHoursBetween(input.receivedAt, ackDue)), rule: 'eod', dueAt: ackDue });
    }
    const days = rules.complaintPlanDays[tierKey];
    targets.push({ kind: 'plan', channel: 'email', hours: round1(days * cal.dayHours), rule: `plan-${days}d`, dueAt: cal.addWorkingDays(input.receivedAt, days) });
  } else if (!phone) {
    const hours = input.delivery === 'mass' ? rules.massHours : rules.oneToOneHours[tierKey];
    targets.push({ kind: 'reply', channel: 'email', hours, rule: `${hours}h`, dueAt: cal.addWorkingHours(input.receivedAt, hours) });
  }
  return { targets, reasons };
}
