/**
 * A disk cache of compiled templates, so a process does not run MJML again for a template version
 * it (or another process) already compiled. The key hashes the template's sources, the locale, the
 * compiler's own source files and the MJML version: any change there is a miss. The cache is an
 * optimisation only: an unreadable or corrupt entry is a miss, and a failed write is skipped.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CompiledSources } from './compile-template.ts';

const ENGINE_FILES = ['compile-template.ts', 'protect-expressions.ts', 'assemble-source.ts', 'front-matter.ts', 'hbs-ast.ts', 'helpers.ts', 'handlebars-env.ts'];

function engineVersion(): string {
  const h = createHash('sha256');
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (const f of ENGINE_FILES) {
    try {
      h.update(readFileSync(path.join(here, f)));
    } catch {
      h.update(`missing:${f}`);
    }
  }
  try {
    const require = createRequire(import.meta.url);
    h.update((require('mjml/package.json') as { version: string }).version);
  } catch {
    h.update('mjml:unknown');
  }
  return h.digest('hex').slice(0, 16);
}

const ENGINE = engineVersion();

export function defaultCacheDir(): string {
  return process.env.RAPPORT_TEMPLATE_CACHE && process.env.RAPPORT_TEMPLATE_CACHE !== '' ? process.env.RAPPORT_TEMPLATE_CACHE : path.join(os.tmpdir(), 'rapport-template-cache');
}

function entryFile(dir: string, key: string): string {
  return path.join(dir, `${createHash('sha256').update(ENGINE).update('\0').update(key).digest('hex').slice(0, 32)}.json`);
}

function isSources(v: unknown): v is CompiledSources {
  const o = v as Record<string, unknown> | null;
  return !!o && typeof o.htmlSource === 'string' && typeof o.textSource === 'string' && typeof o.subjectSource === 'string' && typeof o.copy === 'object' && Array.isArray(o.used);
}

export function readCached(dir: string, key: string): CompiledSources | undefined {
  try {
    const v: unknown = JSON.parse(readFileSync(entryFile(dir, key), 'utf8'));
    return isSources(v) ? v : undefined;
  } catch {
    return undefined; // a miss
  }
}

export function writeCached(dir: string, key: string, value: CompiledSources): void {
  try {
    mkdirSync(dir, { recursive: true });
    const file = entryFile(dir, key);
    const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
    writeFileSync(tmp, JSON.stringify({ htmlSource: value.htmlSource, textSource: value.textSource, subjectSource: value.subjectSource, copy: value.copy, used: value.used }));
    renameSync(tmp, file);
  } catch {
    // skipped: the next process compiles again
  }
}
