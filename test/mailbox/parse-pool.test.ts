import { describe, expect, it } from 'vitest';
import { bodyOf, parseBody, parseMessage } from '../../src/mailbox/parse-message.ts';
import { createParsePool } from '../../src/mailbox/parse-pool.ts';
import { workerScript } from '../../src/mailbox/worker-script.ts';
import { Worker } from 'node:worker_threads';
import os from 'node:os';
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
    // warm() starts them ahead of the first message (a sync that has found messages to fetch), once
    const early = createParsePool(2);
    try {
      early.warm();
      expect(early.workers).toBe(2);
      early.warm();
      expect(early.workers).toBe(2);
      expect((await early.parseBody(eml({ from: 'a@acme.com', subject: 'Warm', messageId: 'warm@acme.com', body: 'warm hello' }))).textBody).toContain('warm hello');
      expect(early.workers).toBe(2);
    } finally {
      await early.close();
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

  it('workers start from a bundle of their sources, without a TypeScript loader, whatever the working directory', async () => {
    const script = workerScript(new URL('../../src/mailbox/parse-worker-main.ts', import.meta.url));
    expect(script).not.toBeNull();
    expect(script).not.toMatch(/\btsx\b/);
    // our modules are inside, the packages are required from node_modules relative to the entry, not to the working directory
    expect(script).toContain('require("mailparser")');
    expect(script).not.toContain('require(".');
    const cwd = process.cwd();
    process.chdir(os.tmpdir());
    try {
      const w = new Worker(script as string, { eval: true });
      try {
        const ready = await new Promise<unknown>((resolve, reject) => {
          w.once('message', resolve);
          w.once('error', reject);
        });
        expect(ready).toEqual({ ready: true });
        const raw = eml({ from: 'a@acme.com', subject: 'Bundled', messageId: 'b@acme.com', body: 'parsed in a bundled worker' });
        w.postMessage({ id: 7, raw: new Uint8Array(raw), internalDate: null, body: true });
        const answer = (await new Promise((resolve) => w.once('message', resolve))) as { id: number; parsed: { textBody: string } };
        expect(answer.id).toBe(7);
        expect(answer.parsed.textBody).toContain('parsed in a bundled worker');
      } finally {
        await w.terminate();
      }
    } finally {
      process.chdir(cwd);
    }
  }, 60_000);

  it('an entry esbuild cannot bundle gives no script (the pool then starts its workers through tsx)', () => {
    expect(workerScript(new URL('./support/no-such-worker.ts', import.meta.url))).toBeNull();
  });
});
