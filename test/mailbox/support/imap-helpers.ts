import { ImapFlow } from 'imapflow';
import type { Dovecot } from './dovecot.ts';

/** A plain imapflow client to change the server's state from a test (append, flag, expunge). */
export async function openClient(d: Dovecot, user: string, password: string): Promise<ImapFlow> {
  const c = new ImapFlow({ host: d.host, port: d.port, secure: false, doSTARTTLS: false, auth: { user, pass: password }, logger: false } as ConstructorParameters<typeof ImapFlow>[0]);
  c.on('error', () => undefined);
  await c.connect();
  return c;
}
