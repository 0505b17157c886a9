import type { Kysely } from 'kysely';
import { runScript } from './sql-script.ts';

// "Which placements of this folder hold this message": the body pass's resume
// (the rows of a folder still waiting for their body) and the "unchanged" check
// of an incremental sync ask it for every waiting message. With an index on the
// message alone, and the table's statistics still those of an empty table after
// a header pass had stored 20,000 rows, PostgreSQL answered each lookup by
// AND-ing that index with a scan of the whole folder's primary key: 4.5 s for
// 20,000 waiting rows in bench:sync, growing with the square of the folder.
// On (message, folder) one index answers the lookup, whatever the statistics.
export async function up(db: Kysely<unknown>): Promise<void> {
  await runScript(db, `
DROP INDEX message_placements_message_idx;
CREATE INDEX message_placements_message_idx ON message_placements (message_id, folder_id);
`);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await runScript(db, `
DROP INDEX message_placements_message_idx;
CREATE INDEX message_placements_message_idx ON message_placements (message_id);
`);
}
