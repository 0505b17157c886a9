import { describe, expect, it } from 'vitest';
import { importMessage } from '../../src/mailbox/index.ts';
import { enqueueMail, parseOutboundSettings, processBatch, processMailtoUnsubscribes, SmtpTransports, unsubscribeKey } from '../../src/outbound/index.ts';
import { ManualClock } from '../../src/shared/clock.ts';
import { testBackend, useTestDb } from '../support/test-db.ts';
import { addTestAccount } from './helpers.ts';
import { startSink } from './smtp-sink.ts';

describe(`unsubscribe by mail (List-Unsubscribe mailto:) on ${testBackend}`, () => {
  const t = useTestDb();
  const key = unsubscribeKey('0123456789abcdef0123456789abcdef');

  it('a mail answering the mailto: link unsubscribes once; a forged token changes nothing', async () => {
    const sink = await startSink();
    const settings = parseOutboundSettings({ throttles: false });
    const transports = new SmtpTransports(t.db, { settings, credentials: async () => null });
    const clock = new ManualClock('2026-11-20T10:00:00Z');
    try {
      const acct = await addTestAccount(t.db, { name: 'sales', email: 'sales@maker.cn', smtpPort: sink.port });
      await enqueueMail(t.db, [{ idempotencyKey: 'promo', accountId: acct.id, toAddress: 'Wang@acme.com', kind: 'promotion', subject: 'Spring fair', html: '<p>Come</p>' }], { clock });
      await processBatch({ db: t.db, settings, clock, transports, unsubscribe: { key, publicUrl: undefined, mailto: undefined } });
      // What the recipient's mail client sends when the person picks "unsubscribe": the mailto: of the header.
      const header = /^List-Unsubscribe:[ \t]*(.*(?:\r\n[ \t].*)*)/m.exec(sink.mails[0]!.raw.toString())![1]!.replace(/\r\n[ \t]+/g, ' ');
      const mailto = /<mailto:([^?>]+)\?subject=([^>]+)>/.exec(header)!;
      expect(mailto[1]).toBe('sales@maker.cn');
      const subject = decodeURIComponent(mailto[2]!);
      expect(subject).toMatch(/^unsubscribe v1\.[0-9a-z]+\.[A-Za-z0-9_-]{22}$/);
      const ask = (id: string, subj: string) =>
        Buffer.from([`From: Wang <wang@acme.com>`, `To: ${mailto[1]}`, `Subject: ${subj}`, 'Date: Fri, 20 Nov 2026 11:00:00 +0000', `Message-ID: <${id}>`, 'MIME-Version: 1.0', 'Content-Type: text/plain; charset=utf-8', '', 'This is an unsubscribe request.', ''].join('\r\n'));
      await importMessage(t.db, ask('unsub-1@acme.com', subject), { accountId: acct.id });
      await importMessage(t.db, ask('unsub-forged@evil.example', `${subject.slice(0, -2)}AA`), { accountId: acct.id });

      expect(await processMailtoUnsubscribes(t.db, key, clock)).toEqual({ read: 2, unsubscribed: 1 });
      const sup = await t.db.kysely.selectFrom('suppressions').select(['address_key', 'source', 'reason']).execute();
      expect(sup).toEqual([{ address_key: 'wang@acme.com', source: 'unsubscribe', reason: expect.stringMatching(/^unsubscribed \(mailto\) from mail \d+$/) }]);
      const unsubs = await t.db.kysely.selectFrom('unsubscribes').select(['address_key', 'method']).execute();
      expect(unsubs).toEqual([{ address_key: 'wang@acme.com', method: 'mailto' }]);
      // Read once: the genuine request is not counted again (the forged one is looked at again and still does nothing).
      expect(await processMailtoUnsubscribes(t.db, key, clock)).toEqual({ read: 1, unsubscribed: 0 });
      expect(await t.db.kysely.selectFrom('unsubscribes').select('id').execute()).toHaveLength(1);

      // The next promotion to that address is stopped at claim time.
      await enqueueMail(t.db, [{ idempotencyKey: 'promo2', accountId: acct.id, toAddress: 'wang@acme.com', kind: 'promotion', subject: 'Autumn fair', html: '<p>Come</p>' }], { clock });
      const report = await processBatch({ db: t.db, settings, clock, transports, unsubscribe: { key, publicUrl: undefined, mailto: undefined } });
      expect(report.mails.map((m) => m.outcome)).toEqual(['suppressed']);
      expect(sink.mails).toHaveLength(1);
    } finally {
      await transports.closeAll();
      await sink.close();
    }
  });
});
