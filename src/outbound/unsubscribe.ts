import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import type { UnsubscribeMethod } from '../db/tables/outbound.ts';
import { systemClock, type Clock } from '../shared/clock.ts';
import { tokenOutboxId, verifyUnsubscribeToken } from './unsubscribe-token.ts';

export interface TokenTarget {
  readonly outboxId: number;
  readonly address: string;
  readonly contactId: number | null;
  readonly campaignId: number | null;
}

/** The row a token names, when the token is genuine; null otherwise (nothing is written). */
export async function checkUnsubscribeToken(db: Db, key: Buffer, token: string): Promise<TokenTarget | null> {
  const id = tokenOutboxId(token);
  if (id === null) return null;
  const row = await db.kysely.selectFrom('outbox').select(['id', 'to_address', 'address_key', 'contact_id', 'campaign_id']).where('id', '=', id).executeTakeFirst();
  if (!row || !verifyUnsubscribeToken(key, token, row.address_key)) return null;
  return { outboxId: row.id, address: row.to_address, contactId: row.contact_id, campaignId: row.campaign_id };
}

/**
 * Records an unsubscribe (once per address and method is enough; repeats are
 * harmless) and puts the address on the suppression list, which every claim
 * checks. Returns null for a token that is not genuine.
 */
export async function unsubscribeByToken(db: Db, key: Buffer, token: string, method: UnsubscribeMethod, clock: Clock = systemClock, sourceMessageId: number | null = null): Promise<TokenTarget | null> {
  const target = await checkUnsubscribeToken(db, key, token);
  if (!target) return null;
  const now = clock.now();
  const addressKey = target.address.toLowerCase();
  await db.kysely.transaction().execute(async (trx) => {
    await trx.insertInto('unsubscribes').values({ address_key: addressKey, contact_id: target.contactId, outbox_id: target.outboxId, campaign_id: target.campaignId, method, source_message_id: sourceMessageId, created_at: now }).onConflict((oc) => oc.doNothing()).execute();
    await trx
      .insertInto('suppressions')
      .values({ address_key: addressKey, reason: `unsubscribed (${method}) from mail ${target.outboxId}`, source: 'unsubscribe', outbox_id: target.outboxId, created_at: now })
      .onConflict((oc) => oc.column('address_key').doNothing())
      .execute();
    await trx.insertInto('outbox_events').values({ outbox_id: target.outboxId, at: now, event: 'unsubscribed', detail: method }).execute();
  });
  return target;
}

const MAILTO_TOKEN = /\bunsubscribe\s+(v1\.[0-9a-z]{1,13}\.[A-Za-z0-9_-]{22})(?![A-Za-z0-9_-])/i;

/**
 * Unsubscribes asked by mail: the mailto: of List-Unsubscribe opens a mail
 * whose subject is "unsubscribe <token>" to the sending account (or
 * outbound.unsubscribeMailto). The mailbox sync brings it in; this reads the
 * new ones, and a genuine token unsubscribes like a one-click POST, once per message.
 */
export async function processMailtoUnsubscribes(db: Db, key: Buffer, clock: Clock = systemClock): Promise<{ read: number; unsubscribed: number }> {
  const rows = (
    await sql<{ id: number; subject: string | null; text_body: string | null }>`
      SELECT m.id, m.subject, m.text_body FROM messages m
       WHERE m.direction <> 'outbound' AND m.subject ILIKE '%unsubscribe v1.%'
         AND NOT EXISTS (SELECT 1 FROM unsubscribes u WHERE u.source_message_id = m.id)
       ORDER BY m.id LIMIT 1000`.execute(db.kysely)
  ).rows;
  let unsubscribed = 0;
  for (const r of rows) {
    const token = MAILTO_TOKEN.exec(r.subject ?? '')?.[1] ?? MAILTO_TOKEN.exec(r.text_body ?? '')?.[1];
    // A token that is not genuine changes nothing (it is looked at again next time: a few rows at most).
    if (token && (await unsubscribeByToken(db, key, token, 'mailto', clock, Number(r.id)))) unsubscribed += 1;
  }
  return { read: rows.length, unsubscribed };
}

/** w***@acme.com: enough for a person to recognise, not a full address for a link scanner. */
export function maskAddress(address: string): string {
  const [local = '', domain = ''] = address.split('@');
  return `${local.slice(0, 1)}***@${domain}`;
}
