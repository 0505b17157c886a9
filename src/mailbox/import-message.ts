import type { Db } from '../db/database.ts';
import { ourAddresses } from './our-addresses.ts';
import { parseMessage } from './parse-message.ts';
import { storeMessages, type StoredMessage } from './store-messages.ts';

export interface ImportMessageOptions {
  readonly accountId?: number | null;
  readonly folderId?: number;
  readonly uid?: number;
  readonly flags?: ReadonlyArray<string>;
  readonly internalDate?: Date | null;
  /** Pass ourAddresses(db) when importing many, to read it once. */
  readonly us?: ReadonlySet<string>;
}

export interface ImportedMessage extends StoredMessage {
  /** The Message-ID (without <>), synthetic when the message had none. */
  readonly messageId: string;
  readonly parseError: string | null;
}

/** Parses, stores, threads and links one raw message (an .eml). Idempotent: importing it again stores nothing new. */
export async function importMessage(db: Db, raw: Buffer, options: ImportMessageOptions = {}): Promise<ImportedMessage> {
  const parsed = await parseMessage(raw, { internalDate: options.internalDate ?? null });
  const us = options.us ?? (await ourAddresses(db));
  const placement = options.folderId !== undefined && options.uid !== undefined ? { folderId: options.folderId, uid: options.uid, flags: options.flags ?? [] } : undefined;
  const res = await storeMessages(db, [{ parsed, raw, internalDate: options.internalDate ?? null, placement }], { accountId: options.accountId ?? null, us });
  const stored = res.messages[0];
  if (!stored) throw new Error('importMessage: nothing stored');
  return { ...stored, messageId: parsed.messageId, parseError: parsed.parseError };
}
