/**
 * npm run bench:render
 * 1. Time to compile each template once per locale (MJML + text part + Handlebars), cold.
 * 2. Renders per second for N recipients of new-product-push through renderBatch (HTML + text +
 *    subject), next to raw Handlebars rendering the same compiled HTML alone (no text, no checks).
 * Env: BENCH_RENDER_N (default 10000), BENCH_RENDER_ROUNDS (default 3, best round counts).
 */
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileTemplateLocale } from '../../src/templates/compile-template.ts';
import { hbs, HELPER_NAMES } from '../../src/templates/handlebars-env.ts';
import { listTemplateNames, readShared, readTemplateSources } from '../../src/templates/read-sources.ts';
import { loadTemplateLibrary } from '../../src/templates/index.ts';

const dir = path.resolve(fileURLToPath(new URL('../../templates', import.meta.url)));
const N = Number(process.env.BENCH_RENDER_N ?? 10_000);
const ROUNDS = Number(process.env.BENCH_RENDER_ROUNDS ?? 3);
const load = (): string => os.loadavg().map((l) => l.toFixed(2)).join(' ');

console.log(`bench:render  node ${process.version}  cpus ${os.cpus().length}  loadavg ${load()}`);
console.log('\n1. compile once per template and locale (cold: MJML, text part, Handlebars)');
const shared = readShared(dir);
const rows: string[] = [];
let total = 0;
let count = 0;
for (const name of listTemplateNames(dir)) {
  const src = readTemplateSources(dir, name, shared);
  for (const locale of src.meta.locales) {
    const c = await compileTemplateLocale(hbs, HELPER_NAMES, src, locale);
    total += c.compileMs;
    count++;
    rows.push(`  ${name.padEnd(22)} ${locale.padEnd(6)} ${c.compileMs.toFixed(1).padStart(7)} ms   html ${(c.htmlSource.length / 1024).toFixed(1)} KB`);
  }
}
console.log(rows.join('\n'));
console.log(`  mean ${(total / count).toFixed(1)} ms over ${count} template-locales`);

const lib = await loadTemplateLibrary(dir);
const sample = lib.sampleData('new-product-push', 'en');
const recipients: Record<string, unknown>[] = [];
for (let i = 0; i < N; i++) {
  const contact = { ...(sample.contact as Record<string, unknown>), name: `Client Person ${i}`, email: `person${i}@client${i % 97}.example` };
  recipients.push({ ...sample, contact, client: { ...(sample.client as Record<string, unknown>), name: `Company ${i} <Ltd> & Co` }, recipient: contact.email });
}
const compiled = await compileTemplateLocale(hbs, HELPER_NAMES, readTemplateSources(dir, 'new-product-push', shared), 'en');
const raw = hbs.compile(compiled.htmlSource);
const frame = { locale: 'en', timeZone: 'America/Chicago', now: new Date(), textMode: false, copy: compiled.copy };

// warm up both paths
lib.renderBatch('new-product-push', 'en', recipients.slice(0, 500));
for (let i = 0; i < 500; i++) raw(recipients[i], { data: frame });

let bestBatch = Infinity;
let bestRaw = Infinity;
let bytes = 0;
for (let r = 0; r < ROUNDS; r++) {
  let t = performance.now();
  const out = lib.renderBatch('new-product-push', 'en', recipients);
  bestBatch = Math.min(bestBatch, performance.now() - t);
  bytes = out[0]!.html.length + out[0]!.text.length;
  t = performance.now();
  let sink = 0;
  for (let i = 0; i < N; i++) sink += raw(recipients[i], { data: frame }).length;
  bestRaw = Math.min(bestRaw, performance.now() - t);
  if (sink === 0) throw new Error('raw render produced nothing');
}
const batchRate = N / (bestBatch / 1000);
const rawRate = N / (bestRaw / 1000);
console.log(`\n2. new-product-push (en), ${N} recipients, best of ${ROUNDS} rounds, one core`);
console.log(`  renderBatch (html + text + subject, strict, checks): ${Math.round(batchRate).toLocaleString('en')} renders/s  (${(bestBatch / N * 1000).toFixed(1)} µs each, ${(bytes / 1024).toFixed(1)} KB out)`);
console.log(`  raw Handlebars (same compiled HTML only):           ${Math.round(rawRate).toLocaleString('en')} renders/s  (${(bestRaw / N * 1000).toFixed(1)} µs each)`);
console.log(`  ratio batch/raw: ${(batchRate / rawRate).toFixed(2)}   targets: >= 20,000/s and >= 0.50`);
console.log(`  loadavg ${load()}`);
lib.close();
