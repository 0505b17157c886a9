import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { commandGroup, type AppContext, type RegisterCommands } from '../context.ts';
import { formatJson, formatTable } from '../output.ts';
import { AppError } from '../../shared/app-error.ts';
import { findAccount, getAccountCredentials } from '../../mailbox/index.ts';
import { accountTarget } from '../../mailbox/imap-connect.ts';
import { loadTemplateLibrary, templateLibraryOptions, type TemplateLibrary } from '../../templates/index.ts';
import {
  accountSendStatus, cancelOutbox, enqueueMail, imapRawLoader, listOutbox, OUTBOX_STATES, parseOutboundSettings, pauseAccount, processBatch, processBounces,
  resumeAccount, retryOutbox, runSender, sentCopy, showOutbox, SmtpTransports, unsubscribeKey, type BatchReport, type BounceResult, type OutboundSettings, type SenderDeps,
} from '../../outbound/index.ts';
import type { OutboxState } from '../../db/tables/outbound.ts';

const int = (name: string) => (v: string): number => {
  if (!/^\d+$/.test(v)) throw new AppError('INPUT_INVALID', `${name} "${v}": must be a whole number`);
  return Number(v);
};

function ids(list: string[]): number[] {
  return list.map((v) => int('ID')(v));
}

/** Everything the sender needs, from the command's context; close() ends its SMTP pools and IMAP connections. */
async function senderDeps(ctx: AppContext, settings: OutboundSettings, withTemplates: boolean): Promise<SenderDeps & { library: TemplateLibrary | null; close(): Promise<void> }> {
  if (!ctx.config.secretKey) throw new AppError('SECRET_KEY_MISSING', 'RAPPORT_SECRET_KEY: needed to sign unsubscribe links and read SMTP passwords');
  const transports = new SmtpTransports(ctx.db, {
    settings,
    credentials: (accountId) => getAccountCredentials(ctx.db, ctx.config, accountId, 'smtp'),
  });
  const renderer = withTemplates ? await loadTemplateLibrary(ctx.config.templatesDir, templateLibraryOptions(ctx.config.sections.templates)) : null;
  const target = (accountId: number) => accountTarget(ctx.db, ctx.config, accountId);
  const copy = sentCopy(ctx.db, { target, logger: ctx.logger, clock: ctx.clock });
  const raw = imapRawLoader(ctx.db, { target, logger: ctx.logger });
  return {
    db: ctx.db,
    settings,
    clock: ctx.clock,
    transports,
    renderer,
    library: renderer,
    logger: ctx.logger,
    afterSent: copy.afterSent,
    retrySentCopies: copy.retry,
    loadRaw: raw.loadRaw,
    unsubscribe: { key: unsubscribeKey(ctx.config.secretKey), publicUrl: settings.publicUrl, mailto: settings.unsubscribeMailto },
    async close() {
      await transports.closeAll();
      await copy.close();
      await raw.close();
    },
  };
}

function printBounces(ctx: AppContext, r: BounceResult): void {
  if (r.dsnMessages === 0) return;
  ctx.out(`bounce reports: ${r.dsnMessages} read, ${r.hard} addresses suppressed, ${r.failed} mails blocked or failed, ${r.soft} delays, ${r.unmatched} not sent by Rapport${r.paused.length ? `; paused account(s) ${r.paused.join(', ')} after a run of bounces (rapport send status)` : ''}`);
}

function printBatch(ctx: AppContext, report: BatchReport, json: boolean): void {
  if (json) ctx.out(formatJson(report));
  else for (const m of report.mails) ctx.out(`${m.id}\t${m.outcome}\t${m.toAddress}${m.detail ? `\t${m.detail}` : ''}`);
}

