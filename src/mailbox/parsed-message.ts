import type { AttachmentMeta } from '../db/tables/mailbox.ts';

export interface MailAddress {
  readonly address: string;
  readonly name: string | null;
}

/** What Rapport keeps of a message, whether mailparser understood it or not. */
export interface ParsedMessage {
  /** Without <>; synthetic when the message had none. */
  readonly messageId: string;
  readonly hasMessageId: boolean;
  readonly contentHash: string;
  readonly from: MailAddress | null;
  readonly to: ReadonlyArray<MailAddress>;
  readonly cc: ReadonlyArray<MailAddress>;
  readonly bcc: ReadonlyArray<MailAddress>;
  readonly replyTo: ReadonlyArray<MailAddress>;
  readonly subject: string | null;
  /** The Date header, when valid. */
  readonly date: Date | null;
  readonly inReplyTo: string | null;
  readonly references: ReadonlyArray<string>;
  /** Lower-case header names -> unfolded value, only the headers that matter. */
  readonly headers: Readonly<Record<string, string>>;
  readonly textBody: string | null;
  readonly htmlBody: string | null;
  readonly newestPart: string | null;
  readonly attachments: ReadonlyArray<AttachmentMeta>;
  readonly size: number;
  /** Why parsing failed (the message is then kept raw), or null. */
  readonly parseError: string | null;
}

/** What the sync's body pass keeps of a message whose header fields are already stored (parseBody). */
export type ParsedBody = Pick<ParsedMessage, 'textBody' | 'htmlBody' | 'newestPart' | 'attachments' | 'size' | 'parseError'>;
