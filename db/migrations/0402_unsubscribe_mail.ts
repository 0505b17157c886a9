import { type Kysely } from 'kysely';
import { runScript } from './sql-script.ts';

// Unsubscribes by mail (the mailto: in List-Unsubscribe, issue 6): the synced
// message that asked is remembered, so each request is read once.
export async function up(db: Kysely<unknown>): Promise<void> {
  await runScript(db, `
ALTER TABLE unsubscribes ADD COLUMN source_message_id bigint;
CREATE UNIQUE INDEX unsubscribes_source_message_idx ON unsubscribes (source_message_id) WHERE source_message_id IS NOT NULL;
`);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await runScript(db, `
DROP INDEX unsubscribes_source_message_idx;
ALTER TABLE unsubscribes DROP COLUMN source_message_id;
`);
}
