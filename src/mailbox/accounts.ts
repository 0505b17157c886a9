import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { Config } from '../config/config.ts';
import type { Db } from '../db/database.ts';
import type { Database } from '../db/schema.ts';
import type { AuthKind, TlsMode } from '../db/tables/mailbox.ts';
import { AppError } from '../shared/app-error.ts';
import { normalizeAddress } from './address.ts';
import { decryptSecret, encryptSecret } from './secret-box.ts';

export interface AccountInput {
  readonly name: string;
  readonly email: string;
  readonly extraAddresses?: ReadonlyArray<string>;
  readonly imapHost?: string | null;
  readonly imapPort?: number | null;
  readonly imapTls?: TlsMode;
  readonly imapUser?: string | null;
  readonly smtpHost?: string | null;
  readonly smtpPort?: number | null;
  readonly smtpTls?: TlsMode;
  readonly smtpUser?: string | null;
  readonly authKind?: AuthKind;
  /** Password or OAuth2 access token; encrypted before it is stored. */
  readonly secret?: string | null;
  readonly savesSent?: boolean;
  readonly syncFolders?: ReadonlyArray<string>;
  readonly ownerId?: number | null;
}

/** What an account shows: everything but the secret (only whether one is stored). */
export interface AccountView {
  readonly id: number;
  readonly name: string;
  readonly email: string;
  readonly extraAddresses: string[];
  readonly imap: string | null;
  readonly imapUser: string | null;
  readonly smtp: string | null;
  readonly authKind: AuthKind;
  readonly hasSecret: boolean;
  readonly savesSent: boolean;
  readonly syncFolders: string[];
  readonly enabled: boolean;
}

const inputSchema = z.object({
  name: z.string().trim().min(1).max(100).regex(/^[^\s]+$/, 'no spaces'),
  email: z.string().trim().min(3),
  imapPort: z.number().int().min(1).max(65535).nullable().optional(),
  smtpPort: z.number().int().min(1).max(65535).nullable().optional(),
  imapTls: z.enum(['tls', 'starttls', 'none']).optional(),
  smtpTls: z.enum(['tls', 'starttls', 'none']).optional(),
  authKind: z.enum(['password', 'oauth2']).optional(),
});

