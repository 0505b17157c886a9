import type { Kysely } from 'kysely';
import type { Db } from '../db/database.ts';
import type { Database } from '../db/schema.ts';
import { isFreemailDomain } from './freemail.ts';

/**
 * Lower-case addresses and domains that are "us": every account's address and
 * aliases, the owners' addresses, and their domains unless a domain is freemail
 * (a rep writing from a gmail.com account does not make gmail.com us).
 */
export async function ourAddresses(db: Db | Kysely<Database>): Promise<Set<string>> {
  const k = 'kysely' in db ? db.kysely : db;
  const accounts = await k.selectFrom('mail_accounts').select(['email', 'extra_addresses']).execute();
  const owners = await k.selectFrom('owners').select('email').where('email', 'is not', null).execute();
  const out = new Set<string>();
  const add = (a: string | null): void => {
    if (!a) return;
    const address = a.trim().toLowerCase();
    if (address.startsWith('@')) {
      out.add(address.slice(1));
      return;
    }
    if (!address.includes('@')) {
      if (address.includes('.')) out.add(address);
      return;
    }
    out.add(address);
    const domain = address.slice(address.lastIndexOf('@') + 1);
    if (!isFreemailDomain(domain)) out.add(domain);
  };
  for (const a of accounts) {
    add(a.email);
    for (const x of a.extra_addresses) add(x);
  }
  for (const o of owners) add(o.email);
  return out;
}
