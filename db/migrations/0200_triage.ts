import type { Kysely } from 'kysely';
import { runScript } from './sql-script.ts';

// Triage (issue 4): a score per inbound message, reply-time targets per thread
// (recomputed from stored events), alerts already sent, and calendar days set
// by hand on top of the configured working calendar.
export async function up(db: Kysely<unknown>): Promise<void> {
  await runScript(db, `
CREATE TABLE triage_results (
  message_id bigint PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
  category text NOT NULL CHECK (category IN ('inquiry','complaint','order','logistics','not-for-triage')),
  skip_reason text,
  delivery text CHECK (delivery IN ('one-to-one','mass')),
  urgency int NOT NULL CHECK (urgency BETWEEN 0 AND 100),
  channel text NOT NULL CHECK (channel IN ('phone','email','none')),
  due_in_hours real,
  deadline_at timestamptz,
  reasons jsonb NOT NULL DEFAULT '[]',
  explanation text NOT NULL DEFAULT '',
  scored_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX triage_results_category_idx ON triage_results (category);

CREATE TABLE reply_targets (
  id bigserial PRIMARY KEY,
  thread_id bigint NOT NULL REFERENCES threads(id) ON DELETE CASCADE,
  message_id bigint NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
  client_id bigint REFERENCES clients(id) ON DELETE SET NULL,
  owner_id bigint REFERENCES owners(id) ON DELETE SET NULL,
  kind text NOT NULL CHECK (kind IN ('reply','ack','plan','phone')),
  channel text NOT NULL CHECK (channel IN ('phone','email')),
  category text NOT NULL,
  urgency int NOT NULL DEFAULT 0,
  started_at timestamptz NOT NULL,
  due_at timestamptz NOT NULL,
  met_at timestamptz,
  met_by_message_id bigint REFERENCES messages(id) ON DELETE SET NULL,
  met_by_touchpoint_id bigint REFERENCES touchpoints(id) ON DELETE SET NULL,
  status text NOT NULL CHECK (status IN ('open','met','breached','void')),
  reasons jsonb NOT NULL DEFAULT '[]',
  explanation text NOT NULL DEFAULT '',
  computed_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (message_id, kind)
);
-- The board: open targets by due time.
CREATE INDEX reply_targets_open_due_idx ON reply_targets (due_at) WHERE met_at IS NULL AND status <> 'void';
CREATE INDEX reply_targets_thread_idx ON reply_targets (thread_id);
CREATE INDEX reply_targets_started_idx ON reply_targets (started_at);

-- Alerts already sent, keyed by the target's message and kind (stable across recomputes).
CREATE TABLE triage_alerts (
  message_id bigint NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
  target_kind text NOT NULL,
  alert text NOT NULL CHECK (alert IN ('due-soon','breached')),
  owner_id bigint,
  sent_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (message_id, target_kind, alert)
);

-- Days set by hand on top of the configured calendar (make-up working days, company days off).
CREATE TABLE triage_calendar_days (
  day date PRIMARY KEY,
  working boolean NOT NULL,
  note text,
  created_at timestamptz NOT NULL DEFAULT now()
);
`);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await runScript(db, `
DROP TABLE triage_calendar_days;
DROP TABLE triage_alerts;
DROP TABLE reply_targets;
DROP TABLE triage_results;
`);
}
