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
import { loadTemplateLibrary, type RenderedMail } from '../../src/templates/index.ts';

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

/** Wall and CPU milliseconds of fn (CPU time is what one core spends, whatever else the machine runs). */
function measure(fn: () => void): { wall: number; cpu: number } {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  fn();
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { wall, cpu: (c.user + c.system) / 1000 };
}

let batch = { wall: Infinity, cpu: Infinity };
let rawBest = { wall: Infinity, cpu: Infinity };
let bytes = 0;
const checked = [0, N >> 1, N - 1];
let batchOut: RenderedMail[] = [];
for (let r = 0; r < ROUNDS; r++) {
  const b = measure(() => {
    const out = lib.renderBatch('new-product-push', 'en', recipients);
    bytes = out[0]!.html.length + out[0]!.text.length + out[0]!.subject.length;
    batchOut = checked.map((i) => out[i]!); // keep three, not the whole batch while raw runs
  });
  batch = { wall: Math.min(batch.wall, b.wall), cpu: Math.min(batch.cpu, b.cpu) };
  // Raw Handlebars as a batch too: one HTML string per recipient, kept (as a sender keeps them).
  let rawOut: string[] = [];
  const w = measure(() => {
    rawOut = new Array<string>(N);
    for (let i = 0; i < N; i++) rawOut[i] = raw(recipients[i], { data: frame });
  });
  if (rawOut[N - 1]!.length === 0) throw new Error('raw render produced nothing');
  rawOut = [];
  rawBest = { wall: Math.min(rawBest.wall, w.wall), cpu: Math.min(rawBest.cpu, w.cpu) };
}
const rate = (ms: number): string => Math.round(N / (ms / 1000)).toLocaleString('en').padStart(8);
console.log(`\n2. new-product-push (en), ${N} recipients, best of ${ROUNDS} rounds, one core (CPU time; wall time in brackets)`);
console.log(`  renderBatch (html + text + subject, strict, checks): ${rate(batch.cpu)} renders/s  [${rate(batch.wall)}/s wall]  ${(batch.cpu / N * 1000).toFixed(1)} µs each, ${(bytes / 1024).toFixed(1)} KB out`);
console.log(`  raw Handlebars (same compiled HTML, HTML only):     ${rate(rawBest.cpu)} renders/s  [${rate(rawBest.wall)}/s wall]  ${(rawBest.cpu / N * 1000).toFixed(1)} µs each`);
// The batch shares what recipients have in common: its mails must still be exactly one render's each.
checked.forEach((i, k) => {
  if (JSON.stringify(batchOut[k]) !== JSON.stringify(lib.render('new-product-push', 'en', recipients[i]!))) throw new Error(`renderBatch differs from render for recipient #${i + 1}`);
});
console.log(`  ratio batch/raw: ${(rawBest.cpu / batch.cpu).toFixed(2)} (wall ${(rawBest.wall / batch.wall).toFixed(2)})   targets: >= 20,000/s and >= 0.50`);
console.log(`  loadavg ${load()}`);
lib.close();
