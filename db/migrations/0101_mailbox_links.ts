import { sql, type Kysely } from 'kysely';
import { runScript } from './sql-script.ts';

// Threads merged by a late parent keep their row (other domains may point at
// it) and say where they went. Adding a contact email re-links the past
// threads that address took part in (unless linked by hand), and settles
// its suggestion.
export async function up(db: Kysely<unknown>): Promise<void> {
  await runScript(db, `
ALTER TABLE threads ADD COLUMN merged_into bigint REFERENCES threads(id) ON DELETE SET NULL;
CREATE INDEX threads_participants_idx ON threads USING gin (participants);
`);
  // One statement with semicolons inside: not for runScript.
  await sql.raw(`CREATE FUNCTION rapport_mailbox_relink_contact() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  cid bigint;
BEGIN
  SELECT client_id INTO cid FROM contacts WHERE id = NEW.contact_id;
  UPDATE threads SET client_id = cid, contact_id = NEW.contact_id, link_reason = 'contact address', link_confidence = 1, updated_at = now()
   WHERE participants @> ARRAY[lower(NEW.address)]
     AND merged_into IS NULL
     AND (link_reason IS NULL OR link_reason = 'client domain' OR (link_reason = 'contact address' AND client_id IS DISTINCT FROM cid AND link_confidence < 1));
  UPDATE suggested_contacts SET status = 'accepted' WHERE address = lower(NEW.address);
  RETURN NEW;
END
$$`).execute(db);
  await runScript(db, `
CREATE TRIGGER contact_emails_relink AFTER INSERT ON contact_emails FOR EACH ROW EXECUTE FUNCTION rapport_mailbox_relink_contact();
`);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await runScript(db, `
DROP TRIGGER contact_emails_relink ON contact_emails;
DROP FUNCTION rapport_mailbox_relink_contact();
DROP INDEX threads_participants_idx;
ALTER TABLE threads DROP COLUMN merged_into;
`);
}
