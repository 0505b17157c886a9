/**
 * Renders every starter template in every locale in headless Chromium (Debian's /usr/bin/chromium,
 * driven by playwright-core) at 600 px and 375 px: nothing may overflow horizontally and every image
 * needs alt text. Screenshots go to test/screenshots/ (gitignored) for a person to look at.
 * No network: every non-loopback request is answered with a local placeholder image or aborted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { loadTemplateLibrary } from '../../src/templates/index.ts';
import { baseData, body, clock, MINIMAL_META, scratchTemplates, starterLibrary } from './support.ts';

const CHROMIUM = process.env.RAPPORT_CHROMIUM ?? '/usr/bin/chromium';
const SHOTS = path.resolve(fileURLToPath(new URL('../screenshots', import.meta.url)));
const WIDTHS = [600, 375];

/** A neutral "product photo" placeholder, labelled with the file name. */
function placeholder(url: string): string {
  const label = decodeURIComponent(url.split('/').pop() ?? 'image').replace(/\.[a-z]+$/i, '').replace(/[^\w -]/g, ' ').slice(0, 24);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="640" height="480" viewBox="0 0 640 480">
<defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="#dfe7ef"/><stop offset="1" stop-color="#b9c7d6"/></linearGradient></defs>
<rect width="640" height="480" fill="url(#g)"/><rect x="250" y="90" width="140" height="250" rx="14" fill="#7d8fa3"/><rect x="200" y="340" width="240" height="28" rx="8" fill="#5e6f82"/>
<circle cx="320" cy="150" r="38" fill="#f2b84b"/><text x="320" y="430" font-family="Arial" font-size="28" fill="#3b4a5a" text-anchor="middle">${label}</text></svg>`;
}

let browser: Browser;
let page: Page;
const blocked: string[] = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium) or set RAPPORT_CHROMIUM`);
  mkdirSync(SHOTS, { recursive: true });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  page = await browser.newPage({ viewport: { width: 600, height: 900 } });
  await page.route('**/*', async (route) => {
    const url = new URL(route.request().url());
    if (url.protocol === 'data:' || url.protocol === 'about:' || ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)) return route.continue();
    if (route.request().resourceType() === 'image') return route.fulfill({ status: 200, contentType: 'image/svg+xml', body: placeholder(url.pathname) });
    blocked.push(url.href);
    return route.abort();
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
});

interface LayoutReport {
  scrollWidth: number;
  innerWidth: number;
  overflowing: string[];
  imagesWithoutAlt: string[];
  images: number;
  brokenImages: number;
}

/** Runs in the page (a string, so this file needs no DOM typings). */
const INSPECT = `(() => {
  const innerWidth = window.innerWidth;
  const overflowing = [];
  for (const el of Array.from(document.body.querySelectorAll('*'))) {
    const r = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    if (style.display === 'none' || style.visibility === 'hidden' || r.width === 0) continue;
    if (r.right > innerWidth + 1 || r.left < -1) overflowing.push(el.tagName.toLowerCase() + '.' + (el.className || '') + ' ' + Math.round(r.left) + '..' + Math.round(r.right) + ': ' + (el.textContent || '').trim().slice(0, 40));
  }
  const imgs = Array.from(document.images);
  return {
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth,
    overflowing: overflowing.slice(0, 5),
    imagesWithoutAlt: imgs.filter((i) => (i.getAttribute('alt') || '').trim() === '').map((i) => i.src.slice(0, 80)),
    images: imgs.length,
    brokenImages: imgs.filter((i) => i.complete && i.naturalWidth === 0).length,
  };
})()`;

async function inspect(p: Page): Promise<LayoutReport> {
  return p.evaluate<LayoutReport>(INSPECT);
}

async function check(html: string, shot: string, width: number): Promise<LayoutReport> {
  await page.setViewportSize({ width, height: 900 });
  await page.setContent(html, { waitUntil: 'load' });
  const report = await inspect(page);
  await page.screenshot({ path: path.join(SHOTS, `${shot}.${width}.png`), fullPage: true });
  return report;
}

