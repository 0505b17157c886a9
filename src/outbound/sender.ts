import { pipeline, Readable, Transform } from 'node:stream';
import type Mail from 'nodemailer/lib/mailer';
import { hostname } from 'node:os';
import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import { describeError, isAppError } from '../shared/app-error.ts';
import type { Clock } from '../shared/clock.ts';
import { silentLogger, type Logger } from '../shared/logger.ts';
import { claimDue, type ClaimDecision, type ClaimedMail } from './claim.ts';
import { isPromotional, messageOptions, unsubscribeLinks, type UnsubscribeConfig, type UnsubscribeLinks } from './compose.ts';
import { seededUnit } from './jitter.ts';
import { processBounces, type BounceResult, type RawLoader } from './bounces.ts';
import { recoverExpiredLeases, resolveUncertain } from './recovery.ts';
import { processMailtoUnsubscribes } from './unsubscribe.ts';
import type { RenderedContent, Renderer } from './renderer.ts';
import type { OutboundSettings } from './settings.ts';
import { classifySmtpError, oneLine, type SmtpErrorLike, type SmtpOutcome } from './smtp-outcome.ts';
import type { SmtpTransports, StreamTap, TappedMail } from './smtp-transports.ts';
import { backoffMs } from './throttle-math.ts';

/** Called after a mail is recorded as sent (append to Sent, import into its thread). Errors are stored, never thrown. */
export type AfterSent = (mail: ClaimedMail, raw: Buffer) => Promise<string | null>;

export interface SenderDeps {
  readonly db: Db;
  readonly settings: OutboundSettings;
  readonly clock: Clock;
  readonly transports: SmtpTransports;
  readonly renderer?: Renderer | null;
  readonly unsubscribe?: UnsubscribeConfig | null;
  readonly afterSent?: AfterSent | null;
  /** Appends again the Sent copies whose first append failed (sentCopy().retry), every few seconds with recovery. */
  readonly retrySentCopies?: (() => Promise<unknown>) | null;
  /** Raw bytes of a synced message, for reading bounce reports (DSNs) in full. */
  readonly loadRaw?: RawLoader | null;
  readonly logger?: Logger;
  readonly workerId?: string;
}

export interface MailReport {
  readonly id: number;
  readonly toAddress: string;
  readonly outcome: 'sent' | 'failed' | 'bounced' | 'retry' | 'auth-wait' | 'uncertain' | 'deferred' | 'expired' | 'suppressed' | 'would-send' | 'render-failed';
  readonly detail?: string;
}

export interface BatchReport {
  readonly claimed: number;
  readonly mails: MailReport[];
  /** Due rows left for a later claim because their account had every connection busy. */
  readonly busy?: number;
}

/** The whole pipeline for one batch, top to bottom: claim, render, compose, send, record. */
export async function processBatch(deps: SenderDeps, options: { onlyIds?: readonly number[]; bypassBudgets?: boolean; dryRun?: boolean } = {}): Promise<BatchReport> {
  const workerId = deps.workerId ?? `${hostname()}:${process.pid}`;
  const { claimed, decisions, busy } = await claimDue(deps.db, {
    settings: deps.settings,
    clock: deps.clock,
    workerId,
    connectionsFor: (name) => deps.transports.connectionsFor(name),
    ...(options.onlyIds ? { onlyIds: options.onlyIds } : {}),
    ...(options.bypassBudgets ? { bypassBudgets: true } : {}),
    ...(options.dryRun ? { dryRun: true } : {}),
  });
  const mails: MailReport[] = decisions.filter((d) => d.action !== 'send').map(decisionReport);
  if (options.dryRun) {
    for (const mail of claimed) {
      try {
        render(deps, mail);
        mails.push({ id: mail.id, toAddress: mail.toAddress, outcome: 'would-send' });
      } catch (e) {
        mails.push({ id: mail.id, toAddress: mail.toAddress, outcome: 'render-failed', detail: describeError(e) });
      }
    }
    return { claimed: claimed.length, mails, busy };
  }
  // Each mail's unsubscribe link once: rendered into its body (batch or single) and written into its headers.
  const links = new Map(claimed.map((mail) => [mail.id, linksFor(deps, mail)]));
  const rendered = prerender(deps, claimed, links);
  const results = await Promise.all(claimed.map((mail) => sendOne(deps, mail, links.get(mail.id) ?? null, rendered.get(mail.id)).finally(slotFreed)));
  mails.push(...results);
  return { claimed: claimed.length, mails, busy };
}

