// Loads the labelled set (test/fixtures/triage) and scores it: shared by the quality test and the benchmark.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseEml } from '../../src/triage/parse-eml.ts';
import { parseTriageSettings, type TriageSettings } from '../../src/triage/settings.ts';
import { WorkingCalendar } from '../../src/triage/working-calendar.ts';
import { makeUsMatcher, type UsMatcher } from '../../src/triage/us-matcher.ts';
import type { ClientFacts, TriageMessage, TriageResult } from '../../src/triage/types.ts';
import type { Tier } from '../../src/db/tables/client-book.ts';

export const FIXTURE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/triage');

export interface Label {
  file: string;
  category: string;
  skip: string | null;
  delivery: string | null;
  target: string;
  client: { tier: Tier | null; status: string; orderInProduction?: boolean } | null;
  unanswered: number;
}

export interface LabelledMessage {
  readonly label: Label;
  readonly msg: TriageMessage;
  readonly client: ClientFacts | null;
}

export const QUALITY_SETTINGS: TriageSettings = parseTriageSettings({
  company: { names: ['Hengda', 'Hengda Outdoor', '恒达', 'هنغدا'], products: ['HD-PH12', 'HD-GR4', 'HD-GR6', 'FP-24', 'FP-30'] },
  calendar: { zone: 'Asia/Shanghai', country: 'CN' },
});

export const HOLDOUT_DIR = path.join(FIXTURE_DIR, 'holdout');

export async function loadLabelledSet(dir: string = FIXTURE_DIR): Promise<{ us: UsMatcher; settings: TriageSettings; calendar: WorkingCalendar; items: LabelledMessage[] }> {
  const data = JSON.parse(readFileSync(path.join(dir, 'labels.json'), 'utf8')) as { us: string[]; messages: Label[] };
  const items: LabelledMessage[] = [];
  for (const label of data.messages) {
    const msg = await parseEml(readFileSync(path.join(dir, label.file)), label.file);
    const client: ClientFacts | null = label.client
      ? { id: label.client.status === 'prospect' ? null : 1, tier: label.client.tier, status: label.client.status, orderInProduction: label.client.orderInProduction ?? false }
      : null;
    items.push({ label, msg, client });
  }
  return { us: makeUsMatcher(data.us), settings: QUALITY_SETTINGS, calendar: new WorkingCalendar(QUALITY_SETTINGS.calendar), items };
}

/** The result as a label: 'phone:1', 'email:6', 'email:eod', 'none'. */
export function targetLabel(r: TriageResult): string {
  const t = r.targets[0];
  if (!t) return 'none';
  if (t.kind === 'ack') return 'email:eod';
  return `${t.channel}:${t.rule.replace(/h$/, '')}`;
}
