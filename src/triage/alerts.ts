import { DateTime } from 'luxon';
import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import type { Clock } from '../shared/clock.ts';
import { AppError, describeError } from '../shared/app-error.ts';
import type { WorkingCalendar } from './working-calendar.ts';
import { formatTimeLeft } from './board.ts';

/** What triage needs to send a digest email. The outbound domain (or a test) implements it. */
export interface AlertMailer {
  send(mail: { readonly to: string; readonly subject: string; readonly text: string }): Promise<void>;
}

export interface AlertItem {
  readonly messageId: number;
  readonly kind: string;
  readonly alert: 'due-soon' | 'breached';
  readonly dueAt: Date;
  readonly client: string | null;
  readonly subject: string | null;
  readonly channel: string;
  readonly explanation: string;
}

export interface AlertDigest {
  readonly ownerId: number | null;
  readonly owner: string | null;
  readonly email: string | null;
  readonly subject: string;
  readonly text: string;
  readonly items: readonly AlertItem[];
}

export interface AlertRunResult {
  /** Why nothing was sent, when so. */
  readonly skipped: string | null;
  readonly digests: readonly AlertDigest[];
  readonly delivered: number;
}

export interface AlertOptions {
  readonly dueSoonMinutes: number;
  readonly mailer?: AlertMailer;
  readonly webhookUrl?: string;
  /** Build the digests without sending or recording them. */
  readonly dryRun?: boolean;
}

/**
 * Alerts owners about targets due soon and targets breached, once each, as one digest per owner,
 * by email (AlertMailer) and/or webhook (JSON POST). Only during our working hours.
 */
export async function runAlerts(db: Db, calendar: WorkingCalendar, clock: Clock, options: AlertOptions): Promise<AlertRunResult> {
  const now = clock.now();
  if (!calendar.isWorkingTime(now)) return { skipped: `outside working hours (${DateTime.fromJSDate(now, { zone: calendar.zone }).toFormat('ccc HH:mm')} ${calendar.zone})`, digests: [], delivered: 0 };
  const soon = new Date(now.getTime() + options.dueSoonMinutes * 60_000);
  const rows = await db.kysely
    .selectFrom('reply_targets as rt')
    .leftJoin('owners as o', 'o.id', 'rt.owner_id')
    .leftJoin('clients as c', 'c.id', 'rt.client_id')
    .innerJoin('messages as m', 'm.id', 'rt.message_id')
    .select(['rt.message_id', 'rt.kind', 'rt.due_at', 'rt.channel', 'rt.explanation', 'rt.owner_id', 'o.name as owner', 'o.email', 'c.name as client', 'm.subject'])
    .select(sql<'due-soon' | 'breached'>`CASE WHEN rt.due_at < ${now} THEN 'breached' ELSE 'due-soon' END`.as('alert'))
    .where('rt.met_at', 'is', null)
    .where('rt.status', '<>', 'void')
    .where('rt.due_at', '<=', soon)
    .where(({ not, exists, selectFrom }) =>
      not(exists(selectFrom('triage_alerts as a').select('a.message_id').whereRef('a.message_id', '=', 'rt.message_id').whereRef('a.target_kind', '=', 'rt.kind')
        .where(sql<boolean>`a.alert = CASE WHEN rt.due_at < ${now} THEN 'breached' ELSE 'due-soon' END`))),
    )
    .orderBy('rt.due_at')
    .execute();
  const byOwner = new Map<string, { ownerId: number | null; owner: string | null; email: string | null; items: AlertItem[] }>();
  for (const r of rows) {
    const key = String(r.owner_id ?? 'none');
    const g = byOwner.get(key) ?? { ownerId: r.owner_id, owner: r.owner, email: r.email, items: [] };
    g.items.push({ messageId: r.message_id, kind: r.kind, alert: r.alert, dueAt: r.due_at, client: r.client, subject: r.subject, channel: r.channel, explanation: r.explanation });
    byOwner.set(key, g);
  }
  const fmt = (d: Date) => DateTime.fromJSDate(d, { zone: calendar.zone }).toFormat('yyyy-MM-dd HH:mm');
  const digests: AlertDigest[] = [...byOwner.values()].map((g) => {
    const breached = g.items.filter((i) => i.alert === 'breached').length;
    const subject = `Rapport: ${breached} reply target${breached === 1 ? '' : 's'} breached, ${g.items.length - breached} due soon`;
    const lines = g.items.map((i) => `${i.alert === 'breached' ? 'BREACHED' : 'due soon'}  ${i.kind}/${i.channel}  due ${fmt(i.dueAt)} (${formatTimeLeft(Math.round((i.dueAt.getTime() - now.getTime()) / 60_000))})  ${i.client ?? '(no client)'}: ${i.subject ?? ''}\n    ${i.explanation}`);
    return { ownerId: g.ownerId, owner: g.owner, email: g.email, subject, text: `Hello ${g.owner ?? 'team'},\n\n${lines.join('\n')}\n\nTimes in ${calendar.zone}.\n`, items: g.items };
  });
  if (options.dryRun) return { skipped: null, digests, delivered: 0 };
  let delivered = 0;
  for (const d of digests) {
    let sent = false;
    if (options.mailer && d.email) {
      await options.mailer.send({ to: d.email, subject: d.subject, text: d.text });
      sent = true;
    }
    if (options.webhookUrl) {
      await postWebhook(options.webhookUrl, d);
      sent = true;
    }
    if (!sent) continue;
    delivered += 1;
    await db.kysely
      .insertInto('triage_alerts')
      .values(d.items.map((i) => ({ message_id: i.messageId, target_kind: i.kind, alert: i.alert, owner_id: d.ownerId })))
      .onConflict((oc) => oc.doNothing())
      .execute();
  }
  return { skipped: null, digests, delivered };
}

async function postWebhook(url: string, digest: AlertDigest): Promise<void> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ owner: digest.owner, ownerId: digest.ownerId, subject: digest.subject, text: digest.text, items: digest.items }),
      signal: AbortSignal.timeout(10_000),
    });
  } catch (cause) {
    throw new AppError('ALERT_DELIVERY_FAILED', `alerts webhook ${new URL(url).host}: cannot deliver (${describeError(cause)})`, { cause });
  }
  if (!res.ok) throw new AppError('ALERT_DELIVERY_FAILED', `alerts webhook ${new URL(url).host}: answered HTTP ${res.status}`);
}
