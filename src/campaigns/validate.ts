import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import type { Clock } from '../shared/clock.ts';
import { audienceQuery } from './audience-query.ts';
import type { AudienceFilter } from './audience-schema.ts';
import type { CampaignDefinition } from './campaign-schema.ts';
import type { CampaignFolder, CampaignProblem } from './campaign-files.ts';
import { isKnownHoliday } from './holiday-catalog.ts';
import { recurringOccurrences } from './schedule.ts';
import type { TemplateLookup } from './template-lookup.ts';

/** The templates a campaign uses, with the field naming each. */
function templateFields(c: CampaignDefinition): Array<{ field: string; name: string }> {
  const out: Array<{ field: string; name: string }> = [];
  if (c.template) out.push({ field: 'template', name: c.template });
  if (c.kind === 'recurring') for (const [m, name] of Object.entries(c.templateByMonth ?? {})) out.push({ field: `templateByMonth.${m}`, name });
  if (c.kind === 'holiday') for (const [h, name] of Object.entries(c.templateByHoliday ?? {})) out.push({ field: `templateByHoliday.${h}`, name });
  if (c.kind === 'sequence') c.steps.forEach((s, i) => s.template && out.push({ field: `steps[${i}].template`, name: s.template }));
  return out;
}

/** Variables the planner fills for every mail of this campaign (top-level names), beside the campaign's own data. */
function suppliedVariables(c: CampaignDefinition): Set<string> {
  const s = new Set(['contact', 'client', 'sender', 'unsubscribeUrl', ...Object.keys(c.data ?? {})]);
  switch (c.kind) {
    case 'recurring': (c.every === 'month' ? ['month'] : ['period', 'periodStart', 'periodEnd', ...(c.figures ? ['figures', 'currency', 'totals', 'orders', 'topProducts'] : [])]).forEach((v) => s.add(v)); break;
    case 'holiday': ['holiday', 'holidayName', 'holidayDate'].forEach((v) => s.add(v)); break;
    case 'personal': ['eventDate', 'years', 'event', 'note'].forEach((v) => s.add(v)); break;
    case 'sequence': ['step', 'trigger', ...(c.trigger === 'inquiry' || c.trigger === 'quotation' ? ['topic', 'inquiry'] : []), ...(c.trigger === 'order-status' ? ['order', 'status', 'orderStatus'] : []), ...(c.trigger === 'dormant' ? ['lastOrder'] : [])].forEach((v) => s.add(v)); c.steps.forEach((st) => Object.keys(st.data ?? {}).forEach((k) => s.add(k))); break;
    case 'one-off': break;
  }
  return s;
}

/** Columns behind the per-recipient variables that may be empty in the client book. */
const NULLABLE: Readonly<Record<string, string>> = {
  'contact.title': 'contact_title',
  'contact.language': 'contact_language',
  'client.country': 'country',
};

export interface ValidateOptions {
  readonly clock: Clock;
  readonly templates?: TemplateLookup | undefined;
  /** Skip the database checks (audience size, variables the data cannot fill). */
  readonly offline?: boolean;
}

/**
 * Every problem of a campaigns folder, each with the file, the field and the
 * reason: schema errors, unknown templates and holidays, a first occurrence in
 * the past, an audience matching nobody, a template variable the data cannot fill.
 */
export async function validateCampaignFolder(db: Db | undefined, folder: CampaignFolder, options: ValidateOptions): Promise<CampaignProblem[]> {
  const problems: CampaignProblem[] = [...folder.problems];
  const today = options.clock.now().toISOString().slice(0, 10);
  for (const { file, definition: c } of folder.campaigns) {
    const add = (field: string, reason: string) => problems.push({ file, field, reason });
    const tpls = templateFields(c);
    if (options.templates) {
      for (const t of tpls) if (!options.templates.has(t.name)) add(t.field, `unknown template "${t.name}"`);
    }
    if (c.kind === 'holiday') {
      c.holidays.forEach((h, i) => { if (!isKnownHoliday(h)) add(`holidays[${i}]`, `unknown holiday "${h}" (neither a catalogue key nor a name date-holidays knows)`); });
      c.ours.forEach((h, i) => { if (!isKnownHoliday(h)) add(`ours[${i}]`, `unknown holiday "${h}" (neither a catalogue key nor a name date-holidays knows)`); });
    }
    let alreadyPlanned = false;
    if (db && !options.offline) {
      const r = await sql<{ n: number }>`SELECT count(*)::int AS n FROM campaign_decisions d JOIN campaigns c ON c.id = d.campaign_id WHERE c.name = ${c.name}`.execute(db.kysely);
      alreadyPlanned = (r.rows[0]?.n ?? 0) > 0;
    }
    if (c.kind === 'one-off' && c.on < today && !alreadyPlanned) add('on', `first occurrence ${c.on} is in the past (today is ${today})`);
    if (c.kind === 'recurring' && !alreadyPlanned) {
      // The series' first occurrence: the first send day on or after startsOn (or today).
      const start = c.startsOn ?? today;
      const first = recurringOccurrences(c, start, `${Number(start.slice(0, 4)) + 1}${start.slice(4)}`)[0];
      if (first && first.sendDate < today) add('startsOn', `first occurrence ${first.occurrence} on ${first.sendDate} is in the past (today is ${today})`);
    } else if (c.kind !== 'one-off' && c.startsOn && c.startsOn < today && !alreadyPlanned) {
      add('startsOn', `${c.startsOn} is in the past (today is ${today}): the first occurrence would be in the past`);
    }
    if (c.endsOn && c.endsOn < today && !alreadyPlanned) add('endsOn', `${c.endsOn} is in the past: nothing would ever be planned`);
    let filter: AudienceFilter | undefined;
    if (typeof c.audience === 'string') filter = folder.audiences.get(c.audience)?.filter;
    else filter = c.audience;
    if (!filter || !db || options.offline) continue;
    const members = audienceQuery(filter, today);
    const counts = await sql<{ n: number; a: number; contact_title: number; contact_language: number; country: number }>`SELECT count(*)::int AS n, count(address)::int AS a,
        count(*) FILTER (WHERE contact_title IS NULL)::int AS contact_title, count(*) FILTER (WHERE contact_language IS NULL)::int AS contact_language,
        count(*) FILTER (WHERE country IS NULL)::int AS country FROM (${members}) m`.execute(db.kysely);
    const k = counts.rows[0];
    const audienceName = typeof c.audience === 'string' ? `audience "${c.audience}"` : 'the audience';
    if (!k || k.n === 0) { add('audience', `${audienceName} matches nobody`); continue; }
    if (k.a === 0) add('audience', `${audienceName} matches ${k.n} contacts but none has a valid email address`);
    if (!options.templates) continue;
    const supplied = suppliedVariables(c);
    for (const t of tpls) {
      if (!options.templates.has(t.name)) continue;
      for (const v of options.templates.requiredVariables(t.name)) {
        if (v.includes('[]')) continue; // per-item requirement of an optional list
        const top = v.split('.')[0] ?? v;
        if (!supplied.has(top)) { add(t.field, `template "${t.name}" needs variable "${v}", which neither the planner nor the campaign's data fills`); continue; }
        const col = NULLABLE[v];
        const missing = col ? (k as unknown as Record<string, number>)[col] ?? 0 : 0;
        if (missing > 0) add(t.field, `template "${t.name}" needs "${v}", empty for ${missing} of ${k.n} contacts in ${audienceName}`);
      }
    }
  }
  return problems;
}
