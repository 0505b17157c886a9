import { readFileSync } from 'node:fs';
import { DateTime } from 'luxon';
import type { RegisterCommands, AppContext } from '../context.ts';
import { formatJson, formatTable } from '../output.ts';
import { AppError } from '../../shared/app-error.ts';
import {
  parseTriageSettings, parseEml, scoreMessage, makeUsMatcher, loadTriageEnv, loadClientFacts, runTriage, loadBoard, formatTimeLeft, replyReport,
  runAlerts, setCalendarDay, type TriageSettings, type ReportGrouping, type TriageResult,
} from '../../triage/index.ts';

function settingsOf(ctx: AppContext): TriageSettings {
  return parseTriageSettings(ctx.config.sections.triage);
}

function parseId(value: string, what: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new AppError('INPUT_INVALID', `${what} "${value}": not an id (a positive whole number)`);
  return n;
}

function parseDay(value: string, what: string, zone: string): Date {
  const dt = /^\d{4}-\d{2}-\d{2}$/.test(value) ? DateTime.fromISO(value, { zone }) : DateTime.fromISO(value, { setZone: true });
  if (!dt.isValid) throw new AppError('INPUT_INVALID', `${what} "${value}": not a date (use YYYY-MM-DD or an ISO timestamp)`);
  return dt.toJSDate();
}

/** The client of a sender: its contact's client, else its domain's client. */
async function clientForSender(ctx: AppContext, address: string | null): Promise<number | null> {
  if (!address) return null;
  const a = address.toLowerCase();
  const contact = await ctx.db.kysely
    .selectFrom('contact_emails as e')
    .innerJoin('contacts as c', 'c.id', 'e.contact_id')
    .select('c.client_id')
    .where('e.address_key', '=', a)
    .executeTakeFirst();
  if (contact) return contact.client_id;
  const domain = await ctx.db.kysely.selectFrom('client_domains').select('client_id').where('domain', '=', a.slice(a.lastIndexOf('@') + 1)).executeTakeFirst();
  return domain?.client_id ?? null;
}

function scoreJson(r: TriageResult, zone: string, clientId: number | null) {
  return {
    category: r.category,
    delivery: r.delivery,
    urgency: r.urgency,
    channel: r.channel,
    dueInHours: r.dueInHours,
    reasons: r.reasons.map((x) => ({ group: x.group, code: x.code, text: x.text, weight: x.weight })),
    skipReason: r.skipReason,
    due: r.dueAt ? DateTime.fromJSDate(r.dueAt, { zone }).toFormat('yyyy-MM-dd HH:mm') : null,
    dueAt: r.dueAt ? r.dueAt.toISOString() : null,
    zone,
    targets: r.targets.map((t) => ({ kind: t.kind, channel: t.channel, hours: t.hours, rule: t.rule, dueAt: t.dueAt.toISOString() })),
    deadline: r.deadline ? { at: r.deadline.at.toISOString(), text: r.deadline.text, zone: r.deadline.zone } : null,
    clientId,
    explanation: r.explanation,
  };
}

