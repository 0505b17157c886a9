import { describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadTemplateLibrary } from '../../src/templates/index.ts';
import { isAppError } from '../../src/shared/app-error.ts';
import { baseData, body, clock, MINIMAL_META, scratchTemplates, starterLibrary } from './support.ts';

const OK_BODY = '<mj-section>\n  <mj-column>\n    <mj-text>{{message}}</mj-text>\n  </mj-column>\n</mj-section>';

async function loadError(files: Record<string, string>): Promise<{ message: string; code: string; details: Record<string, unknown> }> {
  const dir = scratchTemplates(files);
  try {
    await loadTemplateLibrary(dir);
  } catch (e) {
    if (!isAppError(e)) throw e;
    return { message: e.message, code: e.code, details: { ...e.details } };
  }
  throw new Error('expected the load to fail');
}

describe('a broken template is reported at load, with file, line and problem', () => {
  it('an MJML error (strict validation)', async () => {
    const e = await loadError({
      't/meta.yaml': MINIMAL_META('t'),
      't/en.mjml': body('Hi', '<mj-section>\n  <mj-column>\n    <mj-text>{{message}}</mj-text>\n    <mj-image src="https://x.example/a.png" width="lots" alt="a" />\n  </mj-column>\n</mj-section>'),
    });
    expect(e.code).toBe('TEMPLATE_INVALID');
    expect(e.message).toMatch(/t\/en\.mjml:7: MJML: .*width/);
    expect(e.details).toMatchObject({ template: 't', locale: 'en', line: 7 });
  });

  it('an MJML element in the wrong place', async () => {
    const e = await loadError({ 't/meta.yaml': MINIMAL_META('t'), 't/en.mjml': body('Hi', '<mj-section>\n  <mj-column>\n    <mj-text>{{message}}</mj-text>\n  </mj-column>\n</mj-section>\n<mj-column><mj-text>x</mj-text></mj-column>') });
    expect(e.code).toBe('TEMPLATE_INVALID');
    expect(e.message).toMatch(/t\/en\.mjml:9: MJML: .*mj-column/);
  });

  it('a Handlebars syntax error', async () => {
    const e = await loadError({ 't/meta.yaml': MINIMAL_META('t'), 't/en.mjml': body('Hi', '<mj-section>\n  <mj-column>\n    <mj-text>{{#if message}}yes</mj-text>\n  </mj-column>\n</mj-section>') });
    expect(e.message).toMatch(/t\/en\.mjml:\d+: Handlebars: /);
  });

  it('an unknown helper and an unknown partial', async () => {
    const h = await loadError({ 't/meta.yaml': MINIMAL_META('t'), 't/en.mjml': body('Hi', '<mj-section>\n  <mj-column>\n    <mj-text>{{shout message}}</mj-text>\n  </mj-column>\n</mj-section>') });
    expect(h.message).toMatch(/t\/en\.mjml:6: unknown helper "shout"/);
    const p = await loadError({ 't/meta.yaml': MINIMAL_META('t'), 't/en.mjml': body('Hi', '<mj-section>\n  <mj-column>\n    <mj-text>{{message}}</mj-text>\n  </mj-column>\n</mj-section>\n{{> sidebar}}') });
    expect(p.message).toMatch(/t\/en\.mjml:9: unknown partial "sidebar"/);
    const inline = await loadError({ 't/meta.yaml': MINIMAL_META('t'), 't/en.mjml': body('Hi', '<mj-section>\n  <mj-column>\n    <mj-text>{{> footer}} {{message}}</mj-text>\n  </mj-column>\n</mj-section>') });
    expect(inline.message).toMatch(/t\/en\.mjml:6: unknown partial "footer"/);
  });

  it('an error in the subject, bad metadata, a missing locale file', async () => {
    const s = await loadError({ 't/meta.yaml': MINIMAL_META('t'), 't/en.mjml': body('Hi {{#if message}}', OK_BODY) });
    expect(s.message).toMatch(/t\/en\.mjml:2: subject: /);
    const m = await loadError({ 't/meta.yaml': MINIMAL_META('t').replace('kind: personal', 'kind: spam'), 't/en.mjml': body('Hi', OK_BODY) });
    expect(m.message).toMatch(/t\/meta\.yaml: kind: /);
    const l = await loadError({ 't/meta.yaml': MINIMAL_META('t').replace('locales: [en]', 'locales: [en, zh-CN]'), 't/en.mjml': body('Hi', OK_BODY) });
    expect(l.message).toMatch(/locale zh-CN is listed but t\/zh-CN\.mjml is missing/);
    const f = await loadError({ 't/meta.yaml': MINIMAL_META('t'), 't/en.mjml': `subject: Hi\n${OK_BODY}` });
    expect(f.message).toMatch(/t\/en\.mjml:1: must start with a --- line/);
  });
});

