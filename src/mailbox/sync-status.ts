import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import type { Clock } from '../shared/clock.ts';
import { BODY_PENDING_SQL } from './store-messages.ts';

export interface FolderStatus {
  readonly account: string;
  readonly folder: string;
  readonly role: string;
  readonly messages: number;
  readonly serverCount: number | null;
  readonly lastSuccessAt: Date | null;
  /** Seconds since the last success, null when never. */
  readonly lagSeconds: number | null;
  readonly lastError: string | null;
  readonly lastErrorAt: Date | null;
}

export interface AccountStatus {
  readonly account: string;
  /** The last run that logged in. */
  readonly lastSyncAt: Date | null;
  /** An account-level fault of the last run (connect, TLS, login), null once a run logs in. */
  readonly lastError: string | null;
  readonly lastErrorAt: Date | null;
  readonly folders: number;
}

export interface SyncStatus {
  readonly accounts: AccountStatus[];
  readonly folders: FolderStatus[];
  /** Messages stored raw because they could not be parsed (newest first, at most 50). */
  readonly parseErrors: Array<{ id: number; messageId: string; subject: string | null; error: string; at: Date }>;
  readonly parseErrorCount: number;
  /** Messages stored by the header pass whose bodies the body pass has not filled yet (threaded and linked already). */
  readonly bodiesWaiting: number;
}

export async function syncStatus(db: Db, clock: Clock): Promise<SyncStatus> {
  const rows = await db.kysely
    .selectFrom('mail_folders')
    .innerJoin('mail_accounts', 'mail_accounts.id', 'mail_folders.account_id')
    .select(['mail_accounts.name as account', 'mail_folders.path', 'mail_folders.role', 'mail_folders.message_count', 'mail_folders.server_count', 'mail_folders.last_success_at', 'mail_folders.last_error', 'mail_folders.last_error_at'])
    .orderBy('mail_accounts.name')
    .orderBy('mail_folders.id')
    .execute();
  const accounts = await db.kysely
    .selectFrom('mail_accounts')
    .select(['name', 'last_sync_at', 'last_error', 'last_error_at'])
    .where('imap_host', 'is not', null)
    .orderBy('name')
    .execute();
  const now = clock.now().getTime();
  const errors = await db.kysely
    .selectFrom('messages')
    .select(['id', 'message_id', 'subject', 'parse_error', 'created_at'])
    .where('parse_error', 'is not', null)
    .orderBy('id', 'desc')
    .limit(50)
    .execute();
  const count = await db.kysely.selectFrom('messages').select(sql<number>`count(*)::int`.as('n')).where('parse_error', 'is not', null).executeTakeFirstOrThrow();
  const waiting = await sql<{ n: number }>`SELECT count(*)::int AS n FROM messages WHERE ${sql.raw(BODY_PENDING_SQL)}`.execute(db.kysely);
  return {
    accounts: accounts.map((a) => ({ account: a.name, lastSyncAt: a.last_sync_at, lastError: a.last_error, lastErrorAt: a.last_error_at, folders: rows.filter((r) => r.account === a.name).length })),
    folders: rows.map((r) => ({
      account: r.account,
      folder: r.path,
      role: r.role,
      messages: r.message_count,
      serverCount: r.server_count,
      lastSuccessAt: r.last_success_at,
      lagSeconds: r.last_success_at ? Math.max(0, Math.round((now - r.last_success_at.getTime()) / 1000)) : null,
      lastError: r.last_error && (!r.last_success_at || !r.last_error_at || r.last_error_at >= r.last_success_at) ? r.last_error : null,
      lastErrorAt: r.last_error_at,
    })),
    parseErrors: errors.map((e) => ({ id: e.id, messageId: e.message_id, subject: e.subject, error: e.parse_error ?? '', at: e.created_at })),
    parseErrorCount: count.n,
    bodiesWaiting: waiting.rows[0]?.n ?? 0,
  };
}
