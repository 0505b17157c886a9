import type { RegisterCommands, AppContext } from '../context.ts';
import { formatJson, formatTable } from '../output.ts';
import { AppError } from '../../shared/app-error.ts';
import {
  formatProblem, getStoredCampaign, listStoredCampaigns, loadCampaignFolder, loadTemplateLookup, parseCampaignSettings, planCampaigns,
  previewAudience, reportCampaign, resolveAudience, setCampaignPaused, stopEnrolmentsByHand, syncCampaignFolder, validateCampaignFolder,
  audienceFilterSchema, audienceQuery, campaignPriority, holidayOccurrences, recurringOccurrences, oneOffOccurrences, type PlanLine, type StoredCampaign, type TemplateLookup, type CampaignProblem,
} from '../../campaigns/index.ts';
import { describeError } from '../../shared/app-error.ts';
import { sql } from 'kysely';
import { existsSync, writeFileSync, renameSync } from 'node:fs';
import path from 'node:path';
import { stringify as toYaml } from 'yaml';
import { parseCampaignDocument } from '../../campaigns/campaign-files.ts';

async function templatesOf(ctx: AppContext, problems: CampaignProblem[]): Promise<TemplateLookup | undefined> {
  try {
    return await loadTemplateLookup(ctx.config.templatesDir);
  } catch (e) {
    problems.push({ file: ctx.config.templatesDir, field: '', reason: `templates cannot be loaded: ${describeError(e)}` });
    return undefined;
  }
}

/** Reads the campaigns folder, validates it (refusing on any problem, nothing written), stores it; returns the folder's campaigns. */
async function loadValidated(ctx: AppContext, json: boolean): Promise<{ campaigns: StoredCampaign[]; templates: TemplateLookup | undefined }> {
  const folder = loadCampaignFolder(ctx.config.campaignsDir);
  const extra: CampaignProblem[] = [];
  const templates = await templatesOf(ctx, extra);
  const problems = [...extra, ...(await validateCampaignFolder(ctx.db, folder, { clock: ctx.clock, templates }))];
  if (problems.length > 0) {
    if (json) ctx.out(formatJson({ ok: false, problems }));
    else for (const p of problems) ctx.out(formatProblem(p));
    const first = problems[0]!;
    throw new AppError('CAMPAIGN_INVALID', `${problems.length} problem${problems.length > 1 ? 's' : ''} in campaign files, first: ${formatProblem(first)}`, { details: { problems } });
  }
  await syncCampaignFolder(ctx.db, folder, ctx.clock);
  const names = new Set(folder.campaigns.map((c) => c.definition.name));
  return { campaigns: (await listStoredCampaigns(ctx.db)).filter((c) => names.has(c.name)), templates };
}

function settingsOf(ctx: AppContext) {
  return parseCampaignSettings(ctx.config.sections.campaigns);
}

function printPlan(ctx: AppContext, lines: readonly PlanLine[], accounts: Map<number, string>, limit: number): void {
  const shown = lines.slice(0, limit);
  ctx.out(formatTable(shown.map((l) => ({
    campaign: l.campaign, occurrence: l.occurrence, contact: `${l.contact} (${l.contactId})`, client: l.client, to: l.to ?? '', account: l.accountId ? accounts.get(l.accountId) ?? String(l.accountId) : '',
    when: l.localTime ?? '', template: l.template ? `${l.template}${l.locale ? `/${l.locale}` : ''}` : '', outcome: l.outcome, why: l.reason ?? '',
  })), ['campaign', 'occurrence', 'contact', 'client', 'to', 'account', 'when', 'template', 'outcome', 'why']));
  if (lines.length > limit) ctx.out(`... ${lines.length - limit} more (use --limit or --json)`);
}

async function accountNames(ctx: AppContext): Promise<Map<number, string>> {
  const r = await sql<{ id: number; name: string; email: string }>`SELECT id, name, email FROM mail_accounts`.execute(ctx.db.kysely);
  return new Map(r.rows.map((a) => [Number(a.id), `${a.name} <${a.email}>`]));
}

