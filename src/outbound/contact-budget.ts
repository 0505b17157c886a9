import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import type { MailKind } from '../db/tables/outbound.ts';
import { budgetOf, parseOutboundSettings, type OutboundSettings } from './settings.ts';
import { nextContactSlot } from './throttle-math.ts';

/**
 * When each contact may next receive a mail of `kind`, at or after `at`,
 * counting what was sent (or is in flight) and what is already planned in the
 * outbox for the same budget: at least minGapDays apart and at most perMonth
 * in any 30 days. Kinds without a budget (personal, reply, transactional) are
 * always free: the map gives `at`.
 */
export async function contactBudget(db: Db, contactIds: readonly number[], kind: MailKind, at: Date, settings: OutboundSettings = parseOutboundSettings({})): Promise<Map<number, Date>> {
  const out = new Map<number, Date>();
  const ids = [...new Set(contactIds)];
  for (const id of ids) out.set(id, at);
  const budget = budgetOf(kind);
  if (budget === 'other' || ids.length === 0) return out;
  const rule = settings.contacts[budget];
  const horizon = Math.max(30, rule.minGapDays) * 86_400_000;
  const from = new Date(at.getTime() - horizon);
  const to = new Date(at.getTime() + 400 * 86_400_000);
  const kinds = budget === 'promotion' ? ['promotion'] : budget === 'greeting' ? ['greeting'] : ['vip'];
  const rows = (
    await sql<{ contact_id: number; t: Date }>`
      SELECT contact_id, reserved_at AS t FROM outbound_send_log
       WHERE contact_id = ANY(${sql.val(ids)}::bigint[]) AND budget = ${budget} AND reserved_at > ${from} AND (outcome IS NULL OR outcome = 'sent')
      UNION ALL
      SELECT contact_id, due_at AS t FROM outbox
       WHERE contact_id = ANY(${sql.val(ids)}::bigint[]) AND kind = ANY(${sql.val(kinds)}::text[]) AND state = 'planned' AND due_at > ${from} AND due_at < ${to}`.execute(db.kysely)
  ).rows;
  const times = new Map<number, number[]>();
  for (const r of rows) {
    const list = times.get(Number(r.contact_id)) ?? [];
    list.push(new Date(r.t).getTime());
    times.set(Number(r.contact_id), list);
  }
  for (const [id, list] of times) out.set(id, new Date(nextContactSlot(at.getTime(), list, rule.minGapDays, rule.perMonth)));
  return out;
}
