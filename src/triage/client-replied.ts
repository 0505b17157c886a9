import { sql, type Expression, type SqlBool } from 'kysely';
import type { Db } from '../db/database.ts';

/** SQL: message m is human (not an auto-reply, bounce or bulk mail; not scored as not-for-triage). */
function humanInbound(): Expression<SqlBool> {
  return sql<SqlBool>`(m.direction = 'inbound'
    AND coalesce(lower(m.headers->>'auto-submitted'), 'no') LIKE 'no%'
    AND NOT (m.headers ? 'x-autoreply') AND NOT (m.headers ? 'x-autorespond')
    AND coalesce(lower(m.headers->>'precedence'), '') NOT IN ('bulk','list','junk','auto_reply')
    AND NOT (m.headers ? 'list-unsubscribe') AND NOT (m.headers ? 'list-id')
    AND coalesce(m.from_address, '') !~* '^(mailer-daemon|postmaster|mail-daemon)@'
    AND coalesce(m.subject, '') !~* '^\\s*(auto(matic)?[ -]?(reply|response)|autoreply|out of (the )?office|abwesenheitsnotiz|automatische antwort|r[ée]ponse automatique|respuesta autom[aá]tica|resposta autom[aá]tica|автоответ|自动回复|自動回覆|رد تلقائي|undeliver|delivery status notification|mail delivery failed|退信)'
    AND NOT EXISTS (SELECT 1 FROM triage_results tr WHERE tr.message_id = m.id AND tr.category = 'not-for-triage'))`;
}

/** The client replied: an inbound, human, non-auto message from anyone at the client (any of its threads) after `since`. */
export async function clientRepliedSince(db: Db, clientId: number, since: Date): Promise<boolean> {
  const row = await db.kysely
    .selectFrom('messages as m')
    .innerJoin('threads as t', 't.id', 'm.thread_id')
    .select('m.id')
    .where('t.client_id', '=', clientId)
    .where(sql<SqlBool>`coalesce(m.sent_at, m.internal_date) > ${since}`)
    .where(humanInbound())
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

/** An inbound, human, non-auto message in the thread after `at`. */
export async function threadHasReplyAfter(db: Db, threadId: number, at: Date): Promise<boolean> {
  const row = await db.kysely
    .selectFrom('messages as m')
    .select('m.id')
    .where('m.thread_id', '=', threadId)
    .where(sql<SqlBool>`coalesce(m.sent_at, m.internal_date) > ${at}`)
    .where(humanInbound())
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}
