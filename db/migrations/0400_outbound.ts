import { sql, type Kysely } from 'kysely';
import { runScript } from './sql-script.ts';

// Outbound (issue 6): the outbox (one row per mail, exactly once), its event
// history, the send log that throttles count (sliding windows that hold across
// processes; checked under transaction-scoped advisory locks per account,
// recipient domain and contact), per-account send state (pause, warm-up,
// pacing), suppressions, unsubscribe records and bounces.
export async function up(db: Kysely<unknown>): Promise<void> {
  await runScript(db, `
CREATE TABLE outbox (
  id bigserial PRIMARY KEY,
  idempotency_key text NOT NULL UNIQUE,
  account_id bigint NOT NULL,
  client_id bigint REFERENCES clients(id) ON DELETE SET NULL,
  contact_id bigint REFERENCES contacts(id) ON DELETE SET NULL,
  to_address text NOT NULL,
  to_name text,
  address_key text GENERATED ALWAYS AS (lower(to_address)) STORED,
  to_domain text GENERATED ALWAYS AS (lower(split_part(to_address, '@', 2))) STORED,
  kind text NOT NULL CHECK (kind IN ('promotion','greeting','vip','personal','reply','transactional')),
  priority smallint GENERATED ALWAYS AS (CASE kind WHEN 'reply' THEN 0 WHEN 'personal' THEN 0 WHEN 'transactional' THEN 0 WHEN 'greeting' THEN 1 WHEN 'vip' THEN 2 ELSE 3 END) STORED,
  template text,
  locale text,
  data jsonb,
  subject text,
  html text,
  text_body text,
  headers jsonb,
  campaign_id bigint,
  occurrence text,
  not_before timestamptz NOT NULL DEFAULT now(),
  not_after timestamptz,
  defer_until timestamptz,
  defer_reason text,
  due_at timestamptz GENERATED ALWAYS AS (greatest(not_before, coalesce(defer_until, not_before))) STORED,
  message_id text NOT NULL UNIQUE,
  in_reply_to text,
  reference_ids text[],
  state text NOT NULL DEFAULT 'planned' CHECK (state IN ('planned','claimed','sent','failed','suppressed','expired','uncertain','cancelled')),
  attempts int NOT NULL DEFAULT 0,
  lease_until timestamptz,
  claim_token text,
  claimed_by text,
  claimed_at timestamptz,
  last_error text,
  smtp_response text,
  resolved_by text,
  sent_copy text,
  bounced_at timestamptz,
  bounce_reason text,
  dry_run boolean NOT NULL DEFAULT false,
  sent_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX outbox_due_idx ON outbox (priority, due_at, id) WHERE state = 'planned';
CREATE INDEX outbox_lease_idx ON outbox (lease_until) WHERE state = 'claimed';
CREATE INDEX outbox_state_idx ON outbox (state, id);
CREATE INDEX outbox_account_idx ON outbox (account_id, state);
CREATE INDEX outbox_contact_idx ON outbox (contact_id, kind);
CREATE INDEX outbox_campaign_idx ON outbox (campaign_id, occurrence);

CREATE TABLE outbox_events (
  id bigserial PRIMARY KEY,
  outbox_id bigint NOT NULL REFERENCES outbox(id) ON DELETE CASCADE,
  at timestamptz NOT NULL,
  event text NOT NULL,
  detail text
);
CREATE INDEX outbox_events_outbox_idx ON outbox_events (outbox_id, id);

-- One row per send attempt that passed the throttles: the slot it holds.
-- A slot counts in a window of length W while unfinished and for W after finished_at.
CREATE TABLE outbound_send_log (
  id bigserial PRIMARY KEY,
  outbox_id bigint REFERENCES outbox(id) ON DELETE SET NULL,
  account_id bigint NOT NULL,
  to_domain text NOT NULL,
  address_key text NOT NULL,
  contact_id bigint,
  client_id bigint,
  budget text NOT NULL,
  reserved_at timestamptz NOT NULL,
  finished_at timestamptz,
  outcome text
);
CREATE INDEX outbound_send_log_account_idx ON outbound_send_log (account_id, finished_at);
CREATE INDEX outbound_send_log_domain_idx ON outbound_send_log (to_domain, finished_at);
CREATE INDEX outbound_send_log_contact_idx ON outbound_send_log (contact_id, budget, reserved_at);
CREATE INDEX outbound_send_log_address_idx ON outbound_send_log (address_key, budget, reserved_at);
CREATE INDEX outbound_send_log_open_idx ON outbound_send_log (outbox_id) WHERE finished_at IS NULL;

-- Per sending account: pause state, warm-up, pacing, limit overrides.
CREATE TABLE outbound_account_settings (
  account_id bigint PRIMARY KEY,
  paused_at timestamptz,
  paused_reason text,
  limits jsonb,
  warmup_started_at timestamptz,
  failure_streak int NOT NULL DEFAULT 0,
  failure_streak_kind text,
  next_send_at timestamptz,
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE suppressions (
  address_key text PRIMARY KEY CHECK (address_key = lower(address_key)),
  reason text NOT NULL,
  source text NOT NULL DEFAULT 'manual' CHECK (source IN ('manual','unsubscribe','bounce','complaint','import')),
  outbox_id bigint REFERENCES outbox(id) ON DELETE SET NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE unsubscribes (
  id bigserial PRIMARY KEY,
  address_key text NOT NULL,
  contact_id bigint,
  outbox_id bigint REFERENCES outbox(id) ON DELETE SET NULL,
  campaign_id bigint,
  method text NOT NULL CHECK (method IN ('one-click','confirm-page','mailto','manual')),
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX unsubscribes_address_idx ON unsubscribes (address_key);
CREATE INDEX unsubscribes_contact_idx ON unsubscribes (contact_id);

CREATE TABLE outbound_bounces (
  id bigserial PRIMARY KEY,
  outbox_id bigint REFERENCES outbox(id) ON DELETE SET NULL,
  dsn_message_id bigint,
  address_key text NOT NULL,
  status text,
  action text,
  diagnostic text,
  hard boolean NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (dsn_message_id, address_key)
);
CREATE INDEX outbound_bounces_outbox_idx ON outbound_bounces (outbox_id);
`);
  // mail_accounts belongs to the mailbox domain (0100); link to it when it exists.
  const res = await sql<{ t: string | null }>`SELECT to_regclass('mail_accounts')::text AS t`.execute(db);
  if (res.rows[0]?.t) {
    await sql`ALTER TABLE outbox ADD CONSTRAINT outbox_account_fk FOREIGN KEY (account_id) REFERENCES mail_accounts(id) ON DELETE RESTRICT`.execute(db);
    await sql`ALTER TABLE outbound_account_settings ADD CONSTRAINT outbound_account_settings_fk FOREIGN KEY (account_id) REFERENCES mail_accounts(id) ON DELETE CASCADE`.execute(db);
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await runScript(db, `
DROP TABLE outbound_bounces;
DROP TABLE unsubscribes;
DROP TABLE suppressions;
DROP TABLE outbound_account_settings;
DROP TABLE outbound_send_log;
DROP TABLE outbox_events;
DROP TABLE outbox;
`);
}
