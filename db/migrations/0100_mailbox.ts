import type { Kysely } from 'kysely';
import { runScript } from './sql-script.ts';

// The mailbox (issue 3): accounts, folders with their sync cursors, messages
// (one row per message, deduplicated) with a placement per folder copy,
// threads linked to clients, the reference graph used for threading, and
// addresses seen on a client's domain that are not contacts yet.
export async function up(db: Kysely<unknown>): Promise<void> {
  await runScript(db, `
CREATE TABLE mail_accounts (
  id bigserial PRIMARY KEY,
  name text NOT NULL UNIQUE,
  email text NOT NULL,
  extra_addresses text[] NOT NULL DEFAULT '{}',
  imap_host text,
  imap_port int,
  imap_tls text NOT NULL DEFAULT 'tls' CHECK (imap_tls IN ('tls','starttls','none')),
  imap_user text,
  smtp_host text,
  smtp_port int,
  smtp_tls text NOT NULL DEFAULT 'tls' CHECK (smtp_tls IN ('tls','starttls','none')),
  smtp_user text,
  auth_kind text NOT NULL DEFAULT 'password' CHECK (auth_kind IN ('password','oauth2')),
  secret_enc text,
  saves_sent boolean NOT NULL DEFAULT false,
  owner_id bigint REFERENCES owners(id) ON DELETE SET NULL,
  sync_folders text[] NOT NULL DEFAULT '{}',
  enabled boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE mail_folders (
  id bigserial PRIMARY KEY,
  account_id bigint NOT NULL REFERENCES mail_accounts(id) ON DELETE CASCADE,
  path text NOT NULL,
  role text NOT NULL DEFAULT 'other' CHECK (role IN ('inbox','sent','other')),
  uid_validity bigint,
  uid_next bigint,
  highest_modseq bigint,
  last_success_at timestamptz,
  last_error text,
  last_error_at timestamptz,
  last_sweep_at timestamptz,
  message_count int NOT NULL DEFAULT 0,
  server_count int,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (account_id, path)
);

CREATE TABLE threads (
  id bigserial PRIMARY KEY,
  subject text NOT NULL DEFAULT '',
  normalized_subject text NOT NULL DEFAULT '',
  client_id bigint REFERENCES clients(id) ON DELETE SET NULL,
  contact_id bigint REFERENCES contacts(id) ON DELETE SET NULL,
  link_reason text CHECK (link_reason IN ('contact address','client domain','manual')),
  link_confidence real,
  relay text,
  participants text[] NOT NULL DEFAULT '{}',
  first_message_at timestamptz,
  last_message_at timestamptz,
  message_count int NOT NULL DEFAULT 0,
  gm_thrid text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX threads_client_idx ON threads (client_id, last_message_at);
CREATE INDEX threads_subject_idx ON threads (normalized_subject, last_message_at);
CREATE INDEX threads_last_idx ON threads (last_message_at);
CREATE INDEX threads_gm_thrid_idx ON threads (gm_thrid);

CREATE TABLE messages (
  id bigserial PRIMARY KEY,
  message_id text NOT NULL,
  content_hash text NOT NULL,
  thread_id bigint REFERENCES threads(id) ON DELETE SET NULL,
  direction text NOT NULL DEFAULT 'inbound' CHECK (direction IN ('inbound','outbound','internal')),
  account_id bigint REFERENCES mail_accounts(id) ON DELETE SET NULL,
  from_address text,
  from_name text,
  to_addresses text[] NOT NULL DEFAULT '{}',
  cc_addresses text[] NOT NULL DEFAULT '{}',
  bcc_addresses text[] NOT NULL DEFAULT '{}',
  reply_to text[] NOT NULL DEFAULT '{}',
  subject text,
  sent_at timestamptz,
  internal_date timestamptz,
  in_reply_to text,
  "references" text[] NOT NULL DEFAULT '{}',
  headers jsonb NOT NULL DEFAULT '{}',
  text_body text,
  html_body text,
  newest_part text,
  attachments jsonb NOT NULL DEFAULT '[]',
  size int,
  relay text,
  gm_msgid text,
  body_state text NOT NULL DEFAULT 'full' CHECK (body_state IN ('headers','full')),
  parse_error text,
  raw bytea,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (message_id, content_hash)
);
CREATE INDEX messages_thread_idx ON messages (thread_id, sent_at);
CREATE INDEX messages_from_idx ON messages (from_address);
CREATE INDEX messages_sent_idx ON messages (sent_at);
CREATE INDEX messages_parse_error_idx ON messages (id) WHERE parse_error IS NOT NULL;

CREATE TABLE message_placements (
  message_id bigint NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
  folder_id bigint NOT NULL REFERENCES mail_folders(id) ON DELETE CASCADE,
  uid bigint NOT NULL,
  flags text[] NOT NULL DEFAULT '{}',
  modseq bigint,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (folder_id, uid)
);
CREATE INDEX message_placements_message_idx ON message_placements (message_id);

-- The reference graph (JWZ containers): every Message-ID seen, stored or only
-- referenced (a placeholder), and the thread it belongs to. A late parent
-- finds its placeholder and joins (or merges) the thread.
CREATE TABLE thread_refs (
  ref text PRIMARY KEY,
  thread_id bigint NOT NULL REFERENCES threads(id) ON DELETE CASCADE,
  placeholder boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX thread_refs_thread_idx ON thread_refs (thread_id);

-- Addresses seen on a client's domain that are not contacts yet.
CREATE TABLE suggested_contacts (
  id bigserial PRIMARY KEY,
  address text NOT NULL UNIQUE CHECK (address = lower(address)),
  name text,
  client_id bigint NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
  domain text NOT NULL,
  thread_id bigint REFERENCES threads(id) ON DELETE SET NULL,
  message_count int NOT NULL DEFAULT 1,
  first_seen_at timestamptz NOT NULL DEFAULT now(),
  last_seen_at timestamptz NOT NULL DEFAULT now(),
  status text NOT NULL DEFAULT 'new' CHECK (status IN ('new','accepted','dismissed'))
);
CREATE INDEX suggested_contacts_client_idx ON suggested_contacts (client_id);
`);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await runScript(db, `
DROP TABLE suggested_contacts;
DROP TABLE thread_refs;
DROP TABLE message_placements;
DROP TABLE messages;
DROP TABLE threads;
DROP TABLE mail_folders;
DROP TABLE mail_accounts;
`);
}
