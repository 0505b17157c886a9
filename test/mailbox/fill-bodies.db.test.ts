import { describe, expect, it } from 'vitest';
import { parseHeaderFields, parseMessage } from '../../src/mailbox/parse-message.ts';
import { fillBodies, storeMessages, type BodyFill } from '../../src/mailbox/store-messages.ts';
import { useTestDb, testBackend } from '../support/test-db.ts';
import { eml } from './support/eml.ts';

// The body pass fills header-pass rows in place, a statement a batch: the newest
// part goes as a flag when it is the whole text, and the raw bytes of the messages
// that failed to parse go in one statement.
describe(`fillBodies on ${testBackend}`, () => {
  const t = useTestDb();

  it('fills text, newest part (whole text or cut) and the raw bytes of a parse failure, once', async () => {
    const us = new Set(['sales@maker.cn', 'maker.cn']);
    const raws = [
      eml({ from: 'wang@acme.com', to: 'sales@maker.cn', subject: 'Plain', messageId: 'plain@acme.com', body: 'Price confirmed.\nRegards' }),
      eml({ from: 'wang@acme.com', to: 'sales@maker.cn', subject: 'Re: Plain', messageId: 'reply@acme.com', body: 'Yes.\n\nOn Mon, Mar 2 Sales wrote:\n> Price confirmed.' }),
      eml({ from: 'li@acme.com', to: 'sales@maker.cn', subject: 'Broken', messageId: 'broken@acme.com', body: 'cannot be read' }),
      eml({ from: 'zhao@acme.com', to: 'sales@maker.cn', subject: 'Re: 报价', messageId: 'emoji@acme.com', body: '好的 👍 收到 😀。\n\n在 2026年3月1日，Sales 写道：\n> 旧 👍' }),
    ];
    const heads = raws.map((raw) => parseHeaderFields(raw));
    const stored = await storeMessages(t.db, heads.map((parsed) => ({ parsed, bodyPending: true })), { us });
    expect(stored.messages.every((m) => m.bodyPending)).toBe(true);
    const parsed = await Promise.all(raws.map((raw) => parseMessage(raw)));
    const broken = { ...(parsed[2] as (typeof parsed)[number]), textBody: null, htmlBody: null, newestPart: null, parseError: 'mailparser: test failure' };
    const fills: BodyFill[] = [
      { rowId: stored.messages[0]!.rowId, parsed: parsed[0]!, raw: raws[0]! },
      { rowId: stored.messages[1]!.rowId, parsed: parsed[1]!, raw: raws[1]! },
      { rowId: stored.messages[2]!.rowId, parsed: broken, raw: raws[2]! },
      { rowId: stored.messages[3]!.rowId, parsed: parsed[3]!, raw: raws[3]! },
    ];
    expect(await t.db.kysely.transaction().execute((trx) => fillBodies(trx, fills))).toBe(4);
    const rows = await t.db.kysely.selectFrom('messages').select(['message_id', 'body_state', 'text_body', 'newest_part', 'parse_error', 'raw']).orderBy('message_id').execute();
    const by = new Map(rows.map((r) => [r.message_id, r]));
    expect(by.get('plain@acme.com')).toMatchObject({ body_state: 'full', parse_error: null, raw: null, newest_part: 'Price confirmed.\nRegards' });
    expect(by.get('plain@acme.com')?.text_body).toContain('Price confirmed.');
    expect(by.get('reply@acme.com')).toMatchObject({ body_state: 'full', parse_error: null, raw: null, newest_part: 'Yes.' });
    expect(by.get('reply@acme.com')?.text_body).toContain('> Price confirmed.');
    // characters beyond the BMP count once, as PostgreSQL counts them
    expect(by.get('emoji@acme.com')).toMatchObject({ body_state: 'full', newest_part: '好的 👍 收到 😀。' });
    expect(by.get('emoji@acme.com')?.text_body).toContain('> 旧 👍');
    const bad = by.get('broken@acme.com');
    expect(bad).toMatchObject({ body_state: 'full', parse_error: 'mailparser: test failure', text_body: null, newest_part: null });
    expect(Buffer.from(bad?.raw ?? []).equals(raws[2]!)).toBe(true);
    // a second fill of the same rows (another folder's copy, a re-run) changes nothing
    expect(await t.db.kysely.transaction().execute((trx) => fillBodies(trx, fills.map((f) => ({ ...f, parsed: { ...f.parsed, textBody: 'changed', newestPart: 'changed' } }))))).toBe(0);
    expect((await t.db.kysely.selectFrom('messages').select('text_body').where('message_id', '=', 'plain@acme.com').executeTakeFirstOrThrow()).text_body).toContain('Price confirmed.');
  });
});

describe(`fillBodies across statements on ${testBackend}`, () => {
  const t = useTestDb();

  it('fills 250 rows (several statements) once each, and leaves a row already whole as it is', async () => {
    const us = new Set(['sales@maker.cn', 'maker.cn']);
    const raws = Array.from({ length: 250 }, (_, i) => eml({ from: `buyer${i}@acme.com`, to: 'sales@maker.cn', subject: `Order ${i}`, messageId: `o${i}@acme.com`, body: `Order number ${i}.` }));
    const stored = await storeMessages(t.db, raws.map((raw) => ({ parsed: parseHeaderFields(raw), bodyPending: true })), { us });
    const parsed = await Promise.all(raws.map((raw) => parseMessage(raw)));
    const fills: BodyFill[] = stored.messages.map((m, i) => ({ rowId: m.rowId, parsed: parsed[i]!, raw: raws[i]! }));
    // row 30 is filled first, alone: the fill of all 250 must not touch it again
    expect(await t.db.kysely.transaction().execute((trx) => fillBodies(trx, [{ ...fills[30]!, parsed: { ...fills[30]!.parsed, textBody: 'first fill' } }]))).toBe(1);
    expect(await t.db.kysely.transaction().execute((trx) => fillBodies(trx, fills))).toBe(249);
    const rows = await t.db.kysely.selectFrom('messages').select(['message_id', 'body_state', 'text_body']).execute();
    expect(rows.filter((r) => r.body_state === 'full')).toHaveLength(250);
    for (const r of rows) {
      const i = Number(r.message_id.slice(1, r.message_id.indexOf('@')));
      expect(r.text_body).toContain(i === 30 ? 'first fill' : `Order number ${i}.`);
    }
  });
});
