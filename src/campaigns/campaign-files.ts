import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { campaignSchema, type CampaignDefinition } from './campaign-schema.ts';
import { audienceFilterSchema, audienceNameSchema, type AudienceFilter } from './audience-schema.ts';

/** One problem in a campaign file: which file, which field, why. */
export interface CampaignProblem {
  readonly file: string;
  readonly field: string;
  readonly reason: string;
}

export interface LoadedCampaign {
  readonly file: string;
  readonly definition: CampaignDefinition;
}

export interface CampaignFolder {
  readonly campaigns: readonly LoadedCampaign[];
  readonly audiences: ReadonlyMap<string, { readonly file: string; readonly filter: AudienceFilter }>;
  readonly problems: readonly CampaignProblem[];
}

const audienceFileSchema = z.object({ audiences: z.record(audienceNameSchema, audienceFilterSchema) }).strict();

export function formatProblem(p: CampaignProblem): string {
  return `${p.file}: ${p.field || '(file)'}: ${p.reason}`;
}

function issuePath(p: ReadonlyArray<PropertyKey>): string {
  return p.map((x) => (typeof x === 'number' ? `[${x}]` : String(x))).join('.').replace(/\.\[/g, '[');
}

/** Parses one campaign (or audiences) document; problems name the file and field. */
export function parseCampaignDocument(file: string, text: string): { campaign?: CampaignDefinition; audiences?: Record<string, AudienceFilter>; problems: CampaignProblem[] } {
  let doc: unknown;
  try {
    doc = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    return { problems: [{ file, field: '', reason: `not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${(e as Error).message.split('\n')[0]}` }] };
  }
  if (doc && typeof doc === 'object' && !Array.isArray(doc) && 'audiences' in doc) {
    const a = audienceFileSchema.safeParse(doc);
    if (!a.success) return { problems: a.error.issues.map((i) => ({ file, field: issuePath(i.path), reason: i.message })) };
    return { audiences: a.data.audiences, problems: [] };
  }
  const parsed = campaignSchema.safeParse(doc);
  if (!parsed.success) return { problems: parsed.error.issues.map((i) => ({ file, field: issuePath(i.path), reason: i.message })) };
  const c = parsed.data;
  const problems: CampaignProblem[] = [];
  if (c.startsOn && c.endsOn && c.endsOn < c.startsOn) problems.push({ file, field: 'endsOn', reason: 'is before startsOn' });
  if (c.kind === 'holiday' && c.holidays.length + c.ours.length === 0) problems.push({ file, field: 'holidays', reason: 'name at least one holiday (holidays or ours)' });
  if (c.kind === 'holiday') {
    for (const k of Object.keys(c.templateByHoliday ?? {})) {
      if (!c.holidays.includes(k) && !c.ours.includes(k)) problems.push({ file, field: `templateByHoliday.${k}`, reason: `"${k}" is not in holidays or ours` });
    }
  }
  const needsTemplate = c.kind === 'recurring' ? !c.template && !c.templateByMonth
    : c.kind === 'sequence' ? !c.template && c.steps.some((s) => !s.template)
    : c.kind === 'holiday' ? !c.template && [...c.holidays, ...c.ours].some((h) => !c.templateByHoliday?.[h])
    : !c.template;
  if (needsTemplate) problems.push({ file, field: 'template', reason: 'is required' });
  if (c.sendWindow && c.sendWindow.start >= c.sendWindow.end) problems.push({ file, field: 'sendWindow', reason: 'start must be before end' });
  return { campaign: c, problems };
}

/** Reads every *.yaml, *.yml and *.json of a folder: campaigns, and files with `audiences:`. */
export function loadCampaignFolder(dir: string): CampaignFolder {
  const campaigns: LoadedCampaign[] = [];
  const audiences = new Map<string, { file: string; filter: AudienceFilter }>();
  const problems: CampaignProblem[] = [];
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => /\.(ya?ml|json)$/.test(f)).sort();
  } catch {
    return { campaigns, audiences, problems: [{ file: dir, field: '', reason: 'campaigns folder cannot be read' }] };
  }
  const names = new Map<string, string>();
  for (const f of files) {
    const file = path.join(dir, f);
    if (!statSync(file).isFile()) continue;
    const res = parseCampaignDocument(file, readFileSync(file, 'utf8'));
    problems.push(...res.problems);
    if (res.audiences) {
      for (const [name, filter] of Object.entries(res.audiences)) {
        const prev = audiences.get(name);
        if (prev) problems.push({ file, field: `audiences.${name}`, reason: `already defined in ${prev.file}` });
        else audiences.set(name, { file, filter });
      }
    }
    if (res.campaign && res.problems.length === 0) {
      const prev = names.get(res.campaign.name);
      if (prev) problems.push({ file, field: 'name', reason: `"${res.campaign.name}" is already used by ${prev}` });
      else {
        names.set(res.campaign.name, file);
        campaigns.push({ file, definition: res.campaign });
      }
    }
  }
  for (const c of campaigns) {
    if (typeof c.definition.audience === 'string' && !audiences.has(c.definition.audience)) {
      problems.push({ file: c.file, field: 'audience', reason: `no saved audience named "${c.definition.audience}"` });
    }
  }
  return { campaigns, audiences, problems };
}
