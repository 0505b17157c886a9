// Table types for the campaigns domain (migration 0500_campaigns.ts). Owned by that domain.
import type { ColumnType, Generated } from 'kysely';
import type { DateOnly, Timestamp, TimestampDefault } from './client-book.ts';

type Json<T> = ColumnType<T, string, string>;
type JsonNullable<T> = ColumnType<T | null, string | null | undefined, string | null>;
type Defaulted<T> = ColumnType<T, T | undefined, T>;

export type CampaignKindColumn = 'one-off' | 'recurring' | 'holiday' | 'personal' | 'sequence';
export type DecisionOutcome = 'planned' | 'deferred' | 'skipped';
export type PriorityColumn = 'personal' | 'greeting' | 'vip' | 'promotion';
export type EnrolmentState = 'active' | 'stopped' | 'done';
export type StopReason = 'reply' | 'order' | 'unsubscribe' | 'manual';

export interface CampaignAudiencesTable {
  name: string;
  filter: Json<Record<string, unknown>>;
  source_file: string | null;
  updated_at: TimestampDefault;
}

export interface CampaignsTable {
  id: Generated<number>;
  name: string;
  kind: CampaignKindColumn;
  title: string | null;
  definition: Json<Record<string, unknown>>;
  source_file: string | null;
  paused: Defaulted<boolean>;
  paused_at: Timestamp | null;
  run_now_at: Timestamp | null;
  created_at: TimestampDefault;
  updated_at: TimestampDefault;
}

export interface CampaignRunsTable {
  id: Generated<number>;
  started_at: Timestamp;
  finished_at: Timestamp | null;
  dry_run: Defaulted<boolean>;
  only_campaign: string | null;
  horizon_end: DateOnly | null;
  planned: Defaulted<number>;
  deferred: Defaulted<number>;
  skipped: Defaulted<number>;
  enqueued: Defaulted<number>;
}

export interface CampaignDecisionsTable {
  id: Generated<number>;
  campaign_id: number;
  occurrence: string;
  contact_id: number;
  client_id: number;
  idempotency_key: string;
  outcome: DecisionOutcome;
  reason: string | null;
  priority: PriorityColumn;
  send_on: DateOnly | null;
  not_before: Timestamp | null;
  not_after: Timestamp | null;
  time_zone: string | null;
  account_id: number | null;
  to_address: string | null;
  template: string | null;
  locale: string | null;
  data: JsonNullable<Record<string, unknown>>;
  run_id: number | null;
  enrolment_id: number | null;
  enqueued_at: Timestamp | null;
  created_at: TimestampDefault;
  updated_at: TimestampDefault;
}

export interface CampaignEnrolmentsTable {
  id: Generated<number>;
  campaign_id: number;
  client_id: number;
  contact_id: number;
  trigger_ref: string;
  started_at: Timestamp;
  state: Defaulted<EnrolmentState>;
  stop_reason: StopReason | null;
  stop_detail: string | null;
  stopped_at: Timestamp | null;
  paused_until: DateOnly | null;
  pause_reason: string | null;
  created_at: TimestampDefault;
}

export interface CampaignTables {
  campaign_audiences: CampaignAudiencesTable;
  campaigns: CampaignsTable;
  campaign_runs: CampaignRunsTable;
  campaign_decisions: CampaignDecisionsTable;
  campaign_enrolments: CampaignEnrolmentsTable;
}
