import type { Kysely } from 'kysely';
import { runScript } from './sql-script.ts';

// One row per client instead of one per (client, segment): `rapport segments` rewrites the table whole,
// and writing ~5.5 rows and index entries a client was a third of a refresh over 100,000 clients.
// Each rule has its column: the age (old/new/prospect) and value tier always hold a value; the other
// rules hold their reason when the client is in the segment, else NULL. Readers that want
// (client, segment, reason) rows use the view client_segment_rows. The statement trigger of 0002
// still removes a deleted client's row.
export async function up(db: Kysely<unknown>): Promise<void> {
  await runScript(db, `
CREATE TABLE client_segments_wide (
  client_id bigint PRIMARY KEY,
  age text NOT NULL CHECK (age IN ('old', 'new', 'prospect')),
  age_reason text NOT NULL,
  tier text NOT NULL CHECK (tier IN ('key', 'major', 'normal', 'small')),
  tier_reason text NOT NULL,
  dormant text,
  order_anomaly text,
  narrow text,
  not_contacted text,
  computed_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO client_segments_wide (client_id, age, age_reason, tier, tier_reason, dormant, order_anomaly, narrow, not_contacted, computed_at)
SELECT client_id,
       max(segment) FILTER (WHERE segment IN ('old', 'new', 'prospect')),
       max(reason) FILTER (WHERE segment IN ('old', 'new', 'prospect')),
       max(substr(segment, 6)) FILTER (WHERE segment LIKE 'tier:%'),
       max(reason) FILTER (WHERE segment LIKE 'tier:%'),
       max(reason) FILTER (WHERE segment = 'dormant'),
       max(reason) FILTER (WHERE segment = 'order-anomaly'),
       max(reason) FILTER (WHERE segment = 'narrow'),
       max(reason) FILTER (WHERE segment = 'not-contacted-this-year'),
       max(computed_at)
FROM client_segments
GROUP BY client_id
HAVING count(*) FILTER (WHERE segment IN ('old', 'new', 'prospect')) > 0 AND count(*) FILTER (WHERE segment LIKE 'tier:%') > 0;
DROP TABLE client_segments;
ALTER TABLE client_segments_wide RENAME TO client_segments;
ALTER TABLE client_segments RENAME CONSTRAINT client_segments_wide_pkey TO client_segments_pkey;
CREATE VIEW client_segment_rows AS
  SELECT s.client_id, x.segment, x.reason, s.computed_at
  FROM client_segments s
  CROSS JOIN LATERAL (VALUES (s.age, s.age_reason), ('tier:' || s.tier, s.tier_reason), ('dormant', s.dormant),
                             ('order-anomaly', s.order_anomaly), ('narrow', s.narrow), ('not-contacted-this-year', s.not_contacted)) AS x(segment, reason)
  WHERE x.reason IS NOT NULL;
`);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await runScript(db, `
CREATE TABLE client_segments_long (
  client_id bigint NOT NULL,
  segment text NOT NULL,
  reason text NOT NULL,
  computed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (client_id, segment)
);
INSERT INTO client_segments_long (client_id, segment, reason, computed_at) SELECT client_id, segment, reason, computed_at FROM client_segment_rows;
DROP VIEW client_segment_rows;
DROP TABLE client_segments;
ALTER TABLE client_segments_long RENAME TO client_segments;
ALTER TABLE client_segments RENAME CONSTRAINT client_segments_long_pkey TO client_segments_pkey;
CREATE INDEX client_segments_segment_idx ON client_segments (segment);
`);
}
