import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

/**
 * Unsubscribe tokens: `v1.<outbox id, base36>.<HMAC-SHA256, 128 bits>`, the
 * HMAC over the row id and the recipient's address, with a key derived from
 * RAPPORT_SECRET_KEY. Guessing another person's token means forging an HMAC.
 */
export function unsubscribeKey(secret: string | Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', Buffer.from(secret), Buffer.alloc(0), 'rapport unsubscribe v1', 32));
}

function mac(key: Buffer, outboxId: number, addressKey: string): string {
  return createHmac('sha256', key).update(`unsubscribe:v1:${outboxId}:${addressKey.toLowerCase()}`).digest().subarray(0, 16).toString('base64url');
}

export function makeUnsubscribeToken(key: Buffer, outboxId: number, addressKey: string): string {
  return `v1.${outboxId.toString(36)}.${mac(key, outboxId, addressKey)}`;
}

/** The row id a token names, before checking it (the address comes from the row). */
export function tokenOutboxId(token: string): number | null {
  const m = /^v1\.([0-9a-z]{1,13})\.([A-Za-z0-9_-]{22})$/.exec(token);
  if (!m) return null;
  const id = parseInt(m[1]!, 36);
  return Number.isSafeInteger(id) && id > 0 ? id : null;
}

export function verifyUnsubscribeToken(key: Buffer, token: string, addressKey: string): boolean {
  const id = tokenOutboxId(token);
  if (id === null) return false;
  const given = Buffer.from(token.split('.')[2] ?? '');
  const want = Buffer.from(mac(key, id, addressKey));
  return given.length === want.length && timingSafeEqual(given, want);
}
