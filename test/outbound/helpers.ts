import { sql } from 'kysely';
import type { Db } from '../../src/db/database.ts';

export interface TestAccount {
  readonly id: number;
  readonly email: string;
}

/**
 * Inserts a mail account (the mailbox domain's table, by its contract's
 * columns). Until the mailbox migration exists, a minimal stand-in table is
 * created in the test's schema.
 */
export async function addTestAccount(
  db: Db,
  options: { name?: string; email?: string; smtpPort?: number; savesSent?: boolean; imapPort?: number } = {},
): Promise<TestAccount> {
  const exists = await sql<{ t: string | null }>`SELECT to_regclass('mail_accounts')::text AS t`.execute(db.kysely);
  if (!exists.rows[0]?.t) {
    await sql`CREATE TABLE mail_accounts (
      id bigserial PRIMARY KEY, name text UNIQUE NOT NULL, email text NOT NULL, extra_addresses text[] NOT NULL DEFAULT '{}',
      imap_host text, imap_port int, imap_tls text, imap_user text, smtp_host text, smtp_port int, smtp_tls text, smtp_user text,
      auth_kind text NOT NULL DEFAULT 'password', secret_enc text, saves_sent boolean NOT NULL DEFAULT false, owner_id bigint,
      created_at timestamptz NOT NULL DEFAULT now())`.execute(db.kysely);
  }
  const name = options.name ?? `acct${Math.random().toString(36).slice(2, 8)}`;
  const email = options.email ?? `${name}@sender.test`;
  const res = await sql<{ id: number }>`INSERT INTO mail_accounts
      (name, email, extra_addresses, imap_host, imap_port, imap_tls, imap_user, smtp_host, smtp_port, smtp_tls, smtp_user, auth_kind, secret_enc, saves_sent)
      VALUES (${name}, ${email}, '{}', '127.0.0.1', ${options.imapPort ?? 143}, 'none', ${name}, '127.0.0.1', ${options.smtpPort ?? 25}, 'none', ${name}, 'password', NULL, ${options.savesSent ?? false})
      RETURNING id`.execute(db.kysely);
  return { id: Number(res.rows[0]!.id), email };
}