export async function addAccount(db: Db, config: Pick<Config, 'secretKey'>, input: AccountInput): Promise<AccountView> {
  const parsed = inputSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AppError('INPUT_INVALID', `account ${input.name || '(no name)'}: ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`);
  }
  const email = normalizeAddress(input.email);
  if (!email) throw new AppError('INPUT_INVALID', `account ${input.name}: email "${input.email}" is not an address`);
  const extra = (input.extraAddresses ?? []).map((a) => {
    const n = a.startsWith('@') ? a.toLowerCase() : normalizeAddress(a);
    if (!n) throw new AppError('INPUT_INVALID', `account ${input.name}: alias "${a}" is not an address (or @domain)`);
    return n;
  });
  const secretEnc = input.secret ? encryptSecret(input.secret, config.secretKey) : null;
  const exists = await db.kysely.selectFrom('mail_accounts').select('id').where('name', '=', input.name).executeTakeFirst();
  if (exists) throw new AppError('CONFLICT', `account ${input.name}: already exists (remove it first)`);
  const row = await db.kysely
    .insertInto('mail_accounts')
    .values({
      name: input.name,
      email,
      extra_addresses: extra,
      imap_host: input.imapHost ?? null,
      imap_port: input.imapPort ?? (input.imapHost ? (input.imapTls === 'tls' || input.imapTls === undefined ? 993 : 143) : null),
      imap_tls: input.imapTls ?? 'tls',
      imap_user: input.imapUser ?? (input.imapHost ? email : null),
      smtp_host: input.smtpHost ?? null,
      smtp_port: input.smtpPort ?? (input.smtpHost ? (input.smtpTls === 'tls' || input.smtpTls === undefined ? 465 : 587) : null),
      smtp_tls: input.smtpTls ?? 'tls',
      smtp_user: input.smtpUser ?? (input.smtpHost ? email : null),
      auth_kind: input.authKind ?? 'password',
      secret_enc: secretEnc,
      saves_sent: input.savesSent ?? false,
      sync_folders: [...(input.syncFolders ?? [])],
      owner_id: input.ownerId ?? null,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return getAccount(db, row.id);
}

export async function findAccount(db: Db, nameOrId: string | number): Promise<number> {
  const q = db.kysely.selectFrom('mail_accounts').select('id');
  const row = await (typeof nameOrId === 'number' || /^\d+$/.test(nameOrId) ? q.where('id', '=', Number(nameOrId)) : q.where('name', '=', nameOrId)).executeTakeFirst();
  if (!row) throw new AppError('NOT_FOUND', `account ${nameOrId}: no such account`);
  return row.id;
}

export async function getAccount(db: Db, id: number): Promise<AccountView> {
  const list = await listAccounts(db, id);
  const a = list[0];
  if (!a) throw new AppError('NOT_FOUND', `account ${id}: no such account`);
  return a;
}

export async function listAccounts(db: Db, onlyId?: number): Promise<AccountView[]> {
  let q = db.kysely.selectFrom('mail_accounts').selectAll().orderBy('id');
  if (onlyId !== undefined) q = q.where('id', '=', onlyId);
  const rows = await q.execute();
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    email: r.email,
    extraAddresses: r.extra_addresses,
    imap: r.imap_host ? `${r.imap_host}:${r.imap_port ?? ''} (${r.imap_tls})` : null,
    imapUser: r.imap_user,
    smtp: r.smtp_host ? `${r.smtp_host}:${r.smtp_port ?? ''} (${r.smtp_tls})` : null,
    authKind: r.auth_kind,
    hasSecret: r.secret_enc !== null,
    savesSent: r.saves_sent,
    syncFolders: r.sync_folders,
    enabled: r.enabled,
  }));
}

/** A disabled account is not synced (unless named) and no campaign sends from it; its mail and history stay. */
export async function setAccountEnabled(db: Db, nameOrId: string | number, enabled: boolean): Promise<void> {
  const id = await findAccount(db, nameOrId);
  await db.kysely.updateTable('mail_accounts').set({ enabled }).where('id', '=', id).execute();
}

/**
 * Removes an account (its messages stay). `check` runs first in the same transaction, with the account row
 * locked (what refers to the account waits meanwhile); it throws to refuse.
 */
export async function removeAccount(db: Db, nameOrId: string | number, check?: (trx: Kysely<Database>, id: number) => Promise<void>): Promise<void> {
  const id = await findAccount(db, nameOrId);
  await db.kysely.transaction().execute(async (trx) => {
    await trx.selectFrom('mail_accounts').select('id').where('id', '=', id).forUpdate().execute();
    await check?.(trx, id);
    await trx.deleteFrom('mail_accounts').where('id', '=', id).execute();
  });
}

export interface AccountCredentials {
  readonly user: string;
  readonly pass?: string;
  readonly accessToken?: string;
}

/** Decrypts an account's secret for a connection. Never log the result. */
export async function getAccountCredentials(db: Db, config: Pick<Config, 'secretKey'>, accountId: number, which: 'imap' | 'smtp' = 'imap'): Promise<AccountCredentials> {
  const row = await db.kysely.selectFrom('mail_accounts').select(['name', 'email', 'imap_user', 'smtp_user', 'auth_kind', 'secret_enc']).where('id', '=', accountId).executeTakeFirst();
  if (!row) throw new AppError('NOT_FOUND', `account ${accountId}: no such account`);
  const user = (which === 'smtp' ? row.smtp_user : row.imap_user) ?? row.email;
  if (!row.secret_enc) return { user };
  const secret = decryptSecret(row.secret_enc, config.secretKey);
  return row.auth_kind === 'oauth2' ? { user, accessToken: secret } : { user, pass: secret };
}
