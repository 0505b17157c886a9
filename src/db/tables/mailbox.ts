// Table types for the mailbox domain. Owned by that domain; migration db/migrations/0100_mailbox.ts.
import type { ColumnType, Generated, JSONColumnType } from 'kysely';
import type { Timestamp, TimestampDefault } from './client-book.ts';

export type TlsMode = 'tls' | 'starttls' | 'none';
export type AuthKind = 'password' | 'oauth2';
export type FolderRole = 'inbox' | 'sent' | 'other';
export type Direction = 'inbound' | 'outbound' | 'internal';
export type LinkReason = 'contact address' | 'client domain' | 'manual';
export type BodyState = 'headers' | 'full';
export type SuggestedContactStatus = 'new' | 'accepted' | 'dismissed';

type TextArray = ColumnType<string[], string[] | undefined, string[]>;
type WithDefault<T> = ColumnType<T, T | undefined, T>;

export interface AttachmentMeta {
  readonly filename: string | null;
  readonly contentType: string;
  readonly size: number;
  readonly contentId: string | null;
}

export interface MailAccountsTable {
  id: Generated<number>;
  name: string;
  /** Our address, as typed. */
  email: string;
  /** Aliases that are also "us". */
  extra_addresses: TextArray;
  imap_host: string | null;
  imap_port: number | null;
  imap_tls: WithDefault<TlsMode>;
  imap_user: string | null;
  smtp_host: string | null;
  smtp_port: number | null;
  smtp_tls: WithDefault<TlsMode>;
  smtp_user: string | null;
  auth_kind: WithDefault<AuthKind>;
  /** AES-256-GCM with RAPPORT_SECRET_KEY (see src/mailbox/secret-box.ts). Never printed. */
  secret_enc: string | null;
  /** The provider stores sent mail itself (Gmail): do not append to Sent. */
  saves_sent: WithDefault<boolean>;
  owner_id: number | null;
  /** Extra folders to sync beyond INBOX and Sent. */
  sync_folders: TextArray;
  enabled: WithDefault<boolean>;
  created_at: TimestampDefault;
  /** The last sync run that logged in (migration 0102). */
  last_sync_at: Timestamp | null;
  /** An account-level fault (connect, TLS, login) of the last run, never the secret. */
  last_error: string | null;
  last_error_at: Timestamp | null;
}

export interface MailFoldersTable {
  id: Generated<number>;
  account_id: number;
  path: string;
  role: WithDefault<FolderRole>;
  uid_validity: number | null;
  uid_next: number | null;
  highest_modseq: number | null;
  last_success_at: Timestamp | null;
  last_error: string | null;
  last_error_at: Timestamp | null;
  last_sweep_at: Timestamp | null;
  /** Placements we hold for this folder. */
  message_count: WithDefault<number>;
  /** What the server said at the last sync (EXISTS). */
  server_count: number | null;
  created_at: TimestampDefault;
}

export interface ThreadsTable {
  id: Generated<number>;
  subject: WithDefault<string>;
  normalized_subject: WithDefault<string>;
  client_id: number | null;
  contact_id: number | null;
  link_reason: LinkReason | null;
  link_confidence: number | null;
  /** A marketplace relay the thread came through (e.g. 'alibaba'), when any. */
  relay: string | null;
  /** Lower-case addresses of everyone in the thread. */
  participants: TextArray;
  first_message_at: Timestamp | null;
  last_message_at: Timestamp | null;
  message_count: WithDefault<number>;
  gm_thrid: string | null;
  /** Set when a late parent merged this thread into another (migration 0101); the row stays for references. */
  merged_into: number | null;
  created_at: TimestampDefault;
  updated_at: TimestampDefault;
}

export interface MessagesTable {
  id: Generated<number>;
  /** The Message-ID header without <>; a synthetic one (`synthetic.<hash>@rapport.invalid`) when absent. */
  message_id: string;
  content_hash: string;
  thread_id: number | null;
  direction: WithDefault<Direction>;
  account_id: number | null;
  from_address: string | null;
  from_name: string | null;
  to_addresses: TextArray;
  cc_addresses: TextArray;
  bcc_addresses: TextArray;
  reply_to: TextArray;
  subject: string | null;
  sent_at: Timestamp | null;
  internal_date: Timestamp | null;
  in_reply_to: string | null;
  references: TextArray;
  /** Lower-case header names -> value (string) for the headers that matter. */
  headers: JSONColumnType<Record<string, string>, string | undefined, string>;
  text_body: string | null;
  html_body: string | null;
  newest_part: string | null;
  attachments: JSONColumnType<AttachmentMeta[], string | undefined, string>;
  size: number | null;
  relay: string | null;
  gm_msgid: string | null;
  body_state: WithDefault<BodyState>;
  parse_error: string | null;
  raw: Buffer | null;
  created_at: TimestampDefault;
}

export interface MessagePlacementsTable {
  message_id: number;
  folder_id: number;
  uid: number;
  flags: TextArray;
  modseq: number | null;
  created_at: TimestampDefault;
}

export interface ThreadRefsTable {
  /** A Message-ID (without <>). */
  ref: string;
  thread_id: number;
  /** True while no stored message carries this Message-ID. */
  placeholder: WithDefault<boolean>;
  created_at: TimestampDefault;
}

export interface SuggestedContactsTable {
  id: Generated<number>;
  address: string;
  name: string | null;
  client_id: number;
  domain: string;
  thread_id: number | null;
  message_count: WithDefault<number>;
  first_seen_at: TimestampDefault;
  last_seen_at: TimestampDefault;
  status: WithDefault<SuggestedContactStatus>;
}

export interface MailboxTables {
  mail_accounts: MailAccountsTable;
  mail_folders: MailFoldersTable;
  threads: ThreadsTable;
  messages: MessagesTable;
  message_placements: MessagePlacementsTable;
  thread_refs: ThreadRefsTable;
  suggested_contacts: SuggestedContactsTable;
}
