import { describe, expect, it } from 'vitest';
import { loadTemplateLibrary, type TemplateLibrary } from '../../src/templates/index.ts';
import { compiledTemplate } from '../../src/templates/template-library.ts';
import { hbs, HELPER_NAMES } from '../../src/templates/handlebars-env.ts';
import { HELPER_INPUTS } from '../../src/templates/helpers.ts';
import { batchSplit, sameData } from '../../src/templates/render-batch.ts';
import { expandBranches, splitTemplate, statementInputs } from '../../src/templates/split-template.ts';
import { baseData, body, clock, MINIMAL_META, scratchTemplates, starterLibrary, TEMPLATES_DIR } from './support.ts';

type Data = Record<string, unknown>;

/** Each recipient rendered alone: what the batch must give, byte for byte. */
function singles(lib: TemplateLibrary, name: string, locale: string, data: Data[]): unknown[] {
  return data.map((d) => lib.render(name, locale, d));
}

/** A scratch library holding one template `name` (en) with the given extra variables and MJML body. */
async function scratchLibrary(name: string, variables: string, mjml: string, subject = 'Hi'): Promise<{ lib: TemplateLibrary; dir: string }> {
  const dir = scratchTemplates({ [`${name}/meta.yaml`]: MINIMAL_META(name, variables), [`${name}/en.mjml`]: body(subject, mjml) });
  return { lib: await loadTemplateLibrary(dir, { clock, cacheDir: false }), dir };
}

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected an error');
}

/** Recipients that differ in who they are, in zone and moment, in copies of shared data, and in an escaped company name. */
function variedRecipients(sample: Data): Data[] {
  const contact = sample.contact as Data;
  const client = sample.client as Data;
  const out: Data[] = [];
  for (let i = 0; i < 12; i++) {
    const d: Data = { ...sample };
    d.contact = { ...contact, name: i % 3 === 0 ? `王${i}` : `Client Person ${i}`, title: ['Mr.', 'Ms.', '总经理', 'Buyer'][i % 4], email: `p${i}@client.example` };
    d.client = { ...client, name: i % 2 === 0 ? 'Company <Ltd> & Co' : `Company ${i} "Quoted" 'Ltd'` };
    d.recipient = `p${i}@client.example`;
    if (i === 4) (d.contact as Data).timeZone = 'Asia/Shanghai';
    if (i === 5) d.now = '2026-11-23T21:45:00Z';
    if (i === 6 || i === 7) Object.assign(d, structuredClone(sample), { contact: d.contact, client: d.client }); // equal data, other objects
    if (i === 8 && typeof d.unsubscribeUrl === 'string') d.unsubscribeUrl = `${d.unsubscribeUrl}-${i}`;
    if (i === 9) d.sender = { ...(sample.sender as Data), company: 'Other <Sender> & Partners', phone: undefined };
    out.push(d);
  }
  return out;
}

