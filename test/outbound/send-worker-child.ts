// A sender process for the multi-process tests: `tsx send-worker-child.ts`,
// with RAPPORT_TEST_CHILD_URL (a postgres URL) and RAPPORT_TEST_CHILD_SCHEMA.
import { openDatabase } from '../../src/db/database.ts';
import { parseOutboundSettings, runSender, SmtpTransports } from '../../src/outbound/index.ts';
import { systemClock } from '../../src/shared/clock.ts';

const url = process.env.RAPPORT_TEST_CHILD_URL;
const schema = process.env.RAPPORT_TEST_CHILD_SCHEMA;
if (!url || !schema) throw new Error('RAPPORT_TEST_CHILD_URL and RAPPORT_TEST_CHILD_SCHEMA are needed');
const db = await openDatabase({ databaseUrl: url, schema, poolSize: 4 });
const settings = parseOutboundSettings(JSON.parse(process.env.RAPPORT_TEST_CHILD_SETTINGS ?? '{"throttles":false,"claimBatch":5,"pollMs":100}'));
const transports = new SmtpTransports(db, { settings, credentials: async () => null, maxConnections: 2 });
process.stdout.write('ready\n');
await runSender({ db, settings, clock: systemClock, transports, workerId: `child-${process.pid}` }, { workers: Number(process.env.RAPPORT_TEST_CHILD_WORKERS ?? '2'), once: process.env.RAPPORT_TEST_CHILD_ONCE === '1' });
await transports.closeAll();
await db.close();