function decisionReport(d: ClaimDecision): MailReport {
  const outcome = d.action === 'defer' ? 'deferred' : d.action === 'expire' ? 'expired' : 'suppressed';
  return { id: d.id, toAddress: d.toAddress, outcome, detail: d.action === 'defer' ? `until ${d.until?.toISOString()}: ${d.reason}` : (d.reason ?? '') };
}

/** The data a templated mail is rendered with: its own, plus its unsubscribe link when it carries one. */
function renderData(mail: ClaimedMail, links: UnsubscribeLinks | null): Record<string, unknown> {
  return { ...(mail.data ?? {}), ...(links ? { unsubscribeUrl: links.url ?? links.mailto } : {}) };
}

function linksFor(deps: SenderDeps, mail: ClaimedMail): UnsubscribeLinks | null {
  return isPromotional(mail.kind) && deps.unsubscribe ? unsubscribeLinks(mail, deps.unsubscribe) : null;
}

function localeFor(renderer: Renderer, template: string, wanted: string | null): string {
  return renderer.resolveLocale?.(template, wanted) ?? wanted ?? 'en';
}

function render(deps: SenderDeps, mail: ClaimedMail, links: UnsubscribeLinks | null = null): RenderedContent {
  const { template } = mail;
  if (template) {
    if (!deps.renderer) throw new Error(`template ${template}: no template library loaded`);
    return deps.renderer.render(template, localeFor(deps.renderer, template, mail.locale), renderData(mail, links));
  }
  return { subject: mail.subject ?? '', html: mail.html ?? '', text: mail.textBody ?? '' };
}

/**
 * Renders a claimed batch's templated mails through the library's batch form, one call per template and
 * locale, so what the recipients share (products, copy, footer) is rendered once. When a batch call fails
 * (one recipient's data is bad) its mails are left to render one by one in sendOne, where the bad one
 * fails alone with its own error.
 */
function prerender(deps: SenderDeps, claimed: readonly ClaimedMail[], links: ReadonlyMap<number, UnsubscribeLinks | null>): Map<number, RenderedContent> {
  const out = new Map<number, RenderedContent>();
  const renderer = deps.renderer;
  if (!renderer?.renderBatch) return out;
  const groups = new Map<string, { template: string; locale: string; ids: number[]; data: Record<string, unknown>[] }>();
  for (const mail of claimed) {
    const { template } = mail;
    if (!template) continue;
    const locale = localeFor(renderer, template, mail.locale);
    const key = `${template}\u0000${locale}`;
    let g = groups.get(key);
    if (!g) {
      g = { template, locale, ids: [], data: [] };
      groups.set(key, g);
    }
    g.ids.push(mail.id);
    g.data.push(renderData(mail, links.get(mail.id) ?? null));
  }
  for (const g of groups.values()) {
    if (g.ids.length < 2) continue;
    let contents: RenderedContent[];
    try {
      contents = renderer.renderBatch(g.template, g.locale, g.data);
    } catch {
      continue;
    }
    g.ids.forEach((id, i) => {
      const c = contents[i];
      if (c) out.set(id, c);
    });
  }
  return out;
}

/**
 * Watches one mail's byte stream as the SMTP transport reads it. `handedOver` turns true once the server
 * has had all of it. nodemailer's pool streams a message again when its connection closed (up to five
 * times); after a whole handover the server may have accepted it, so a second stream then fails at once
 * (the row becomes uncertain) instead of sending the mail twice. Before that, a second stream is a clean
 * retry, and the bytes kept (keep: for the copy in Sent and the thread) start over.
 */
export function handoverTap(keep: boolean): { tap: StreamTap; handedOver(): boolean; bytes(): Buffer | null } {
  let handedOver = false;
  const kept: Buffer[] = [];
  const tap: StreamTap = (source) => {
    if (handedOver) {
      source.destroy();
      return new Readable({
        read() {
          this.destroy(new Error('the server had the whole message on a connection that closed without an answer: not sent again'));
        },
      });
    }
    kept.length = 0;
    const out = keep ? pipeline(source, new Transform({ transform(chunk: Buffer, _enc, cb) { kept.push(chunk); cb(null, chunk); } }), () => undefined) : source;
    out.once('end', () => {
      handedOver = true;
    });
    return out;
  };
  return { tap, handedOver: () => handedOver, bytes: () => (keep && handedOver ? Buffer.concat(kept) : null) };
}

