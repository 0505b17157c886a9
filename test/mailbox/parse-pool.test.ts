import { describe, expect, it } from 'vitest';
import { bodyOf, parseBody, parseMessage } from '../../src/mailbox/parse-message.ts';
import { createParsePool } from '../../src/mailbox/parse-pool.ts';
import { eml } from './support/eml.ts';

describe('parse pool watchdog', () => {
  it('a message the parser never finishes is kept raw with a parse error; the messages queued behind it still parse', async () => {
    const pool = createParsePool(1, { timeoutMs: 1500, entry: new URL('./support/hang-worker.mjs', import.meta.url) });
    try {
      // warm the worker up first, so the clock only runs on real work
      expect((await pool.parse(eml({ from: 'a@acme.com', subject: 'Warm', messageId: 'warm@acme.com' }), null)).parseError).toBeNull();
      const t0 = Date.now();
      const [hung, next, after] = await Promise.all([
        pool.parse(eml({ from: 'x@acme.com', subject: 'HANG', messageId: 'hang@acme.com' }), null),
        pool.parse(eml({ from: 'wang@acme.com', subject: 'Queued behind', messageId: 'queued@acme.com', body: 'still parsed' }), null),
        pool.parse(eml({ from: 'li@beta.com', subject: 'Also queued', messageId: 'also@beta.com' }), null),
      ]);
      expect(Date.now() - t0).toBeLessThan(15_000);
      expect(hung.parseError).toMatch(/^parser: no result after 2 s/);
      expect(hung.messageId).toBe('hang@acme.com'); // the fallback still reads the header
      // a body parse that hangs is kept raw the same way, answered with the body fields alone
      const hungBody = await pool.parseBody(eml({ from: 'x@acme.com', subject: 'HANG', messageId: 'hang2@acme.com' }));
      expect(hungBody.parseError).toMatch(/^parser: no result after 2 s/);
      expect(Object.keys(hungBody).sort()).toEqual(['attachments', 'htmlBody', 'newestPart', 'parseError', 'size', 'textBody']);
      expect(next).toMatchObject({ messageId: 'queued@acme.com', parseError: null, subject: 'Queued behind' });
      expect(next.textBody).toContain('still parsed');
      expect(after).toMatchObject({ messageId: 'also@beta.com', parseError: null });
      // the pool keeps working on its new worker
      expect((await pool.parse(eml({ from: 'a@acme.com', subject: 'Later', messageId: 'later@acme.com' }), null)).subject).toBe('Later');
    } finally {
      await pool.close();
    }
  }, 60_000);

  it('starts its workers with the first message, not before (a sync that finds nothing new starts none)', async () => {
    const idle = createParsePool(2);
    expect(idle.workers).toBe(0);
    await idle.close();
    const pool = createParsePool(2);
    try {
      expect(pool.workers).toBe(0);
      const p = await pool.parseBody(eml({ from: 'a@acme.com', subject: 'First', messageId: 'first@acme.com', body: 'hello' }));
      expect(p.textBody).toContain('hello');
      expect(pool.workers).toBe(2);
    } finally {
      await pool.close();
    }
  }, 60_000);

  it('a worker answers what parseMessage answers on this thread, newest part included, with and without quoted history', async () => {
    const pool = createParsePool(1);
    try {
      const messages = [
        eml({ from: 'wang@acme.com', subject: 'Plain', messageId: 'plain@acme.com', body: 'Price confirmed.\nRegards' }),
        eml({ from: 'wang@acme.com', subject: 'Re: Plain', messageId: 'reply@acme.com', body: 'Yes.\n\nOn Mon, Mar 2 Sales wrote:\n> Price confirmed.' }),
        eml({ from: 'wang@acme.com', subject: 'Empty', messageId: 'empty@acme.com', body: '' }),
      ];
      for (const raw of messages) {
        const [inWorker, here] = await Promise.all([pool.parse(raw, null), parseMessage(raw, { internalDate: null })]);
        expect(inWorker).toEqual(here);
      }
      expect((await pool.parse(messages[1] as Buffer, null)).newestPart).toBe('Yes.');
      // the body pass's parse: the body fields of the whole parse, nothing else
      for (const raw of messages) {
        const [inWorker, here, whole] = await Promise.all([pool.parseBody(raw), parseBody(raw), parseMessage(raw, { internalDate: null })]);
        expect(inWorker).toEqual(here);
        expect(inWorker).toEqual(bodyOf(whole));
      }
    } finally {
      await pool.close();
    }
  }, 60_000);
});
