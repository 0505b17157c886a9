// A sync process for the kill -9 tests: opens the test's schema and syncs every account once
// (only the header pass with RAPPORT_TEST_CHILD_STOP_AFTER_HEADERS=1).
import { openDatabase } from '../../../src/db/database.ts';
import { syncAccount } from '../../../src/mailbox/sync-account.ts';
import { parseSyncSettings } from '../../../src/mailbox/sync-settings.ts';

const url = process.env.RAPPORT_TEST_CHILD_URL;
const schema = process.env.RAPPORT_TEST_CHILD_SCHEMA;
if (!url || !schema) throw new Error('RAPPORT_TEST_CHILD_URL and RAPPORT_TEST_CHILD_SCHEMA are needed');
const db = await openDatabase({ databaseUrl: url, schema, poolSize: 2 });
const settings = parseSyncSettings(JSON.parse(process.env.RAPPORT_TEST_CHILD_SETTINGS ?? '{}'));
const config = { secretKey: process.env.RAPPORT_SECRET_KEY, sections: {} };
let failed = false;
try {
  for (const a of await db.kysely.selectFrom('mail_accounts').select('id').execute()) {
    const r = await syncAccount(db, config, a.id, { settings, stopAfterHeaders: process.env.RAPPORT_TEST_CHILD_STOP_AFTER_HEADERS === '1' });
    if (!r.ok) {
      failed = true;
      process.stderr.write(`${JSON.stringify(r)}\n`);
    }
  }
} finally {
  await db.close();
}
process.exitCode = failed ? 1 : 0;
