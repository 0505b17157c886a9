// Reply tracking, pure: walk a thread's stored events in time order and say which
// targets were set, when each clock started and what stopped it.
import type { PlannedTarget, Reason, TargetKind, TriageResult } from './types.ts';

export type ThreadEvent =
  | { readonly type: 'inbound'; readonly messageId: number; readonly at: Date; readonly fromAddress: string | null }
  | {
      readonly type: 'outbound';
      readonly messageId: number;
      readonly at: Date;
      /** An auto-reply or bulk mail sent from our side (does not stop a clock). */
      readonly auto: boolean;
      /** Sent only to our own addresses, or forwarded to a third party (does not stop a clock). */
      readonly internal: boolean;
      readonly text: string;
    }
  | { readonly type: 'call'; readonly touchpointId: number; readonly at: Date };

export interface TrackedTarget {
  readonly messageId: number;
  readonly kind: TargetKind;
  readonly channel: 'phone' | 'email';
  readonly category: string;
  readonly urgency: number;
  readonly startedAt: Date;
  readonly dueAt: Date;
  readonly metAt: Date | null;
  readonly metByMessageId: number | null;
  readonly metByTouchpointId: number | null;
  readonly status: 'open' | 'met' | 'breached';
  readonly reasons: readonly Reason[];
  readonly explanation: string;
}

/** Scores inbound message `messageId`; `unansweredBefore` counts the thread's earlier unanswered inbound messages. */
export type ThreadScorer = (messageId: number, unansweredBefore: number) => TriageResult;

const PLAN_WORDS = /(plan|solution|replace|replacement|refund|credit note|compensat|root cause|we will (send|ship|replace|refund|credit|repair)|corrective action|方案|补发|退款|赔偿|更换|整改|解决|soluci[oó]n|reposici[oó]n|reembolso|L[öo]sung|Ersatz|Gutschrift|remplacement|rembours|solu[çc][ãa]o|reposi[çc][ãa]o|решени|замен|حل|تعويض)/iu;

interface Working {
  messageId: number;
  kind: TargetKind;
  channel: 'phone' | 'email';
  category: string;
  urgency: number;
  startedAt: Date;
  dueAt: Date;
  metAt: Date | null;
  metByMessageId: number | null;
  metByTouchpointId: number | null;
  reasons: readonly Reason[];
  explanation: string;
}

/**
 * The clock starts at the first unanswered inbound message and stops at our first human reply;
 * auto-replies and internal forwards don't stop it; a logged call stops a phone target (and a
 * complaint's acknowledgement); a complaint's plan clock runs until a reply carrying a plan, or a
 * second reply after the acknowledgement.
 */
export function trackThread(events: readonly ThreadEvent[], score: ThreadScorer, now: Date): { targets: TrackedTarget[]; results: Map<number, TriageResult> } {
  const sorted = [...events].sort((a, b) => a.at.getTime() - b.at.getTime());
  const all: Working[] = [];
  const results = new Map<number, TriageResult>();
  let unanswered = 0;
  const open = (kind?: TargetKind) => all.filter((t) => t.metAt === null && (kind === undefined || t.kind === kind));
  for (const ev of sorted) {
    if (ev.type === 'inbound') {
      const r = score(ev.messageId, unanswered);
      results.set(ev.messageId, r);
      if (r.category === 'not-for-triage') continue;
      const make = (p: PlannedTarget): Working => ({
        messageId: ev.messageId, kind: p.kind, channel: p.channel, category: r.category, urgency: r.urgency, startedAt: ev.at, dueAt: p.dueAt,
        metAt: null, metByMessageId: null, metByTouchpointId: null, reasons: r.reasons, explanation: r.explanation,
      });
      for (const p of r.targets) {
        const existing = open(p.kind)[0];
        // A repeated message keeps the clock of the first one; it only tightens the due time.
        if (existing) {
          if (p.dueAt < existing.dueAt) {
            existing.dueAt = p.dueAt;
            existing.urgency = Math.max(existing.urgency, r.urgency);
            existing.reasons = r.reasons;
            existing.explanation = r.explanation;
          }
        } else all.push(make(p));
      }
      unanswered += 1;
    } else if (ev.type === 'outbound') {
      if (ev.auto || ev.internal) continue;
      const acked = all.some((t) => t.kind === 'ack' && t.metAt !== null);
      for (const t of open()) {
        if (t.kind === 'reply' || t.kind === 'ack') {
          t.metAt = ev.at;
          t.metByMessageId = ev.messageId;
        } else if (t.kind === 'plan' && (PLAN_WORDS.test(ev.text) || acked)) {
          t.metAt = ev.at;
          t.metByMessageId = ev.messageId;
        }
      }
      unanswered = 0;
    } else {
      for (const t of open()) {
        if (t.kind === 'phone' || t.kind === 'ack') {
          t.metAt = ev.at;
          t.metByTouchpointId = ev.touchpointId;
        }
      }
      if (open('reply').length === 0) unanswered = 0;
    }
  }
  const targets = all.map((t): TrackedTarget => ({
    ...t,
    status: t.metAt ? (t.metAt <= t.dueAt ? 'met' : 'breached') : now > t.dueAt ? 'breached' : 'open',
  }));
  return { targets, results };
}