describe('renderBatch gives what one render per recipient gives', () => {
  it('for every starter template and locale, byte for byte, with varied recipients', async () => {
    const lib = await starterLibrary();
    for (const t of lib.list()) {
      for (const locale of t.locales) {
        const sample = lib.sampleData(t.name, locale);
        const data = variedRecipients(sample);
        // every variant (angle, holiday, step...) the sample data can render, in runs and interleaved
        for (const v of t.variables.filter((x) => /^\w+$/.test(x.path) && (x.values || (x.type === 'number' && x.min !== undefined && x.max !== undefined && x.max - x.min <= 12)))) {
          const values: unknown[] = v.values ? [...v.values] : Array.from({ length: v.max! - v.min! + 1 }, (_, k) => v.min! + k);
          const variants = values.map((value) => ({ ...sample, [v.path]: value })).filter((d) => {
            try {
              lib.render(t.name, locale, d);
              return true;
            } catch {
              return false;
            }
          });
          data.push(...variants, ...variants.flatMap((d, i) => [d, { ...data[i % data.length]!, [v.path]: d[v.path] }]));
        }
        expect(lib.renderBatch(t.name, locale, data), `${t.name} ${locale}`).toEqual(singles(lib, t.name, locale, data));
        expect(batchSplit(await compiledTemplate(TEMPLATES_DIR, t.name, locale)), `${t.name} ${locale} rendered split`).toBeDefined();
      }
    }
  });

  it('escapes "Company <Ltd> & Co" in the HTML of every mail, keeps it as typed in text and subject', async () => {
    const lib = await starterLibrary();
    const sample = lib.sampleData('new-product-push', 'en');
    const data = [0, 1, 2, 3].map((i) => ({ ...sample, client: { ...(sample.client as Data), name: i === 2 ? 'Plain Co' : 'Company <Ltd> & Co' }, contact: { ...(sample.contact as Data), name: `Person ${i}`, title: 'Buyer' } }));
    const out = lib.renderBatch('new-product-push', 'en', data);
    expect(out).toEqual(singles(lib, 'new-product-push', 'en', data));
    for (const i of [0, 1, 3]) {
      expect(out[i]!.html).toContain('New for Company &lt;Ltd&gt; &amp; Co');
      expect(out[i]!.html).not.toContain('Company <Ltd>');
      expect(out[i]!.text).toContain('New for Company <Ltd> & Co');
      expect(out[i]!.subject).toBe('Patio heaters for outdoor dining: new for Company <Ltd> & Co');
      expect(out[i]!.text).toContain(`Dear Person ${i},`);
    }
    expect(out[2]!.html).toContain('New for Plain Co');
  });

  it('does not share a block that reads the recipient, however deep inside it reads it', async () => {
    // one block per way of reaching per-recipient data, so none hides behind another
    const blocks = [
      '{{#each products}}[{{name}} for {{@root.contact.name}}]{{/each}}',
      '{{#each products}}({{name}} of {{../client.name}}){{/each}}',
      '{{#each products}}{{#with @root.contact}}«{{title}}»{{/with}}{{/each}}',
      '{{#with sender}}from {{name}} to {{../recipient}}{{/with}}',
      '{{#each products}}{{#if @root.code}}code {{@root.code}}{{/if}}{{/each}}',
      '{{#with sender}}{{#each ../products}}{{name}}/{{../../code}};{{/each}}{{/with}}',
    ];
    const { lib, dir } = await scratchLibrary(
      'deep',
      '  products: { type: array, required: true }\n  products[].name: { type: string, required: true }\n  code: { type: string, required: false }\n',
      `<mj-section><mj-column>${blocks.map((b) => `<mj-text>${b}</mj-text>`).join('\n')}</mj-column></mj-section>`,
      'Hi {{message}}',
    );
    const products = [{ name: 'Heater' }, { name: 'Lamp' }];
    const sender = { name: 'Lily Chen', company: 'Brightway', website: 'https://b.example', email: 'l@b.example' };
    const data = ['Ann', 'Bob', 'Cy <&>'].map((n, i) => baseData({ message: 'Same', products, sender, code: `C${i}`, contact: { name: n, title: `T${i}` }, client: { name: `Client ${i}` }, recipient: `r${i}@x.example` }));
    const out = lib.renderBatch('deep', 'en', data);
    expect(out).toEqual(singles(lib, 'deep', 'en', data));
    expect(batchSplit(await compiledTemplate(dir, 'deep', 'en'))).toBeDefined();
    expect(out[1]!.text).toContain('[Heater for Bob][Lamp for Bob]');
    expect(out[1]!.text).toContain('(Heater of Client 1)(Lamp of Client 1)');
    expect(out[1]!.text).toContain('«T1»«T1»');
    expect(out[1]!.text).toContain('from Lily Chen to r1@x.example');
    expect(out[1]!.text).toContain('code C1code C1');
    expect(out[1]!.text).toContain('Heater/C1;Lamp/C1;');
    expect(out[2]!.html).toContain('[Heater for Cy &lt;&amp;&gt;]');
  });

  it('splits a branch with a per-recipient hole inside, and follows its condition when it changes', async () => {
    const { lib, dir } = await scratchLibrary(
      'branch',
      '  mode: { type: string, required: false }\n',
      [
        '<mj-section><mj-column>',
        '{{#if (eq mode "long")}}',
        '<mj-text>Dear {{contact.name}}, a long note for {{client.name}} about {{message}}.</mj-text>',
        '{{#unless @root.sender.title}}<mj-text>No title, {{contact.name}}</mj-text>{{/unless}}',
        '{{else if (eq mode "short")}}',
        '<mj-text>Hi {{contact.name}}: {{message}}</mj-text>',
        '{{else}}',
        '<mj-text>{{#if contact.title}}{{contact.title}} {{/if}}{{message}} (plain)</mj-text>',
        '{{/if}}',
        '</mj-column></mj-section>',
      ].join('\n'),
    );
    const modes = ['long', 'long', 'short', 'long', undefined, 'short', 'short', 'other', 'long'];
    const data = modes.map((mode, i) => baseData({ message: i % 4 === 0 ? 'news' : 'other news', ...(mode === undefined ? {} : { mode }), contact: { name: `Person ${i}`, ...(i % 2 ? { title: 'Dr.' } : {}) }, client: { name: `Client <${i}>` } }));
    const out = lib.renderBatch('branch', 'en', data);
    expect(out).toEqual(singles(lib, 'branch', 'en', data));
    const split = batchSplit(await compiledTemplate(dir, 'branch', 'en'))!;
    // the long branch's copy is shared, its names are rendered per mail
    expect(split.html.chunks.some((ch) => !ch.always && ch.keys.includes('mode'))).toBe(true);
    expect(split.html.chunks.filter((ch) => ch.always).length).toBeGreaterThan(1);
    expect(out[3]!.text).toContain('Dear Person 3, a long note for Client <3> about other news.');
    expect(out[5]!.text).toContain('Hi Person 5: other news');
    expect(out[7]!.text).toContain('Dr. other news (plain)');
  });

  it('re-renders a shared block when the data it reads changes, and reuses it when the data is equal', async () => {
    const { lib, dir } = await scratchLibrary(
      'shared',
      '  products: { type: array, required: true }\n  products[].name: { type: string, required: true }\n  meetingAt: { type: date, required: true }\n',
      '<mj-section><mj-column><mj-text>{{#each products}}[{{name}}{{#if price}} {{currency price "USD"}}{{/if}}]{{/each}}</mj-text><mj-text>At {{datetime meetingAt}}. {{message}}</mj-text></mj-column></mj-section>',
    );
    const a = [{ name: 'Heater', price: 10 }];
    const data = [
      baseData({ message: 'm', products: a, meetingAt: '2026-12-01T15:00:00Z' }),
      baseData({ message: 'm', products: [{ name: 'Heater', price: 10 }], meetingAt: '2026-12-01T15:00:00Z' }), // equal copy
      baseData({ message: 'm', products: [{ name: 'Heater', price: 12 }], meetingAt: '2026-12-01T15:00:00Z' }), // other price
      baseData({ message: 'm', products: [{ name: 'Heater', price: -0 }], meetingAt: '2026-12-01T15:00:00Z' }),
      baseData({ message: 'm', products: [{ name: 'Heater', price: 0 }], meetingAt: '2026-12-01T15:00:00Z' }),
      baseData({ message: 'x', products: a, meetingAt: '2026-12-01T15:00:00Z', contact: { name: 'Wang', timeZone: 'Asia/Shanghai' } }), // other zone
      baseData({ message: 'x', products: a, meetingAt: new Date('2026-12-01T15:00:00Z') }),
    ];
    const out = lib.renderBatch('shared', 'en', data);
    expect(out).toEqual(singles(lib, 'shared', 'en', data));
    expect(batchSplit(await compiledTemplate(dir, 'shared', 'en'))?.html.chunks.some((ch) => ch.zone && !ch.always)).toBe(true);
    expect(out[1]!.text).toContain('[Heater $10]');
    expect(out[2]!.text).toContain('[Heater $12]');
    expect(out[0]!.text).toContain('At Dec 1, 2026, 9:00 AM.');
    expect(out[5]!.text).toContain('At Dec 1, 2026, 11:00 PM.');
  });

  it('fails on the same recipient with the same error as one render', async () => {
    const lib = await starterLibrary();
    const sample = lib.sampleData('new-product-push', 'en');
    const products = sample.products as Data[];
    const ok = (i: number): Data => ({ ...sample, contact: { ...(sample.contact as Data), name: `P${i}` } });
    // an equal-looking product list that lacks a required field, after recipients that passed with the good list
    const bad = { ...ok(3), products: [products[0], { ...products[1], use: undefined }] };
    const batch = [ok(0), ok(1), ok(2), bad, ok(4)];
    const single = errorOf(() => lib.render('new-product-push', 'en', bad));
    expect(single).toMatch(/variable "products\[1\]\.use" has no value for recipient james\.miller@acme-outdoor\.example$/);
    expect(errorOf(() => lib.renderBatch('new-product-push', 'en', batch))).toBe(`${single} (#4)`);

    // a printed variable that is not declared required: strict mode names it
    const { lib: lib2 } = await scratchLibrary('strict', '', '<mj-section><mj-column><mj-text>{{message}} {{client.nickname}}</mj-text></mj-column></mj-section>');
    const good = (i: number): Data => baseData({ message: `m${i}`, client: { name: 'C', nickname: `n${i}` } });
    const data = [good(0), good(1), good(2), baseData({ message: 'm3', recipient: 'missing@x.example' })];
    const strictSingle = errorOf(() => lib2.render('strict', 'en', data[3]!));
    expect(strictSingle).toMatch(/template strict \(en\): variable "nickname" has no value for recipient missing@x\.example$/);
    expect(errorOf(() => lib2.renderBatch('strict', 'en', data))).toBe(`${strictSingle} (#4)`);
  });
});

