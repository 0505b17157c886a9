import { createHash } from 'node:crypto';
import type Mail from 'nodemailer/lib/mailer';
import MailComposer from 'nodemailer/lib/mail-composer';
import DKIM from 'nodemailer/lib/dkim';
import type { ClaimedMail } from './claim.ts';
import type { RenderedContent } from './renderer.ts';
import { makeUnsubscribeToken } from './unsubscribe-token.ts';

export interface UnsubscribeConfig {
  /** Key from unsubscribeKey(RAPPORT_SECRET_KEY). */
  readonly key: Buffer;
  /** Public base URL of the HTTP app, e.g. https://rapport.example.com */
  readonly publicUrl: string | undefined;
  /** Mailbox for mailto unsubscribes (default: the sending account). */
  readonly mailto: string | undefined;
}

export interface DkimConfig {
  readonly domainName: string;
  readonly keySelector: string;
  readonly privateKey: string;
}

/** Promotional kinds carry List-Unsubscribe (RFC 2369) and one-click (RFC 8058). */
export function isPromotional(kind: ClaimedMail['kind']): boolean {
  return kind === 'promotion' || kind === 'greeting' || kind === 'vip';
}

export interface UnsubscribeLinks {
  readonly url: string | null;
  readonly mailto: string;
  readonly token: string;
}

export function unsubscribeLinks(mail: ClaimedMail, cfg: UnsubscribeConfig): UnsubscribeLinks {
  const token = makeUnsubscribeToken(cfg.key, mail.id, mail.toAddress.toLowerCase());
  const url = cfg.publicUrl ? `${cfg.publicUrl.replace(/\/+$/, '')}/unsubscribe/${token}` : null;
  const mailto = `mailto:${cfg.mailto ?? mail.accountEmail}?subject=${encodeURIComponent(`unsubscribe ${token}`)}`;
  return { url, mailto, token };
}

export interface ComposeOptions {
  readonly fromName?: string | undefined;
  readonly date: Date;
  readonly unsubscribe: UnsubscribeLinks | null;
}

/**
 * The message as nodemailer's composer takes it: headers, bodies, Message-ID, date and a multipart
 * boundary from the Message-ID, so the same mail composes to the same bytes every time. The sender
 * hands these to the SMTP transport, which composes the message once, as it streams it.
 */
export function messageOptions(mail: ClaimedMail, content: RenderedContent, options: ComposeOptions): Mail.Options & { baseBoundary: string } {
  const headers: Record<string, string> = { ...(mail.headers ?? {}) };
  if (options.unsubscribe) {
    const u = options.unsubscribe;
    headers['List-Unsubscribe'] = u.url ? `<${u.url}>, <${u.mailto}>` : `<${u.mailto}>`;
    if (u.url) headers['List-Unsubscribe-Post'] = 'List-Unsubscribe=One-Click';
  }
  if (mail.kind === 'promotion') headers['Precedence'] = 'bulk';
  const mailOptions: Mail.Options & { baseBoundary: string } = {
    // The multipart boundary from the Message-ID, not from the random source: nodemailer draws 8 random
    // bytes for every MIME part otherwise, a measurable share of the sender's CPU at hundreds of mails a second.
    baseBoundary: createHash('sha256').update(mail.messageId).digest('hex').slice(0, 16),
    from: options.fromName ? { name: options.fromName, address: mail.accountEmail } : mail.accountEmail,
    to: mail.toName ? { name: mail.toName, address: mail.toAddress } : mail.toAddress,
    subject: content.subject.replace(/[\r\n]+/g, ' '),
    html: content.html || undefined,
    text: content.text || undefined,
    messageId: `<${mail.messageId}>`,
    date: options.date,
    headers,
    ...(mail.inReplyTo ? { inReplyTo: `<${mail.inReplyTo}>` } : {}),
    ...(mail.references && mail.references.length > 0 ? { references: mail.references.map((r) => `<${r}>`) } : {}),
  };
  return mailOptions;
}

/** The message bytes (DKIM-signed when a key is given): what the sender streams for the same mail and options. */
export async function composeMessage(mail: ClaimedMail, content: RenderedContent, options: ComposeOptions & { dkim?: DkimConfig | undefined }): Promise<Buffer> {
  const raw = await new MailComposer(messageOptions(mail, content, options)).compile().build();
  if (!options.dkim) return raw;
  const signed = new DKIM({ domainName: options.dkim.domainName, keySelector: options.dkim.keySelector, privateKey: options.dkim.privateKey }).sign(raw);
  const chunks: Buffer[] = [];
  for await (const chunk of signed) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string));
  return Buffer.concat(chunks);
}
