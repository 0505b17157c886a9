import { sql, type Kysely } from 'kysely';
import { runScript } from './sql-script.ts';

// Message bodies are written once a message (the sync's body pass) and are
// mostly 2-20 KB of text and HTML, which PostgreSQL compresses into TOAST. Its
// default, pglz, cost the bench's initial sync 0.05-0.07 ms of PostgreSQL CPU a
// message more than lz4 (0.38 against 0.33, 0.47 against 0.40 ms, same runs).
// lz4 is used where the server was built with it (Debian's PostgreSQL is);
// elsewhere (PGlite) the columns keep pglz. Stored values keep their
// compression; only what is written from now on is lz4.
const COLUMNS = ['text_body', 'html_body', 'newest_part', 'headers', 'raw'];

export async function up(db: Kysely<unknown>): Promise<void> {
  // one statement (a DO block: its own semicolons are not statement ends), so not runScript
  await sql
    .raw(`DO $$ BEGIN ALTER TABLE messages ${COLUMNS.map((c) => `ALTER COLUMN ${c} SET COMPRESSION lz4`).join(', ')}; EXCEPTION WHEN feature_not_supported THEN NULL; END $$`)
    .execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await runScript(db, `
ALTER TABLE messages ${COLUMNS.map((c) => `ALTER COLUMN ${c} SET COMPRESSION pglz`).join(', ')};
`);
}
