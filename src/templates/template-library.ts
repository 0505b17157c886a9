/**
 * The template library: loads templates/, compiles every template and locale once at load (so a
 * broken template fails here, never at send time), caches compiled versions by content hash, and
 * in dev mode recompiles what changed on disk.
 */
import { watch, type FSWatcher } from 'node:fs';
import { AppError, describeError } from '../shared/app-error.ts';
import { compileTemplateLocale, fromCompiledSources, sourceVersion, type CompiledLocale, type TemplateSources } from './compile-template.ts';
import { defaultCacheDir, readCached, writeCached } from './compile-cache.ts';
import { hbs, HELPER_NAMES } from './handlebars-env.ts';
import { DEFAULT_FALLBACK, resolveLocale as resolveAlongChain } from './locale-fallback.ts';
import { declaredVariables, UNSUBSCRIBE_KINDS } from './metadata.ts';
import { listTemplateNames, readShared, readTemplateSources, type SharedSources } from './read-sources.ts';
import { compileRequirements, renderOne, type Requirement } from './render-mail.ts';
import { renderBatch as renderCompiledBatch } from './render-batch.ts';
import type { LoadOptions, RenderedMail, TemplateInfo, TemplateLibrary, VariableSpec } from './types.ts';

/** Compiled versions shared by every library in the process, keyed by name, locale and content hash. */
const compiledCache = new Map<string, CompiledLocale>();

interface LoadedTemplate {
  readonly sources: TemplateSources;
  readonly info: TemplateInfo;
  readonly variables: VariableSpec[];
  readonly requirements: Requirement[];
  readonly compiled: ReadonlyMap<string, CompiledLocale>;
}

async function compileCached(src: TemplateSources, locale: string, cacheDir: string | false): Promise<CompiledLocale> {
  const version = sourceVersion(src, locale);
  const key = `${src.dir}|${src.name}|${locale}|${version}`;
  const hit = compiledCache.get(key);
  if (hit) return hit;
  const onDisk = cacheDir === false ? undefined : readCached(cacheDir, key);
  if (onDisk) {
    const c = fromCompiledSources(hbs, HELPER_NAMES, src.name, locale, version, onDisk);
    compiledCache.set(key, c);
    return c;
  }
  const compiled = await compileTemplateLocale(hbs, HELPER_NAMES, src, locale);
  compiledCache.set(key, compiled);
  if (cacheDir !== false) writeCached(cacheDir, key, compiled);
  return compiled;
}

export async function loadTemplate(dir: string, name: string, shared: SharedSources, cacheDir: string | false = false): Promise<LoadedTemplate> {
  const sources = readTemplateSources(dir, name, shared);
  const compiled = new Map<string, CompiledLocale>();
  for (const locale of sources.meta.locales) compiled.set(locale, await compileCached(sources, locale, cacheDir));
  const variables = declaredVariables(sources.meta);
  return {
    sources,
    variables,
    requirements: compileRequirements(variables),
    compiled,
    info: { name, purpose: sources.meta.purpose, locales: [...sources.meta.locales], variables, kind: sources.meta.kind },
  };
}

/** Objects merged key by key (b wins); arrays and other values replaced whole. */
export function deepMerge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    out[k] = prev && v && typeof prev === 'object' && typeof v === 'object' && !Array.isArray(prev) && !Array.isArray(v) ? deepMerge(prev as Record<string, unknown>, v as Record<string, unknown>) : v;
  }
  return out;
}

export async function loadTemplateLibrary(dir: string, options: LoadOptions = {}): Promise<TemplateLibrary> {
  const fallback = { ...DEFAULT_FALLBACK, ...(options.fallback ?? {}) };
  const clock = options.clock ?? { now: () => new Date() };
  const cacheDir = options.cacheDir === undefined ? defaultCacheDir() : options.cacheDir;
  let shared = readShared(dir);
  let templates = new Map<string, LoadedTemplate>();
  for (const name of listTemplateNames(dir)) templates.set(name, await loadTemplate(dir, name, shared, cacheDir));

  const get = (name: string): LoadedTemplate => {
    const t = templates.get(name);
    if (!t) throw new AppError('TEMPLATE_NOT_FOUND', `template "${name}" does not exist in ${dir}`, { details: { template: name } });
    return t;
  };
  const compiledFor = (name: string, locale: string): { t: LoadedTemplate; c: CompiledLocale } => {
    const t = get(name);
    const c = t.compiled.get(locale) ?? [...t.compiled.entries()].find(([l]) => l.toLowerCase() === locale.toLowerCase())?.[1];
    if (!c) throw new AppError('TEMPLATE_NOT_FOUND', `template "${name}" has no locale ${locale} (it has ${t.info.locales.join(', ')})`, { details: { template: name, locale } });
    return { t, c };
  };

  let watcher: FSWatcher | undefined;
  if (options.dev) {
    let timer: NodeJS.Timeout | undefined;
    let reloading = Promise.resolve();
    const reload = async (): Promise<void> => {
      try {
        const nextShared = readShared(dir);
        const next = new Map<string, LoadedTemplate>();
        for (const name of listTemplateNames(dir)) next.set(name, await loadTemplate(dir, name, nextShared, cacheDir));
        shared = nextShared;
        templates = next;
      } catch (e) {
        options.onReloadError?.(e instanceof Error ? e : new Error(describeError(e)));
      }
    };
    watcher = watch(dir, { recursive: true }, () => {
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => {
        reloading = reloading.then(reload);
      }, 50);
    });
    watcher.unref();
  }

  return {
    list: () => [...templates.values()].map((t) => t.info),
    has: (name) => templates.has(name),
    resolveLocale: (name, wanted) => {
      const t = templates.get(name);
      return t ? resolveAlongChain(t.info.locales, wanted, fallback) : undefined;
    },
    render(name, locale, data): RenderedMail {
      const { t, c } = compiledFor(name, locale);
      return renderOne(c, t.requirements, data, { now: () => clock.now() });
    },
    renderBatch(name, locale, data): RenderedMail[] {
      const { t, c } = compiledFor(name, locale);
      return renderCompiledBatch(c, t.requirements, data, { now: () => clock.now() });
    },
    requiredVariables: (name) => get(name).variables.filter((v) => v.required).map((v) => v.path),
    sampleData(name, locale) {
      const t = get(name);
      let common = shared.sample[locale] ?? shared.sample.en ?? {};
      // Only promotional kinds carry an unsubscribe link when sent (see outbound isPromotional):
      // a complaint reply previewed with "you receive our news" would mislead whoever reviews it.
      if (!UNSUBSCRIBE_KINDS.has(t.sources.meta.kind)) {
        const { unsubscribeUrl: _dropped, ...rest } = common as Record<string, unknown>;
        common = rest;
      }
      return deepMerge(deepMerge(common, t.sources.meta.sample), t.sources.meta.samples[locale] ?? {});
    },
    version: (name, locale) => templates.get(name)?.compiled.get(locale)?.version,
    close: () => watcher?.close(),
  };
}

/** Internal: the compiled form of a template, for the benchmark and tests. */
export async function compiledTemplate(dir: string, name: string, locale: string): Promise<CompiledLocale> {
  const t = await loadTemplate(dir, name, readShared(dir));
  const c = t.compiled.get(locale);
  if (!c) throw new AppError('TEMPLATE_NOT_FOUND', `template "${name}" has no locale ${locale}`);
  return c;
}

/** For tests: forget the in-process compiled versions (the disk cache stays). */
export function clearCompiledMemory(): void {
  compiledCache.clear();
}
