// A planner in a process of its own, for the concurrency test: plans every stored campaign at RAPPORT_TEST_NOW.
import { openDatabase } from '../../src/db/database.ts';
import { ManualClock } from '../../src/shared/clock.ts';
import { listStoredCampaigns } from '../../src/campaigns/campaign-store.ts';
import { planCampaigns } from '../../src/campaigns/planner.ts';
import { parseCampaignSettings } from '../../src/campaigns/settings.ts';

const db = await openDatabase({ databaseUrl: process.env.RAPPORT_TEST_URL ?? '', poolSize: 2 });
try {
  const clock = new ManualClock(process.env.RAPPORT_TEST_NOW ?? '');
  const res = await planCampaigns(db, { clock, settings: parseCampaignSettings({ sendWindow: { start: '09:00', end: '10:00', days: [1, 2, 3, 4, 5, 6, 7] } }), campaigns: await listStoredCampaigns(db), collectLines: false, batchSize: 500 });
  process.stdout.write(JSON.stringify({ planned: res.planned, enqueued: res.enqueued }) + '\n');
} finally {
  await db.close();
}