async function sendOne(deps: SenderDeps, mail: ClaimedMail, links: UnsubscribeLinks | null, prerendered?: RenderedContent): Promise<MailReport> {
  const { db, clock } = deps;
  const log = deps.logger ?? silentLogger;
  // 1. Render. A failure here concerns this row only.
  let options: Mail.Options;
  let transport;
  try {
    const content = prerendered ?? render(deps, mail, links);
    transport = await deps.transports.get(mail.accountId);
    options = messageOptions(mail, content, { fromName: transport.fromName, date: clock.now(), unsubscribe: links });
  } catch (e) {
    const words = `${isAppError(e) ? e.code : 'render failed'}: ${describeError(e)}`;
    await finishFailed(db, clock, mail, oneLine(words), 'failed');
    return { id: mail.id, toAddress: mail.toAddress, outcome: 'render-failed', detail: words };
  }
  // 2. SMTP. The transport composes (and signs) the message as it streams it, once; the message
  // counts as handed over once the server has had all of it. The bytes are kept only when
  // something after sending needs them (the copy in Sent, the import into the thread).
  const handover = handoverTap(deps.afterSent !== undefined && deps.afterSent !== null);
  let response: string;
  try {
    const data: Mail.Options & TappedMail = { ...options, envelope: { from: mail.accountEmail, to: [mail.toAddress] }, ...(transport.dkim ? { dkim: { ...transport.dkim } } : {}), rapportTap: handover.tap };
    const info = await transport.transporter.sendMail(data);
    response = oneLine(String(info.response ?? '250 accepted'));
  } catch (e) {
    const outcome = classifySmtpError(e as SmtpErrorLike, handover.handedOver());
    log.warn({ outbox: mail.id, outcome: outcome.kind, words: outcome.words }, 'smtp send failed');
    return handleFailure(deps, mail, outcome);
  }
  // 3. Record, in the same breath as the server's acceptance.
  await markSent(db, clock, mail, response);
  const raw = handover.bytes();
  if (deps.afterSent && raw) {
    const note = await deps.afterSent(mail, raw).catch((e: unknown) => `failed: ${describeError(e)}`);
    if (note) await db.kysely.updateTable('outbox').set({ sent_copy: note }).where('id', '=', mail.id).execute();
  }
  return { id: mail.id, toAddress: mail.toAddress, outcome: 'sent', detail: response };
}

/**
 * Records a mail as sent, with the time the server accepted it. Records from
 * concurrent sends are written together (group commit): the first goes at
 * once, those accepted while it is being written go in the next statement, so
 * under load one statement records many mails and nothing waits for a timer.
 * The promise settles when this mail's record is committed.
 */
export function markSent(db: Db, clock: Clock, mail: ClaimedMail, response: string): Promise<void> {
  let group = sentGroups.get(db);
  if (!group) {
    group = { queue: [], flushing: false };
    sentGroups.set(db, group);
  }
  const g = group;
  return new Promise<void>((resolve, reject) => {
    g.queue.push({ mail, response, at: clock.now(), resolve, reject });
    if (!g.flushing) void flushSent(db, g);
  });
}

interface PendingSent {
  readonly mail: ClaimedMail;
  readonly response: string;
  readonly at: Date;
  readonly resolve: () => void;
  readonly reject: (e: unknown) => void;
}

const sentGroups = new WeakMap<Db, { queue: PendingSent[]; flushing: boolean }>();

async function flushSent(db: Db, g: { queue: PendingSent[]; flushing: boolean }): Promise<void> {
  g.flushing = true;
  try {
    while (g.queue.length > 0) {
      const batch = g.queue.splice(0, 500);
      try {
        await recordSent(db, batch);
        for (const p of batch) p.resolve();
      } catch (e) {
        for (const p of batch) p.reject(e);
      }
    }
  } finally {
    g.flushing = false;
  }
}

