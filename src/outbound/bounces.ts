import { simpleParser } from 'mailparser';
import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import { describeError } from '../shared/app-error.ts';
import { systemClock, type Clock } from '../shared/clock.ts';
import { silentLogger, type Logger } from '../shared/logger.ts';
import { parseDsn, parseLegacyBounce, type DsnReport } from './dsn.ts';
import { bumpFailureStreak, suppressAddress } from './sender.ts';
import type { OutboundSettings } from './settings.ts';
import { oneLine } from './smtp-outcome.ts';

/** Fetches a stored message's raw bytes (e.g. from its IMAP placement); null when unavailable. */
export type RawLoader = (messageRowId: number) => Promise<Buffer | null>;

export interface BounceResult {
  /** Candidate messages looked at (DSNs and mail from a mailer-daemon or postmaster). */
  readonly dsnMessages: number;
  /** Recipients whose address does not work: suppressed, contact address marked invalid. */
  readonly hard: number;
  /** Recipients for whom only this mail failed (policy block, full mailbox...). */
  readonly failed: number;
  /** Delay and success reports (recorded only). */
  readonly soft: number;
  /** Recipients of a report that matched no outbox row (mail not sent by Rapport). */
  readonly unmatched: number;
  /** Candidates that were not delivery status notifications after all. */
  readonly notDsn: number;
  /** Accounts paused by a run of hard bounces. */
  readonly paused: ReadonlyArray<number>;
}

/** The delivery-status fields and the returned headers from a raw DSN (RFC 3464 MIME layout). */
export async function readDsnRaw(raw: Buffer): Promise<DsnReport | null> {
  const parsed = await simpleParser(raw, { keepDeliveryStatus: true } as Parameters<typeof simpleParser>[1]);
  let status = '';
  let headers: string | null = null;
  for (const a of parsed.attachments) {
    const type = a.contentType.toLowerCase();
    if (type === 'message/delivery-status' || type === 'message/global-delivery-status') status += `${a.content.toString('utf8')}\n\n`;
    else if (headers === null && (type === 'message/rfc822' || type === 'text/rfc822-headers' || type === 'message/global-headers' || type === 'message/global')) {
      headers = a.content.toString('utf8');
    }
  }
  return parseDsn(status || (parsed.text ?? ''), headers ?? parsed.text ?? null);
}

interface DsnCandidate {
  id: number;
  account_id: number | null;
  text_body: string | null;
  sent_at: Date | null;
  in_reply_to: string | null;
  references: string[] | null;
  failed_recipients: string | null;
}

/**
 * Messages that may be bounce reports and were not read yet. The WHERE
 * clause matches the partial index messages_bounce_candidates_idx
 * (migration 0401) word for word: change both together.
 */
export function bounceCandidatesQuery(limit: number) {
  return sql<DsnCandidate>`
      SELECT m.id, m.account_id, m.text_body, m.sent_at, m.in_reply_to, m."references", m.headers->>'x-failed-recipients' AS failed_recipients
        FROM messages m
       WHERE m.direction <> 'outbound'
         AND (m.headers->>'content-type' ILIKE '%report-type=%delivery-status%'
              OR m.from_address ILIKE 'mailer-daemon@%' OR m.from_address ILIKE 'postmaster@%' OR m.headers->>'x-failed-recipients' IS NOT NULL)
         AND NOT EXISTS (SELECT 1 FROM outbound_bounces b WHERE b.dsn_message_id = m.id)
         AND NOT (m.body_state = 'headers' AND m.parse_error IS NULL) -- the mailbox sync's body pass has not filled it yet: next time
       ORDER BY m.id
       LIMIT ${limit}`;
}

export interface ProcessBouncesOptions {
  /** Raw bytes of a stored message (the returned headers carry the Message-ID); without it the stored text is read. */
  readonly loadRaw?: RawLoader | null;
  readonly clock?: Clock;
  /** With settings, a run of hard bounces pauses the sending account (outbound.pause.bounceRun). */
  readonly settings?: OutboundSettings;
  readonly logger?: Logger;
  readonly limit?: number;
}

/**
 * Finds delivery status notifications in the synced mailbox that were not
 * read yet, parses them (RFC 3464), matches each recipient to its outbox row
 * by the returned mail's Message-ID (else by recipient and account: the
 * latest mail Rapport sent there before the report), and records them, each
 * DSN in one transaction:
 *  - hard (the address does not work): the address goes on the suppression
 *    list, the contact's address is marked invalid, the row gets bounced_at
 *    and a `bounced` event, and the account's bounce run grows;
 *  - failed (only this mail, e.g. a spam block): bounced_at and the event, no suppression;
 *  - delayed / delivered: a `dsn` event on the row.
 * A DSN is read once: a second run finds nothing new.
 */
