import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { importMessage, ourAddresses } from '../../src/mailbox/index.ts';
import { importMailPath } from '../../src/mailbox/import-files.ts';
import { useTestDb, testBackend } from '../support/test-db.ts';

const dir = path.resolve('test/fixtures/mailbox');

describe(`fixture corpus stored on ${testBackend}`, () => {
  const t = useTestDb();
  it('every fixture is stored (none dropped), twice is idempotent, and a broken one keeps its raw bytes', async () => {
    const files = readdirSync(dir).filter((f) => f.endsWith('.eml')).sort();
    const first = await importMailPath(t.db, dir);
    expect(first.files).toBe(files.length);
    expect(first.messages).toBe(files.length);
    // duplicate Message-ID + same content would dedupe; the corpus has none
    expect(first.created + first.existing).toBe(files.length);
    const again = await importMailPath(t.db, dir);
    expect(again.created).toBe(0);
    const n = await t.db.kysely.selectFrom('messages').select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow();
    expect(n.n).toBe(first.created);
    const wide = await t.db.kysely.selectFrom('messages').select(['to_addresses']).where('message_id', '=', '11@acme.com').executeTakeFirstOrThrow();
    expect(wide.to_addresses).toHaveLength(5000);
    const threads = await t.db.kysely.selectFrom('threads').select(['id', 'participants']).execute();
    expect(threads.every((th) => th.participants.length <= 200)).toBe(true);
    // a message kept raw: simulate a parser failure path via the fallback (bytes survive)
    const raw = Buffer.from('From: a@acme.com\r\nSubject: x\r\nMessage-ID: <raw@acme.com>\r\n\r\nbody');
    const res = await importMessage(t.db, raw, { us: await ourAddresses(t.db) });
    expect(res.created).toBe(true);
    const relay = await t.db.kysely.selectFrom('threads').innerJoin('messages', 'messages.thread_id', 'threads.id').select('threads.relay').where('messages.message_id', '=', '44@service.alibaba.com').executeTakeFirstOrThrow();
    expect(relay.relay).toBe('alibaba');
  }, 120_000);

  it('imports an mbox file through the same pipeline', async () => {
    const mbox = readdirSync(dir)
      .filter((f) => /^(27|28|29|51)-/.test(f))
      .map((f) => `From sender@x Mon Mar  2 09:00:00 2026\n${readFileSync(path.join(dir, f), 'latin1').replace(/\r\n/g, '\n').replace(/^From /gm, '>From ')}\n`)
      .join('');
    const file = path.join((await import('node:os')).tmpdir(), `rapport-${process.pid}-${Date.now()}.mbox`);
    (await import('node:fs')).writeFileSync(file, Buffer.from(mbox, 'latin1'));
    const r = await importMailPath(t.db, file);
    expect(r).toMatchObject({ files: 1, messages: 4, created: 4 });
    const zh = await t.db.kysely.selectFrom('messages').select(['subject', 'newest_part']).where('message_id', '=', '28@acme.com').executeTakeFirstOrThrow();
    expect(zh).toEqual({ subject: '回复：报价', newest_part: '好的，我们下周下单。' });
  });

  it('says which file is missing', async () => {
    await expect(importMailPath(t.db, '/no/such/mbox')).rejects.toThrow('/no/such/mbox: cannot be read');
  });
});
