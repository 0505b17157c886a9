// The data the triage core works on. Pure: no I/O here.
import type { Tier } from '../db/tables/client-book.ts';

export type Category = 'inquiry' | 'complaint' | 'order' | 'logistics' | 'not-for-triage';
export type SkipReason = 'auto-reply' | 'bounce' | 'newsletter' | 'internal' | 'platform' | 'outbound';
export type Delivery = 'one-to-one' | 'mass';
export type Channel = 'phone' | 'email' | 'none';
export type TargetKind = 'reply' | 'ack' | 'plan' | 'phone';
export type ReasonGroup = 'category' | 'delivery' | 'urgency' | 'target';

export const CATEGORIES: readonly Category[] = ['inquiry', 'complaint', 'order', 'logistics', 'not-for-triage'];

/** One message as triage sees it, whatever it came from (.eml file or the messages table). */
export interface TriageMessage {
  readonly messageId?: string | null;
  readonly fromAddress: string | null;
  readonly fromName: string | null;
  readonly to: readonly string[];
  /** Display names of the To recipients (for "addressed by name"), same order as `to` when known. */
  readonly toNames?: readonly string[];
  readonly cc: readonly string[];
  readonly bcc: readonly string[];
  readonly replyTo: readonly string[];
  readonly subject: string;
  readonly sentAt: Date;
  /** The sender's UTC offset in minutes, read from the Date header, when known. */
  readonly utcOffsetMinutes?: number | null;
  /** Lower-case header name -> value. */
  readonly headers: Readonly<Record<string, string>>;
  readonly text: string;
  /** The newest part of the body (quoted history cut), when the caller already has it. */
  readonly newestPart?: string | null;
  readonly inReplyTo?: string | null;
  readonly references?: readonly string[];
  readonly attachments?: ReadonlyArray<{ readonly filename: string | null; readonly contentType: string }>;
  /** The top-level Content-Type (multipart/report for DSNs). */
  readonly contentType?: string | null;
}

export interface ClientFacts {
  readonly id?: number | null;
  readonly name?: string | null;
  readonly tier: Tier | null;
  readonly status?: string | null;
  readonly orderInProduction?: boolean;
  readonly timeZone?: string | null;
  readonly products?: readonly string[];
}

/** A reason behind a number, with its weight (points of urgency, or of the mass/one-to-one balance). */
export interface Reason {
  readonly group: ReasonGroup;
  readonly code: string;
  readonly text: string;
  readonly weight: number;
}

export interface Deadline {
  /** The instant the sender's words point at. */
  readonly at: Date;
  /** The words, as written. */
  readonly text: string;
  /** The zone the words were read in. */
  readonly zone: string;
}

export interface PlannedTarget {
  readonly kind: TargetKind;
  readonly channel: 'phone' | 'email';
  /** Working hours allowed (for ack: what is left of the working day). */
  readonly hours: number;
  /** The rule that set it: '1h', '6h', '12h', '24h', 'eod', 'plan-3d' ... */
  readonly rule: string;
  readonly dueAt: Date;
}

export interface TriageResult {
  readonly category: Category;
  readonly skipReason: SkipReason | null;
  readonly delivery: Delivery | null;
  readonly urgency: number;
  readonly channel: Channel;
  /** Working hours allowed for the first target; null when not for triage. */
  readonly dueInHours: number | null;
  readonly dueAt: Date | null;
  readonly targets: readonly PlannedTarget[];
  readonly deadline: Deadline | null;
  readonly reasons: readonly Reason[];
  readonly explanation: string;
}