async function runPlan(ctx: AppContext, opts: { dryRun?: boolean; campaign?: string; json?: boolean; limit?: string }): Promise<void> {
  const json = opts.json === true;
  const { campaigns, templates } = await loadValidated(ctx, json);
  const chosen = opts.campaign ? campaigns.filter((c) => c.name === opts.campaign) : campaigns;
  if (opts.campaign && chosen.length === 0) throw new AppError('NOT_FOUND', `--campaign ${opts.campaign}: no such campaign in ${ctx.config.campaignsDir}`);
  const res = await planCampaigns(ctx.db, { clock: ctx.clock, settings: settingsOf(ctx), campaigns: chosen, dryRun: opts.dryRun === true, templates });
  if (json) {
    ctx.out(formatJson({ dryRun: opts.dryRun === true, from: res.from, to: res.to, planned: res.planned, deferred: res.deferred, skipped: res.skipped, enqueued: res.enqueued, moved: res.moved, sequences: res.sequences, lines: res.lines }));
    return;
  }
  const limit = Math.max(1, Number(opts.limit ?? 200) || 200);
  if (res.lines.length > 0) printPlan(ctx, res.lines, await accountNames(ctx), limit);
  const paused = chosen.filter((c) => c.paused).map((c) => c.name);
  ctx.out(`${opts.dryRun ? 'dry run (nothing written): ' : ''}${res.planned} planned, ${res.deferred} deferred, ${res.skipped} left out, ${res.enqueued} added to the outbox, days ${res.from}..${res.to}` +
    (res.sequences.enrolled + res.sequences.stopped + res.sequences.paused > 0 ? `; sequences: ${res.sequences.enrolled} enrolled, ${res.sequences.stopped} stopped, ${res.sequences.paused} paused` : '') +
    (res.moved > 0 ? `; ${res.moved} planned earlier moved off a day a higher-priority mail takes` : '') +
    (paused.length > 0 ? `; paused: ${paused.join(', ')}` : '') + (res.lines.length === 0 ? ' (nothing new to plan)' : ''));
}


interface NewOptions {
  kind: string; audience: string; template?: string; title?: string; on?: string; every?: string; day?: string; month?: string; holidays?: string; ours?: string;
  daysBefore?: string; events?: string; trigger?: string; steps?: string; data?: string; priority?: string; overBudget?: string; account?: string; startsOn?: string; endsOn?: string; json?: boolean;
}

const list = (v: string | undefined) => (v === undefined ? undefined : v.split(',').map((x) => x.trim()).filter(Boolean));
const num = (flag: string, v: string | undefined): number | undefined => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw new AppError('INPUT_INVALID', `--${flag} ${v}: a whole number`);
  return n;
};
const json = (flag: string, v: string | undefined): unknown => {
  if (v === undefined) return undefined;
  try { return JSON.parse(v); } catch { throw new AppError('INPUT_INVALID', `--${flag}: not valid JSON`); }
};

/** The campaign file `campaigns new` writes, from its flags (checked by the same schema and validation as a hand-written file). */
function campaignFromFlags(name: string, o: NewOptions): Record<string, unknown> {
  const audience = o.audience.trim().startsWith('{') ? json('audience', o.audience) : o.audience;
  const steps = o.steps === undefined ? undefined : list(o.steps)!.map((d, i) => ({ afterDays: num(`steps[${i}]`, d) }));
  const doc: Record<string, unknown> = {
    name, title: o.title, kind: o.kind, audience, template: o.template, on: o.on, every: o.every, day: num('day', o.day), month: num('month', o.month),
    holidays: list(o.holidays), ours: list(o.ours), daysBefore: num('days-before', o.daysBefore), events: list(o.events), trigger: o.trigger, steps,
    data: json('data', o.data), priority: o.priority, overBudget: o.overBudget, account: o.account, startsOn: o.startsOn, endsOn: o.endsOn,
  };
  return Object.fromEntries(Object.entries(doc).filter(([, v]) => v !== undefined));
}

