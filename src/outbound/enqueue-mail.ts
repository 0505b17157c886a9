import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import type { MailKind } from '../db/tables/outbound.ts';
import { AppError } from '../shared/app-error.ts';
import { systemClock, type Clock } from '../shared/clock.ts';
import { isValidAddress } from './address.ts';
import { bareMessageId, makeMessageId } from './message-id.ts';

export const MAIL_KINDS: readonly MailKind[] = ['promotion', 'greeting', 'vip', 'personal', 'reply', 'transactional'];

/** One mail to send. Either a template (+ locale, data) or pre-rendered subject + html/text. */
export interface OutboxInsert {
  /** Unique per mail; for campaigns: campaign or series, occurrence, contact. Inserting a key twice is a no-op. */
  readonly idempotencyKey: string;
  readonly accountId: number;
  readonly clientId?: number | null;
  readonly contactId?: number | null;
  readonly toAddress: string;
  readonly toName?: string | null;
  readonly kind: MailKind;
  readonly template?: string | null;
  readonly locale?: string | null;
  readonly data?: Readonly<Record<string, unknown>> | null;
  readonly subject?: string | null;
  readonly html?: string | null;
  readonly textBody?: string | null;
  readonly headers?: Readonly<Record<string, string>> | null;
  readonly campaignId?: number | null;
  readonly occurrence?: string | null;
  /** Earliest send time (default: now). */
  readonly notBefore?: Date | null;
  /** Latest send time; past it the row becomes `expired` instead of being sent. */
  readonly notAfter?: Date | null;
  /** Assigned when absent. */
  readonly messageId?: string | null;
  readonly inReplyTo?: string | null;
  readonly references?: readonly string[] | null;
}

export interface EnqueueResult {
  readonly inserted: number;
  readonly existing: number;
}

const HEADER_NAME = /^[A-Za-z0-9-]{1,76}$/;
const RESERVED_HEADERS = new Set(['from', 'to', 'cc', 'bcc', 'subject', 'message-id', 'date', 'list-unsubscribe', 'list-unsubscribe-post', 'in-reply-to', 'references']);

function checkRow(row: OutboxInsert, index: number): void {
  const name = `outbox row ${index + 1} (key ${JSON.stringify(row.idempotencyKey ?? '')})`;
  const bad = (problem: string): never => {
    throw new AppError('INPUT_INVALID', `${name}: ${problem}`, { details: { index, idempotencyKey: row.idempotencyKey } });
  };
  if (typeof row.idempotencyKey !== 'string' || row.idempotencyKey.trim() === '' || row.idempotencyKey.length > 500) bad('idempotencyKey must be a non-empty string of at most 500 characters');
  if (!Number.isSafeInteger(row.accountId) || row.accountId <= 0) bad('accountId must be a positive integer');
  if (typeof row.toAddress !== 'string' || !isValidAddress(row.toAddress.trim())) bad(`toAddress ${JSON.stringify(row.toAddress)} is not a valid email address`);
  if (!MAIL_KINDS.includes(row.kind)) bad(`kind ${JSON.stringify(row.kind)} is not one of ${MAIL_KINDS.join(', ')}`);
  if (row.toName && /[\r\n]/.test(row.toName)) bad('toName must be a single line');
  const hasTemplate = typeof row.template === 'string' && row.template.trim() !== '';
  const hasContent = typeof row.subject === 'string' && (typeof row.html === 'string' || typeof row.textBody === 'string');
  if (!hasTemplate && !hasContent) bad('needs a template, or a subject with html or textBody');
  if (row.subject && /[\r\n]/.test(row.subject)) bad('subject must be a single line');
  const nb = row.notBefore ?? null;
  const na = row.notAfter ?? null;
  if (nb && Number.isNaN(nb.getTime())) bad('notBefore is not a valid date');
  if (na && Number.isNaN(na.getTime())) bad('notAfter is not a valid date');
  if (nb && na && na.getTime() < nb.getTime()) bad('notAfter is before notBefore');
  if (row.messageId && !/^[^\s<>]+@[^\s<>]+$/.test(bareMessageId(row.messageId))) bad(`messageId ${JSON.stringify(row.messageId)} is malformed`);
  for (const [k, v] of Object.entries(row.headers ?? {})) {
    if (!HEADER_NAME.test(k) || RESERVED_HEADERS.has(k.toLowerCase())) bad(`header ${JSON.stringify(k)} is not allowed`);
    if (typeof v !== 'string' || /[\r\n]/.test(v)) bad(`header ${k} must be a single-line string`);
  }
}

