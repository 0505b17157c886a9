import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync, cpSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { useTestDb } from '../support/test-db.ts';
import { buildProgram } from '../../src/cli/program.ts';
import type { Runner } from '../../src/cli/context.ts';
import { loadConfig } from '../../src/config/config.ts';
import { silentLogger } from '../../src/shared/logger.ts';
import { ManualClock } from '../../src/shared/clock.ts';
import { isAppError } from '../../src/shared/app-error.ts';
import { seedClients, seedOwner } from './seed.ts';

const t = useTestDb();
const root = path.resolve(import.meta.dirname, '../..');

async function cli(dir: string, args: string[], now = '2026-12-18T00:00:00Z'): Promise<{ out: string; error?: string }> {
  const lines: string[] = [];
  const config = loadConfig({ RAPPORT_CAMPAIGNS_DIR: dir, RAPPORT_TEMPLATES_DIR: path.join(root, 'templates'), RAPPORT_CONFIG: configFile }, dir);
  const run: Runner = (fn) => fn({ config, db: t.db, logger: silentLogger, clock: new ManualClock(now), out: (l) => lines.push(l) });
  try {
    await buildProgram(run).parseAsync(['node', 'rapport', ...args]);
    return { out: lines.join('\n') };
  } catch (e) {
    if (!isAppError(e)) throw e;
    return { out: lines.join('\n'), error: e.message };
  }
}

const configFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'rapport-config-')), 'rapport.config.yaml');
writeFileSync(configFile, 'campaigns:\n  sender: { company: Brightway Outdoor, website: https://brightway.example }\n');

function folder(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rapport-campaigns-'));
  for (const [f, text] of Object.entries(files)) writeFileSync(path.join(dir, f), text);
  return dir;
}

async function seed() {
  const ana = await seedOwner(t.db, 'Ana', 'ana@us.example');
  await seedClients(t.db, [
    { name: 'Berlin GmbH', country: 'DE', owner: ana.ownerId, tier: 'key', contacts: [{ name: 'Karl', email: 'karl@berlin.example', language: 'de' }] },
    { name: 'Shanghai Co', country: 'CN', owner: ana.ownerId, contacts: [{ name: 'Wang', email: 'wang@sh.example', language: 'zh-CN' }] },
  ]);
}

describe('rapport campaigns (CLI)', () => {
  it('validates, plans (dry run, then for real), lists, reports and pauses the example folder', async () => {
    await seed();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'rapport-examples-'));
    cpSync(path.join(root, 'examples/campaigns'), dir, { recursive: true });
    const v = await cli(dir, ['campaigns', 'validate']);
    expect(v.error).toBeUndefined();
    expect(v.out).toMatch(/5 campaigns valid and stored/);
    const dry = await cli(dir, ['campaigns', 'plan', '--dry-run']);
    expect(dry.error).toBeUndefined();
    expect(dry.out).toMatch(/dry run \(nothing written\): 1 planned/);
    expect(dry.out).toContain('christmas-2026');
    expect((await sql<{ n: number }>`SELECT count(*)::int AS n FROM outbox`.execute(t.db.kysely)).rows[0]!.n).toBe(0);
    const real = await cli(dir, ['campaigns', 'plan', '--json']);
    const plan = JSON.parse(real.out) as { planned: number; enqueued: number; lines: Array<{ contact: string; occurrence: string; outcome: string }> };
    expect(plan.enqueued).toBe(1);
    expect(plan.lines.find((l) => l.contact === 'Karl')).toMatchObject({ occurrence: 'christmas-2026', outcome: 'planned' });
    const again = await cli(dir, ['campaigns', 'plan']);
    expect(again.out).toContain('nothing new to plan');
    const list = await cli(dir, ['campaigns', 'list', '--json']);
    expect((JSON.parse(list.out) as Array<{ name: string }>).map((c) => c.name)).toEqual(['birthdays', 'holiday-cards', 'inquiry-follow-up', 'monthly-card', 'vip-quarterly']);
    const rep = await cli(dir, ['campaigns', 'report', 'holiday-cards', '--json']);
    expect(JSON.parse(rep.out)).toMatchObject({ campaign: 'holiday-cards', total: { planned: 1, waiting: 1, sent: 0 } });
    const p = await cli(dir, ['campaigns', 'pause', 'holiday-cards']);
    expect(p.out).toBe('holiday-cards: paused, 1 unsent mail held');
    const show = await cli(dir, ['campaigns', 'show', 'monthly-card']);
    expect(show.out).toContain('next: 2027-01 on 2027-01-03');
    const prev = await cli(dir, ['campaigns', 'audience', 'preview', 'key-clients']);
    expect(prev.out).toMatch(/^1 contacts \(1 with a valid address\)/);
    expect(prev.out).toContain('Karl');
  }, 180_000);

  it('refuses bad campaign files with file, field and reason, before anything is planned', async () => {
    await seed();
    const dir = folder({
      'audiences.yaml': 'audiences:\n  nobody:\n    countries: [ZW]\n  all: {}\n',
      'a-unknown-template.yaml': 'name: a\nkind: one-off\non: "2027-01-10"\naudience: all\ntemplate: no-such-template\n',
      'b-nobody.yaml': 'name: b\nkind: recurring\nevery: month\nday: 1\naudience: nobody\ntemplate: monthly-card\n',
      'c-holiday.yaml': 'name: c\nkind: holiday\naudience: all\ntemplate: holiday-greeting\nholidays: [christmas, festivus]\n',
      'd-past.yaml': 'name: d\nkind: one-off\non: "2026-01-10"\naudience: all\ntemplate: birthday\n',
      'e-variable.yaml': 'name: e\nkind: one-off\non: "2027-01-10"\naudience: all\ntemplate: new-product-push\ndata:\n  headline: Heaters\n',
      'f-schema.yaml': 'name: F Bad\nkind: weekly\n',
    });
    const r = await cli(dir, ['campaigns', 'validate']);
    expect(r.error).toMatch(/problems in campaign files/);
    const lines = r.out.split('\n').map((l) => l.replace(dir + path.sep, ''));
    expect(lines).toEqual(expect.arrayContaining([
      'a-unknown-template.yaml: template: unknown template "no-such-template"',
      'b-nobody.yaml: audience: audience "nobody" matches nobody',
      expect.stringMatching(/^c-holiday.yaml: holidays\[1\]: unknown holiday "festivus"/),
      'd-past.yaml: on: first occurrence 2026-01-10 is in the past (today is 2026-12-18)',
      expect.stringMatching(/^e-variable.yaml: template: template "new-product-push" needs variable "products"/),
      expect.stringMatching(/^f-schema.yaml: kind: /),
    ]));
    const plan = await cli(dir, ['campaigns', 'plan']);
    expect(plan.error).toMatch(/problems in campaign files/);
    expect((await sql<{ n: number }>`SELECT count(*)::int AS n FROM campaigns`.execute(t.db.kysely)).rows[0]!.n).toBe(0);
    expect((await sql<{ n: number }>`SELECT count(*)::int AS n FROM outbox`.execute(t.db.kysely)).rows[0]!.n).toBe(0);
  }, 180_000);
});
