import { sql, type Kysely } from 'kysely';
import type { Database } from './schema.ts';

/**
 * Takes `n` ids from a table's serial sequence up front, so rows that refer to
 * each other (or carry ids decided before they are written) go in one insert.
 */
export async function reserveIds(db: Kysely<Database>, table: keyof Database & string, n: number): Promise<number[]> {
  if (n <= 0) return [];
  const rows = await sql<{ id: number }>`SELECT nextval(pg_get_serial_sequence(${table}, 'id'))::bigint AS id FROM generate_series(1, ${n})`.execute(db);
  return rows.rows.map((r) => Number(r.id));
}