/** The addresses of the sending accounts (for the Message-ID's domain). */
async function accountAddresses(db: Db, ids: readonly number[]): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  if (ids.length === 0) return out;
  const res = await sql<{ id: number; email: string }>`SELECT id, email FROM mail_accounts WHERE id = ANY(${sql.val([...ids])}::bigint[])`.execute(db.kysely);
  for (const r of res.rows) out.set(Number(r.id), r.email);
  return out;
}

/**
 * Adds mails to the outbox: INSERT ... ON CONFLICT (idempotency_key) DO
 * NOTHING, in one transaction. Every row is checked first; a bad row fails the
 * whole call with a message naming it, and nothing is written.
 */
export async function enqueueMail(db: Db, rows: readonly OutboxInsert[], options: { clock?: Clock } = {}): Promise<EnqueueResult> {
  if (rows.length === 0) return { inserted: 0, existing: 0 };
  rows.forEach(checkRow);
  const now = (options.clock ?? systemClock).now();
  const accountIds = [...new Set(rows.map((r) => r.accountId))];
  const addresses = await accountAddresses(db, accountIds);
  const missing = accountIds.filter((id) => !addresses.has(id));
  if (missing.length > 0) throw new AppError('NOT_FOUND', `outbox rows: sending account ${missing[0]} does not exist`, { details: { accountIds: missing } });
  let inserted = 0;
  await db.kysely.transaction().execute(async (trx) => {
    for (let start = 0; start < rows.length; start += 1000) {
      const chunk = rows.slice(start, start + 1000);
      const values = chunk.map((r) => ({
        idempotency_key: r.idempotencyKey,
        account_id: r.accountId,
        client_id: r.clientId ?? null,
        contact_id: r.contactId ?? null,
        to_address: r.toAddress.trim(),
        to_name: r.toName ?? null,
        kind: r.kind,
        template: r.template ?? null,
        locale: r.locale ?? null,
        data: r.data ? JSON.stringify(r.data) : null,
        subject: r.subject ?? null,
        html: r.html ?? null,
        text_body: r.textBody ?? null,
        headers: r.headers && Object.keys(r.headers).length > 0 ? JSON.stringify(r.headers) : null,
        campaign_id: r.campaignId ?? null,
        occurrence: r.occurrence ?? null,
        not_before: r.notBefore ?? now,
        not_after: r.notAfter ?? null,
        message_id: r.messageId ? bareMessageId(r.messageId) : makeMessageId(addresses.get(r.accountId), now),
        in_reply_to: r.inReplyTo ? bareMessageId(r.inReplyTo) : null,
        reference_ids: r.references && r.references.length > 0 ? r.references.map(bareMessageId) : null,
        created_at: now,
        updated_at: now,
      }));
      const ids = await trx.insertInto('outbox').values(values).onConflict((oc) => oc.column('idempotency_key').doNothing()).returning('id').execute();
      inserted += ids.length;
      if (ids.length > 0) {
        await trx
          .insertInto('outbox_events')
          .values(ids.map((r) => ({ outbox_id: r.id, at: now, event: 'planned', detail: null })))
          .execute();
      }
    }
  });
  return { inserted, existing: rows.length - inserted };
}
