// Table types for the outbound domain (migration 0400_outbound.ts). Owned by that domain.
import type { ColumnType, Generated } from 'kysely';
import type { Timestamp, TimestampDefault } from './client-book.ts';

export type MailKind = 'promotion' | 'greeting' | 'vip' | 'personal' | 'reply' | 'transactional';
export type OutboxState = 'planned' | 'claimed' | 'sent' | 'failed' | 'suppressed' | 'expired' | 'uncertain' | 'cancelled';
export type SuppressionSource = 'manual' | 'unsubscribe' | 'bounce' | 'complaint' | 'import';
export type UnsubscribeMethod = 'one-click' | 'confirm-page' | 'mailto' | 'manual';

type Generated2<T> = ColumnType<T, never, never>;
type Defaulted<T> = ColumnType<T, T | undefined, T>;
type Json<T> = ColumnType<T, string | undefined | null, string | null>;

export interface OutboxTable {
  id: Generated<number>;
  idempotency_key: string;
  account_id: number;
  client_id: number | null;
  contact_id: number | null;
  to_address: string;
  to_name: string | null;
  address_key: Generated2<string>;
  to_domain: Generated2<string>;
  kind: MailKind;
  priority: Generated2<number>;
  template: string | null;
  locale: string | null;
  /** Template data (JSON). Write with JSON.stringify. */
  data: Json<Record<string, unknown> | null>;
  subject: string | null;
  html: string | null;
  text_body: string | null;
  /** Extra headers (JSON object of name -> value). */
  headers: Json<Record<string, string> | null>;
  campaign_id: number | null;
  occurrence: string | null;
  not_before: TimestampDefault;
  not_after: Timestamp | null;
  defer_until: Timestamp | null;
  defer_reason: string | null;
  due_at: Generated2<Date>;
  message_id: string;
  in_reply_to: string | null;
  reference_ids: string[] | null;
  state: Defaulted<OutboxState>;
  attempts: Defaulted<number>;
  lease_until: Timestamp | null;
  claim_token: string | null;
  claimed_by: string | null;
  claimed_at: Timestamp | null;
  last_error: string | null;
  smtp_response: string | null;
  resolved_by: string | null;
  sent_copy: string | null;
  bounced_at: Timestamp | null;
  bounce_reason: string | null;
  dry_run: Defaulted<boolean>;
  sent_at: Timestamp | null;
  created_at: TimestampDefault;
  updated_at: TimestampDefault;
}

export interface OutboxEventsTable {
  id: Generated<number>;
  outbox_id: number;
  at: Timestamp;
  event: string;
  detail: string | null;
}

/** A Sent-folder copy waiting to be appended again (its first append failed). */
export interface OutboundSentCopiesTable {
  outbox_id: number;
  account_id: number;
  message_id: string;
  raw: Buffer;
  attempts: Defaulted<number>;
  next_attempt_at: Timestamp;
  last_error: string | null;
  created_at: TimestampDefault;
}

export interface OutboundSendLogTable {
  id: Generated<number>;
  outbox_id: number | null;
  account_id: number;
  to_domain: string;
  address_key: string;
  contact_id: number | null;
  client_id: number | null;
  budget: string;
  reserved_at: Timestamp;
  finished_at: Timestamp | null;
  outcome: string | null;
}

export interface OutboundAccountSettingsTable {
  account_id: number;
  paused_at: Timestamp | null;
  paused_reason: string | null;
  limits: Json<Record<string, number | null> | null>;
  warmup_started_at: Timestamp | null;
  failure_streak: Defaulted<number>;
  failure_streak_kind: string | null;
  next_send_at: Timestamp | null;
  updated_at: TimestampDefault;
}

export interface SuppressionsTable {
  address_key: string;
  reason: string;
  source: Defaulted<SuppressionSource>;
  outbox_id: number | null;
  created_at: TimestampDefault;
}

export interface UnsubscribesTable {
  id: Generated<number>;
  address_key: string;
  contact_id: number | null;
  outbox_id: number | null;
  campaign_id: number | null;
  method: UnsubscribeMethod;
  /** The synced message that asked (a mailto: unsubscribe), read once. */
  source_message_id: Defaulted<number | null>;
  created_at: TimestampDefault;
}

export interface OutboundBouncesTable {
  id: Generated<number>;
  outbox_id: number | null;
  dsn_message_id: number | null;
  address_key: string;
  status: string | null;
  action: string | null;
  diagnostic: string | null;
  hard: boolean;
  created_at: TimestampDefault;
}

export interface OutboundTables {
  outbox: OutboxTable;
  outbox_events: OutboxEventsTable;
  outbound_send_log: OutboundSendLogTable;
  outbound_sent_copies: OutboundSentCopiesTable;
  outbound_account_settings: OutboundAccountSettingsTable;
  suppressions: SuppressionsTable;
  unsubscribes: UnsubscribesTable;
  outbound_bounces: OutboundBouncesTable;
}
