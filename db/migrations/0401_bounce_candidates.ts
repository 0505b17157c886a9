import { sql, type Kysely } from 'kysely';

// Bounce reports (issue 6): `send run` looks for new delivery status
// notifications every minute. A partial index over the few messages that can
// be one (its predicate is the candidate test in src/outbound/bounces.ts,
// word for word, so the planner can use it) keeps that a small read however
// large the mailbox grows.
export const BOUNCE_CANDIDATE_PREDICATE = `direction <> 'outbound'
         AND (headers->>'content-type' ILIKE '%report-type=%delivery-status%'
              OR from_address ILIKE 'mailer-daemon@%' OR from_address ILIKE 'postmaster@%' OR headers->>'x-failed-recipients' IS NOT NULL)`;

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql.raw(`CREATE INDEX messages_bounce_candidates_idx ON messages (id) WHERE ${BOUNCE_CANDIDATE_PREDICATE}`).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql.raw('DROP INDEX messages_bounce_candidates_idx').execute(db);
}
