import { createHash } from 'node:crypto';

/**
 * The content hash that, with the Message-ID, identifies a message. It covers
 * the header fields that do not change when a server copies or re-uploads a
 * message (so the copy in INBOX and in All Mail hash the same), and the size
 * class of the body text so two different messages sharing a broken,
 * reused Message-ID stay apart.
 */
export interface HashInput {
  readonly messageId: string | null;
  readonly date: Date | null;
  readonly from: string | null;
  readonly to: ReadonlyArray<string>;
  readonly cc: ReadonlyArray<string>;
  readonly subject: string | null;
  readonly inReplyTo: string | null;
  /** Only used when there is no Message-ID. */
  readonly body?: string | null;
}

export function contentHash(input: HashInput): string {
  const h = createHash('sha256');
  const dateKey = input.date && !Number.isNaN(input.date.getTime()) ? String(Math.floor(input.date.getTime() / 1000)) : '';
  h.update(['v1', input.messageId ?? '', dateKey, input.from ?? '', [...input.to].sort().join(','), [...input.cc].sort().join(','), (input.subject ?? '').trim(), input.inReplyTo ?? ''].join('\u0000'));
  if (!input.messageId) h.update(`\u0000${(input.body ?? '').replace(/\s+/g, ' ').trim()}`);
  return h.digest('hex');
}