describe('missing data is an error naming the variable, the template and the recipient', () => {
  it('a required variable', async () => {
    const dir = scratchTemplates({ 't/meta.yaml': MINIMAL_META('t'), 't/en.mjml': body('Hi {{client.name}}', OK_BODY) });
    const lib = await loadTemplateLibrary(dir, { clock });
    expect(() => lib.render('t', 'en', baseData())).toThrow('template t (en): variable "message" has no value for recipient james@acme.example');
    expect(() => lib.render('t', 'en', baseData({ message: '   ' }))).toThrow(/variable "message" has no value/);
    expect(() => lib.render('t', 'en', baseData({ message: 'x', client: {} }))).toThrow(/variable "client.name" has no value/);
    try {
      lib.render('t', 'en', baseData({ sender: undefined, message: 'x' }));
    } catch (e) {
      expect(isAppError(e) && e.code).toBe('TEMPLATE_VARIABLE_MISSING');
      expect(isAppError(e) && e.details).toMatchObject({ template: 't', variable: 'sender', recipient: 'james@acme.example' });
    }
  });

  it('an optional variable printed without a guard fails rather than leaving a hole', async () => {
    const dir = scratchTemplates({
      't/meta.yaml': MINIMAL_META('t', '  extra: { type: object, required: false }\n  extra.note: { type: string, required: false }\n'),
      't/en.mjml': body('Hi', '<mj-section>\n  <mj-column>\n    <mj-text>{{message}} {{extra.note}}</mj-text>\n    {{#if extra.note}}\n    <mj-text>guarded {{extra.note}}</mj-text>\n    {{/if}}\n  </mj-column>\n</mj-section>'),
    });
    const lib = await loadTemplateLibrary(dir, { clock });
    expect(() => lib.render('t', 'en', baseData({ message: 'x' }))).toThrow(/template t \(en\): variable "note" has no value for recipient james@acme.example/);
    const ok = lib.render('t', 'en', baseData({ message: 'x', extra: { note: 'hello' } }));
    expect(ok.text).toContain('guarded hello');
  });

  it('a list item missing a required field names its position', async () => {
    const dir = scratchTemplates({
      't/meta.yaml': MINIMAL_META('t', '  items: { type: array, required: true }\n  items[].name: { type: string, required: true }\n'),
      't/en.mjml': body('Hi', '<mj-section>\n  <mj-column>\n    <mj-text>{{message}}<ul>{{#each items}}<li>{{name}}</li>{{/each}}</ul></mj-text>\n  </mj-column>\n</mj-section>'),
    });
    const lib = await loadTemplateLibrary(dir, { clock });
    expect(() => lib.render('t', 'en', baseData({ message: 'x', items: [{ name: 'a' }, { nome: 'b' }] }))).toThrow(/variable "items\[1\]\.name" has no value/);
    expect(() => lib.render('t', 'en', baseData({ message: 'x', items: [] }))).toThrow(/variable "items" must be a non-empty list/);
    expect(lib.render('t', 'en', baseData({ message: 'x', items: [{ name: 'a' }, { name: 'b' }] })).text).toContain(' * b');
  });

  it('a variant outside its declared values (unless the template names an otherwise), a number outside its range, a list too long: an error, not a plausible wrong mail', async () => {
    const lib = await starterLibrary();
    const sample = (name: string) => lib.sampleData(name, 'en');
    // a holiday without its own card gets the generic one (the holiday campaign passes any holiday key it finds)
    expect(lib.render('holiday-greeting', 'en', { ...sample('holiday-greeting'), holiday: 'golden-week' }).subject).toBe(lib.render('holiday-greeting', 'en', { ...sample('holiday-greeting'), holiday: 'generic' }).subject);
    expect(() => lib.render('order-status', 'en', { ...sample('order-status'), status: 'lost' })).toThrow(/variable "status" is "lost", not one of production, shipped, arrival/);
    expect(() => lib.render('follow-up', 'en', { ...sample('follow-up'), step: 5 })).toThrow(/variable "step" is 5, outside 1\.\.4/);
    expect(() => lib.render('monthly-card', 'zh-CN', { ...lib.sampleData('monthly-card', 'zh-CN'), month: 0 })).toThrow(/variable "month" is 0, outside 1\.\.12/);
    const products = sample('new-product-push').products as unknown[];
    expect(() => lib.render('new-product-push', 'en', { ...sample('new-product-push'), products: [...products, ...products] })).toThrow(/variable "products" has 6 items, at most 4/);
    expect(lib.render('new-product-push', 'en', { ...sample('new-product-push'), products: products.slice(0, 1) }).subject).toMatch(/new for/);
    // an optional variable with values is checked only when given
    const dir = scratchTemplates({
      't/meta.yaml': MINIMAL_META('t', '  tone: { type: string, required: false, values: [warm, brief] }\n'),
      't/en.mjml': body('Hi', '<mj-section>\n  <mj-column>\n    <mj-text>{{message}}{{#if tone}} {{tone}}{{/if}}</mj-text>\n  </mj-column>\n</mj-section>'),
    });
    const t = await loadTemplateLibrary(dir, { clock });
    expect(t.render('t', 'en', baseData({ message: 'x' })).text).toContain('x');
    expect(() => t.render('t', 'en', baseData({ message: 'x', tone: 'loud' }))).toThrow(/variable "tone" is "loud", not one of warm, brief/);
    const bad = await loadError({ 'u/meta.yaml': MINIMAL_META('u', '  tone: { type: string, required: false, values: [warm, brief], otherwise: loud }\n'), 'u/en.mjml': body('Hi', OK_BODY) });
    expect(bad.message).toMatch(/u\/meta\.yaml.*"otherwise" must be one of "values"/);
  });
});