describe('splitting a template at what it reads', () => {
  const inputs = (source: string) => {
    const s = statementInputs(hbs.parse(source).body[0]!, new Set(HELPER_NAMES));
    return { keys: [...s.keys].sort(), zone: s.zone, now: s.now, unbounded: s.unbounded };
  };

  it('finds the root keys a statement reads, through loops, @root and ../', () => {
    expect(inputs('{{#each products}}{{name}} {{currency price (default currency @root.currency "USD")}}{{/each}}')).toEqual({ keys: ['currency', 'products'], zone: false, now: false, unbounded: false });
    expect(inputs('{{salutation contact}}')).toEqual({ keys: ['contact'], zone: false, now: false, unbounded: false });
    expect(inputs('{{#with sender}}{{name}} {{../contact.name}}{{/with}}')).toEqual({ keys: ['contact', 'sender'], zone: false, now: false, unbounded: false });
    expect(inputs('{{#if a}}{{b.c}}{{else}}{{d}}{{/if}}')).toEqual({ keys: ['a', 'b', 'd'], zone: false, now: false, unbounded: false });
    expect(inputs('{{copy "closing" fallback="Best regards,"}}')).toEqual({ keys: [], zone: false, now: false, unbounded: false });
  });

  it('marks time-zone and clock helpers, and what it cannot follow', () => {
    expect(inputs('{{date offerEnds}}')).toMatchObject({ keys: ['offerEnds'], zone: true, now: false });
    expect(inputs('{{greeting}}')).toMatchObject({ zone: true, now: true });
    expect(inputs('{{this}}').unbounded).toBe(true);
    expect(inputs('{{#each (lookup a b)}}{{x}}{{/each}}').unbounded).toBe(true);
    expect(inputs('{{#each items as |item|}}{{item.x}}{{/each}}').unbounded).toBe(true);
    expect(inputs('{{@root}}').unbounded).toBe(true);
  });

  it('splits #if and #unless blocks only where the condition reads nothing of the recipient', () => {
    const helpers = new Set(HELPER_NAMES);
    const pieces = (source: string) => expandBranches(hbs.parse(source).body[0]!, helpers).length;
    expect(pieces('{{#if a}}x {{contact.name}} y{{else}}z{{/if}}')).toBe(4);
    expect(pieces('{{#unless (eq a "b")}}x {{client.name}}{{/unless}}')).toBe(2);
    expect(pieces('{{#if a}}x {{b}} y{{/if}}')).toBe(1); // no hole: one shared block
    expect(pieces('{{#if contact.title}}x {{contact.name}}{{/if}}')).toBe(1); // the condition is the recipient's
    expect(pieces('{{#if (eq @root.recipient a)}}x {{contact.name}}{{/if}}')).toBe(1);
    expect(pieces('{{#each a}}x {{@root.contact.name}}{{/each}}')).toBe(1); // a loop is never split
  });

  it('classifies every helper we register', () => {
    expect(Object.keys(HELPER_INPUTS).sort()).toEqual([...HELPER_NAMES].sort());
  });

  it('renders the products block of the new-product push once per batch, the recipient parts per mail', async () => {
    const c = await compiledTemplate(TEMPLATES_DIR, 'new-product-push', 'en');
    const split = splitTemplate(hbs, HELPER_NAMES, c.htmlSource);
    const always = split.chunks.filter((ch) => ch.always);
    expect(split.chunks.find((ch) => ch.keys.includes('products') && !ch.always)).toBeDefined();
    expect(always.length).toBeGreaterThan(0);
    for (const ch of always) expect(ch.keys.some((k) => ['contact', 'client', 'recipient'].includes(k))).toBe(true);
  });

  it('compares data as a template sees it', () => {
    expect(sameData({ a: [1, { b: 'x' }] }, { a: [1, { b: 'x' }] })).toBe(true);
    expect(sameData({ a: 1, b: 2 }, { b: 2, a: 1 })).toBe(false); // {{#each}} over an object follows key order
    expect(sameData(0, -0)).toBe(false);
    expect(sameData(Number.NaN, Number.NaN)).toBe(true);
    expect(sameData({ a: undefined }, {})).toBe(false);
    expect(sameData([1, , 3], [1, undefined, 3])).toBe(false); // eslint-disable-line no-sparse-arrays
    expect(sameData(new Date(5), new Date(5))).toBe(true);
    expect(sameData(new Date(5), '1970-01-01T00:00:00.005Z')).toBe(false);
    const f = (): string => 'x';
    expect(sameData(f, f)).toBe(false); // Handlebars calls functions: never assume the same output
    expect(sameData(new Map(), new Map())).toBe(false);
  });
});