async function recordSent(db: Db, batch: readonly PendingSent[]): Promise<void> {
  const col = <T>(f: (p: PendingSent) => T): T[] => batch.map(f);
  await sql`
    WITH v AS (
      SELECT * FROM unnest(${sql.val(col((p) => p.mail.id))}::bigint[], ${sql.val(col((p) => p.mail.claimToken))}::text[], ${sql.val(col((p) => p.mail.slotId))}::bigint[],
                           ${sql.val(col((p) => p.response))}::text[], ${sql.val(col((p) => p.at.toISOString()))}::timestamptz[], ${sql.val(col((p) => p.mail.accountId))}::bigint[])
             AS v(id, token, slot, response, at, account)),
    u AS (
      UPDATE outbox o SET state = 'sent', sent_at = v.at, smtp_response = v.response, lease_until = NULL, last_error = NULL, updated_at = v.at
        FROM v WHERE o.id = v.id AND o.claim_token = v.token AND o.state IN ('claimed', 'uncertain')
      RETURNING o.id, v.at, v.response),
    l AS (UPDATE outbound_send_log s SET finished_at = v.at, outcome = 'sent' FROM v WHERE s.id = v.slot),
    a AS (UPDATE outbound_account_settings SET failure_streak = 0, failure_streak_kind = NULL WHERE account_id IN (SELECT account FROM v) AND failure_streak > 0)
    INSERT INTO outbox_events (outbox_id, at, event, detail) SELECT id, at, 'sent', response FROM u`.execute(db.kysely);
}

async function finishFailed(db: Db, clock: Clock, mail: ClaimedMail, words: string, slotOutcome: string, extra: { bounce?: boolean } = {}): Promise<void> {
  const now = clock.now();
  await sql`
    WITH u AS (
      UPDATE outbox SET state = 'failed', last_error = ${words}, lease_until = NULL, updated_at = ${now},
             bounced_at = ${extra.bounce ? now : null}, bounce_reason = ${extra.bounce ? words : null}
       WHERE id = ${mail.id} AND claim_token = ${mail.claimToken} AND state IN ('claimed', 'uncertain')
      RETURNING id),
    l AS (UPDATE outbound_send_log SET finished_at = ${now}, outcome = ${slotOutcome} WHERE id = ${mail.slotId})
    INSERT INTO outbox_events (outbox_id, at, event, detail) SELECT id, ${now}, ${extra.bounce ? 'bounced' : 'failed'}, ${words} FROM u`.execute(db.kysely);
}

async function handleFailure(deps: SenderDeps, mail: ClaimedMail, outcome: SmtpOutcome): Promise<MailReport> {
  const { db, clock, settings } = deps;
  const now = clock.now();
  const base = { id: mail.id, toAddress: mail.toAddress };
  switch (outcome.kind) {
    case 'fail':
      await finishFailed(db, clock, mail, outcome.words, 'failed');
      return { ...base, outcome: 'failed', detail: outcome.words };
    case 'hard-bounce': {
      await finishFailed(db, clock, mail, outcome.words, 'failed', { bounce: true });
      await suppressAddress(db, mail.toAddress, `hard bounce: ${outcome.words}`, 'bounce', mail.id);
      await bumpFailureStreak(deps, mail.accountId, 'bounce', outcome.words);
      return { ...base, outcome: 'bounced', detail: outcome.words };
    }
    case 'uncertain': {
      await sql`
        WITH u AS (
          UPDATE outbox SET state = 'uncertain', last_error = ${`connection lost after the message was handed over: ${outcome.words}`}, lease_until = NULL, updated_at = ${now}
           WHERE id = ${mail.id} AND claim_token = ${mail.claimToken} AND state = 'claimed' RETURNING id),
        l AS (UPDATE outbound_send_log SET finished_at = ${now}, outcome = 'uncertain' WHERE id = ${mail.slotId})
        INSERT INTO outbox_events (outbox_id, at, event, detail) SELECT id, ${now}, 'uncertain', ${outcome.words} FROM u`.execute(db.kysely);
      return { ...base, outcome: 'uncertain', detail: outcome.words };
    }
    case 'auth':
    case 'retry': {
      const isAuth = outcome.kind === 'auth';
      if (!isAuth && mail.attempts >= settings.retry.maxAttempts) {
        const words = `gave up after ${mail.attempts} attempts: ${outcome.words}`;
        await finishFailed(db, clock, mail, words, 'failed');
        return { ...base, outcome: 'failed', detail: words };
      }
      const wait = backoffMs(mail.attempts, settings.retry.baseSeconds, settings.retry.maxSeconds, seededUnit(settings.jitter.seed, `${mail.id}:${mail.attempts}`));
      const until = new Date(now.getTime() + wait);
      const words = isAuth ? `SMTP authentication failed: ${outcome.words}` : outcome.words;
      // An auth failure is the account's problem, not the row's: the attempt is given back.
      await sql`
        WITH u AS (
          UPDATE outbox SET state = 'planned', defer_until = ${until}, defer_reason = ${isAuth ? 'waiting for the account\'s SMTP login' : 'retry after a temporary failure'},
                 last_error = ${words}, lease_until = NULL, claim_token = NULL, attempts = attempts - ${isAuth ? 1 : 0}, updated_at = ${now}
           WHERE id = ${mail.id} AND claim_token = ${mail.claimToken} AND state = 'claimed' RETURNING id),
        l AS (UPDATE outbound_send_log SET finished_at = ${now}, outcome = 'retry' WHERE id = ${mail.slotId})
        INSERT INTO outbox_events (outbox_id, at, event, detail) SELECT id, ${now}, 'retry', ${`until ${until.toISOString()}: ${words}`} FROM u`.execute(db.kysely);
      if (isAuth) {
        await deps.transports.drop(mail.accountId);
        await bumpFailureStreak(deps, mail.accountId, 'auth', outcome.words);
      }
      return { ...base, outcome: isAuth ? 'auth-wait' : 'retry', detail: words };
    }
  }
}

