import { sql, type Kysely } from 'kysely';
import { describe, expect, it } from 'vitest';
import { knownMigrationNames, migrateToLatest, migrationStatus } from '../../src/db/migrator.ts';
import { createTestDb, testBackend } from '../support/test-db.ts';
import { waitingBodiesQuery } from '../../src/mailbox/sync-folder.ts';
import { down as segmentsLong, up as segmentsWide } from '../../db/migrations/0003_client_segments_per_client.ts';

describe(`migrations on ${testBackend}`, () => {
  it('apply up from empty, report status, and are a no-op the second time', async () => {
    const db = await createTestDb({ migrate: false });
    try {
      const before = await migrationStatus(db);
      expect(before.every((m) => m.executedAt === null)).toBe(true);
      const first = await migrateToLatest(db);
      expect(first.results?.length).toBe((await knownMigrationNames()).length);
      const second = await migrateToLatest(db);
      expect(second.results).toEqual([]);
      const after = await migrationStatus(db);
      expect(after.every((m) => m.executedAt instanceof Date)).toBe(true);
      const tables = await sql<{ table_name: string }>`SELECT table_name FROM information_schema.tables WHERE table_schema = ${db.schema}`.execute(db.kysely);
      const names = tables.rows.map((r) => r.table_name);
      for (const t of ['clients', 'contacts', 'contact_emails', 'client_domains', 'orders', 'order_lines', 'inquiries', 'touchpoints']) expect(names).toContain(t);
    } finally {
      await db.drop();
    }
  });

  it('0003 turns stored (client, segment) rows into one row a client and back, losing nothing', async () => {
    const db = await createTestDb();
    try {
      const ids = (await sql<{ id: number }>`INSERT INTO clients (name, name_key) VALUES ('A', 'a'), ('B', 'b') RETURNING id`.execute(db.kysely)).rows.map((r) => Number(r.id));
      // Migrations take the untyped handle, as Kysely's migrator gives it to them.
      const untyped = db.kysely as unknown as Kysely<unknown>;
      await segmentsLong(untyped);
      await sql`INSERT INTO client_segments (client_id, segment, reason) VALUES
        (${ids[0]}, 'old', '5 completed orders'), (${ids[0]}, 'tier:key', 'rank 1'), (${ids[0]}, 'dormant', 'gap'), (${ids[0]}, 'order-anomaly', 'amount down'),
        (${ids[1]}, 'prospect', 'no order yet'), (${ids[1]}, 'tier:small', 'no revenue'), (${ids[1]}, 'not-contacted-this-year', 'none')`.execute(db.kysely);
      await segmentsWide(untyped);
      const wide = await db.kysely.selectFrom('client_segments').select(['client_id', 'age', 'tier', 'dormant', 'order_anomaly', 'narrow', 'not_contacted']).orderBy('client_id').execute();
      expect(wide).toEqual([
        { client_id: ids[0], age: 'old', tier: 'key', dormant: 'gap', order_anomaly: 'amount down', narrow: null, not_contacted: null },
        { client_id: ids[1], age: 'prospect', tier: 'small', dormant: null, order_anomaly: null, narrow: null, not_contacted: 'none' },
      ]);
      const rows = await db.kysely.selectFrom('client_segment_rows').select(['client_id', 'segment', 'reason']).orderBy('client_id').orderBy('segment').execute();
      expect(rows.map((r) => `${r.client_id === ids[0] ? 'A' : 'B'} ${r.segment} ${r.reason}`)).toEqual([
        'A dormant gap', 'A old 5 completed orders', 'A order-anomaly amount down', 'A tier:key rank 1',
        'B not-contacted-this-year none', 'B prospect no order yet', 'B tier:small no revenue',
      ]);
      // and back down: the same seven rows
      await segmentsLong(untyped);
      expect((await sql<{ n: number }>`SELECT count(*)::int AS n FROM client_segments`.execute(db.kysely)).rows[0]?.n).toBe(7);
      await segmentsWide(untyped);
    } finally {
      await db.drop();
    }
  });

  it('0105: the rows of a folder still waiting for their body are looked up by (message, folder), not by AND-ing two indexes over the folder', async () => {
    const db = await createTestDb();
    try {
      // as a header pass leaves them: thousands of waiting rows in two folders, the tables never analyzed
      const acc = await sql<{ id: number }>`INSERT INTO mail_accounts (name, email) VALUES ('a', 'sales@maker.cn') RETURNING id`.execute(db.kysely);
      const folders = await sql<{ id: number }>`INSERT INTO mail_folders (account_id, path) VALUES (${acc.rows[0]?.id}, 'INBOX'), (${acc.rows[0]?.id}, 'Sent') RETURNING id`.execute(db.kysely);
      const [inbox, sent] = folders.rows.map((r) => Number(r.id)) as [number, number];
      await sql`INSERT INTO messages (message_id, content_hash, sent_at, body_state) SELECT 'm' || g || '@acme.com', 'h', now(), 'headers' FROM generate_series(1, 3000) g`.execute(db.kysely);
      await sql`INSERT INTO message_placements (message_id, folder_id, uid) SELECT id, CASE WHEN id % 2 = 0 THEN ${inbox}::bigint ELSE ${sent}::bigint END, id FROM messages`.execute(db.kysely);
      const plan = (await sql<{ 'QUERY PLAN': string }>`EXPLAIN ${waitingBodiesQuery(inbox)}`.execute(db.kysely)).rows.map((r) => r['QUERY PLAN']).join('\n');
      expect(plan).not.toMatch(/BitmapAnd/);
      expect(plan).toMatch(/message_placements_message_idx/);
      const rows = (await waitingBodiesQuery(inbox).execute(db.kysely)).rows;
      expect(rows.length).toBe(1500);
      expect(rows.map((r) => Number(r.uid))).toEqual([...rows.map((r) => Number(r.uid))].sort((x, y) => y - x));
    } finally {
      await db.drop();
    }
  });

  it('0104 compresses message bodies with lz4 where the server has it, and leaves pglz where it does not (PGlite)', async () => {
    const db = await createTestDb();
    try {
      const cols = await sql<{ attname: string; attcompression: string }>`
        SELECT attname, attcompression::text AS attcompression FROM pg_attribute
         WHERE attrelid = ${`${db.schema}.messages`}::regclass AND attname IN ('text_body', 'html_body', 'newest_part', 'headers', 'raw') ORDER BY attname`.execute(db.kysely);
      // 'l' is lz4; '' is the default (pglz)
      expect(cols.rows.map((r) => `${r.attname}:${r.attcompression}`)).toEqual(['headers', 'html_body', 'newest_part', 'raw', 'text_body'].map((c) => `${c}:${testBackend === 'postgres' ? 'l' : ''}`));
      // a body written now reads back whole
      const body = 'price list '.repeat(2000);
      const row = await sql<{ id: number }>`INSERT INTO messages (message_id, content_hash, direction, sent_at, text_body, html_body, headers, attachments, size, body_state)
        VALUES ('lz@acme.com', 'h', 'inbound', now(), ${body}, ${`<p>${body}</p>`}, '{}', '[]', 1, 'full') RETURNING id`.execute(db.kysely);
      const back = await db.kysely.selectFrom('messages').select(['text_body', 'html_body']).where('id', '=', Number(row.rows[0]?.id)).executeTakeFirstOrThrow();
      expect(back).toEqual({ text_body: body, html_body: `<p>${body}</p>` });
    } finally {
      await db.drop();
    }
  });

  it('refuses a database written by a newer schema version', async () => {
    const db = await createTestDb();
    try {
      await sql`INSERT INTO kysely_migration (name, timestamp) VALUES ('9999_from_the_future', now()::text)`.execute(db.kysely);
      await expect(migrateToLatest(db)).rejects.toThrow(/newer Rapport \(unknown migration 9999_from_the_future\)/);
    } finally {
      await db.drop();
    }
  });

  it('enforces one contact per email address, case-insensitively', async () => {
    const db = await createTestDb();
    try {
      const c = await db.kysely.insertInto('clients').values({ name: 'ACME', name_key: 'acme' }).returning('id').executeTakeFirstOrThrow();
      const p = await db.kysely.insertInto('contacts').values({ client_id: c.id, name: 'Wang' }).returning('id').executeTakeFirstOrThrow();
      await db.kysely.insertInto('contact_emails').values({ contact_id: p.id, address: 'Wang@Acme.com' }).execute();
      await expect(db.kysely.insertInto('contact_emails').values({ contact_id: p.id, address: 'wang@acme.com' }).execute()).rejects.toThrow();
    } finally {
      await db.drop();
    }
  });
});
