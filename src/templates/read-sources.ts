/** Reads a template folder and the shared layout/partials from disk. The only file I/O of compiling. */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { displayPath } from './display-path.ts';
import { parse as parseYaml } from 'yaml';
import { AppError } from '../shared/app-error.ts';
import { metaSchema } from './metadata.ts';
import type { SourceFile } from './assemble-source.ts';
import type { TemplateSources } from './compile-template.ts';

export const SHARED_DIR = '_shared';
const LOCALE_FILE = /^([A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*)\.mjml$/;

export interface SharedSources {
  readonly layout: SourceFile;
  readonly partials: ReadonlyMap<string, SourceFile>;
  readonly sample: Readonly<Record<string, Record<string, unknown>>>;
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (cause) {
    throw new AppError('TEMPLATE_INVALID', `${file}: cannot be read`, { cause, details: { file } });
  }
}

function rel(file: string): string {
  return displayPath(file);
}

export function listTemplateNames(dir: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch (cause) {
    throw new AppError('TEMPLATE_NOT_FOUND', `templates folder ${dir}: cannot be read`, { cause });
  }
  return entries.filter((e) => !e.startsWith('_') && !e.startsWith('.') && statSync(path.join(dir, e)).isDirectory()).sort();
}

export function readShared(dir: string): SharedSources {
  const shared = path.join(dir, SHARED_DIR);
  const layoutFile = path.join(shared, 'layout.mjml');
  const partials = new Map<string, SourceFile>();
  const pdir = path.join(shared, 'partials');
  let names: string[] = [];
  try {
    names = readdirSync(pdir);
  } catch {
    names = [];
  }
  for (const f of names.filter((n) => n.endsWith('.mjml')).sort()) {
    const file = path.join(pdir, f);
    partials.set(f.slice(0, -'.mjml'.length), { file, text: readText(file) });
  }
  let sample: Record<string, Record<string, unknown>> = {};
  const sampleFile = path.join(shared, 'sample.yaml');
  try {
    const parsed: unknown = parseYaml(readFileSync(sampleFile, 'utf8'));
    if (parsed && typeof parsed === 'object') sample = parsed as Record<string, Record<string, unknown>>;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new AppError('TEMPLATE_INVALID', `${rel(sampleFile)}: not valid YAML`, { cause: e });
  }
  return { layout: { file: layoutFile, text: readText(layoutFile) }, partials, sample };
}

export function readTemplateSources(dir: string, name: string, shared: SharedSources): TemplateSources {
  const tdir = path.join(dir, name);
  const metaFile = path.join(tdir, 'meta.yaml');
  const metaText = readText(metaFile);
  let raw: unknown;
  try {
    raw = parseYaml(metaText);
  } catch (cause) {
    const m = /line (\d+)/.exec(String((cause as Error).message));
    throw new AppError('TEMPLATE_INVALID', `${rel(metaFile)}:${m ? m[1] : 1}: not valid YAML (${String((cause as Error).message).split('\n')[0]})`, { cause, details: { file: rel(metaFile), template: name } });
  }
  const parsed = metaSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AppError('TEMPLATE_INVALID', `${rel(metaFile)}: ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`, { details: { file: rel(metaFile), template: name } });
  }
  if (parsed.data.name !== name) {
    throw new AppError('TEMPLATE_INVALID', `${rel(metaFile)}: name "${parsed.data.name}" differs from the folder name "${name}"`, { details: { file: rel(metaFile), template: name } });
  }
  const localeFiles = new Map<string, { file: string; text: string }>();
  for (const f of readdirSync(tdir).sort()) {
    const m = LOCALE_FILE.exec(f);
    if (m) localeFiles.set(m[1]!, { file: path.join(tdir, f), text: readText(path.join(tdir, f)) });
  }
  for (const l of parsed.data.locales) {
    if (!localeFiles.has(l)) throw new AppError('TEMPLATE_INVALID', `${rel(metaFile)}: locale ${l} is listed but ${name}/${l}.mjml is missing`, { details: { file: rel(metaFile), template: name, locale: l } });
  }
  return { name, dir: tdir, metaFile, meta: parsed.data, metaText, layout: shared.layout, partials: shared.partials, localeFiles };
}