export const registerCampaignsCommands: RegisterCommands = (program, run) => {
  const cmd = program.command('campaigns').description('campaigns and cadences: holiday and monthly cards, pushes, follow-ups (files in the campaigns folder)');

  cmd.command('validate').description('check every campaign file (templates, holidays, audiences, dates, variables) and store them')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) => run(async (ctx) => {
      const { campaigns } = await loadValidated(ctx, opts.json === true);
      if (opts.json) ctx.out(formatJson({ ok: true, campaigns: campaigns.map((c) => c.name) }));
      else ctx.out(`${ctx.config.campaignsDir}: ${campaigns.length} campaign${campaigns.length === 1 ? '' : 's'} valid and stored`);
    }));

  cmd.command('new <name>').description('write a campaign file into the campaigns folder from flags (validated like any file; nothing written on a problem)')
    .requiredOption('--kind <kind>', 'one-off | recurring | holiday | personal | sequence')
    .requiredOption('--audience <name|json>', 'a saved audience name, or an inline filter as JSON')
    .option('--template <name>', 'template')
    .option('--title <text>', 'title')
    .option('--on <date>', 'one-off: the day (YYYY-MM-DD)')
    .option('--every <period>', 'recurring: month | quarter | half-year | year')
    .option('--day <n>', 'recurring: day of the month')
    .option('--month <n>', 'recurring: first month of the cycle')
    .option('--holidays <list>', "holiday: the client's own holidays, comma-separated")
    .option('--ours <list>', 'holiday: our holidays sent to everyone, comma-separated')
    .option('--days-before <n>', 'holiday/personal: days before the day')
    .option('--events <list>', 'personal: birthday,wedding,...')
    .option('--trigger <t>', 'sequence: inquiry | quotation | dormant | order-status')
    .option('--steps <days>', 'sequence: days after the trigger (or the step before), e.g. 2,4,7')
    .option('--data <json>', 'template data for every mail')
    .option('--priority <p>', 'personal | greeting | vip | promotion')
    .option('--over-budget <rule>', 'defer | drop')
    .option('--account <name>', 'sending account (default: the client owner\'s mailbox)')
    .option('--starts-on <date>', 'first day')
    .option('--ends-on <date>', 'last day')
    .option('--json', 'print JSON')
    .action((name: string, opts: NewOptions) => run(async (ctx) => {
      const file = path.join(ctx.config.campaignsDir, `${name}.yaml`);
      const text = toYaml(campaignFromFlags(name, opts));
      const parsed = parseCampaignDocument(file, text);
      const folder = loadCampaignFolder(ctx.config.campaignsDir);
      const problems: CampaignProblem[] = [...parsed.problems];
      if (parsed.campaign && typeof parsed.campaign.audience === 'string' && !folder.audiences.has(parsed.campaign.audience)) problems.push({ file, field: 'audience', reason: `no saved audience named "${parsed.campaign.audience}"` });
      if (existsSync(file) || folder.campaigns.some((c) => c.definition.name === name)) problems.push({ file, field: 'name', reason: `a campaign named "${name}" already exists in ${ctx.config.campaignsDir}` });
      const templates = await templatesOf(ctx, problems);
      if (problems.length === 0 && parsed.campaign) {
        const extended = { ...folder, campaigns: [...folder.campaigns, { file, definition: parsed.campaign }] };
        problems.push(...(await validateCampaignFolder(ctx.db, extended, { clock: ctx.clock, templates })).filter((p) => p.file === file));
      }
      if (problems.length > 0) {
        if (opts.json) ctx.out(formatJson({ ok: false, problems }));
        else for (const p of problems) ctx.out(formatProblem(p));
        throw new AppError('CAMPAIGN_INVALID', `campaign ${name} not written: ${formatProblem(problems[0]!)}`, { details: { problems } });
      }
      const tmp = `${file}.${process.pid}.tmp`;
      writeFileSync(tmp, `# Written by rapport campaigns new; edit freely (rapport campaigns validate checks it).\n${text}`, { flag: 'wx' });
      renameSync(tmp, file);
      if (opts.json) ctx.out(formatJson({ ok: true, file, campaign: parsed.campaign }));
      else ctx.out(`${file}: campaign ${name} written (run 'rapport campaigns plan --dry-run --campaign ${name}' to see who gets what)`);
    }));

  cmd.command('plan').description('plan the horizon: who gets what, when, from which account, and why not')
    .option('--dry-run', 'compute and print, write nothing')
    .option('--campaign <name>', 'only this campaign')
    .option('--limit <n>', 'lines to print (default 200)')
    .option('--json', 'print JSON')
    .action((opts: { dryRun?: boolean; campaign?: string; json?: boolean; limit?: string }) => run((ctx) => runPlan(ctx, opts)));

  cmd.command('run-now <campaign>').description('plan one campaign now (same rules and budget as plan)')
    .option('--json', 'print JSON')
    .action((name: string, opts: { json?: boolean }) => run((ctx) => runPlan(ctx, { campaign: name, json: opts.json === true })));

  cmd.command('list').description('the stored campaigns').option('--json', 'print JSON')
    .action((opts: { json?: boolean }) => run(async (ctx) => {
      const list = await listStoredCampaigns(ctx.db);
      const counts = await sql<{ campaign_id: number; planned: number; skipped: number; sent: number }>`SELECT d.campaign_id,
          count(*) FILTER (WHERE d.outcome <> 'skipped')::int AS planned, count(*) FILTER (WHERE d.outcome = 'skipped')::int AS skipped,
          count(o.id) FILTER (WHERE o.state = 'sent')::int AS sent
        FROM campaign_decisions d LEFT JOIN outbox o ON o.idempotency_key = d.idempotency_key GROUP BY d.campaign_id`.execute(ctx.db.kysely);
      const by = new Map(counts.rows.map((r) => [Number(r.campaign_id), r]));
      const rows = list.map((c) => ({
        name: c.name, kind: c.definition.kind, priority: campaignPriority(c.definition), state: c.paused ? 'paused' : 'active',
        audience: typeof c.definition.audience === 'string' ? c.definition.audience : '(inline)', template: c.definition.template ?? '',
        planned: by.get(c.id)?.planned ?? 0, sent: by.get(c.id)?.sent ?? 0, skipped: by.get(c.id)?.skipped ?? 0, file: c.sourceFile ?? '',
      }));
      ctx.out(opts.json ? formatJson(rows) : formatTable(rows, ['name', 'kind', 'priority', 'state', 'audience', 'template', 'planned', 'sent', 'skipped', 'file']));
    }));

  cmd.command('show <campaign>').description('a campaign: definition, next dates, sequence enrolments').option('--json', 'print JSON')
    .action((name: string, opts: { json?: boolean }) => run(async (ctx) => {
      const c = await getStoredCampaign(ctx.db, name);
      const today = ctx.clock.now().toISOString().slice(0, 10);
      const yearOn = `${Number(today.slice(0, 4)) + 1}${today.slice(4)}`;
      const d = c.definition;
      let next = d.kind === 'recurring' ? recurringOccurrences(d, today, yearOn).slice(0, 6).map((o) => `${o.occurrence} on ${o.sendDate}${o.template ? ` (${o.template})` : ''}`)
        : d.kind === 'one-off' ? oneOffOccurrences(d, today, '9999-12-31').map((o) => `${o.occurrence}`) : [];
      if (d.kind === 'holiday') {
        // The coming holiday sends for the places of the audience: which day, for which countries.
        const filter = await resolveAudience(ctx.db, d.audience);
        const places = await sql<{ country: string | null; region: string | null }>`SELECT DISTINCT country, region FROM (${audienceQuery(filter, today)}) m ORDER BY 1, 2`.execute(ctx.db.kysely);
        const byDay = new Map<string, Set<string>>();
        for (const p of places.rows) {
          for (const o of holidayOccurrences(d, p.country, p.region, settingsOf(ctx).ourCountry, today, yearOn)) {
            const k = `${o.occurrence} sent ${o.sendDate}${o.template && o.template !== d.template ? ` (${o.template})` : ''}`;
            byDay.set(k, (byDay.get(k) ?? new Set()).add(p.country ?? '?'));
          }
        }
        next = [...byDay].sort((a, b) => a[0].split(' sent ')[1]!.localeCompare(b[0].split(' sent ')[1]!) || a[0].localeCompare(b[0])).slice(0, 8).map(([k, cs]) => `${k} for ${[...cs].join(', ')}`);
      }
      const enrol = await sql<{ state: string; stop_reason: string | null; n: number }>`SELECT state, stop_reason, count(*)::int AS n FROM campaign_enrolments WHERE campaign_id = ${c.id} GROUP BY 1, 2 ORDER BY 1, 2`.execute(ctx.db.kysely);
      const data = { name: c.name, paused: c.paused, file: c.sourceFile, priority: campaignPriority(d), definition: d, next, enrolments: enrol.rows };
      if (opts.json) { ctx.out(formatJson(data)); return; }
      ctx.out(`${c.name} (${d.kind}, ${campaignPriority(d)}${c.paused ? ', PAUSED' : ''}) from ${c.sourceFile ?? '?'}`);
      if (d.title) ctx.out(`title: ${d.title}`);
      ctx.out(`audience: ${typeof d.audience === 'string' ? d.audience : JSON.stringify(d.audience)}`);
      ctx.out(`definition: ${JSON.stringify(d)}`);
      if (next.length > 0) ctx.out(`next: ${next.join('; ')}`);
      if (enrol.rows.length > 0) ctx.out(`enrolments: ${enrol.rows.map((r) => `${r.state}${r.stop_reason ? ` (${r.stop_reason})` : ''} ${r.n}`).join(', ')}`);
    }));

  cmd.command('pause <campaign>').description('plan nothing new; unsent mails wait')
    .action((name: string) => run(async (ctx) => {
      const r = await setCampaignPaused(ctx.db, name, true, ctx.clock);
      ctx.out(`${name}: paused, ${r.held} unsent mail${r.held === 1 ? '' : 's'} held`);
    }));
  cmd.command('resume <campaign>').description('plan again; held mails go out once')
    .action((name: string) => run(async (ctx) => {
      const r = await setCampaignPaused(ctx.db, name, false, ctx.clock);
      ctx.out(`${name}: resumed, ${r.held} held mail${r.held === 1 ? '' : 's'} released`);
    }));

  cmd.command('stop <campaign>').description("stop a contact's sequence by hand").requiredOption('--contact <id>', 'contact id').option('--note <text>', 'why')
    .action((name: string, opts: { contact: string; note?: string }) => run(async (ctx) => {
      const id = Number(opts.contact);
      if (!Number.isSafeInteger(id) || id <= 0) throw new AppError('INPUT_INVALID', `--contact ${opts.contact}: not a contact id`);
      const c = await getStoredCampaign(ctx.db, name);
      const n = await stopEnrolmentsByHand(ctx.db.kysely, c.id, id, ctx.clock.now(), opts.note ?? null);
      ctx.out(`${name}: ${n} enrolment${n === 1 ? '' : 's'} of contact ${id} stopped`);
    }));

  cmd.command('report <campaign>').description('results per occurrence: planned, sent, deferred, failed, bounced, unsubscribed, replies')
    .option('--reply-days <n>', 'a reply within this many days counts (default from config, 14)')
    .option('--json', 'print JSON')
    .action((name: string, opts: { json?: boolean; replyDays?: string }) => run(async (ctx) => {
      const days = opts.replyDays ? Number(opts.replyDays) : settingsOf(ctx).replyWindowDays;
      if (!Number.isInteger(days) || days < 1) throw new AppError('INPUT_INVALID', `--reply-days ${opts.replyDays}: a whole number of days, at least 1`);
      const r = await reportCampaign(ctx.db, name, days);
      if (opts.json) { ctx.out(formatJson(r)); return; }
      const cols = ['occurrence', 'planned', 'deferred', 'skipped', 'waiting', 'sent', 'failed', 'expired', 'cancelled', 'bounced', 'unsubscribed', 'replies'];
      ctx.out(formatTable([...r.occurrences, r.total] as unknown as Record<string, unknown>[], cols));
      if (r.skipReasons.length > 0) ctx.out(`left out: ${r.skipReasons.map((s) => `${s.reason.trim()} ${s.count}`).join('; ')}`);
      ctx.out(`replies counted within ${days} days in the thread of a campaign mail`);
    }));

  const aud = cmd.command('audience').description('saved audiences');
  aud.command('preview [name]').description('count and first members of a saved audience (or --filter JSON)')
    .option('--filter <json>', 'an inline filter, e.g. {"countries":["DE"],"tiers":["key"]}')
    .option('--limit <n>', 'rows to show (default 20)')
    .option('--json', 'print JSON')
    .action((name: string | undefined, opts: { filter?: string; limit?: string; json?: boolean }) => run(async (ctx) => {
      let filter;
      if (opts.filter) {
        let raw: unknown;
        try { raw = JSON.parse(opts.filter); } catch { throw new AppError('INPUT_INVALID', '--filter: not valid JSON'); }
        const p = audienceFilterSchema.safeParse(raw);
        if (!p.success) throw new AppError('INPUT_INVALID', `--filter: ${p.error.issues[0]?.path.join('.') ?? ''}: ${p.error.issues[0]?.message ?? 'invalid'}`);
        filter = p.data;
      } else if (name) {
        const folder = loadCampaignFolder(ctx.config.campaignsDir);
        const local = folder.audiences.get(name);
        filter = local ? local.filter : await resolveAudience(ctx.db, name);
      } else throw new AppError('INPUT_INVALID', 'audience preview: give a saved audience name or --filter');
      const p = await previewAudience(ctx.db, filter, ctx.clock.now().toISOString().slice(0, 10), Math.max(1, Number(opts.limit ?? 20) || 20));
      if (opts.json) { ctx.out(formatJson(p)); return; }
      ctx.out(`${p.count} contacts (${p.withAddress} with a valid address)`);
      ctx.out(formatTable(p.first.map((m) => ({ client: `${m.client_name} (${m.client_id})`, contact: `${m.contact_name} (${m.contact_id})`, department: m.department, country: m.country ?? '', language: m.contact_language ?? m.client_language ?? '', address: m.address ?? '(none)' })), ['client', 'contact', 'department', 'country', 'language', 'address']));
    }));
};
