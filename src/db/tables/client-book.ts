import type { ColumnType, Generated } from 'kysely';

/** A timestamptz column: read as Date, written as Date or ISO string. */
export type Timestamp = ColumnType<Date, Date | string, Date | string>;
/** A timestamptz column with a default. */
export type TimestampDefault = ColumnType<Date, Date | string | undefined, Date | string>;
/** A date column: read and written as 'YYYY-MM-DD'. */
export type DateOnly = string;
/** numeric columns are read as JS numbers (see the type parsers in database.ts). */
export type Numeric = ColumnType<number, number | string, number | string>;

export type Department = 'purchasing' | 'technical' | 'customs' | 'sales' | 'warehouse' | 'management' | 'other';
export type RelationshipLevel = 'acquaintance' | 'engaged' | 'partner' | 'ally';
export type ClientStatus = 'prospect' | 'active' | 'inactive' | 'lost';
export type Tier = 'key' | 'major' | 'normal' | 'small';
export type OrderStatus =
  | 'confirmed' | 'in_production' | 'shipped' | 'in_transit' | 'customs' | 'in_warehouse' | 'selling' | 'remaining_stock' | 'cancelled';
export type InquiryStatus = 'open' | 'quoted' | 'won' | 'lost';
export type TouchpointKind = 'call' | 'visit' | 'meeting' | 'fair' | 'gift' | 'email' | 'note';
export type ChannelKind = 'phone' | 'mobile' | 'fax' | 'wechat' | 'whatsapp' | 'skype' | 'telegram' | 'other';
export type PersonalEventKind = 'wedding' | 'new_child' | 'child_school' | 'illness' | 'bereavement' | 'promotion' | 'other';
export type EmailStatus = 'valid' | 'invalid' | 'unknown';

export interface OwnersTable {
  id: Generated<number>;
  name: string;
  email: string | null;
  email_key: ColumnType<string | null, never, never>;
  time_zone: string | null;
  created_at: TimestampDefault;
}

export interface ClientsTable {
  id: Generated<number>;
  name: string;
  name_key: string;
  country: string | null;
  region: string | null;
  time_zone: string | null;
  language: string | null;
  website: string | null;
  industry: string | null;
  nature: string | null;
  size: string | null;
  source: string | null;
  owner_id: number | null;
  tier_override: Tier | null;
  status: ColumnType<ClientStatus, ClientStatus | undefined, ClientStatus>;
  marked_old: ColumnType<boolean, boolean | undefined, boolean>;
  notes: string | null;
  referred_by_client_id: number | null;
  created_at: TimestampDefault;
  updated_at: TimestampDefault;
}

export interface ClientTagsTable { client_id: number; tag: string }
export interface ClientProductInterestsTable { client_id: number; product: string }

export interface ClientDomainsTable {
  domain: string;
  client_id: number;
  source: ColumnType<'manual' | 'import' | 'website' | 'contact' | 'link', 'manual' | 'import' | 'website' | 'contact' | 'link' | undefined>;
  created_at: TimestampDefault;
}

export interface ContactsTable {
  id: Generated<number>;
  client_id: number;
  name: string;
  title: string | null;
  department: ColumnType<Department, Department | undefined, Department>;
  role: string | null;
  relationship_level: ColumnType<RelationshipLevel, RelationshipLevel | undefined, RelationshipLevel>;
  language: string | null;
  time_zone: string | null;
  birthday: DateOnly | null;
  hobbies: string | null;
  notes: string | null;
  active: ColumnType<boolean, boolean | undefined, boolean>;
  weekly_note: ColumnType<boolean, boolean | undefined, boolean>;
  created_at: TimestampDefault;
  updated_at: TimestampDefault;
}

export interface ContactEmailsTable {
  id: Generated<number>;
  contact_id: number;
  address: string;
  address_key: ColumnType<string, never, never>;
  domain: ColumnType<string, never, never>;
  is_primary: ColumnType<boolean, boolean | undefined, boolean>;
  status: ColumnType<EmailStatus, EmailStatus | undefined, EmailStatus>;
  status_reason: string | null;
  created_at: TimestampDefault;
}

export interface ContactChannelsTable { id: Generated<number>; contact_id: number; kind: ChannelKind; value: string }

export interface PersonalEventsTable {
  id: Generated<number>;
  contact_id: number;
  kind: PersonalEventKind;
  occurred_on: DateOnly;
  recurring: ColumnType<boolean, boolean | undefined, boolean>;
  note: string | null;
  created_at: TimestampDefault;
}

export interface OrdersTable {
  id: Generated<number>;
  client_id: number;
  order_no: string;
  ordered_on: DateOnly;
  status: ColumnType<OrderStatus, OrderStatus | undefined, OrderStatus>;
  status_changed_at: TimestampDefault;
  amount: ColumnType<number, number | string | undefined, number | string>;
  currency: ColumnType<string, string | undefined, string>;
  inquiry_id: number | null;
  notes: string | null;
  created_at: TimestampDefault;
}

export interface OrderLinesTable {
  id: Generated<number>;
  order_id: number;
  product: string;
  category: string | null;
  quantity: ColumnType<number, number | string | undefined, number | string>;
  unit: string | null;
  unit_price: Numeric | null;
  amount: Numeric | null;
}

export interface InquiriesTable {
  id: Generated<number>;
  client_id: number;
  contact_id: number | null;
  ref: string | null;
  received_at: Timestamp;
  country: string | null;
  project: string | null;
  application: string | null;
  product: string | null;
  quantity: Numeric | null;
  unit: string | null;
  target_price: Numeric | null;
  currency: string | null;
  amount: Numeric | null;
  packing: string | null;
  delivery_requirement: string | null;
  progress: string | null;
  background: string | null;
  status: ColumnType<InquiryStatus, InquiryStatus | undefined, InquiryStatus>;
  order_id: number | null;
  created_at: TimestampDefault;
  updated_at: TimestampDefault;
}

export interface TouchpointsTable {
  id: Generated<number>;
  client_id: number;
  contact_id: number | null;
  owner_id: number | null;
  kind: TouchpointKind;
  occurred_at: Timestamp;
  summary: string | null;
  gift: string | null;
  reaction: string | null;
  created_at: TimestampDefault;
}

/** One row per client (migration 0003): the age and tier always, the other rules' reasons when they hold. */
export interface ClientSegmentsTable {
  client_id: number;
  age: 'old' | 'new' | 'prospect';
  age_reason: string;
  tier: 'key' | 'major' | 'normal' | 'small';
  tier_reason: string;
  dormant: string | null;
  order_anomaly: string | null;
  narrow: string | null;
  not_contacted: string | null;
  computed_at: TimestampDefault;
}

/** The view client_segment_rows: the same data as (client, segment name, reason) rows. */
export interface ClientSegmentRowsView {
  client_id: number;
  segment: string;
  reason: string;
  computed_at: Timestamp;
}

export interface ClientBookTables {
  owners: OwnersTable;
  clients: ClientsTable;
  client_tags: ClientTagsTable;
  client_product_interests: ClientProductInterestsTable;
  client_domains: ClientDomainsTable;
  contacts: ContactsTable;
  contact_emails: ContactEmailsTable;
  contact_channels: ContactChannelsTable;
  personal_events: PersonalEventsTable;
  orders: OrdersTable;
  order_lines: OrderLinesTable;
  inquiries: InquiriesTable;
  touchpoints: TouchpointsTable;
  client_segments: ClientSegmentsTable;
  client_segment_rows: ClientSegmentRowsView;
}
