import { randomBytes } from 'node:crypto';

/**
 * A Message-ID (without the angle brackets), assigned when the row is
 * inserted so that it is known before any SMTP transaction: it is how an
 * uncertain send is found in the Sent folder and how a bounce finds its row.
 */
export function makeMessageId(fromAddress: string | null | undefined, at: Date = new Date()): string {
  const domain = (fromAddress?.split('@')[1] ?? '').toLowerCase().replace(/[^a-z0-9.-]/g, '') || 'rapport.invalid';
  return `rapport.${at.getTime().toString(36)}.${randomBytes(9).toString('base64url')}@${domain}`;
}

/** Strips angle brackets and whitespace from a Message-ID header value. */
export function bareMessageId(value: string): string {
  return value.trim().replace(/^<+/, '').replace(/>+$/, '').trim();
}
