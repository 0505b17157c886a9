import type { Kysely } from 'kysely';
import { runScript } from './sql-script.ts';

// The sync's header pass stores messages before their bodies (body_state
// 'headers' with no parse error: BODY_PENDING_SQL in src/mailbox/store-messages.ts).
// The body pass, the resume after a stop between the passes, the "unchanged"
// check of an incremental sync and triage look for those few rows: a partial
// index keeps that a small read however large the mailbox.
export async function up(db: Kysely<unknown>): Promise<void> {
  await runScript(db, `
CREATE INDEX messages_body_pending_idx ON messages (id) WHERE body_state = 'headers' AND parse_error IS NULL;
`);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await runScript(db, `
DROP INDEX messages_body_pending_idx;
`);
}