const NAMES = ['birthday', 'call-recap', 'complaint-ack', 'complaint-plan', 'dormant-wakeup', 'follow-up', 'holiday-greeting', 'monthly-card', 'new-product-push', 'order-status', 'relationship-repair', 'vip-summary'];

/** Templates with several cards in one folder: each card is looked at, not only the sample's. */
const VARIANTS: Readonly<Record<string, { variable: string; values: ReadonlyArray<string | number>; extra?: Record<string, unknown> }>> = {
  'holiday-greeting': { variable: 'holiday', values: ['christmas', 'new-year', 'spring-festival', 'mid-autumn', 'eid-al-fitr', 'diwali', 'thanksgiving', 'national-day', 'generic'], extra: { holidayName: 'Independence Day' } },
  'monthly-card': { variable: 'month', values: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12] },
  'follow-up': { variable: 'step', values: [1, 2, 3, 4] },
  'dormant-wakeup': { variable: 'angle', values: ['new-product', 'new-plan', 'manager'] },
  'order-status': { variable: 'status', values: ['production', 'shipped', 'arrival'] },
};

describe('every starter template in a real browser', () => {
  for (const name of NAMES) {
    it(`${name}: no horizontal overflow at 600 and 375 px, images have alt text`, async () => {
      const lib = await starterLibrary();
      const v = VARIANTS[name];
      for (const locale of ['en', 'zh-CN']) {
        const sample = lib.sampleData(name, locale);
        const cards: Array<[string, Record<string, unknown>]> = v
          ? v.values.map((value) => [`${name}.${locale}.${v.variable}-${value}`, { ...sample, ...v.extra, [v.variable]: value }])
          : [[`${name}.${locale}`, sample]];
        for (const [shot, data] of cards) {
          const mail = lib.render(name, locale, data);
          for (const width of WIDTHS) {
            const r = await check(mail.html, shot, width);
            expect(r.scrollWidth, `${shot} @${width}: page wider than the viewport`).toBeLessThanOrEqual(r.innerWidth);
            expect(r.overflowing, `${shot} @${width}: elements past the right edge`).toEqual([]);
            expect(r.imagesWithoutAlt, `${shot}: images without alt`).toEqual([]);
            expect(r.brokenImages, `${shot}: broken images`).toBe(0);
          }
        }
      }
    }, 180_000);
  }

  it('the checks catch a layout that overflows and an image without alt', async () => {
    const dir = scratchTemplates({
      'bad/meta.yaml': MINIMAL_META('bad'),
      'bad/en.mjml': body('Hi', '<mj-section>\n  <mj-column>\n    <mj-text><div style="width:900px">{{message}}</div></mj-text>\n    <mj-image src="https://img.example/x.png" />\n  </mj-column>\n</mj-section>'),
    });
    const lib = await loadTemplateLibrary(dir, { clock });
    const r = await check(lib.render('bad', 'en', baseData({ message: 'wide' })).html, 'self-test.bad', 375);
    expect(r.scrollWidth).toBeGreaterThan(r.innerWidth);
    expect(r.overflowing.length).toBeGreaterThan(0);
    expect(r.imagesWithoutAlt).toEqual(['https://img.example/x.png']);
  }, 60_000);

  it('hostile data (300-character names, RTL Arabic, emoji, markup) keeps the layout at 375 px', async () => {
    const lib = await starterLibrary();
    const long = 'Internationale-Handelsgesellschaft-für-Gartenmöbel-und-Terrassenheizungen-'.repeat(4) + 'GmbH';
    for (const [name, client] of [['new-product-push', long], ['vip-summary', 'شركة النور للتجارة العامة والمقاولات 🌞'], ['order-status', '<script>x</script><b style="width:2000px;display:block">wide</b>']] as const) {
      const data = { ...lib.sampleData(name, 'en'), client: { name: client }, contact: { name: long, title: 'Mr.' } };
      const r = await check(lib.render(name, 'en', data).html, `hostile.${name}`, 375);
      expect(r.scrollWidth, `${name}: page wider than the viewport`).toBeLessThanOrEqual(r.innerWidth);
      expect(r.overflowing, `${name}: elements past the right edge`).toEqual([]);
    }
    expect(blocked.filter((u) => !u.startsWith('data:'))).toEqual([]);
  }, 180_000);
});