export async function processBounces(db: Db, options: ProcessBouncesOptions = {}): Promise<BounceResult> {
  const clock = options.clock ?? systemClock;
  const log = options.logger ?? silentLogger;
  const candidates = (await bounceCandidatesQuery(options.limit ?? 1000).execute(db.kysely)).rows;
  let hard = 0;
  let failed = 0;
  let soft = 0;
  let unmatched = 0;
  let notDsn = 0;
  const hardByAccount = new Map<number, string[]>();
  for (const c of candidates) {
    const dsnId = Number(c.id);
    let report: DsnReport | null = null;
    if (options.loadRaw) {
      const raw = await options.loadRaw(dsnId).catch((e: unknown) => {
        log.warn({ message: dsnId, err: describeError(e) }, 'could not fetch a DSN; reading its stored text');
        return null;
      });
      if (raw) report = await readDsnRaw(raw).catch(() => null);
    }
    report ??= parseDsn(c.text_body ?? '', c.text_body) ?? parseLegacyBounce(c.text_body ?? '', c.failed_recipients);
    if (!report) {
      // Not a DSN after all (a human note from postmaster): remember it was looked at.
      notDsn += 1;
      await db.kysely.insertInto('outbound_bounces').values({ dsn_message_id: dsnId, address_key: '', hard: false, diagnostic: 'not a delivery status notification' }).onConflict((oc) => oc.doNothing()).execute();
      continue;
    }
    const rep = report;
    await db.kysely.transaction().execute(async (trx) => {
      const tdb: Db = { ...db, kysely: trx };
      const now = clock.now();
      for (const r of rep.recipients) {
        // The returned mail's Message-ID; some servers (Exchange, Exim) also put it in In-Reply-To or References.
        const byId = rep.originalMessageId ?? c.in_reply_to ?? c.references?.at(-1) ?? null;
        let row = byId ? await trx.selectFrom('outbox').select(['id', 'account_id', 'address_key']).where('message_id', '=', byId).executeTakeFirst() : undefined;
        if (!row && c.account_id !== null) {
          const keys = [...new Set([r.address, r.originalAddress].filter((x): x is string => x !== null))];
          row = await trx
            .selectFrom('outbox')
            .select(['id', 'account_id', 'address_key'])
            .where('account_id', '=', Number(c.account_id))
            .where('address_key', 'in', keys)
            .where('state', '=', 'sent')
            .where('sent_at', '<=', c.sent_at ?? now)
            .orderBy('sent_at', 'desc')
            .limit(1)
            .executeTakeFirst();
        }
        const reason = oneLine(`${r.status} ${r.diagnostic ?? r.action}`);
        const inserted = await trx
          .insertInto('outbound_bounces')
          .values({ outbox_id: row?.id ?? null, dsn_message_id: dsnId, address_key: r.address, status: r.status, action: r.action, diagnostic: r.diagnostic ? oneLine(r.diagnostic) : null, hard: r.hard })
          .onConflict((oc) => oc.doNothing())
          .returning('id')
          .executeTakeFirst();
        if (!inserted) continue; // the same recipient twice in one report
        if (!row) unmatched += 1;
        if (r.kind === 'hard') {
          hard += 1;
          await suppressAddress(tdb, r.address, `hard bounce (DSN): ${reason}`, 'bounce', row?.id ?? null);
          if (row) {
            const list = hardByAccount.get(Number(row.account_id)) ?? [];
            list.push(`${r.address}: ${reason}`);
            hardByAccount.set(Number(row.account_id), list);
          }
        } else if (r.kind === 'failed') failed += 1;
        else soft += 1;
        if (row) {
          const bounced = r.kind === 'hard' || r.kind === 'failed';
          if (bounced) await trx.updateTable('outbox').set({ bounced_at: now, bounce_reason: reason, updated_at: now }).where('id', '=', row.id).execute();
          const detail = bounced ? `DSN from ${rep.reportingMta ?? 'the remote server'}: ${reason}${r.kind === 'failed' ? ' (address kept: only this mail failed)' : ''}` : `DSN ${r.action}: ${reason}`;
          await trx.insertInto('outbox_events').values({ outbox_id: row.id, at: now, event: bounced ? 'bounced' : `dsn-${r.kind}`, detail }).execute();
        }
      }
    });
  }
  const paused: number[] = [];
  if (options.settings) {
    for (const [accountId, words] of hardByAccount) {
      for (const w of words) {
        if (await bumpFailureStreak({ db, settings: options.settings, clock, logger: log }, accountId, 'bounce', w)) {
          paused.push(accountId);
          break;
        }
      }
    }
  }
  return { dsnMessages: candidates.length, hard, failed, soft, unmatched, notDsn, paused };
}
