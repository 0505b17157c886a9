import { sql, type Kysely } from 'kysely';

/**
 * Runs a script of SQL statements separated by a semicolon at the end of a
 * line, one statement at a time (PGlite and pg's extended protocol take one
 * statement per query). Statements must not contain ";\n" inside literals.
 */
export async function runScript(db: Kysely<unknown>, script: string): Promise<void> {
  const statements = script
    .split(/;\s*\n/)
    .map((s) => s.replace(/^\s*--.*$/gm, '').trim())
    .filter((s) => s.length > 0);
  for (const statement of statements) await sql.raw(statement).execute(db);
}
