import type { Kysely } from 'kysely';
import { runScript } from './sql-script.ts';

// The client book (DOMAIN.md section 1): owners, clients, contacts and their
// channels, personal dates, inquiries, orders with lines, touchpoints.
export async function up(db: Kysely<unknown>): Promise<void> {
  await runScript(db, `
CREATE TABLE owners (
  id bigserial PRIMARY KEY,
  name text NOT NULL,
  email text,
  email_key text GENERATED ALWAYS AS (lower(email)) STORED UNIQUE,
  time_zone text,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX owners_name_key ON owners (lower(name));

CREATE TABLE clients (
  id bigserial PRIMARY KEY,
  name text NOT NULL,
  name_key text NOT NULL UNIQUE,
  country char(2),
  region text,
  time_zone text,
  language text,
  website text,
  industry text,
  nature text,
  size text,
  source text,
  owner_id bigint REFERENCES owners(id) ON DELETE SET NULL,
  tier_override text CHECK (tier_override IN ('key','major','normal','small')),
  status text NOT NULL DEFAULT 'prospect' CHECK (status IN ('prospect','active','inactive','lost')),
  marked_old boolean NOT NULL DEFAULT false,
  notes text,
  referred_by_client_id bigint REFERENCES clients(id) ON DELETE SET NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX clients_owner_idx ON clients (owner_id);
CREATE INDEX clients_country_idx ON clients (country);

CREATE TABLE client_tags (
  client_id bigint NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
  tag text NOT NULL,
  PRIMARY KEY (client_id, tag)
);
CREATE INDEX client_tags_tag_idx ON client_tags (tag);

CREATE TABLE client_product_interests (
  client_id bigint NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
  product text NOT NULL,
  PRIMARY KEY (client_id, product)
);

-- A web/mail domain belongs to one client at most (freemail domains are never stored here).
CREATE TABLE client_domains (
  domain text PRIMARY KEY CHECK (domain = lower(domain)),
  client_id bigint NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
  source text NOT NULL DEFAULT 'manual' CHECK (source IN ('manual','import','website','contact','link')),
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX client_domains_client_idx ON client_domains (client_id);

CREATE TABLE contacts (
  id bigserial PRIMARY KEY,
  client_id bigint NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
  name text NOT NULL,
  title text,
  department text NOT NULL DEFAULT 'other' CHECK (department IN ('purchasing','technical','customs','sales','warehouse','management','other')),
  role text,
  relationship_level text NOT NULL DEFAULT 'acquaintance' CHECK (relationship_level IN ('acquaintance','engaged','partner','ally')),
  language text,
  time_zone text,
  birthday date,
  hobbies text,
  notes text,
  active boolean NOT NULL DEFAULT true,
  weekly_note boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX contacts_client_idx ON contacts (client_id);

-- An email address belongs to one contact.
CREATE TABLE contact_emails (
  id bigserial PRIMARY KEY,
  contact_id bigint NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
  address text NOT NULL,
  address_key text GENERATED ALWAYS AS (lower(address)) STORED UNIQUE,
  domain text GENERATED ALWAYS AS (lower(split_part(address, '@', 2))) STORED,
  is_primary boolean NOT NULL DEFAULT false,
  status text NOT NULL DEFAULT 'valid' CHECK (status IN ('valid','invalid','unknown')),
  status_reason text,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX contact_emails_contact_idx ON contact_emails (contact_id);
CREATE INDEX contact_emails_domain_idx ON contact_emails (domain);

CREATE TABLE contact_channels (
  id bigserial PRIMARY KEY,
  contact_id bigint NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
  kind text NOT NULL CHECK (kind IN ('phone','mobile','fax','wechat','whatsapp','skype','telegram','other')),
  value text NOT NULL,
  UNIQUE (contact_id, kind, value)
);

CREATE TABLE personal_events (
  id bigserial PRIMARY KEY,
  contact_id bigint NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
  kind text NOT NULL CHECK (kind IN ('wedding','new_child','child_school','illness','bereavement','promotion','other')),
  occurred_on date NOT NULL,
  recurring boolean NOT NULL DEFAULT false,
  note text,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX personal_events_contact_idx ON personal_events (contact_id);

CREATE TABLE orders (
  id bigserial PRIMARY KEY,
  client_id bigint NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
  order_no text NOT NULL,
  ordered_on date NOT NULL,
  status text NOT NULL DEFAULT 'confirmed' CHECK (status IN ('confirmed','in_production','shipped','in_transit','customs','in_warehouse','selling','remaining_stock','cancelled')),
  status_changed_at timestamptz NOT NULL DEFAULT now(),
  amount numeric(16,2) NOT NULL DEFAULT 0 CHECK (amount >= 0),
  currency char(3) NOT NULL DEFAULT 'USD',
  inquiry_id bigint,
  notes text,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (client_id, order_no)
);
CREATE INDEX orders_client_date_idx ON orders (client_id, ordered_on);
CREATE INDEX orders_date_idx ON orders (ordered_on);

CREATE TABLE order_lines (
  id bigserial PRIMARY KEY,
  order_id bigint NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
  product text NOT NULL,
  category text,
  quantity numeric(16,3) NOT NULL DEFAULT 0 CHECK (quantity >= 0),
  unit text,
  unit_price numeric(16,4),
  amount numeric(16,2)
);
CREATE INDEX order_lines_order_idx ON order_lines (order_id);

CREATE TABLE inquiries (
  id bigserial PRIMARY KEY,
  client_id bigint NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
  contact_id bigint REFERENCES contacts(id) ON DELETE SET NULL,
  ref text,
  received_at timestamptz NOT NULL,
  country char(2),
  project text,
  application text,
  product text,
  quantity numeric(16,3),
  unit text,
  target_price numeric(16,4),
  currency char(3),
  amount numeric(16,2),
  packing text,
  delivery_requirement text,
  progress text,
  background text,
  status text NOT NULL DEFAULT 'open' CHECK (status IN ('open','quoted','won','lost')),
  order_id bigint REFERENCES orders(id) ON DELETE SET NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (client_id, ref)
);
CREATE INDEX inquiries_client_idx ON inquiries (client_id, received_at);
CREATE INDEX inquiries_status_idx ON inquiries (status);
ALTER TABLE orders ADD CONSTRAINT orders_inquiry_fk FOREIGN KEY (inquiry_id) REFERENCES inquiries(id) ON DELETE SET NULL;

CREATE TABLE touchpoints (
  id bigserial PRIMARY KEY,
  client_id bigint NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
  contact_id bigint REFERENCES contacts(id) ON DELETE SET NULL,
  owner_id bigint REFERENCES owners(id) ON DELETE SET NULL,
  kind text NOT NULL CHECK (kind IN ('call','visit','meeting','fair','gift','email','note')),
  occurred_at timestamptz NOT NULL,
  summary text,
  gift text,
  reaction text,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX touchpoints_client_idx ON touchpoints (client_id, occurred_at);

-- Computed segments, refreshed by 'rapport segments' in one statement; audiences read it.
CREATE TABLE client_segments (
  client_id bigint NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
  segment text NOT NULL,
  reason text NOT NULL,
  computed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (client_id, segment)
);
CREATE INDEX client_segments_segment_idx ON client_segments (segment);
`);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await runScript(db, `
DROP TABLE client_segments;
DROP TABLE touchpoints;
ALTER TABLE orders DROP CONSTRAINT orders_inquiry_fk;
DROP TABLE inquiries;
DROP TABLE order_lines;
DROP TABLE orders;
DROP TABLE personal_events;
DROP TABLE contact_channels;
DROP TABLE contact_emails;
DROP TABLE contacts;
DROP TABLE client_domains;
DROP TABLE client_product_interests;
DROP TABLE client_tags;
DROP TABLE clients;
DROP TABLE owners;
`);
}