/** Puts an address on the suppression list and marks a contact's address invalid. */
export async function suppressAddress(db: Db, address: string, reason: string, source: 'manual' | 'unsubscribe' | 'bounce' | 'complaint' | 'import', outboxId: number | null): Promise<void> {
  const key = address.trim().toLowerCase();
  await db.kysely
    .insertInto('suppressions')
    .values({ address_key: key, reason: oneLine(reason), source, outbox_id: outboxId })
    .onConflict((oc) => oc.column('address_key').doNothing())
    .execute();
  if (source === 'bounce') {
    await sql`UPDATE contact_emails SET status = 'invalid', status_reason = ${oneLine(reason).slice(0, 300)} WHERE address_key = ${key}`.execute(db.kysely);
  }
}

/** A run of hard bounces or auth failures pauses the account, saying why. Returns true when this call paused it. */
export async function bumpFailureStreak(deps: Pick<SenderDeps, 'db' | 'settings' | 'clock' | 'logger'>, accountId: number, kind: 'bounce' | 'auth', words: string): Promise<boolean> {
  const now = deps.clock.now();
  const res = await sql<{ failure_streak: number }>`
    INSERT INTO outbound_account_settings AS s (account_id, failure_streak, failure_streak_kind, updated_at) VALUES (${accountId}, 1, ${kind}, ${now})
    ON CONFLICT (account_id) DO UPDATE SET
      failure_streak = CASE WHEN s.failure_streak_kind = ${kind} THEN s.failure_streak + 1 ELSE 1 END,
      failure_streak_kind = ${kind}, updated_at = ${now}
    RETURNING failure_streak`.execute(deps.db.kysely);
  const streak = Number(res.rows[0]?.failure_streak ?? 0);
  const threshold = kind === 'auth' ? deps.settings.pause.authFailures : deps.settings.pause.bounceRun;
  if (streak < threshold) return false;
  const reason = kind === 'auth' ? `SMTP login refused ${streak} times in a row (last: ${words}); fix the password and run rapport send resume` : `${streak} hard bounces in a row (last: ${words}); check the list, then run rapport send resume`;
  const upd = await sql`UPDATE outbound_account_settings SET paused_at = ${now}, paused_reason = ${oneLine(reason)} WHERE account_id = ${accountId} AND paused_at IS NULL`.execute(deps.db.kysely);
  if (Number(upd.numAffectedRows ?? 0) === 0) return false;
  (deps.logger ?? silentLogger).error({ accountId, reason }, 'account paused');
  return true;
}

export interface RunOptions {
  /** Concurrent worker loops in this process (default 1). */
  readonly workers?: number;
  /** Stop when nothing is due. */
  readonly once?: boolean;
  readonly dryRun?: boolean;
  readonly signal?: AbortSignal;
  readonly onBatch?: (report: BatchReport) => void;
  /** Called after each pass over the synced bounce reports (every outbound.bounceCheckSeconds). */
  readonly onBounces?: (result: BounceResult) => void;
}

/** Worker loops of this process waiting for one of its sends to finish (a busy account's connection is free again). */
const slotWaiters = new Set<() => void>();