/** The triage commands: score, triage run, board, alerts, report replies, calendar days. */
export const registerTriageCommands: RegisterCommands = (program, run) => {
  program
    .command('score <file>')
    .description('classify one .eml and set its reply target, without storing it')
    .option('--json', 'print JSON (fields: category, delivery, urgency, channel, dueInHours, reasons, ...)')
    .option('--client <id>', 'score as from this client (default: the client linked to the sender, if any)')
    .option('--us <addresses>', 'our addresses or domains, comma-separated (when no account is configured)')
    .option('--at <time>', 'start the clock at this ISO time instead of the message date')
    .action((file: string, opts: { json?: boolean; client?: string; us?: string; at?: string }) =>
      run(async (ctx) => {
        let raw: Buffer;
        try {
          raw = readFileSync(file);
        } catch (cause) {
          throw new AppError('INPUT_FILE_UNREADABLE', `${file}: cannot be read`, { cause });
        }
        const settings = settingsOf(ctx);
        let msg = await parseEml(raw, file);
        const base = await loadTriageEnv(ctx.db, settings);
        const extra = (opts.us ?? '').split(',').map((s) => s.trim()).filter(Boolean);
        const us = extra.length ? makeUsMatcher([...base.us.addresses, ...[...base.us.domains].map((d) => `@${d}`), ...extra]) : base.us;
        const clientId = opts.client ? parseId(opts.client, '--client') : await clientForSender(ctx, msg.fromAddress);
        const facts = clientId ? (await loadClientFacts(ctx.db, [clientId])).get(clientId) ?? null : null;
        if (opts.client && !facts) throw new AppError('NOT_FOUND', `--client ${opts.client}: no such client`);
        const receivedAt = opts.at ? parseDay(opts.at, '--at', base.calendar.zone) : undefined;
        if (msg.sentAt.getTime() === 0) {
          // No (valid) Date header: the clock needs a start, and 1970 is not one.
          if (!receivedAt) throw new AppError('INPUT_INVALID', `${file}: no valid Date header; give --at TIME for when it arrived`);
          msg = { ...msg, sentAt: receivedAt };
        }
        const r = scoreMessage(msg, { us, settings, calendar: base.calendar, client: facts, people: base.people, ...(receivedAt ? { receivedAt } : {}) });
        const out = scoreJson(r, base.calendar.zone, clientId);
        if (opts.json) {
          ctx.out(formatJson(out));
          return;
        }
        ctx.out(`category:  ${r.category}${r.skipReason ? ` (${r.skipReason})` : ''}`);
        ctx.out(`delivery:  ${r.delivery ?? '-'}`);
        ctx.out(`urgency:   ${r.urgency}`);
        ctx.out(`channel:   ${r.channel}`);
        ctx.out(`due:       ${out.due ? `${out.due} ${out.zone} (${r.dueInHours}h)` : '-'}`);
        for (const t of out.targets.slice(1)) ctx.out(`           ${t.kind} due ${DateTime.fromISO(t.dueAt, { zone: out.zone }).toFormat('yyyy-MM-dd HH:mm')}`);
        if (facts) ctx.out(`client:    ${facts.name ?? clientId} (${facts.tier ?? 'no tier'})`);
        ctx.out('reasons:');
        for (const x of r.reasons) ctx.out(`  ${x.weight ? `${x.weight > 0 ? '+' : ''}${x.weight}`.padStart(4) : '    '}  ${x.group}: ${x.text}`);
        ctx.out(r.explanation);
      }),
    );

  const triage = program.command('triage').description('score stored inbound mail and recompute reply targets');
  triage
    .command('run')
    .description('score every inbound message of linked threads and recompute targets from the stored events')
    .option('--thread <id...>', 'only these threads')
    .option('--json', 'print JSON')
    .action((opts: { thread?: string[]; json?: boolean }) =>
      run(async (ctx) => {
        const threadIds = opts.thread?.map((t) => parseId(t, '--thread'));
        const started = Date.now();
        const res = await runTriage(ctx.db, settingsOf(ctx), ctx.clock, threadIds ? { threadIds } : {});
        const out = { ...res, ms: Date.now() - started };
        ctx.out(opts.json ? formatJson(out) : `threads ${res.threads}, messages scored ${res.scored}, targets ${res.targets} (${out.ms} ms)`);
      }),
    );
  triage
    .command('calendar-day <date>')
    .description('mark a day as working (a make-up day) or off (a company holiday), on top of the configured calendar')
    .option('--working', 'a working day')
    .option('--off', 'a day off')
    .option('--note <text>', 'why')
    .action((date: string, opts: { working?: boolean; off?: boolean; note?: string }) =>
      run(async (ctx) => {
        if (!/^\d{4}-\d{2}-\d{2}$/.test(date) || !DateTime.fromISO(date).isValid) throw new AppError('INPUT_INVALID', `date "${date}": use YYYY-MM-DD`);
        if (Boolean(opts.working) === Boolean(opts.off)) throw new AppError('INPUT_INVALID', `calendar-day ${date}: give exactly one of --working or --off`);
        await setCalendarDay(ctx.db, date, Boolean(opts.working), opts.note ?? null);
        ctx.out(`${date}: ${opts.working ? 'working day' : 'day off'} (run "rapport triage run" to recompute targets)`);
      }),
    );
  triage
    .command('alerts')
    .description('send the due-soon and breached digests to owners (webhook from config triage.alerts.webhookUrl); only in working hours')
    .option('--dry-run', 'print the digests without sending or recording them')
    .option('--json', 'print JSON')
    .action((opts: { dryRun?: boolean; json?: boolean }) =>
      run(async (ctx) => {
        const settings = settingsOf(ctx);
        const env = await loadTriageEnv(ctx.db, settings);
        const dryRun = Boolean(opts.dryRun) || !settings.alerts.webhookUrl;
        const res = await runAlerts(ctx.db, env.calendar, ctx.clock, {
          dueSoonMinutes: settings.alerts.dueSoonMinutes, dryRun, ...(settings.alerts.webhookUrl ? { webhookUrl: settings.alerts.webhookUrl } : {}),
        });
        if (opts.json) ctx.out(formatJson({ ...res, dryRun }));
        else if (res.skipped) ctx.out(`no alerts: ${res.skipped}`);
        else {
          if (dryRun && !opts.dryRun) ctx.out('no triage.alerts.webhookUrl configured: printing the digests only');
          for (const d of res.digests) ctx.out(`To: ${d.owner ?? '(no owner)'} <${d.email ?? '-'}>\nSubject: ${d.subject}\n\n${d.text}`);
          ctx.out(`${res.digests.length} digest(s), ${res.delivered} delivered`);
        }
      }),
    );

  program
    .command('board')
    .description('open reply targets by due time, overdue first: owner, client, tier, channel, time left, reasons')
    .option('--json', 'print JSON')
    .option('--limit <n>', 'rows (default 100)')
    .option('--owner <id>', 'only this owner')
    .action((opts: { json?: boolean; limit?: string; owner?: string }) =>
      run(async (ctx) => {
        const board = await loadBoard(ctx.db, ctx.clock, {
          ...(opts.limit ? { limit: parseId(opts.limit, '--limit') } : {}),
          ...(opts.owner ? { ownerId: parseId(opts.owner, '--owner') } : {}),
        });
        if (opts.json) {
          ctx.out(formatJson(board));
          return;
        }
        const zone = settingsOf(ctx).calendar.zone;
        ctx.out(`${board.open} open targets, ${board.overdue} overdue`);
        ctx.out(
          formatTable(
            board.rows.map((r) => ({
              due: DateTime.fromJSDate(r.dueAt, { zone }).toFormat('MM-dd HH:mm'),
              left: r.overdue ? `OVERDUE ${formatTimeLeft(r.minutesLeft)}` : formatTimeLeft(r.minutesLeft),
              owner: r.owner ?? '',
              client: r.client ?? r.from ?? '',
              tier: r.tier ?? '',
              'client time': r.clientLocalTime ?? '',
              target: `${r.kind}/${r.channel}`,
              urgency: r.urgency,
              subject: (r.subject ?? '').slice(0, 40),
              reasons: r.explanation.split(' -> ')[0]?.slice(0, 120) ?? '',
            })),
            ['due', 'left', 'owner', 'client', 'tier', 'client time', 'target', 'urgency', 'subject', 'reasons'],
          ),
        );
      }),
    );

  const report = program.commands.find((c) => c.name() === 'report') ?? program.command('report').description('reports');
  report
    .command('replies')
    .description('median and 90th-percentile reply time and % met, for targets started in [--from, --to)')
    .requiredOption('--from <date>', 'YYYY-MM-DD (our zone) or ISO time')
    .requiredOption('--to <date>', 'YYYY-MM-DD (exclusive) or ISO time')
    .option('--by <grouping>', 'owner | tier | category | week (default: all together)')
    .option('--json', 'print JSON')
    .action((opts: { from: string; to: string; by?: string; json?: boolean }) =>
      run(async (ctx) => {
        const settings = settingsOf(ctx);
        const zone = settings.calendar.zone;
        const from = parseDay(opts.from, '--from', zone);
        const to = parseDay(opts.to, '--to', zone);
        if (to <= from) throw new AppError('INPUT_INVALID', `--to ${opts.to}: must be after --from ${opts.from}`);
        const by = (opts.by ?? 'all') as ReportGrouping;
        if (!['owner', 'tier', 'category', 'week', 'all'].includes(by)) throw new AppError('INPUT_INVALID', `--by "${opts.by}": use owner, tier, category or week`);
        const { calendar } = await loadTriageEnv(ctx.db, settings);
        const rows = await replyReport(ctx.db, ctx.clock, { from, to }, by, zone, calendar);
        if (opts.json) {
          ctx.out(formatJson({ from: from.toISOString(), to: to.toISOString(), by, rows }));
          return;
        }
        ctx.out(
          formatTable(
            rows.map((r) => ({
              [by]: r.group, targets: r.targets, answered: r.answered, 'median working h': r.medianWorkingHours ?? '-', 'p90 working h': r.p90WorkingHours ?? '-',
              'median h': r.medianHours ?? '-', 'p90 h': r.p90Hours ?? '-', 'met %': r.pctMet ?? '-',
            })),
            [by, 'targets', 'answered', 'median working h', 'p90 working h', 'median h', 'p90 h', 'met %'],
          ),
        );
      }),
    );
};
