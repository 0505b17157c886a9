// Table types for the triage domain. Owned by that domain; migration db/migrations/0200_triage.ts.
import type { ColumnType, Generated, JSONColumnType } from 'kysely';
import type { Timestamp, TimestampDefault } from './client-book.ts';

export type TriageCategory = 'inquiry' | 'complaint' | 'order' | 'logistics' | 'not-for-triage';
export type TargetKindColumn = 'reply' | 'ack' | 'plan' | 'phone';
export type TargetStatus = 'open' | 'met' | 'breached' | 'void';

export interface StoredReason {
  readonly group: string;
  readonly code: string;
  readonly text: string;
  readonly weight: number;
}

type Reasons = JSONColumnType<StoredReason[], string | undefined, string>;

export interface TriageResultsTable {
  message_id: number;
  category: TriageCategory;
  skip_reason: string | null;
  delivery: 'one-to-one' | 'mass' | null;
  urgency: number;
  channel: 'phone' | 'email' | 'none';
  due_in_hours: number | null;
  deadline_at: Timestamp | null;
  reasons: Reasons;
  explanation: ColumnType<string, string | undefined, string>;
  scored_at: TimestampDefault;
}

export interface ReplyTargetsTable {
  id: Generated<number>;
  thread_id: number;
  /** The inbound message that started the clock. */
  message_id: number;
  client_id: number | null;
  owner_id: number | null;
  kind: TargetKindColumn;
  channel: 'phone' | 'email';
  category: string;
  urgency: ColumnType<number, number | undefined, number>;
  started_at: Timestamp;
  due_at: Timestamp;
  met_at: Timestamp | null;
  met_by_message_id: number | null;
  met_by_touchpoint_id: number | null;
  status: TargetStatus;
  reasons: Reasons;
  explanation: ColumnType<string, string | undefined, string>;
  computed_at: TimestampDefault;
}

export interface TriageAlertsTable {
  message_id: number;
  target_kind: string;
  alert: 'due-soon' | 'breached';
  owner_id: number | null;
  sent_at: TimestampDefault;
}

export interface TriageCalendarDaysTable {
  day: string;
  working: boolean;
  note: string | null;
  created_at: TimestampDefault;
}

export interface TriageTables {
  triage_results: TriageResultsTable;
  reply_targets: ReplyTargetsTable;
  triage_alerts: TriageAlertsTable;
  triage_calendar_days: TriageCalendarDaysTable;
}
