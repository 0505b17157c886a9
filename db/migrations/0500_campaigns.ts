import type { Kysely } from 'kysely';
import { runScript } from './sql-script.ts';

// Campaigns (issue 7): saved audiences, campaign definitions (synced from the
// campaigns folder), planner runs, one decision per (campaign, occurrence,
// contact) with the reason when left out, and sequence enrolments with their stop reasons.
export async function up(db: Kysely<unknown>): Promise<void> {
  await runScript(db, `
CREATE TABLE campaign_audiences (
  name text PRIMARY KEY,
  filter jsonb NOT NULL,
  source_file text,
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE campaigns (
  id bigserial PRIMARY KEY,
  name text NOT NULL UNIQUE,
  kind text NOT NULL CHECK (kind IN ('one-off','recurring','holiday','personal','sequence')),
  title text,
  definition jsonb NOT NULL,
  source_file text,
  paused boolean NOT NULL DEFAULT false,
  paused_at timestamptz,
  run_now_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE campaign_runs (
  id bigserial PRIMARY KEY,
  started_at timestamptz NOT NULL,
  finished_at timestamptz,
  dry_run boolean NOT NULL DEFAULT false,
  only_campaign text,
  horizon_end date,
  planned int NOT NULL DEFAULT 0,
  deferred int NOT NULL DEFAULT 0,
  skipped int NOT NULL DEFAULT 0,
  enqueued int NOT NULL DEFAULT 0
);

-- One decision per campaign, occurrence and contact: planned (maybe deferred) or skipped with the reason.
CREATE TABLE campaign_decisions (
  id bigserial PRIMARY KEY,
  campaign_id bigint NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
  occurrence text NOT NULL,
  contact_id bigint NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
  client_id bigint NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
  -- The outbox key (campaign, occurrence, contact); unique through the constraint below, so not indexed twice.
  idempotency_key text NOT NULL,
  outcome text NOT NULL CHECK (outcome IN ('planned','deferred','skipped')),
  reason text,
  priority text NOT NULL CHECK (priority IN ('personal','greeting','vip','promotion')),
  send_on date,
  not_before timestamptz,
  not_after timestamptz,
  time_zone text,
  account_id bigint,
  to_address text,
  template text,
  locale text,
  data jsonb,
  run_id bigint REFERENCES campaign_runs(id) ON DELETE SET NULL,
  enrolment_id bigint,
  enqueued_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (campaign_id, occurrence, contact_id)
);
CREATE INDEX campaign_decisions_pending_idx ON campaign_decisions (id) WHERE enqueued_at IS NULL AND outcome IN ('planned','deferred');
CREATE INDEX campaign_decisions_send_on_idx ON campaign_decisions (send_on) WHERE outcome IN ('planned','deferred');

-- Triggered sequences: one enrolment per campaign, contact and trigger (inquiry-12, quote-12, dormant-2026-03-01, order-7-shipped).
CREATE TABLE campaign_enrolments (
  id bigserial PRIMARY KEY,
  campaign_id bigint NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
  client_id bigint NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
  contact_id bigint NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
  trigger_ref text NOT NULL,
  started_at timestamptz NOT NULL,
  state text NOT NULL DEFAULT 'active' CHECK (state IN ('active','stopped','done')),
  stop_reason text CHECK (stop_reason IN ('reply','order','unsubscribe','manual')),
  stop_detail text,
  stopped_at timestamptz,
  paused_until date,
  pause_reason text,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (campaign_id, contact_id, trigger_ref)
);
CREATE INDEX campaign_enrolments_active_idx ON campaign_enrolments (campaign_id) WHERE state = 'active';
CREATE INDEX campaign_enrolments_client_idx ON campaign_enrolments (client_id);
`);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await runScript(db, `
DROP TABLE campaign_enrolments;
DROP TABLE campaign_decisions;
DROP TABLE campaign_runs;
DROP TABLE campaigns;
DROP TABLE campaign_audiences;
`);
}
