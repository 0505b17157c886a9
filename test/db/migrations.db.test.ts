import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { knownMigrationNames, migrateToLatest, migrationStatus } from '../../src/db/migrator.ts';
import { createTestDb, testBackend } from '../support/test-db.ts';

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