function slotFreed(): void {
  for (const wake of [...slotWaiters]) wake();
}

/**
 * Waits ms, or until the signal aborts, or (wakeOnSlot) until a send of this process finishes; the
 * listeners are removed either way (a long send run polls forever).
 */
const sleep = (ms: number, signal?: AbortSignal, wakeOnSlot = false): Promise<void> =>
  new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = (): void => {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      slotWaiters.delete(done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    if (wakeOnSlot) slotWaiters.add(done);
  });

/**
 * The sender: N worker loops claiming and sending until stopped (or, with
 * once, until nothing is due). Every few seconds one loop recovers expired
 * leases (-> uncertain) and resolves uncertain rows by the documented rule;
 * every outbound.bounceCheckSeconds (and once at the start) it reads the
 * bounce reports (DSNs) and mailto: unsubscribes the mailbox sync brought in.
 */
export async function runSender(deps: SenderDeps, options: RunOptions = {}): Promise<{ sent: number; reports: number }> {
  const workers = Math.max(1, options.workers ?? 1);
  let sent = 0;
  let reports = 0;
  let lastRecovery = 0;
  let lastBounces = 0;
  let copying: Promise<void> | null = null;
  const recover = async (): Promise<void> => {
    const t = Date.now();
    if (t - lastRecovery < 5000) return;
    lastRecovery = t;
    await recoverExpiredLeases(deps.db, deps.clock);
    await resolveUncertain(deps.db, deps.clock, deps.settings);
    // in the background: an IMAP server that hangs must not hold up sending (one pass at a time; runSender waits for it at the end)
    if (deps.retrySentCopies && !copying) {
      copying = deps
        .retrySentCopies()
        .then(() => undefined, (e: unknown) => (deps.logger ?? silentLogger).error({ err: describeError(e) }, 'retrying Sent copies failed'))
        .finally(() => {
          copying = null;
        });
    }
    const every = deps.settings.bounceCheckSeconds * 1000;
    if (every > 0 && t - lastBounces >= every) {
      lastBounces = t;
      const res = await processBounces(deps.db, { clock: deps.clock, settings: deps.settings, loadRaw: deps.loadRaw ?? null, ...(deps.logger ? { logger: deps.logger } : {}) });
      options.onBounces?.(res);
      if (deps.unsubscribe) await processMailtoUnsubscribes(deps.db, deps.unsubscribe.key, deps.clock);
    }
  };
  if (options.dryRun) {
    const report = await processBatch(deps, { dryRun: true });
    options.onBatch?.(report);
    return { sent: 0, reports: report.mails.length };
  }
  await recover();
  const loop = async (index: number): Promise<void> => {
    const d = { ...deps, workerId: `${deps.workerId ?? `${hostname()}:${process.pid}`}/${index}` };
    while (!options.signal?.aborted) {
      if (index === 0) await recover().catch((e: unknown) => (deps.logger ?? silentLogger).error({ err: describeError(e) }, 'recovery failed'));
      let report: BatchReport;
      try {
        report = await processBatch(d);
      } catch (e) {
        (deps.logger ?? silentLogger).error({ err: describeError(e) }, 'claim failed; retrying');
        await sleep(deps.settings.pollMs, options.signal);
        continue;
      }
      sent += report.mails.filter((m) => m.outcome === 'sent').length;
      reports += report.mails.length;
      options.onBatch?.(report);
      if (report.mails.length === 0) {
        // rows waiting for a busy account's connection: claim again when a send finishes (another process's, at the latest after pollMs)
        if (report.busy) await sleep(deps.settings.pollMs, options.signal, true);
        else if (options.once) return;
        else await sleep(await idleMs(deps), options.signal);
      }
    }
  };
  await Promise.all(Array.from({ length: workers }, (_, i) => loop(i)));
  await copying;
  return { sent, reports };
}

/** How long to wait when nothing is due: until the next due row, at most pollMs. */
async function idleMs(deps: SenderDeps): Promise<number> {
  const next = await deps.db.kysely.selectFrom('outbox').select((eb) => eb.fn.min('due_at').as('due')).where('state', '=', 'planned').executeTakeFirst();
  const due = next?.due ? new Date(next.due as Date).getTime() - deps.clock.now().getTime() : deps.settings.pollMs;
  return Math.max(5, Math.min(deps.settings.pollMs, due));
}