export const registerOutboundCommands: RegisterCommands = (program, run) => {
  const outbox = commandGroup(program, 'outbox', 'the outbox: every mail to send, and what happened to it');
  outbox
    .command('list')
    .description('list outbox rows, newest first')
    .option('--state <state>', `one of ${OUTBOX_STATES.join(', ')}`)
    .option('--account <name>', 'sending account')
    .option('--campaign <id>', 'campaign id', int('--campaign'))
    .option('--to <address>', 'recipient address')
    .option('--limit <n>', 'at most this many rows (default 100)', int('--limit'))
    .option('--json', 'print JSON')
    .action((opts: { state?: string; account?: string; campaign?: number; to?: string; limit?: number; json?: boolean }) =>
      run(async (ctx) => {
        const account = opts.account ? await findAccount(ctx.db, opts.account) : undefined;
        const rows = await listOutbox(ctx.db, {
          ...(opts.state ? { state: opts.state as OutboxState } : {}),
          ...(account !== undefined ? { account } : {}),
          ...(opts.campaign !== undefined ? { campaignId: opts.campaign } : {}),
          ...(opts.to ? { to: opts.to } : {}),
          ...(opts.limit ? { limit: opts.limit } : {}),
        });
        if (opts.json) ctx.out(formatJson(rows));
        else ctx.out(formatTable(rows.map((r) => ({ ...r, subject: r.subject ?? r.template, when: r.sentAt ?? r.due })), ['id', 'state', 'kind', 'account', 'to', 'subject', 'when', 'attempts', 'reason']));
      }),
    );
  outbox
    .command('show <id>')
    .description('one row and its whole history')
    .option('--json', 'print JSON')
    .action((id: string, opts: { json?: boolean }) =>
      run(async (ctx) => {
        const d = await showOutbox(ctx.db, int('ID')(id));
        if (opts.json) ctx.out(formatJson(d));
        else {
          for (const [k, v] of Object.entries(d.row)) if (v !== null && v !== undefined) ctx.out(`${k}: ${v instanceof Date ? v.toISOString() : typeof v === 'object' ? JSON.stringify(v) : String(v)}`);
          ctx.out('');
          ctx.out(formatTable(d.events.map((e) => ({ ...e })), ['at', 'event', 'detail']));
        }
      }),
    );
  outbox
    .command('cancel <ids...>')
    .description('cancel planned or uncertain rows')
    .option('--json', 'print JSON')
    .action((list: string[], opts: { json?: boolean }) =>
      run(async (ctx) => {
        const res = await cancelOutbox(ctx.db, ids(list), ctx.clock);
        if (opts.json) ctx.out(formatJson(res));
        else {
          ctx.out(`cancelled ${res.cancelled.length}${res.cancelled.length ? `: ${res.cancelled.join(', ')}` : ''}`);
          for (const r of res.refused) ctx.out(`not cancelled ${r.id}: ${r.state === 'missing' ? 'no such row' : `it is ${r.state}`}`);
        }
      }),
    );
  outbox
    .command('retry <id>')
    .description('send a failed, uncertain, expired or cancelled row again')
    .option('--until <iso>', 'a new latest send time (needed for an expired row)')
    .option('--json', 'print JSON')
    .action((id: string, opts: { until?: string; json?: boolean }) =>
      run(async (ctx) => {
        const until = opts.until ? new Date(opts.until) : undefined;
        if (until && Number.isNaN(until.getTime())) throw new AppError('INPUT_INVALID', `--until "${opts.until}": not a date`);
        await retryOutbox(ctx.db, int('ID')(id), until ? { until } : {}, ctx.clock);
        ctx.out(opts.json ? formatJson({ id: Number(id), state: 'planned' }) : `row ${id} is planned again`);
      }),
    );

  const send = commandGroup(program, 'send', 'the sender');
  send
    .command('run')
    .description('claim due rows and send them, until stopped (or once)')
    .option('--workers <n>', 'worker loops in this process (default 1)', int('--workers'))
    .option('--once', 'stop when nothing is due')
    .option('--dry-run', 'render and throttle what is due now, send nothing, change nothing')
    .option('--json', 'print JSON')
    .action((opts: { workers?: number; once?: boolean; dryRun?: boolean; json?: boolean }) =>
      run(async (ctx) => {
        const settings = parseOutboundSettings(ctx.config.sections.outbound);
        const deps = await senderDeps(ctx, settings, true);
        const abort = new AbortController();
        const stop = (): void => abort.abort();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        try {
          const res = await runSender(deps, {
            workers: opts.workers ?? 1,
            once: opts.once === true,
            dryRun: opts.dryRun === true,
            signal: abort.signal,
            onBatch: (r) => !opts.json && printBatch(ctx, r, false),
            onBounces: (r) => !opts.json && printBounces(ctx, r),
          });
          ctx.out(opts.json ? formatJson(res) : `${opts.dryRun ? 'dry run: nothing sent' : `sent ${res.sent}`}`);
        } finally {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          await deps.close();
        }
      }),
    );
  send
    .command('test')
    .description('send one mail now, for a person to check (no windows or contact budgets; account limits hold)')
    .requiredOption('--account <name>', 'sending account')
    .requiredOption('--to <address>', 'recipient')
    .requiredOption('--template <name>', 'template name')
    .option('--locale <tag>', 'locale (default en)')
    .option('--data <file>', 'JSON file with the template data (default: the template sample)')
    .option('--dry-run', 'render and show, send nothing')
    .option('--json', 'print JSON')
    .action((opts: { account: string; to: string; template: string; locale?: string; data?: string; dryRun?: boolean; json?: boolean }) =>
      run(async (ctx) => {
        const settings = parseOutboundSettings(ctx.config.sections.outbound);
        const accountId = await findAccount(ctx.db, opts.account);
        let data: Record<string, unknown> | null = null;
        if (opts.data) {
          try {
            data = JSON.parse(readFileSync(opts.data, 'utf8')) as Record<string, unknown>;
          } catch (cause) {
            throw new AppError('INPUT_FILE_UNREADABLE', `--data ${opts.data}: not a readable JSON file`, { cause });
          }
        }
        const deps = await senderDeps(ctx, settings, true);
        try {
          const library = deps.library;
          if (!library?.has(opts.template)) {
            throw new AppError('TEMPLATE_NOT_FOUND', `--template ${opts.template}: no such template in ${ctx.config.templatesDir}`);
          }
          const locale = opts.locale ?? 'en';
          // Without --data, the template's own sample (what `templates preview` shows).
          data ??= library.sampleData(opts.template, library.resolveLocale(opts.template, locale) ?? locale);
          const key = `test:${randomUUID()}`;
          await enqueueMail(ctx.db, [{ idempotencyKey: key, accountId, toAddress: opts.to, kind: 'transactional', template: opts.template, locale, data }], { clock: ctx.clock });
          const row = await ctx.db.kysely.selectFrom('outbox').select('id').where('idempotency_key', '=', key).executeTakeFirstOrThrow();
          const report = await processBatch(deps, { onlyIds: [row.id], bypassBudgets: true, dryRun: opts.dryRun === true });
          if (opts.dryRun) await cancelOutbox(ctx.db, [row.id], ctx.clock);
          printBatch(ctx, report, opts.json === true);
          const outcome = report.mails[0]?.outcome;
          if (outcome !== 'sent' && outcome !== 'would-send') process.exitCode = 1;
        } finally {
          await deps.close();
        }
      }),
    );
  send
    .command('bounces')
    .description('read the bounce reports (DSNs) the mailbox sync brought in: suppress dead addresses, record the rest (send run does this every outbound.bounceCheckSeconds)')
    .option('--no-fetch', 'read only the stored text of each report, do not fetch it from IMAP')
    .option('--json', 'print JSON')
    .action((opts: { fetch?: boolean; json?: boolean }) =>
      run(async (ctx) => {
        const settings = parseOutboundSettings(ctx.config.sections.outbound);
        const raw = opts.fetch === false ? null : imapRawLoader(ctx.db, { target: (id) => accountTarget(ctx.db, ctx.config, id), logger: ctx.logger });
        try {
          const res = await processBounces(ctx.db, { clock: ctx.clock, settings, loadRaw: raw?.loadRaw ?? null, logger: ctx.logger });
          if (opts.json) ctx.out(formatJson(res));
          else if (res.dsnMessages === 0) ctx.out('no new bounce reports');
          else printBounces(ctx, res);
        } finally {
          await raw?.close();
        }
      }),
    );
  send
    .command('status')
    .description('per account: paused or not and why, planned rows, uncertain rows (a person decides: outbox retry or cancel), sent in the last day, copies waiting to be appended to Sent')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) =>
      run(async (ctx) => {
        const rows = await accountSendStatus(ctx.db);
        ctx.out(opts.json ? formatJson(rows) : formatTable(rows, ['account', 'paused', 'planned', 'uncertain', 'sentToday', 'copiesWaiting']));
      }),
    );
  send
    .command('pause')
    .description('stop sending from an account (its rows wait)')
    .requiredOption('--account <name>', 'account')
    .option('--reason <text>', 'why', 'paused by hand')
    .action((opts: { account: string; reason: string }) =>
      run(async (ctx) => {
        await pauseAccount(ctx.db, await findAccount(ctx.db, opts.account), opts.reason, ctx.clock);
        ctx.out(`account ${opts.account} paused`);
      }),
    );
  send
    .command('resume')
    .description('send from a paused account again')
    .requiredOption('--account <name>', 'account')
    .action((opts: { account: string }) =>
      run(async (ctx) => {
        await resumeAccount(ctx.db, await findAccount(ctx.db, opts.account), ctx.clock);
        ctx.out(`account ${opts.account} resumed`);
      }),
    );
};
