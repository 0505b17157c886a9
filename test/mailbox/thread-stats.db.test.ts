import { describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { parseMessage } from '../../src/mailbox/parse-message.ts';
import { storeMessages } from '../../src/mailbox/store-messages.ts';
import { refreshThreadStats } from '../../src/mailbox/threading.ts';
import { useTestDb, testBackend } from '../support/test-db.ts';
import { eml } from './support/eml.ts';

/** A small deterministic generator (mulberry32), so a failure can be replayed. */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const US = new Set(['sales@maker.cn', 'maker.cn']);

/**
 * Conversations with everything that moves a thread's count, dates and title: replies before their
 * parents, two branches joined by a late message (a merge), empty subjects, reply-only titles, a reply
 * threaded by its subject alone, and copies of messages stored again.
 */
function corpus(seed: number): Buffer[] {
  const r = rng(seed);
  const out: Buffer[] = [];
  const base = Date.parse('2026-01-05T08:00:00Z');
  for (let c = 0; c < 36; c++) {
    const client = `buyer${c % 7}@client${c % 5}.example.com`;
    const subject = c % 6 === 0 ? '' : c % 6 === 1 ? `Re: Order ${c}` : `Order ${c}`;
    const n = 2 + Math.floor(r() * 7);
    const ids = Array.from({ length: n }, (_, i) => `c${c}m${i}@${i % 2 === 0 ? 'client.example.com' : 'maker.cn'}`);
    for (let i = 0; i < n; i++) {
      const date = new Date(base + c * 3_600_000 + i * 600_000 + Math.floor(r() * 300_000));
      const inbound = i % 2 === 0;
      // every fourth conversation has two branches that only its last message joins (a merge when it lands last)
      const parent = c % 4 === 3 && i === 2 ? `c${c}x@maker.cn` : i > 0 ? ids[i - 1] : undefined;
      const refs = c % 4 === 3 && i === n - 1 && n > 3 ? [ids[1] as string, `c${c}x@maker.cn`] : parent ? [parent] : undefined;
      out.push(
        eml({
          from: inbound ? client : 'sales@maker.cn',
          to: inbound ? 'sales@maker.cn' : client,
          ...(i === 1 && c % 3 === 0 ? { cc: `boss${c}@client${c % 5}.example.com` } : {}),
          // a conversation opened by a forward gets its plain title from a later message
          subject: c % 6 === 4 ? (i % 3 === 2 ? `Order ${c}` : `FW: Order ${c}`) : i === 0 ? subject : subject === '' && i < 2 ? '' : `RE: ${subject || `Order ${c}`}`,
          messageId: ids[i] as string,
          ...(parent ? { inReplyTo: parent } : {}),
          ...(refs ? { references: refs } : {}),
          date,
        }),
      );
    }
    // a reply without reply headers, threaded by its subject and a shared participant
    if (c % 5 === 2) out.push(eml({ from: client, to: 'sales@maker.cn', subject: `Re: Order ${c}`, messageId: `c${c}s@client.example.com`, date: new Date(base + c * 3_600_000 + 5_400_000) }));
  }
  return out;
}

describe(`thread counts, dates and titles on ${testBackend}`, () => {
  const t = useTestDb();

  it("counted from each batch's new messages, they are what a recount from all the messages gives, across batches, merges and copies", async () => {
    const db = t.db;
    const r = rng(7);
    const raws = corpus(11);
    // any order, with some messages stored twice
    const shuffled = [...raws, ...raws.filter((_, i) => i % 9 === 0)].sort(() => r() - 0.5);
    const parsed = await Promise.all(shuffled.map((raw) => parseMessage(raw)));
    for (let i = 0; i < parsed.length; ) {
      const size = 1 + Math.floor(r() * 40);
      await storeMessages(db, parsed.slice(i, i + size).map((p) => ({ parsed: p })), { us: US });
      i += size;
    }
    // one batch: a thread opened by a forward, its plain title in a later message of the same batch; and a
    // batch that brings a plain title to a thread titled by a reply so far
    const at = (h: number): Date => new Date(Date.parse('2026-02-01T08:00:00Z') + h * 3_600_000);
    const fw = await parseMessage(eml({ from: 'li@client1.example.com', to: 'sales@maker.cn', subject: 'FW: Spec 99', messageId: 's99a@client1.example.com', date: at(0) }));
    const plain = await parseMessage(eml({ from: 'sales@maker.cn', to: 'li@client1.example.com', subject: 'Spec 99', messageId: 's99b@maker.cn', inReplyTo: 's99a@client1.example.com', date: at(1) }));
    await storeMessages(db, [{ parsed: plain }, { parsed: fw }], { us: US });
    const re = await parseMessage(eml({ from: 'li@client1.example.com', to: 'sales@maker.cn', subject: 'Re: Spec 100', messageId: 's100a@client1.example.com', date: at(0) }));
    await storeMessages(db, [{ parsed: re }], { us: US });
    const later = await parseMessage(eml({ from: 'li@client1.example.com', to: 'sales@maker.cn', subject: 'RE: Re: Spec 100', messageId: 's100b@client1.example.com', inReplyTo: 's100a@client1.example.com', date: at(2) }));
    const plain100 = await parseMessage(eml({ from: 'sales@maker.cn', to: 'li@client1.example.com', subject: 'Spec 100', messageId: 's100c@maker.cn', inReplyTo: 's100b@client1.example.com', date: at(3) }));
    await storeMessages(db, [{ parsed: plain100 }, { parsed: later }], { us: US });
    const titles = await db.kysely.selectFrom('threads').select(['subject', 'message_count']).where('merged_into', 'is', null).where('subject', 'like', '%Spec%').orderBy('subject').execute();
    expect(titles).toEqual([
      { subject: 'Spec 100', message_count: 3 },
      { subject: 'Spec 99', message_count: 2 },
    ]);
    const snapshot = async (): Promise<unknown[]> =>
      (
        await sql<{ id: number; message_count: number; first: string; last: string; subject: string; participants: string[] }>`
          SELECT id, message_count, first_message_at::text AS first, last_message_at::text AS last, subject, participants FROM threads WHERE merged_into IS NULL ORDER BY id`.execute(db.kysely)
      ).rows.map((x) => ({ ...x, participants: [...x.participants].sort() }));
    const stored = await snapshot();
    const live = (stored as Array<{ id: number }>).map((x) => Number(x.id));
    // a merge happened, and threads went by subject: the cases under test are in the corpus
    const merged = await sql<{ n: number }>`SELECT count(*)::int AS n FROM threads WHERE merged_into IS NOT NULL`.execute(db.kysely);
    expect(merged.rows[0]?.n).toBeGreaterThan(0);
    expect(live.length).toBeLessThan(40);
    await db.kysely.transaction().execute((trx) => refreshThreadStats(trx, live));
    expect(await snapshot()).toEqual(stored);
    // and each count is the thread's messages, each message counted once
    const counts = await sql<{ id: number; n: number; c: number }>`
      SELECT t.id, t.message_count AS c, (SELECT count(*)::int FROM messages m WHERE m.thread_id = t.id) AS n FROM threads t WHERE t.merged_into IS NULL`.execute(db.kysely);
    for (const row of counts.rows) expect(row.c).toBe(row.n);
    expect(counts.rows.reduce((a, b) => a + b.c, 0)).toBe(raws.length + 5);
    // the participants are those of the thread's messages
    const ps = await sql<{ id: number; ps: string[] }>`
      SELECT thread_id AS id, array_agg(DISTINCT p ORDER BY p) AS ps FROM messages m,
        unnest(ARRAY[m.from_address] || m.to_addresses || m.cc_addresses || m.bcc_addresses || m.reply_to) p WHERE p IS NOT NULL GROUP BY thread_id`.execute(db.kysely);
    const byId = new Map((stored as Array<{ id: number; participants: string[] }>).map((x) => [Number(x.id), x.participants]));
    for (const row of ps.rows) expect(byId.get(Number(row.id))).toEqual(row.ps);
  });
});
