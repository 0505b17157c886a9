import type { Kysely } from 'kysely';
import { runScript } from './sql-script.ts';

// An account-level sync fault (DNS, TLS, a wrong password) before any folder
// is known has nowhere to go on mail_folders: `rapport sync status` reads it here.
export async function up(db: Kysely<unknown>): Promise<void> {
  await runScript(db, `
ALTER TABLE mail_accounts ADD COLUMN last_sync_at timestamptz;
ALTER TABLE mail_accounts ADD COLUMN last_error text;
ALTER TABLE mail_accounts ADD COLUMN last_error_at timestamptz;
`);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await runScript(db, `
ALTER TABLE mail_accounts DROP COLUMN last_error_at;
ALTER TABLE mail_accounts DROP COLUMN last_error;
ALTER TABLE mail_accounts DROP COLUMN last_sync_at;
`);
}