describe('dev mode', () => {
  it('recompiles a template when its file changes, and keeps the old one when the new one is broken', async () => {
    const dir = scratchTemplates({ 't/meta.yaml': MINIMAL_META('t'), 't/en.mjml': body('Version one', OK_BODY) });
    const errors: Error[] = [];
    const lib = await loadTemplateLibrary(dir, { dev: true, clock, onReloadError: (e) => errors.push(e) });
    try {
      const v1 = lib.version('t', 'en');
      expect(lib.render('t', 'en', baseData({ message: 'x' })).subject).toBe('Version one');
      writeFileSync(path.join(dir, 't/en.mjml'), body('Version two', OK_BODY));
      await expect.poll(() => lib.render('t', 'en', baseData({ message: 'x' })).subject, { timeout: 15_000, interval: 100 }).toBe('Version two');
      expect(lib.version('t', 'en')).not.toBe(v1);
      writeFileSync(path.join(dir, 't/en.mjml'), body('Version three', '<mj-section><mj-column><mj-text>{{#if}}</mj-text></mj-column></mj-section>'));
      await expect.poll(() => errors.length, { timeout: 15_000, interval: 100 }).toBeGreaterThan(0);
      expect(errors[0]!.message).toMatch(/t\/en\.mjml:\d+/);
      expect(lib.render('t', 'en', baseData({ message: 'x' })).subject).toBe('Version two');
    } finally {
      lib.close();
    }
  });
});

describe('the compiled-template disk cache', () => {
  it('stores each template version once, reuses it, and treats a corrupt entry as a miss', async () => {
    const { clearCompiledMemory } = await import('../../src/templates/template-library.ts');
    const { mkdtempSync, readdirSync, writeFileSync: write } = await import('node:fs');
    const os = await import('node:os');
    const cacheDir = mkdtempSync(path.join(os.tmpdir(), 'rapport-tpl-cache-'));
    const dir = scratchTemplates({ 't/meta.yaml': MINIMAL_META('t'), 't/en.mjml': body('Cached {{message}}', OK_BODY) });
    const first = await loadTemplateLibrary(dir, { cacheDir, clock });
    const files = readdirSync(cacheDir).filter((f) => f.endsWith('.json'));
    expect(files).toHaveLength(1);
    clearCompiledMemory();
    const second = await loadTemplateLibrary(dir, { cacheDir, clock });
    expect(second.render('t', 'en', baseData({ message: 'x' }))).toEqual(first.render('t', 'en', baseData({ message: 'x' })));
    write(path.join(cacheDir, files[0]!), '{not json');
    clearCompiledMemory();
    const third = await loadTemplateLibrary(dir, { cacheDir, clock });
    expect(third.render('t', 'en', baseData({ message: 'y' })).subject).toBe('Cached y');
    writeFileSync(path.join(dir, 't/en.mjml'), body('Changed {{message}}', OK_BODY));
    clearCompiledMemory();
    const fourth = await loadTemplateLibrary(dir, { cacheDir, clock });
    expect(fourth.render('t', 'en', baseData({ message: 'z' })).subject).toBe('Changed z');
    expect(readdirSync(cacheDir).filter((f) => f.endsWith('.json'))).toHaveLength(2);
  });
});
