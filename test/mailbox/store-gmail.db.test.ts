import { describe, expect, it } from 'vitest';
import { parseMessage } from '../../src/mailbox/parse-message.ts';
import { storeMessages } from '../../src/mailbox/store-messages.ts';
import { useTestDb, testBackend } from '../support/test-db.ts';
import { eml } from './support/eml.ts';

// Gmail gives each message its thread id (X-GM-THRID, fetched when the server has X-GM-EXT-1):
// messages with the same id are one thread even without reply headers or a common subject.
describe(`Gmail thread ids on ${testBackend}`, () => {
  const t = useTestDb();

  it('threads by X-GM-THRID, alone and together with references', async () => {
    const us = new Set(['sales@maker.cn', 'maker.cn']);
    const msg = async (id: string, subject: string, extra: { inReplyTo?: string; references?: string[] } = {}) =>
      parseMessage(eml({ from: 'chen@acme.com', to: 'sales@maker.cn', subject, messageId: id, ...extra }));
    const items = [
      { parsed: await msg('a1@acme.com', 'Valve samples'), gmThrid: '1780000000000000001' },
      { parsed: await msg('a2@acme.com', 'Shipping date?'), gmThrid: '1780000000000000001' },
      { parsed: await msg('b1@acme.com', 'Valve samples'), gmThrid: '1780000000000000002' },
    ];
    await storeMessages(t.db, items, { us });
    // a reply by references to b1 that Gmail put in its own thread id joins both
    await storeMessages(t.db, [{ parsed: await msg('b2@acme.com', 'Re: Valve samples', { inReplyTo: 'b1@acme.com', references: ['b1@acme.com'] }), gmThrid: '1780000000000000003' }], { us });
    const rows = await t.db.kysely.selectFrom('messages').select(['message_id', 'thread_id']).execute();
    const thread = new Map(rows.map((r) => [r.message_id, r.thread_id]));
    expect(thread.get('a1@acme.com')).toBe(thread.get('a2@acme.com'));
    expect(thread.get('b1@acme.com')).not.toBe(thread.get('a1@acme.com'));
    expect(thread.get('b2@acme.com')).toBe(thread.get('b1@acme.com'));
    const a = await t.db.kysely.selectFrom('threads').select(['gm_thrid', 'message_count']).where('id', '=', thread.get('a1@acme.com')!).executeTakeFirstOrThrow();
    expect(a).toEqual({ gm_thrid: '1780000000000000001', message_count: 2 });
  });
});
