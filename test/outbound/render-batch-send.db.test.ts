import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { enqueueMail, parseOutboundSettings, processBatch, SmtpTransports, type Renderer } from '../../src/outbound/index.ts';
import { unsubscribeKey } from '../../src/outbound/unsubscribe-token.ts';
import { systemClock } from '../../src/shared/clock.ts';
import { loadTemplateLibrary, type TemplateLibrary } from '../../src/templates/index.ts';
import { testBackend, useTestDb } from '../support/test-db.ts';
import { addTestAccount } from './helpers.ts';
import { startSink, type SmtpSink } from './smtp-sink.ts';

const root = path.resolve(fileURLToPath(new URL('../..', import.meta.url)));

// The sender renders a claimed batch through the template library's batch form (one call per template
// and locale); a recipient whose data is bad fails alone, the others still go.
describe(`templated mail rendered in batches on ${testBackend}`, () => {
  const t = useTestDb();
  let lib: TemplateLibrary;
  let sink: SmtpSink | undefined;
  let transports: SmtpTransports | undefined;
  beforeAll(async () => {
    lib = await loadTemplateLibrary(path.join(root, 'templates'), { cacheDir: false });
  });
  afterAll(() => lib?.close());
  afterEach(async () => {
    await transports?.closeAll();
    await sink?.close();
    sink = undefined;
  });

  it('renders the batch once per template and locale, each mail with its own name and unsubscribe link; a bad row fails alone', async () => {
    sink = await startSink();
    const acct = await addTestAccount(t.db, { smtpPort: sink.port });
    const sample = lib.sampleData('new-product-push', 'en');
    const data = (i: number): Record<string, unknown> => ({ ...sample, contact: { ...(sample.contact as Record<string, unknown>), name: `Buyer Number${i}` } });
    await enqueueMail(t.db, [
      ...[0, 1, 2].map((i) => ({ idempotencyKey: `p${i}`, accountId: acct.id, toAddress: `b${i}@client${i}.com`, kind: 'promotion' as const, template: 'new-product-push', locale: 'en', data: data(i) })),
      // no products: the template requires them
      { idempotencyKey: 'bad', accountId: acct.id, toAddress: 'bad@client9.com', kind: 'promotion' as const, template: 'new-product-push', locale: 'en', data: { ...data(9), products: [] } },
    ]);
    const calls: Array<{ name: string; n: number }> = [];
    let single = 0;
    const renderer: Renderer = {
      render: (name, locale, d) => {
        single += 1;
        return lib.render(name, locale, d);
      },
      renderBatch: (name, locale, d) => {
        calls.push({ name, n: d.length });
        return lib.renderBatch(name, locale, d);
      },
      resolveLocale: (name, wanted) => lib.resolveLocale(name, wanted ?? undefined),
    };
    const settings = parseOutboundSettings({ throttles: false, claimBatch: 10 });
    transports = new SmtpTransports(t.db, { settings, credentials: async () => null });
    const report = await processBatch({ db: t.db, settings, clock: systemClock, transports, renderer, unsubscribe: { key: unsubscribeKey('k'.repeat(32)), publicUrl: 'https://rapport.test', mailto: undefined } });
    // the batch call failed on the bad row: each mail was then rendered alone
    expect(calls).toEqual([{ name: 'new-product-push', n: 4 }]);
    expect(single).toBe(4);
    const byAddress = new Map(report.mails.map((m) => [m.toAddress, m]));
    expect(byAddress.get('bad@client9.com')?.outcome).toBe('render-failed');
    expect(byAddress.get('bad@client9.com')?.detail).toMatch(/products/);
    expect(sink.mails).toHaveLength(3);
    const tokens = new Set<string>();
    for (const i of [0, 1, 2]) {
      expect(byAddress.get(`b${i}@client${i}.com`)?.outcome).toBe('sent');
      const mail = sink.mails.find((m) => m.to.includes(`b${i}@client${i}.com`));
      const raw = (mail?.raw.toString() ?? '').replace(/=\r\n/g, '');
      expect(raw).toContain(`Number${i}`);
      for (const j of [0, 1, 2]) if (j !== i) expect(raw).not.toContain(`Number${j}`);
      const token = /rapport\.test\/unsubscribe\/(v1\.[0-9a-z]+\.[A-Za-z0-9_-]{22})/.exec(raw)?.[1];
      expect(token).toBeDefined();
      tokens.add(token ?? '');
    }
    expect(tokens.size).toBe(3);

    // Good rows only: one batch call, no single renders.
    await enqueueMail(t.db, [4, 5, 6].map((i) => ({ idempotencyKey: `q${i}`, accountId: acct.id, toAddress: `b${i}@client${i}.com`, kind: 'promotion' as const, template: 'new-product-push', locale: 'en', data: data(i) })));
    calls.length = 0;
    single = 0;
    const again = await processBatch({ db: t.db, settings, clock: systemClock, transports, renderer, unsubscribe: { key: unsubscribeKey('k'.repeat(32)), publicUrl: 'https://rapport.test', mailto: undefined } });
    expect(again.mails.map((m) => m.outcome)).toEqual(['sent', 'sent', 'sent']);
    expect(calls).toEqual([{ name: 'new-product-push', n: 3 }]);
    expect(single).toBe(0);
    for (const i of [4, 5, 6]) expect((sink.mails.find((m) => m.to.includes(`b${i}@client${i}.com`))?.raw.toString() ?? '').replace(/=\r\n/g, '')).toContain(`Number${i}`);
  });
});
