import { describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { importMessage } from '../../src/mailbox/index.ts';
import { addAccount } from '../../src/mailbox/accounts.ts';
import { useTestDb, testBackend } from '../support/test-db.ts';
import { eml } from './support/eml.ts';

const KEY = 'a'.repeat(64);

async function seedClient(db: ReturnType<typeof useTestDb>['db'], name: string, opts: { domain?: string; contact?: string } = {}): Promise<{ clientId: number; contactId: number | null }> {
  const c = await db.kysely.insertInto('clients').values({ name, name_key: name.toLowerCase() }).returning('id').executeTakeFirstOrThrow();
  if (opts.domain) await db.kysely.insertInto('client_domains').values({ domain: opts.domain, client_id: c.id }).execute();
  let contactId: number | null = null;
  if (opts.contact) {
    const p = await db.kysely.insertInto('contacts').values({ client_id: c.id, name: opts.contact.split('@')[0] ?? 'x' }).returning('id').executeTakeFirstOrThrow();
    await db.kysely.insertInto('contact_emails').values({ contact_id: p.id, address: opts.contact }).execute();
    contactId = p.id;
  }
  return { clientId: c.id, contactId };
}

describe(`importMessage on ${testBackend}`, () => {
  const t = useTestDb();

  it('stores a message once, threads a reply that arrives before its parent, and merges when the parent comes', async () => {
    const db = t.db;
    await addAccount(db, { secretKey: KEY }, { name: 'me', email: 'sales@maker.cn' });
    // reply B (to A) arrives first, then C (reply to a placeholder X which is also A's id? no: C refs A only)
    const b = await importMessage(db, eml({ from: 'Wang <wang@acme.com>', to: 'sales@maker.cn', subject: 'Re: Quote', messageId: 'b@acme.com', inReplyTo: 'a@maker.cn', references: ['a@maker.cn'] }));
    const other = await importMessage(db, eml({ from: 'sales@maker.cn', to: 'wang@acme.com', subject: 'Re: Quote', messageId: 'c@maker.cn', inReplyTo: 'x@maker.cn', references: ['x@maker.cn'] }));
    expect(b.threadId).not.toBe(other.threadId);
    // the late parent references x: A joins B's thread (a@ placeholder) and pulls in C's thread (x@)
    const a = await importMessage(db, eml({ from: 'sales@maker.cn', to: 'wang@acme.com', subject: 'Quote', messageId: 'a@maker.cn', inReplyTo: 'x@maker.cn', references: ['x@maker.cn'] }));
    expect(a.created).toBe(true);
    const threads = await db.kysely.selectFrom('messages').select(['message_id', 'thread_id', 'direction']).orderBy('message_id').execute();
    expect(new Set(threads.map((m) => m.thread_id)).size).toBe(1);
    expect(threads.find((m) => m.message_id === 'a@maker.cn')?.direction).toBe('outbound');
    expect(threads.find((m) => m.message_id === 'b@acme.com')?.direction).toBe('inbound');
    const live = await db.kysely.selectFrom('threads').selectAll().where('merged_into', 'is', null).execute();
    expect(live).toHaveLength(1);
    expect(live[0]?.message_count).toBe(3);
    expect(live[0]?.subject).toBe('Quote');
    // the participants of all three stores (and of the thread merged in), each once
    expect([...(live[0]?.participants ?? [])].sort()).toEqual(['sales@maker.cn', 'wang@acme.com']);
    const d = await importMessage(db, eml({ from: 'Zhao <zhao@acme.com>', to: 'sales@maker.cn', cc: 'wang@acme.com', subject: 'Re: Quote', messageId: 'd@acme.com', inReplyTo: 'b@acme.com', references: ['a@maker.cn', 'b@acme.com'] }));
    expect(d.threadId).toBe(live[0]?.id);
    const grown = await db.kysely.selectFrom('threads').select(['participants', 'message_count']).where('id', '=', d.threadId).executeTakeFirstOrThrow();
    expect([...grown.participants].sort()).toEqual(['sales@maker.cn', 'wang@acme.com', 'zhao@acme.com']);
    expect(grown.message_count).toBe(4);
    // importing again is idempotent
    const again = await importMessage(db, eml({ from: 'sales@maker.cn', to: 'wang@acme.com', subject: 'Quote', messageId: 'a@maker.cn', inReplyTo: 'x@maker.cn', references: ['x@maker.cn'] }));
    expect(again.created).toBe(false);
    expect(again.rowId).toBe(a.rowId);
    const count = await db.kysely.selectFrom('messages').select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow();
    expect(count.n).toBe(4);
  });

  it('links by contact address, by client domain with a suggested contact, never by freemail or our own domain', async () => {
    const db = t.db;
    await addAccount(db, { secretKey: KEY }, { name: 'me', email: 'sales@maker.cn' });
    const acme = await seedClient(db, 'ACME', { domain: 'acme.com', contact: 'wang@acme.com' });
    const beta = await seedClient(db, 'Beta', { contact: 'buyer.beta@gmail.com' });
    await seedClient(db, 'Gamma', { domain: 'gamma.de' });

    const byContact = await importMessage(db, eml({ from: 'wang@acme.com', to: 'sales@maker.cn', subject: 'Order 1' }));
    const byDomain = await importMessage(db, eml({ from: 'Li Na <li.na@sales.gamma.de>', to: 'sales@maker.cn', subject: 'Inquiry' }));
    const freemail = await importMessage(db, eml({ from: 'someone@gmail.com', to: 'sales@maker.cn', subject: 'Price?' }));
    const freemailContact = await importMessage(db, eml({ from: 'buyer.beta@gmail.com', to: 'sales@maker.cn', subject: 'Beta order' }));
    const internal = await importMessage(db, eml({ from: 'boss@maker.cn', to: 'sales@maker.cn', subject: 'Lunch' }));
    const relay = await importMessage(db, eml({ from: 'Alibaba <notice@service.alibaba.com>', to: 'sales@maker.cn', subject: 'New inquiry from buyer' }));

    const th = async (id: number | null) => db.kysely.selectFrom('threads').selectAll().where('id', '=', id ?? -1).executeTakeFirstOrThrow();
    expect(await th(byContact.threadId)).toMatchObject({ client_id: acme.clientId, contact_id: acme.contactId, link_reason: 'contact address', link_confidence: 1 });
    const g = await th(byDomain.threadId);
    expect(g).toMatchObject({ link_reason: 'client domain' });
    expect(g.client_id).not.toBeNull();
    expect(await th(freemail.threadId)).toMatchObject({ client_id: null, link_reason: null });
    expect(await th(freemailContact.threadId)).toMatchObject({ client_id: beta.clientId, link_reason: 'contact address' });
    expect(await th(internal.threadId)).toMatchObject({ client_id: null });
    expect((await db.kysely.selectFrom('messages').select('direction').where('id', '=', internal.rowId).executeTakeFirstOrThrow()).direction).toBe('internal');
    expect(await th(relay.threadId)).toMatchObject({ client_id: null, relay: 'alibaba' });
    const suggested = await db.kysely.selectFrom('suggested_contacts').selectAll().execute();
    expect(suggested.map((s) => s.address)).toEqual(['li.na@sales.gamma.de']);
    expect(suggested[0]?.name).toBe('Li Na');

    // adding the freemail sender as a contact re-links its past thread
    const p = await db.kysely.insertInto('contacts').values({ client_id: beta.clientId, name: 'Someone' }).returning('id').executeTakeFirstOrThrow();
    await db.kysely.insertInto('contact_emails').values({ contact_id: p.id, address: 'Someone@gmail.com' }).execute();
    expect(await th(freemail.threadId)).toMatchObject({ client_id: beta.clientId, contact_id: p.id, link_reason: 'contact address' });
  });

  it('threads by subject only without reply headers, with a shared participant, within the window', async () => {
    const db = t.db;
    await addAccount(db, { secretKey: KEY }, { name: 'me', email: 'sales@maker.cn' });
    const first = await importMessage(db, eml({ from: 'sales@maker.cn', to: 'wang@acme.com', subject: 'Sample shipment', date: '2026-03-01T08:00:00Z' }));
    const reply = await importMessage(db, eml({ from: 'wang@acme.com', to: 'sales@maker.cn', subject: '回复：Sample shipment', date: '2026-03-02T08:00:00Z' }));
    const aw = await importMessage(db, eml({ from: 'wang@acme.com', to: 'sales@maker.cn', subject: 'AW: WG: sample  SHIPMENT', date: '2026-03-03T08:00:00Z' }));
    const stranger = await importMessage(db, eml({ from: 'other@beta.com', to: 'sales@maker.cn', subject: 'Re: Sample shipment', date: '2026-03-03T08:00:00Z' }));
    const late = await importMessage(db, eml({ from: 'wang@acme.com', to: 'sales@maker.cn', subject: 'Re: Sample shipment', date: '2026-09-03T08:00:00Z' }));
    const noPrefix = await importMessage(db, eml({ from: 'wang@acme.com', to: 'sales@maker.cn', subject: 'Sample shipment', date: '2026-03-04T08:00:00Z' }));
    expect(reply.threadId).toBe(first.threadId);
    expect(aw.threadId).toBe(first.threadId);
    expect(stranger.threadId).not.toBe(first.threadId);
    expect(late.threadId).not.toBe(first.threadId);
    expect(noPrefix.threadId).not.toBe(first.threadId);
  });

  it('keeps an unparseable-looking message, one without Message-ID, and one with a NUL byte', async () => {
    const db = t.db;
    const noId = eml({ from: 'x@acme.com', to: 'y@maker.cn', subject: 'No id', messageId: null, body: 'hello\u0000world' });
    const r1 = await importMessage(db, noId);
    const r2 = await importMessage(db, noId);
    expect(r1.messageId).toMatch(/^synthetic\./);
    expect(r2.rowId).toBe(r1.rowId);
    const row = await db.kysely.selectFrom('messages').selectAll().where('id', '=', r1.rowId).executeTakeFirstOrThrow();
    expect(row.text_body).toContain('helloworld');
  });
});
