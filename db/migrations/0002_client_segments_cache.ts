import { sql, type Kysely } from 'kysely';

// client_segments is derived data, rewritten whole by `rapport segments`
// (~5 rows a client). A foreign key checks every inserted row against clients
// and takes a row lock on the client each time: over 100,000 clients that was
// a third of the refresh. The rows come from a query over clients, so they
// cannot name a missing client; what the key still did, removing a deleted
// client's segments, a statement-level trigger does.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql.raw(`ALTER TABLE client_segments DROP CONSTRAINT IF EXISTS client_segments_client_id_fkey`).execute(db);
  await sql.raw(`CREATE FUNCTION rapport_client_segments_gone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM client_segments s USING gone g WHERE s.client_id = g.id;
  RETURN NULL;
END
$$`).execute(db);
  await sql.raw(`CREATE TRIGGER clients_segments_gone AFTER DELETE ON clients REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION rapport_client_segments_gone()`).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql.raw(`DROP TRIGGER clients_segments_gone ON clients`).execute(db);
  await sql.raw(`DROP FUNCTION rapport_client_segments_gone()`).execute(db);
  await sql.raw(`DELETE FROM client_segments s WHERE NOT EXISTS (SELECT 1 FROM clients c WHERE c.id = s.client_id)`).execute(db);
  await sql.raw(`ALTER TABLE client_segments ADD CONSTRAINT client_segments_client_id_fkey FOREIGN KEY (client_id) REFERENCES clients(id) ON DELETE CASCADE`).execute(db);
}
