/** Shared helpers for the templates tests: the starter library, and scratch copies of it. */
import { cpSync, mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadTemplateLibrary, type TemplateLibrary } from '../../src/templates/index.ts';
import { ManualClock } from '../../src/shared/clock.ts';

export const TEMPLATES_DIR = path.resolve(fileURLToPath(new URL('../../templates', import.meta.url)));
export const clock = new ManualClock('2026-11-23T09:30:00Z');

let shared: Promise<TemplateLibrary> | undefined;
/** The starter library, loaded once per test file. */
export function starterLibrary(): Promise<TemplateLibrary> {
  shared ??= loadTemplateLibrary(TEMPLATES_DIR, { clock });
  return shared;
}

/** A scratch templates folder with our _shared layout and partials, plus the given template files. */
export function scratchTemplates(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rapport-tpl-'));
  cpSync(path.join(TEMPLATES_DIR, '_shared'), path.join(dir, '_shared'), { recursive: true });
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), text);
  }
  return dir;
}

export const MINIMAL_META = (name: string, extra = ''): string => `name: ${name}
purpose: A test template that says hello to a client.
kind: personal
locales: [en]
variables:
  message: { type: string, required: true }
${extra}sample:
  message: Hello there
`;

export const body = (subject: string, mjml: string, front = ''): string => `---
subject: ${JSON.stringify(subject)}
${front}---
${mjml}
`;

export const baseData = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  contact: { name: 'James Miller', title: 'Mr.', timeZone: 'America/Chicago' },
  client: { name: 'ACME Outdoor Living Inc.', country: 'US' },
  sender: { name: 'Lily Chen', company: 'Brightway Outdoor Co., Ltd.', website: 'https://www.brightway.example', email: 'lily@brightway.example' },
  recipient: 'james@acme.example',
  ...over,
});
