import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync, cpSync, readFileSync, rmSync, existsSync } from 'node:fs';
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
import { enqueueMail } from '../../src/outbound/index.ts';

const t = useTestDb();
const root = path.resolve(import.meta.dirname, '../..');

async function cli(dir: string, args: string[], now = '2026-12-18T00:00:00Z', templatesDir = path.join(root, 'templates')): Promise<{ out: string; error?: string }> {
  const lines: string[] = [];
  const config = loadConfig({ RAPPORT_CAMPAIGNS_DIR: dir, RAPPORT_TEMPLATES_DIR: templatesDir, RAPPORT_CONFIG: configFile }, dir);
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
    const cards = await cli(dir, ['campaigns', 'show', 'holiday-cards']);
    expect(cards.out).toContain('next: christmas-2026 sent 2026-12-23 for DE; new-year-2027 sent 2026-12-30 for CN, DE;');
    expect(cards.out).toContain('spring-festival-2027 sent 2027-02-04 for CN, DE');
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
      'g-series.yaml': 'name: g\nkind: recurring\nevery: month\nday: 1\nstartsOn: "2026-06-01"\naudience: all\ntemplate: monthly-card\n',
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
      'g-series.yaml: startsOn: first occurrence 2026-06 on 2026-06-01 is in the past (today is 2026-12-18)',
    ]));
    // The same refusals, each with file, field and reason, when the folder is loaded to plan or to run one campaign now.
    for (const args of [['campaigns', 'plan'], ['campaigns', 'plan', '--dry-run'], ['campaigns', 'run-now', 'a']]) {
      const load = await cli(dir, args);
      expect(load.error, args.join(' ')).toMatch(new RegExp(`^${lines.length} problems in campaign files, first: `));
      expect(load.out.split('\n').map((l) => l.replace(dir + path.sep, '')), args.join(' ')).toEqual(lines);
    }
    const json = await cli(dir, ['campaigns', 'plan', '--json']);
    const problems = (JSON.parse(json.out) as { ok: boolean; problems: Array<{ file: string; field: string; reason: string }> }).problems;
    expect(problems.map((p) => [path.basename(p.file), p.field])).toEqual(expect.arrayContaining([['a-unknown-template.yaml', 'template'], ['g-series.yaml', 'startsOn'], ['c-holiday.yaml', 'holidays[1]']]));
    const plan = await cli(dir, ['campaigns', 'plan']);
    expect(plan.error).toMatch(/problems in campaign files/);
    expect((await sql<{ n: number }>`SELECT count(*)::int AS n FROM campaigns`.execute(t.db.kysely)).rows[0]!.n).toBe(0);
    expect((await sql<{ n: number }>`SELECT count(*)::int AS n FROM outbox`.execute(t.db.kysely)).rows[0]!.n).toBe(0);
  }, 180_000);
  it('prints why each one is left out: unsubscribed, capped until a date, no valid address, no template in the language, holiday passed', async () => {
    const ana = await seedOwner(t.db, 'Ana', 'ana@us.example');
    const ids = await seedClients(t.db, [
      { name: 'Island Ltd', country: 'GB', owner: ana.ownerId, contacts: [{ name: 'Kiri', email: 'kiri@island.example', timeZone: 'Pacific/Kiritimati', language: 'en' }] },
      { name: 'Shanghai Co', country: 'CN', owner: ana.ownerId, contacts: [{ name: 'Wang', email: 'wang@sh.example', language: 'zh-CN' }] },
      { name: 'Gone Ltd', country: 'GB', owner: ana.ownerId, contacts: [{ name: 'Gone', email: 'gone@gone.example' }, { name: 'NoMail' }] },
    ]);
    await sql`INSERT INTO suppressions (address_key, reason, source) VALUES ('gone@gone.example', 'one-click', 'unsubscribe')`.execute(t.db.kysely);
    // A promotion Wang got outside any campaign on 20 December starts the 14-day gap.
    const sh = ids.get('Shanghai Co')!;
    await enqueueMail(t.db, [{ idempotencyKey: 'manual:1', accountId: ana.accountId, clientId: sh.clientId, contactId: sh.contactIds[0]!, toAddress: 'wang@sh.example', kind: 'promotion', subject: 'New heaters', textBody: 'x', notBefore: new Date('2026-12-20T02:00:00Z') }]);
    await sql`UPDATE outbox SET state = 'sent', sent_at = '2026-12-20T02:00:00Z'`.execute(t.db.kysely);
    // Templates where the product push exists in Chinese only (no English fallback).
    const templates = mkdtempSync(path.join(os.tmpdir(), 'rapport-templates-'));
    cpSync(path.join(root, 'templates'), templates, { recursive: true });
    rmSync(path.join(templates, 'new-product-push', 'en.mjml'));
    const meta = path.join(templates, 'new-product-push', 'meta.yaml');
    writeFileSync(meta, readFileSync(meta, 'utf8').replace(/^locales: .*$/m, 'locales: [zh-CN]'));
    const dir = folder({
      'audiences.yaml': 'audiences:\n  all: {}\n',
      'cards.yaml': 'name: cards\nkind: holiday\naudience: all\ntemplate: holiday-greeting\nholidays: [christmas]\ndaysBefore: 0\n',
      'push.yaml': ['name: push', 'kind: one-off', 'on: "2026-12-28"', 'audience: all', 'template: new-product-push', 'overBudget: drop', 'data:', '  headline: Patio heaters',
        '  products: [{ name: Tower 13, use: Terraces, image: "https://img.example/t.jpg" }]', '  ctaUrl: https://us.example/quote'].join('\n') + '\n',
    });
    const now = '2026-12-25T10:30:00Z'; // already the 26th in Kiritimati (UTC+14), still Christmas morning in London
    const printed = await cli(dir, ['campaigns', 'plan', '--dry-run'], now, templates);
    expect(printed.error).toBeUndefined();
    const row = (contact: string, campaign: string) => printed.out.split('\n').find((l) => l.startsWith(campaign) && l.includes(`${contact} (`)) ?? '';
    expect(row('Kiri', 'cards')).toMatch(/skipped\s+holiday Christmas Day already passed \(2026-12-25 in Pacific\/Kiritimati\)$/);
    expect(row('Kiri', 'push')).toMatch(/skipped\s+no template in the contact's language \(en\) and no fallback$/);
    expect(row('Wang', 'push')).toMatch(/skipped\s+promotion 14-day gap: capped until 2027-01-03 \(dropped by the campaign's rule\)$/);
    expect(row('Gone', 'cards')).toMatch(/skipped\s+unsubscribed$/);
    expect(row('Gone', 'push')).toMatch(/skipped\s+unsubscribed$/);
    expect(row('NoMail', 'cards')).toMatch(/skipped\s+no valid address$/);
    expect(printed.out).toMatch(/dry run \(nothing written\): 0 planned, 0 deferred, 7 left out/);
    expect((await sql<{ n: number }>`SELECT count(*)::int AS n FROM campaign_decisions`.execute(t.db.kysely)).rows[0]!.n).toBe(0);
  }, 180_000);

  it('reports per occurrence: sent, bounced, unsubscribed, and replies within N days in the thread of a campaign mail', async () => {
    const ana = await seedOwner(t.db, 'Ana', 'ana@us.example');
    const ids = await seedClients(t.db, [{ name: 'Acme', country: 'GB', owner: ana.ownerId, contacts: [{ name: 'A', email: 'a@acme.example' }, { name: 'B', email: 'b@acme.example' }, { name: 'C', email: 'c@acme.example' }] }]);
    const acme = ids.get('Acme')!.clientId;
    const dir = folder({ 'monthly.yaml': 'name: monthly\nkind: recurring\nevery: month\nday: 21\naudience: { clientIds: [' + acme + '] }\ntemplate: monthly-card\n' });
    const plan = await cli(dir, ['campaigns', 'plan', '--json']);
    expect(JSON.parse(plan.out)).toMatchObject({ planned: 3, enqueued: 3 });
    await sql`UPDATE outbox SET state = 'sent', sent_at = '2026-12-21T09:30:00Z'`.execute(t.db.kysely);
    const mail = Object.fromEntries((await sql<{ id: number; to_address: string; message_id: string }>`SELECT id, to_address, message_id FROM outbox`.execute(t.db.kysely)).rows.map((r) => [r.to_address[0]!, r]));
    const thread = async () => Number((await sql<{ id: number }>`INSERT INTO threads (subject, normalized_subject, client_id) VALUES ('Card', 'card', ${acme}) RETURNING id`.execute(t.db.kysely)).rows[0]!.id);
    const msg = async (messageId: string, threadId: number, direction: string, from: string, at: string, inReplyTo: string | null = null) =>
      sql`INSERT INTO messages (message_id, content_hash, thread_id, direction, from_address, subject, sent_at, in_reply_to) VALUES (${messageId}, ${messageId}, ${threadId}, ${direction}, ${from}, 'Re: Card', ${at}, ${inReplyTo})`.execute(t.db.kysely);
    // A: the Sent copy and a reply two days later in its thread (no In-Reply-To: counted by thread).
    const ta = await thread();
    await msg(mail.a!.message_id, ta, 'outbound', 'ana@us.example', '2026-12-21T09:30:00Z');
    await msg('r-a@acme.example', ta, 'inbound', 'a@acme.example', '2026-12-23T08:00:00Z');
    // B: bounced, and a reply answering its Message-ID a month later (outside 14 days).
    await msg('r-b@acme.example', await thread(), 'inbound', 'b@acme.example', '2027-01-20T08:00:00Z', mail.b!.message_id);
    await sql`UPDATE outbox SET bounced_at = '2026-12-21T10:00:00Z' WHERE id = ${mail.b!.id}`.execute(t.db.kysely);
    // C: unsubscribed; its mail about something else in another thread is no reply to the card.
    await msg('other-c@acme.example', await thread(), 'inbound', 'c@acme.example', '2026-12-22T08:00:00Z');
    await sql`INSERT INTO unsubscribes (address_key, outbox_id, method) VALUES ('c@acme.example', ${mail.c!.id}, 'one-click')`.execute(t.db.kysely);
    const r14 = await cli(dir, ['campaigns', 'report', 'monthly', '--json']);
    expect(JSON.parse(r14.out)).toMatchObject({ campaign: 'monthly', replyWindowDays: 14, occurrences: [{ occurrence: '2026-12', planned: 3, sent: 3, bounced: 1, unsubscribed: 1, replies: 1 }], total: { sent: 3, replies: 1 } });
    const r40 = await cli(dir, ['campaigns', 'report', 'monthly', '--reply-days', '40', '--json']);
    expect(JSON.parse(r40.out)).toMatchObject({ replyWindowDays: 40, total: { replies: 2, bounced: 1, unsubscribed: 1 } });
    const text = await cli(dir, ['campaigns', 'report', 'monthly']);
    expect(text.out).toMatch(/^2026-12\s+3\s+0\s+0\s+0\s+3\s+0\s+0\s+0\s+1\s+1\s+1$/m);
    expect(text.out).toContain('replies counted within 14 days in the thread of a campaign mail');
    expect((await cli(dir, ['campaigns', 'report', 'monthly', '--reply-days', 'soon'])).error).toBe('--reply-days soon: a whole number of days, at least 1');
  }, 180_000);
  it('writes a campaign file from flags with campaigns new, validated like a hand-written one', async () => {
    await seed();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'rapport-examples-'));
    cpSync(path.join(root, 'examples/campaigns'), dir, { recursive: true });
    const data = JSON.stringify({ headline: 'Patio heaters', products: [{ name: 'Tower 13', use: 'Terraces', image: 'https://img.example/t.jpg' }], ctaUrl: 'https://us.example/quote' });
    const args = ['campaigns', 'new', 'winter-push', '--kind', 'one-off', '--on', '2026-12-24', '--audience', 'key-clients', '--template', 'new-product-push', '--data', data, '--title', 'Winter push'];
    const made = await cli(dir, args);
    expect(made.error).toBeUndefined();
    expect(made.out).toContain('campaign winter-push written');
    const file = path.join(dir, 'winter-push.yaml');
    const written = readFileSync(file, 'utf8');
    expect(written).toContain('kind: one-off');
    expect(written).toContain('on: 2026-12-24');
    expect((await cli(dir, ['campaigns', 'validate'])).out).toMatch(/6 campaigns valid and stored/);
    const plan = JSON.parse((await cli(dir, ['campaigns', 'plan', '--dry-run', '--campaign', 'winter-push', '--json'])).out) as { lines: Array<{ contact: string; outcome: string; reason: string | null }> };
    // Karl's Christmas week is quiet for promotions: the push waits until after it.
    expect(plan.lines).toEqual([expect.objectContaining({ contact: 'Karl', outcome: 'deferred', reason: expect.stringContaining("recipient's holiday (christmas)") })]);
    // The same name again, an unknown template, an unknown audience, a past date: refused, nothing written.
    expect((await cli(dir, args)).error).toMatch(/^campaign winter-push not written: .*winter-push.yaml: name: a campaign named "winter-push" already exists/);
    const bad = await cli(dir, ['campaigns', 'new', 'bad', '--kind', 'one-off', '--on', '2027-01-12', '--audience', 'key-clients', '--template', 'nope']);
    expect(bad.out.replace(dir + path.sep, '')).toBe('bad.yaml: template: unknown template "nope"');
    expect((await cli(dir, ['campaigns', 'new', 'bad', '--kind', 'one-off', '--on', '2027-01-12', '--audience', 'nobody-here', '--template', 'birthday'])).error).toContain('audience: no saved audience named "nobody-here"');
    expect((await cli(dir, ['campaigns', 'new', 'bad', '--kind', 'one-off', '--on', '2026-01-12', '--audience', 'key-clients', '--template', 'birthday'])).error).toContain('on: first occurrence 2026-01-12 is in the past');
    expect((await cli(dir, ['campaigns', 'new', 'bad', '--kind', 'weekly', '--audience', 'key-clients'])).error).toMatch(/bad.yaml: kind: /);
    expect((await cli(dir, ['campaigns', 'new', 'bad', '--kind', 'recurring', '--every', 'month', '--day', 'first', '--audience', 'key-clients'])).error).toBe('--day first: a whole number');
    expect(existsSync(path.join(dir, 'bad.yaml'))).toBe(false);
  }, 180_000);
});
