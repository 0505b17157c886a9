import { readFileSync } from 'node:fs';
import { SingleBar, Presets } from 'cli-progress';
import type { Command } from 'commander';
import { commandGroup, type AppContext, type RegisterCommands } from '../context.ts';
import { formatJson, formatTable } from '../output.ts';
import { AppError } from '../../shared/app-error.ts';
import { addAccount, findAccount, listAccounts, removeAccount, setAccountEnabled } from '../../mailbox/accounts.ts';
import { outboxRowsForAccount } from '../../outbound/outbox-admin.ts';
import { testAccount } from '../../mailbox/accounts-test.ts';
import { importMailPath } from '../../mailbox/import-files.ts';
import { ourAddresses } from '../../mailbox/our-addresses.ts';
import { syncAccount, type AccountSyncReport } from '../../mailbox/sync-account.ts';
import { parseSyncSettings } from '../../mailbox/sync-settings.ts';
import { syncStatus } from '../../mailbox/sync-status.ts';
import { linkThreadManually, listSuggestedContacts, listThreads, listUnlinked, showThread } from '../../mailbox/threads-query.ts';
import type { FolderProgress } from '../../mailbox/sync-folder.ts';

const int = (name: string) => (v: string): number => {
  if (!/^\d+$/.test(v)) throw new AppError('INPUT_INVALID', `${name} "${v}": must be a whole number`);
  return Number(v);
};
const tlsMode = (name: string) => (v: string): 'tls' | 'starttls' | 'none' => {
  if (v !== 'tls' && v !== 'starttls' && v !== 'none') throw new AppError('INPUT_INVALID', `${name} "${v}": use tls, starttls or none`);
  return v;
};
const collect = (v: string, prev: string[]): string[] => [...prev, v];

interface AddOptions {
  email: string;
  alias: string[];
  imapHost?: string;
  imapPort?: number;
  imapTls?: 'tls' | 'starttls' | 'none';
  imapUser?: string;
  smtpHost?: string;
  smtpPort?: number;
  smtpTls?: 'tls' | 'starttls' | 'none';
  smtpUser?: string;
  passwordEnv?: string;
  passwordStdin?: boolean;
  tokenEnv?: string;
  savesSent?: boolean;
  folder: string[];
}

function readSecret(opts: AddOptions): { secret: string | null; authKind: 'password' | 'oauth2' } {
  if (opts.tokenEnv) {
    const v = process.env[opts.tokenEnv];
    if (!v) throw new AppError('INPUT_INVALID', `--token-env ${opts.tokenEnv}: that environment variable is empty`);
    return { secret: v, authKind: 'oauth2' };
  }
  if (opts.passwordEnv) {
    const v = process.env[opts.passwordEnv];
    if (!v) throw new AppError('INPUT_INVALID', `--password-env ${opts.passwordEnv}: that environment variable is empty`);
    return { secret: v, authKind: 'password' };
  }
  if (opts.passwordStdin) {
    const v = readFileSync(0, 'utf8').replace(/\r?\n$/, '');
    if (!v) throw new AppError('INPUT_INVALID', '--password-stdin: nothing on standard input');
    return { secret: v, authKind: 'password' };
  }
  return { secret: null, authKind: 'password' };
}

function printSyncReport(ctx: AppContext, r: AccountSyncReport): void {
  if (r.error && r.folders.length === 0) {
    ctx.out(`${r.account}: FAILED ${r.error}`);
    return;
  }
  for (const f of r.folders) {
    if (f.ok && f.result) {
      const x = f.result;
      ctx.out(`${r.account} ${f.path}: ${x.unchanged ? 'unchanged' : `${x.fetched} fetched, ${x.created} new, ${x.flagsUpdated} flag changes, ${x.expunged} expunged${x.reset ? ', UIDVALIDITY changed: rebuilt' : ''}`} (${x.serverCount} on server)`);
    } else ctx.out(`${r.account} ${f.path}: FAILED ${f.error ?? ''}`);
  }
}

