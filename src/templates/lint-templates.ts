/**
 * `rapport templates lint`: loads and compiles each template in each locale (MJML validity,
 * Handlebars syntax, unknown helpers/partials, triple-stash), checks the metadata, that every
 * variable used is declared and every declared one used, that each locale is present, renders the
 * sample data, and applies the guides' writing rules as warnings.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { displayPath } from './display-path.ts';
import { isAppError } from '../shared/app-error.ts';
import { loadTemplate } from './template-library.ts';
import { listTemplateNames, readShared } from './read-sources.ts';
import { compileRequirements, renderOne } from './render-mail.ts';
import { COMMON_ROOTS, declaredVariables } from './metadata.ts';
import { checkWriting } from './writing-rules.ts';
import type { VariableSpec } from './types.ts';

export interface LintFinding {
  readonly template: string;
  readonly locale?: string;
  readonly level: 'error' | 'warning';
  readonly file: string;
  readonly line?: number;
  readonly message: string;
}

export const EXPECTED_LOCALES = ['en', 'zh-CN'];

function rel(file: string): string {
  return displayPath(file);
}

/** products.0 / products.length / x[] -> a declared-style path. */
function normalizeUsed(p: string): string {
  return p.replace(/\.length$/, '').replace(/\.\d+(?=\.|$)/g, '[]').replace(/(\[\])+$/, '');
}

function isDeclared(used: string, specs: readonly VariableSpec[]): boolean {
  const byPath = new Map(specs.map((s) => [s.path.replace(/(\[\])+$/, ''), s]));
  if (byPath.has(used)) return true;
  // An ancestor declared as a list or a scalar covers what is read inside it (a list of strings).
  const segs = used.split('.');
  for (let n = segs.length - 1; n >= 1; n--) {
    const anc = segs.slice(0, n).join('.').replace(/(\[\])+$/, '');
    const spec = byPath.get(anc);
    if (spec) {
      const hasChildren = specs.some((s) => s.path.startsWith(`${spec.path}.`) || s.path.startsWith(`${spec.path}[].`));
      return !hasChildren;
    }
  }
  return false;
}

function lineOf(file: string, text: string, needle: string): number | undefined {
  const n = needle.trim().toLowerCase().slice(0, 30);
  if (!n) return undefined;
  const i = text.split('\n').findIndex((l) => l.toLowerCase().includes(n));
  return i === -1 ? undefined : i + 1;
}

export async function lintTemplates(dir: string, only?: string): Promise<LintFinding[]> {
  const findings: LintFinding[] = [];
  let shared;
  try {
    shared = readShared(dir);
  } catch (e) {
    return [{ template: '_shared', level: 'error', file: rel(path.join(dir, '_shared')), message: isAppError(e) ? e.message : String(e) }];
  }
  const names = listTemplateNames(dir);
  if (only !== undefined && !names.includes(only)) {
    return [{ template: only, level: 'error', file: rel(path.join(dir, only)), message: `no template "${only}" in ${rel(dir)}` }];
  }
  for (const name of only === undefined ? names : [only]) {
    const tdir = path.join(dir, name);
    let loaded;
    try {
      loaded = await loadTemplate(dir, name, shared);
    } catch (e) {
      const d = isAppError(e) ? e.details : {};
      findings.push({
        template: name,
        ...(typeof d.locale === 'string' ? { locale: d.locale } : {}),
        level: 'error',
        file: typeof d.file === 'string' ? d.file : rel(tdir),
        ...(typeof d.line === 'number' ? { line: d.line } : {}),
        message: isAppError(e) ? e.message.replace(/^[^:]+:\d+: /, '') : String(e),
      });
      continue;
    }
    const meta = loaded.sources.meta;
    const metaFile = rel(loaded.sources.metaFile);
    for (const l of EXPECTED_LOCALES) {
      if (!meta.locales.includes(l)) findings.push({ template: name, level: 'warning', file: metaFile, message: `locale ${l} is missing (the starter library ships en and zh-CN)` });
    }
    const onDisk = readdirSync(tdir).filter((f) => f.endsWith('.mjml')).map((f) => f.slice(0, -5));
    for (const l of onDisk) {
      if (!meta.locales.includes(l)) findings.push({ template: name, level: 'warning', file: rel(path.join(tdir, `${l}.mjml`)), message: `${l}.mjml exists but locale ${l} is not listed in meta.yaml, so it is never used` });
    }
    const specs = declaredVariables(meta);
    const usedAll = new Set<string>();
    for (const [locale, compiled] of loaded.compiled) {
      const file = loaded.sources.localeFiles.get(locale)!;
      for (const u of compiled.used) {
        const p = normalizeUsed(u.path);
        usedAll.add(p);
        if (!isDeclared(p, specs)) {
          findings.push({ template: name, locale, level: 'error', file: rel(file.file), message: `variable "${p}" is used but not declared in meta.yaml` });
        }
      }
      // Sample data renders, and the guides' writing rules.
      const data = loadedSample(loaded.sources.meta, shared.sample, locale);
      try {
        const mail = renderOne(compiled, compileRequirements(specs), data, { now: () => new Date('2026-06-15T09:00:00Z') });
        for (const w of checkWriting(mail.subject, bodyText(mail.text, data), locale)) {
          const line = lineOf(file.file, file.text, w.match);
          findings.push({ template: name, locale, level: 'warning', file: rel(file.file), ...(line ? { line } : {}), message: w.message });
        }
      } catch (e) {
        findings.push({ template: name, locale, level: 'error', file: metaFile, message: `the sample data does not render: ${isAppError(e) ? e.message : String(e)}` });
      }
    }
    const dedup = new Set<string>();
    for (const u of [...usedAll]) dedup.add(u);
    for (const s of specs) {
      const root = s.path.split(/[.[]/)[0]!;
      if (COMMON_ROOTS.has(root)) continue;
      const base = s.path.replace(/(\[\])+$/, '');
      const used = [...dedup].some((u) => u === base || u.startsWith(`${base}.`) || u.startsWith(`${base}[]`));
      if (!used) findings.push({ template: name, level: 'error', file: metaFile, message: `variable "${s.path}" is declared but no locale uses it` });
    }
  }
  return findings;
}

/** The part of the text a template writes: link targets dropped, our signature and footer cut off. */
function bodyText(text: string, data: Record<string, unknown>): string {
  const sender = data.sender as Record<string, unknown> | undefined;
  let body = text.replace(/ <[^>\s]+>/g, '');
  const name = typeof sender?.name === 'string' ? sender.name : undefined;
  if (name) {
    const at = body.lastIndexOf(`\n${name}\n`);
    if (at > 0) body = body.slice(0, body.lastIndexOf('\n', at - 1));
  }
  return body;
}

function merge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    out[k] = prev && v && typeof prev === 'object' && typeof v === 'object' && !Array.isArray(prev) && !Array.isArray(v) ? merge(prev as Record<string, unknown>, v as Record<string, unknown>) : v;
  }
  return out;
}

export function loadedSample(meta: { sample: Record<string, unknown>; samples: Record<string, Record<string, unknown>> }, common: Readonly<Record<string, Record<string, unknown>>>, locale: string): Record<string, unknown> {
  return merge(merge(common[locale] ?? common.en ?? {}, meta.sample), meta.samples[locale] ?? {});
}

export function formatFinding(f: LintFinding): string {
  return `${f.file}${f.line ? `:${f.line}` : ''}: ${f.level}: ${f.message}${f.locale ? ` [${f.template} ${f.locale}]` : ` [${f.template}]`}`;
}
