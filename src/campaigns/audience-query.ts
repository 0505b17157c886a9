import { sql, type RawBuilder } from 'kysely';
import type { Db } from '../db/database.ts';
import type { AudienceFilter } from './audience-schema.ts';

/** One member of an audience: a contact of a client, with what the planner needs. */
export interface AudienceMember {
  client_id: number;
  contact_id: number;
  contact_name: string;
  contact_title: string | null;
  contact_language: string | null;
  contact_zone: string | null;
  birthday: string | null;
  department: string;
  client_name: string;
  country: string | null;
  region: string | null;
  client_zone: string | null;
  client_language: string | null;
  owner_id: number | null;
  address: string | null;
}


/**
 * The audience as one SQL query over the client book (no ORDER BY: callers add
 * `ORDER BY client_id, contact_id` for a deterministic order). `asOf` is the
 * date 'ordered product X in the last N months' counts back from.
 * Members: active contacts; address = the primary valid email, else the oldest valid one (null when none).
 */
export function audienceQuery(filter: AudienceFilter, asOf: string): RawBuilder<AudienceMember> {
  const w: RawBuilder<unknown>[] = [sql`k.active`];
  if (filter.clientIds) w.push(sql`c.id = ANY(${sql.val(filter.clientIds)}::bigint[])`);
  if (filter.statuses) w.push(sql`c.status = ANY(${sql.val(filter.statuses)}::text[])`);
  if (filter.tiers) {
    w.push(sql`(c.tier_override = ANY(${sql.val(filter.tiers)}::text[]) OR (c.tier_override IS NULL AND EXISTS (SELECT 1 FROM client_segments s WHERE s.client_id = c.id AND s.tier = ANY(${sql.val([...filter.tiers])}::text[]))))`);
  }
  if (filter.age) {
    const old = sql`(c.marked_old OR EXISTS (SELECT 1 FROM client_segments s WHERE s.client_id = c.id AND s.age = 'old'))`;
    w.push(filter.age === 'old' ? old : sql`NOT ${old}`);
  }
  if (filter.dormant !== undefined) {
    const d = sql`EXISTS (SELECT 1 FROM client_segments s WHERE s.client_id = c.id AND s.dormant IS NOT NULL)`;
    w.push(filter.dormant ? d : sql`NOT ${d}`);
  }
  if (filter.segments) w.push(sql`EXISTS (SELECT 1 FROM client_segment_rows s WHERE s.client_id = c.id AND s.segment = ANY(${sql.val(filter.segments)}::text[]))`);
  if (filter.relationshipLevels) w.push(sql`k.relationship_level = ANY(${sql.val(filter.relationshipLevels)}::text[])`);
  if (filter.countries) w.push(sql`c.country = ANY(${sql.val(filter.countries)}::text[])`);
  if (filter.regions) w.push(sql`lower(c.region) = ANY(${sql.val(filter.regions.map((r) => r.toLowerCase()))}::text[])`);
  if (filter.languages) {
    const langs = filter.languages.map((l) => l.toLowerCase());
    w.push(sql`(lower(coalesce(k.language, c.language, '')) = ANY(${sql.val(langs)}::text[]) OR split_part(lower(coalesce(k.language, c.language, '')), '-', 1) = ANY(${sql.val(langs)}::text[]))`);
  }
  if (filter.tags) w.push(sql`EXISTS (SELECT 1 FROM client_tags t WHERE t.client_id = c.id AND lower(t.tag) = ANY(${sql.val(filter.tags.map((t) => t.toLowerCase()))}::text[]))`);
  if (filter.productInterests) w.push(sql`EXISTS (SELECT 1 FROM client_product_interests p WHERE p.client_id = c.id AND lower(p.product) = ANY(${sql.val(filter.productInterests.map((t) => t.toLowerCase()))}::text[]))`);
  if (filter.owners) {
    const keys = filter.owners.map((o) => o.toLowerCase());
    w.push(sql`EXISTS (SELECT 1 FROM owners o WHERE o.id = c.owner_id AND (lower(o.name) = ANY(${sql.val(keys)}::text[]) OR o.email_key = ANY(${sql.val(keys)}::text[])))`);
  }
  if (filter.hasOpenInquiry !== undefined) {
    const q = sql`EXISTS (SELECT 1 FROM inquiries i WHERE i.client_id = c.id AND i.status IN ('open','quoted'))`;
    w.push(filter.hasOpenInquiry ? q : sql`NOT ${q}`);
  }
  if (filter.orderedProduct) {
    const p = filter.orderedProduct.product.toLowerCase();
    w.push(sql`EXISTS (SELECT 1 FROM orders o JOIN order_lines l ON l.order_id = o.id WHERE o.client_id = c.id AND o.status <> 'cancelled'
      AND o.ordered_on > (${asOf}::date - make_interval(months => ${filter.orderedProduct.withinMonths}))::date
      AND (lower(l.product) = ${p} OR lower(coalesce(l.category, '')) = ${p}))`);
  }
  if (filter.departments) w.push(sql`k.department = ANY(${sql.val(filter.departments)}::text[])`);
  const where = sql.join(w, sql` AND `);
  const base = sql`SELECT c.id AS client_id, k.id AS contact_id, k.name AS contact_name, k.title AS contact_title, k.language AS contact_language,
      k.time_zone AS contact_zone, k.birthday, k.department, c.name AS client_name, c.country::text AS country, c.region, c.time_zone AS client_zone,
      c.language AS client_language, c.owner_id,
      (SELECT e.address FROM contact_emails e WHERE e.contact_id = k.id AND e.status <> 'invalid' ORDER BY e.is_primary DESC, (e.status = 'valid') DESC, e.id LIMIT 1) AS address
    FROM contacts k JOIN clients c ON c.id = k.client_id
    WHERE ${where}`;
  if (!filter.onePerClient) return base as RawBuilder<AudienceMember>;
  return sql<AudienceMember>`SELECT DISTINCT ON (client_id) * FROM (${base}) m
    ORDER BY client_id, (address IS NULL), CASE department WHEN 'management' THEN 0 WHEN 'purchasing' THEN 1 ELSE 2 END, contact_id`;
}

export interface AudiencePreview {
  readonly count: number;
  readonly withAddress: number;
  readonly first: readonly AudienceMember[];
}

/** Count and first rows, in a deterministic order (client id, contact id). */
export async function previewAudience(db: Db, filter: AudienceFilter, asOf: string, limit = 20): Promise<AudiencePreview> {
  const q = audienceQuery(filter, asOf);
  const counts = await sql<{ n: number; a: number }>`SELECT count(*)::int AS n, count(address)::int AS a FROM (${q}) m`.execute(db.kysely);
  const rows = await sql<AudienceMember>`SELECT * FROM (${q}) m ORDER BY client_id, contact_id LIMIT ${limit}`.execute(db.kysely);
  return { count: counts.rows[0]?.n ?? 0, withAddress: counts.rows[0]?.a ?? 0, first: rows.rows };
}

/** Every member, in order (client id, contact id). */
export async function audienceMembers(db: Db, filter: AudienceFilter, asOf: string): Promise<AudienceMember[]> {
  const res = await sql<AudienceMember>`SELECT * FROM (${audienceQuery(filter, asOf)}) m ORDER BY client_id, contact_id`.execute(db.kysely);
  return res.rows;
}
