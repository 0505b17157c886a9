/** Builds template data for a real client from the client book (for `templates preview --client`). */
import type { Db } from '../db/database.ts';
import { AppError } from '../shared/app-error.ts';

export interface ClientTemplateData {
  readonly data: Record<string, unknown>;
  /** The contact's (or client's) language, for locale resolution. */
  readonly language: string | null;
}

export async function templateDataForClient(db: Db, clientId: number, contactId?: number): Promise<ClientTemplateData> {
  const client = await db.kysely.selectFrom('clients').select(['id', 'name', 'country', 'time_zone', 'language', 'owner_id']).where('id', '=', clientId).executeTakeFirst();
  if (!client) throw new AppError('NOT_FOUND', `client ${clientId}: no such client`);
  let q = db.kysely.selectFrom('contacts').select(['id', 'name', 'title', 'language', 'time_zone']).where('client_id', '=', clientId).where('active', '=', true);
  if (contactId !== undefined) q = q.where('id', '=', contactId);
  const contact = await q.orderBy('id').executeTakeFirst();
  if (!contact) throw new AppError('NOT_FOUND', contactId === undefined ? `client ${clientId}: has no active contact to write to` : `contact ${contactId}: not an active contact of client ${clientId}`);
  const email = await db.kysely.selectFrom('contact_emails').select(['address']).where('contact_id', '=', contact.id).orderBy('is_primary', 'desc').orderBy('id').executeTakeFirst();
  const owner = client.owner_id === null ? undefined : await db.kysely.selectFrom('owners').select(['name', 'email']).where('id', '=', client.owner_id).executeTakeFirst();
  const data: Record<string, unknown> = {
    contact: {
      name: contact.name,
      ...(contact.title ? { title: contact.title } : {}),
      ...(contact.language ? { language: contact.language } : {}),
      ...(contact.time_zone ?? client.time_zone ? { timeZone: contact.time_zone ?? client.time_zone } : {}),
      ...(email ? { email: email.address } : {}),
    },
    client: {
      name: client.name,
      ...(client.country ? { country: client.country } : {}),
      ...(client.time_zone ? { timeZone: client.time_zone } : {}),
    },
    ...(email ? { recipient: email.address } : {}),
    ...(owner ? { sender: { name: owner.name, ...(owner.email ? { email: owner.email } : {}) } } : {}),
  };
  return { data, language: contact.language ?? client.language };
}