export const registerMailboxCommands: RegisterCommands = (program, run) => {
  // ---- accounts
  const accounts = commandGroup(program, 'accounts', 'mail accounts (IMAP to read, SMTP to send)');
  accounts
    .command('add NAME')
    .description('add a mail account; the secret is encrypted with RAPPORT_SECRET_KEY and never printed')
    .requiredOption('--email <address>', 'our address on this account')
    .option('--alias <address>', 'another address (or @domain) that is us; repeatable', collect, [])
    .option('--imap-host <host>')
    .option('--imap-port <port>', 'default 993 (tls) or 143', int('--imap-port'))
    .option('--imap-tls <mode>', 'tls | starttls | none', tlsMode('--imap-tls'))
    .option('--imap-user <user>', 'default: the email')
    .option('--smtp-host <host>')
    .option('--smtp-port <port>', 'default 465 (tls) or 587', int('--smtp-port'))
    .option('--smtp-tls <mode>', 'tls | starttls | none', tlsMode('--smtp-tls'))
    .option('--smtp-user <user>', 'default: the email')
    .option('--password-env <VAR>', 'read the password from this environment variable')
    .option('--password-stdin', 'read the password from standard input')
    .option('--token-env <VAR>', 'an OAuth2 access token from this environment variable')
    .option('--saves-sent', 'the provider keeps sent mail itself (Gmail)')
    .option('--folder <path>', 'an extra folder to sync; repeatable', collect, [])
    .action((name: string, opts: AddOptions) =>
      run(async (ctx) => {
        const { secret, authKind } = readSecret(opts);
        const a = await addAccount(ctx.db, ctx.config, {
          name,
          email: opts.email,
          extraAddresses: opts.alias,
          imapHost: opts.imapHost ?? null,
          imapPort: opts.imapPort ?? null,
          ...(opts.imapTls ? { imapTls: opts.imapTls } : {}),
          imapUser: opts.imapUser ?? null,
          smtpHost: opts.smtpHost ?? null,
          smtpPort: opts.smtpPort ?? null,
          ...(opts.smtpTls ? { smtpTls: opts.smtpTls } : {}),
          smtpUser: opts.smtpUser ?? null,
          authKind,
          secret,
          savesSent: opts.savesSent ?? false,
          syncFolders: opts.folder,
        });
        ctx.out(`account ${a.name} added (id ${a.id})${a.hasSecret ? ', secret stored encrypted' : ', no secret stored'}`);
      }),
    );
  accounts
    .command('list')
    .description('list accounts (secrets are never shown)')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) =>
      run(async (ctx) => {
        const list = await listAccounts(ctx.db);
        if (opts.json) ctx.out(formatJson(list));
        else ctx.out(formatTable(list.map((a) => ({ ...a, secret: a.hasSecret ? 'stored' : 'none' })), ['id', 'name', 'email', 'imap', 'smtp', 'authKind', 'secret', 'enabled']));
      }),
    );
  accounts
    .command('test NAME')
    .description('log in, list folders, and say plainly what failed (DNS, TLS, auth, capability)')
    .option('--json', 'print JSON')
    .action((name: string, opts: { json?: boolean }) =>
      run(async (ctx) => {
        const r = await testAccount(ctx.db, ctx.config, await findAccount(ctx.db, name));
        if (opts.json) ctx.out(formatJson(r));
        else {
          ctx.out(`${r.ok ? 'ok' : `FAILED at ${r.step}`}: ${r.message}`);
          if (r.folders.length > 0) ctx.out(`folders: ${r.folders.join(', ')}`);
        }
        if (!r.ok) throw new AppError((r.code as 'IMAP_FAILED' | undefined) ?? 'IMAP_FAILED', `account ${name}: test failed`);
      }),
    );
  for (const [verb, enabled] of [['disable', false], ['enable', true]] as const) {
    accounts
      .command(`${verb} NAME`)
      .description(enabled ? 'sync the account again and let campaigns send from it' : 'stop syncing the account and picking it for campaigns (a colleague who left); its mail and history stay')
      .action((name: string) =>
        run(async (ctx) => {
          await setAccountEnabled(ctx.db, name, enabled);
          ctx.out(enabled ? `account ${name} enabled` : `account ${name} disabled: not synced, not used by campaigns; \`rapport send pause --account ${name}\` also stops its queued mail`);
        }),
      );
  }
  accounts
    .command('remove NAME')
    .description('remove an account (its messages stay); refused once mail was sent or queued from it: the outbox keeps that record')
    .action((name: string) =>
      run(async (ctx) => {
        // checked with the account row locked: mail queued for it meanwhile waits, then finds it gone (never a foreign-key error here)
        await removeAccount(ctx.db, name, async (trx, id) => {
          const rows = await outboxRowsForAccount(trx, id);
          if (rows.inFlight > 0) throw new AppError('CONFLICT', `account ${name}: ${rows.inFlight} mail(s) are being sent from it right now; stop \`rapport send run\` and try again`);
          if (rows.queued > 0) throw new AppError('CONFLICT', `account ${name}: ${rows.queued} mail(s) still queued in the outbox (rapport outbox list --account ${name}); cancel them first`);
          if (rows.total > 0) throw new AppError('CONFLICT', `account ${name}: the outbox keeps the record of ${rows.total} mail(s) sent or tried from it, so the account stays; \`rapport accounts disable ${name}\` stops syncing it and \`rapport send pause --account ${name}\` its sending`);
        });
        ctx.out(`account ${name} removed`);
      }),
    );

  // ---- sync
  const sync = program
    .command('sync')
    .description('sync mailboxes over IMAP (INBOX and Sent first); runs until stopped unless --once')
    .option('--account <name>', 'only this account')
    .option('--once', 'one pass, then exit')
    .option('--json', 'print the report as JSON')
    .option('--no-progress', 'no progress bar')
    .action((opts: { account?: string; once?: boolean; json?: boolean; progress?: boolean }) =>
      run(async (ctx) => {
        const settings = parseSyncSettings(ctx.config.sections.mailbox);
        const ids = opts.account ? [await findAccount(ctx.db, opts.account)] : (await ctx.db.kysely.selectFrom('mail_accounts').select('id').where('enabled', '=', true).where('imap_host', 'is not', null).orderBy('id').execute()).map((r) => r.id);
        if (ids.length === 0) throw new AppError('INPUT_INVALID', 'sync: no account with an IMAP host (add one with `rapport accounts add`)');
        const showBar = opts.progress !== false && !opts.json && process.stderr.isTTY === true;
        let stop = false;
        const onSignal = (): void => {
          stop = true;
        };
        process.once('SIGINT', onSignal);
        process.once('SIGTERM', onSignal);
        try {
          for (;;) {
            const reports: AccountSyncReport[] = [];
            for (const id of ids) {
              let bar: SingleBar | null = null;
              let startedAt = 0;
              const onProgress = (p: FolderProgress): void => {
                if (!showBar || p.total < 50) return;
                if (!bar) {
                  bar = new SingleBar({ format: `${p.folder} [{bar}] {value}/{total} msgs | {rate}/s | ETA {eta_formatted}`, stream: process.stderr }, Presets.shades_classic);
                  bar.start(p.total, 0, { rate: '0' });
                  startedAt = performance.now();
                }
                const seconds = (performance.now() - startedAt) / 1000;
                bar.update(p.done, { rate: seconds > 0 ? String(Math.round(p.done / seconds)) : '0' });
                if (p.done >= p.total) {
                  bar.stop();
                  bar = null;
                }
              };
              const r = await syncAccount(ctx.db, ctx.config, id, { settings, logger: ctx.logger, clock: ctx.clock, onProgress });
              reports.push(r);
              if (!opts.json) printSyncReport(ctx, r);
            }
            if (opts.json) ctx.out(formatJson(reports));
            if (opts.once || stop) {
              const failed = reports.flatMap((r) => (r.folders.length === 0 && !r.ok ? [r.account] : r.folders.filter((f) => !f.ok).map((f) => `${r.account} ${f.path}`)));
              if (failed.length > 0) throw new AppError(reports.find((r) => r.code)?.code as 'IMAP_FAILED' ?? 'IMAP_FAILED', `sync: ${failed.length} failed (${failed.slice(0, 3).join(', ')}); see \`rapport sync status\``);
              return;
            }
            for (let waited = 0; waited < settings.pollSeconds * 1000 && !stop; waited += 500) await new Promise((r) => setTimeout(r, 500));
            if (stop) return;
          }
        } finally {
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
        }
      }),
    );
  sync
    .command('status')
    .description('per account and folder: last success, lag, messages, errors; unparseable messages')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }, cmd: Command) =>
      run(async (ctx) => {
        const s = await syncStatus(ctx.db, ctx.clock);
        // `sync` has its own --json: commander may hand the flag to the parent
        if (opts.json || (cmd.parent?.opts() as { json?: boolean } | undefined)?.json) {
          ctx.out(formatJson(s));
          return;
        }
        // an account whose last run could not log in gets a row of its own (it may have no folder yet)
        const accountRows = s.accounts.filter((a) => a.lastError).map((a) => ({ account: a.account, folder: '(account)', role: '', messages: '', serverCount: '', lastSuccessAt: a.lastSyncAt ?? '', lag: '', error: a.lastError ?? '' }));
        const folderRows = s.folders.map((f) => ({ ...f, lag: f.lagSeconds === null ? 'never' : `${f.lagSeconds}s`, error: f.lastError ?? '' }));
        ctx.out(formatTable([...accountRows, ...folderRows], ['account', 'folder', 'role', 'messages', 'serverCount', 'lastSuccessAt', 'lag', 'error']));
        ctx.out(`messages stored raw (could not be parsed): ${s.parseErrorCount}`);
        if (s.bodiesWaiting > 0) ctx.out(`messages waiting for their body (threaded and linked; the next sync fills them): ${s.bodiesWaiting}`);
        for (const e of s.parseErrors.slice(0, 10)) ctx.out(`  #${e.id} ${e.messageId}: ${e.error}`);
      }),
    );

  // ---- threads
  const threads = commandGroup(program, 'threads', 'mail conversations and the client each belongs to');
  threads
    .command('list')
    .description('threads, newest first')
    .option('--client <id>', 'only this client', int('--client'))
    .option('--limit <n>', 'at most n (default 50)', int('--limit'))
    .option('--json', 'print JSON')
    .action((opts: { client?: number; limit?: number; json?: boolean }) =>
      run(async (ctx) => {
        const list = await listThreads(ctx.db, { ...(opts.client !== undefined ? { clientId: opts.client } : {}), limit: opts.limit ?? 50 });
        if (opts.json) ctx.out(formatJson(list));
        else ctx.out(formatTable(list, ['id', 'lastMessageAt', 'messages', 'client', 'linkReason', 'subject']));
      }),
    );
  threads
    .command('show ID')
    .description('one thread: its client and why, and its messages in reply order')
    .option('--json', 'print JSON')
    .action((id: string, opts: { json?: boolean }) =>
      run(async (ctx) => {
        const t = await showThread(ctx.db, int('thread')(id));
        if (opts.json) {
          ctx.out(formatJson(t));
          return;
        }
        ctx.out(`thread ${t.id}: ${t.subject}`);
        ctx.out(`client: ${t.client ?? '(none)'}${t.linkReason ? ` (${t.linkReason}, confidence ${t.linkConfidence ?? ''})` : ''}${t.relay ? `; via ${t.relay}` : ''}`);
        for (const m of [...t.messagesList].reverse()) {
          ctx.out(`${'  '.repeat(Math.min(m.depth, 10))}#${m.id} ${m.sentAt?.toISOString() ?? ''} ${m.direction} ${m.from ?? ''} -> ${m.to.slice(0, 3).join(', ')}${m.to.length > 3 ? ` +${m.to.length - 3}` : ''}: ${m.subject ?? ''}${m.parseError ? ` [parse error: ${m.parseError}]` : ''}`);
          if (m.newestPart) ctx.out(`${'  '.repeat(Math.min(m.depth, 10))}    ${m.newestPart.slice(0, 200).replace(/\s+/g, ' ')}`);
        }
      }),
    );
  threads
    .command('unlinked')
    .description('threads with no client, with the best guess')
    .option('--limit <n>', 'at most n (default 50)', int('--limit'))
    .option('--json', 'print JSON')
    .action((opts: { limit?: number; json?: boolean }) =>
      run(async (ctx) => {
        const list = await listUnlinked(ctx.db, { limit: opts.limit ?? 50 });
        if (opts.json) ctx.out(formatJson(list));
        else ctx.out(formatTable(list.map((t) => ({ ...t, guess: t.guessClient ? `${t.bestGuess ?? ''} -> ${t.guessClient} (#${t.guessClientId ?? ''})` : (t.bestGuess ?? '') })), ['id', 'lastMessageAt', 'messages', 'guess', 'subject']));
      }),
    );
  threads
    .command('link THREAD CLIENT')
    .description('link a thread to a client by hand')
    .option('--remember-domain', "also make the thread's external domains the client's (future mail links by domain)")
    .action((thread: string, client: string, opts: { rememberDomain?: boolean }) =>
      run(async (ctx) => {
        const us = await ourAddresses(ctx.db);
        const r = await linkThreadManually(ctx.db, int('thread')(thread), int('client')(client), { rememberDomain: opts.rememberDomain ?? false, us });
        ctx.out(`thread ${thread} linked to client ${client} (manual)`);
        if (r.rememberedDomains.length > 0) ctx.out(`remembered domain(s): ${r.rememberedDomains.join(', ')}`);
        else if (!opts.rememberDomain && r.candidateDomains.length > 0) ctx.out(`to link future mail from ${r.candidateDomains.join(', ')} too: rapport threads link ${thread} ${client} --remember-domain`);
      }),
    );

  threads
    .command('suggestions')
    .description("addresses seen on a client's domain that are not contacts yet (add one with `rapport contacts add`: its past threads re-link)")
    .option('--client <id>', 'only this client', int('--client'))
    .option('--limit <n>', 'at most n (default 50)', int('--limit'))
    .option('--json', 'print JSON')
    .action((opts: { client?: number; limit?: number; json?: boolean }) =>
      run(async (ctx) => {
        const list = await listSuggestedContacts(ctx.db, { ...(opts.client !== undefined ? { clientId: opts.client } : {}), limit: opts.limit ?? 50 });
        if (opts.json) ctx.out(formatJson(list));
        else ctx.out(formatTable(list.map((s) => ({ ...s, client: `${s.client} (#${s.clientId})` })), ['address', 'name', 'client', 'messages', 'lastSeenAt', 'threadId']));
      }),
    );

  // ---- import mail
  commandGroup(program, 'import', 'import data from files')
    .command('mail PATH')
    .description('import an mbox file, an .eml file or a folder of .eml files (parsed, threaded and linked like synced mail)')
    .option('--json', 'print JSON')
    .action((target: string, opts: { json?: boolean }) =>
      run(async (ctx) => {
        const r = await importMailPath(ctx.db, target);
        if (opts.json) ctx.out(formatJson(r));
        else ctx.out(`${target}: ${r.messages} messages, ${r.created} new, ${r.existing} already stored, ${r.parseErrors} stored raw (could not be parsed)`);
      }),
    );
};
