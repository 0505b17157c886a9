import { sql, type Kysely, type Transaction } from 'kysely';
import type { Db } from '../db/database.ts';
import type { Database } from '../db/schema.ts';
import { messageDirection } from './direction.ts';
import { linkThreads } from './linking.ts';
import type { ParsedMessage } from './parsed-message.ts';
import { assignThread } from './threading.ts';

/** One message to store, with where it was found. */
export interface StoreItem {
  readonly parsed: ParsedMessage;
  /** The raw bytes; kept only when parsing failed. */
  readonly raw?: Buffer | undefined;
  readonly internalDate?: Date | null | undefined;
  readonly placement?: { readonly folderId: number; readonly uid: number; readonly flags?: ReadonlyArray<string>; readonly modseq?: number | null } | undefined;
  readonly gmThrid?: string | null | undefined;
  readonly gmMsgid?: string | null | undefined;
}

export interface StoreOptions {
  readonly accountId?: number | null;
  /** Our addresses and domains (ourAddresses). */
  readonly us: ReadonlySet<string>;
  /** Runs inside the same transaction, after the messages (the sync saves its cursor here). */
  readonly inTransaction?: (trx: Transaction<Database>) => Promise<void>;
  readonly subjectWindowDays?: number;
}

export interface StoredMessage {
  readonly rowId: number;
  readonly threadId: number | null;
  /** False when the message was already stored (another folder, a re-upload, a re-run). */
  readonly created: boolean;
}

export interface StoreResult {
  readonly messages: StoredMessage[];
  readonly created: number;
  readonly existing: number;
}

const THREADING_LOCK = 7_243_003; // one writer of the reference graph at a time, across processes

function cleanJson(value: unknown): string {
  return JSON.stringify(value).replace(/\\u0000/g, '');
}

/** Stores a batch in one transaction: messages (deduplicated), placements, threads, links, then `inTransaction`. */
export async function storeMessages(db: Db | Kysely<Database>, items: ReadonlyArray<StoreItem>, options: StoreOptions): Promise<StoreResult> {
  const k = 'kysely' in db ? db.kysely : db;
  return k.transaction().execute(async (trx) => {
    await sql`SELECT pg_advisory_xact_lock(${THREADING_LOCK})`.execute(trx);
    const out: StoredMessage[] = [];
    const touched = new Set<number>();
    let created = 0;
    for (const item of items) {
      const p = item.parsed;
      const recipients = [...p.to, ...p.cc, ...p.bcc].map((a) => a.address);
      const sentAt = p.date ?? item.internalDate ?? new Date();
      const inserted = await trx
        .insertInto('messages')
        .values({
          message_id: p.messageId,
          content_hash: p.contentHash,
          direction: messageDirection(p.from?.address ?? null, recipients, options.us),
          account_id: options.accountId ?? null,
          from_address: p.from?.address ?? null,
          from_name: p.from?.name ?? null,
          to_addresses: p.to.map((a) => a.address),
          cc_addresses: p.cc.map((a) => a.address),
          bcc_addresses: p.bcc.map((a) => a.address),
          reply_to: p.replyTo.map((a) => a.address),
          subject: p.subject,
          sent_at: sentAt,
          internal_date: item.internalDate ?? null,
          in_reply_to: p.inReplyTo,
          references: [...p.references],
          headers: cleanJson(p.headers),
          text_body: p.textBody,
          html_body: p.htmlBody,
          newest_part: p.newestPart,
          attachments: cleanJson(p.attachments),
          size: p.size,
          gm_msgid: item.gmMsgid ?? null,
          parse_error: p.parseError,
          raw: p.parseError && item.raw ? item.raw : null,
        })
        .onConflict((oc) => oc.columns(['message_id', 'content_hash']).doNothing())
        .returning('id')
        .executeTakeFirst();
      let rowId: number;
      let threadId: number | null;
      if (inserted) {
        rowId = inserted.id;
        created++;
        const participants = [...new Set([p.from?.address, ...p.replyTo.map((a) => a.address), ...recipients].filter((a): a is string => !!a))];
        threadId = await assignThread(
          trx,
          { rowId, messageId: p.messageId, references: p.references, subject: p.subject, date: sentAt, participants, gmThrid: item.gmThrid ?? null, threadIndex: p.headers['thread-index'] ?? null },
          { us: options.us, ...(options.subjectWindowDays === undefined ? {} : { subjectWindowDays: options.subjectWindowDays }) },
        );
        touched.add(threadId);
      } else {
        const row = await trx.selectFrom('messages').select(['id', 'thread_id']).where('message_id', '=', p.messageId).where('content_hash', '=', p.contentHash).executeTakeFirstOrThrow();
        rowId = row.id;
        threadId = row.thread_id;
      }
      if (item.placement) {
        const pl = item.placement;
        await trx
          .insertInto('message_placements')
          .values({ message_id: rowId, folder_id: pl.folderId, uid: pl.uid, flags: [...(pl.flags ?? [])], modseq: pl.modseq ?? null })
          .onConflict((oc) => oc.columns(['folder_id', 'uid']).doUpdateSet({ message_id: rowId, flags: [...(pl.flags ?? [])], modseq: pl.modseq ?? null }))
          .execute();
      }
      out.push({ rowId, threadId, created: !!inserted });
    }
    // merges may have moved touched threads: link the survivors
    if (touched.size > 0) {
      const live = await trx.selectFrom('threads').select(['id', 'merged_into']).where('id', 'in', [...touched]).execute();
      await linkThreads(trx, [...new Set(live.map((t) => t.merged_into ?? t.id))], options.us);
    }
    if (options.inTransaction) await options.inTransaction(trx);
    return { messages: out, created, existing: items.length - created };
  });
}
