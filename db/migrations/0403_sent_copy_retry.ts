import { type Kysely } from 'kysely';
import { runScript } from './sql-script.ts';

// A copy for the Sent folder that could not be appended (IMAP down, a password
// changed, a full mailbox) is kept here with its bytes and appended later
// (issue 6, point 6: the user sees every mail Rapport sent in their own Sent
// folder). The row goes once the copy is in Sent, or after the last attempt.
export async function up(db: Kysely<unknown>): Promise<void> {
  await runScript(db, `
CREATE TABLE outbound_sent_copies (
  outbox_id bigint PRIMARY KEY REFERENCES outbox(id) ON DELETE CASCADE,
  account_id bigint NOT NULL,
  message_id text NOT NULL,
  raw bytea NOT NULL,
  attempts integer NOT NULL DEFAULT 1,
  next_attempt_at timestamptz NOT NULL,
  last_error text,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX outbound_sent_copies_due_idx ON outbound_sent_copies (next_attempt_at);
`);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await runScript(db, `DROP TABLE outbound_sent_copies;`);
}
