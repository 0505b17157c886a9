import { createHash } from 'node:crypto';
import type Mail from 'nodemailer/lib/mailer';
import MailComposer from 'nodemailer/lib/mail-composer';
import DKIM from 'nodemailer/lib/dkim';
import type { ClaimedMail } from './claim.ts';
import type { RenderedContent } from './renderer.ts';
import { rawTextPart } from './text-part.ts';
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
    ...bodyParts(content),
    messageId: `<${mail.messageId}>`,
    date: options.date,
    headers,
    ...(mail.inReplyTo ? { inReplyTo: `<${mail.inReplyTo}>` } : {}),
    ...(mail.references && mail.references.length > 0 ? { references: mail.references.map((r) => `<${r}>`) } : {}),
  };
  return mailOptions;
}

/** Symbols nodemailer counts against quoted-printable: control characters and anything outside ASCII. */
const NOT_PLAIN = /[\x00-\x08\x0b\x0c\x0e-\x1f\u0080-\uFFFF]/;

/** True when a line of s (lines end at CR or LF, as in nodemailer's check) is longer than max characters. */
function hasLineOver(s: string, max: number): boolean {
  if (s.length > 128 * 1024) return true; // nodemailer does not look into longer text either
  let start = 0;
  let cr = s.indexOf('\r');
  for (;;) {
    const nl = s.indexOf('\n', start);
    const end = nl < 0 ? s.length : nl;
    while (cr >= 0 && cr < end) {
      if (cr - start > max) return true;
      start = cr + 1;
      cr = s.indexOf('\r', start);
    }
    if (end - start > max) return true;
    if (nl < 0) return false;
    start = nl + 1;
  }
}

/**
 * The transfer encoding nodemailer picks for a text part (7bit for ASCII text with short lines, else
 * quoted-printable when Latin letters outnumber other symbols, else base64), decided here once: nodemailer
 * decides it by counting every character of the part, twice as it writes the part (its headers, then its
 * body), a tenth of the sender's CPU for 20 KB mails. Most mail is all ASCII, which one native scan tells.
 */
export function textTransferEncoding(s: string): '7bit' | 'quoted-printable' | 'base64' {
  if (!NOT_PLAIN.test(s)) {
    if (!hasLineOver(s, 76)) return '7bit';
    return /[A-Za-z]/.test(s) ? 'quoted-printable' : 'base64';
  }
  let other = 0;
  let latin = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c <= 0x08 || c === 0x0b || c === 0x0c || (c >= 0x0e && c <= 0x1f) || c >= 0x80) other++;
    else if ((c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)) latin++;
  }
  return other < latin ? 'quoted-printable' : 'base64';
}

/**
 * The body parts for nodemailer. Text that needs quoted-printable or base64 is encoded here (./text-part.ts):
 * as whole parts when there are two (a multipart/alternative, where each part is a node of its own), else
 * with the encoding given, so nodemailer does not work it out again. 7bit text goes as it is.
 */
function bodyParts(content: RenderedContent): Pick<Mail.Options, 'html' | 'text'> {
  const parts = { html: content.html || undefined, text: content.text || undefined };
  const both = parts.html !== undefined && parts.text !== undefined;
  const part = (type: 'text/html' | 'text/plain', text: string | undefined): Mail.Options['html'] => {
    if (text === undefined) return undefined;
    const encoding = textTransferEncoding(text);
    if (encoding === '7bit') return text;
    return both ? { raw: rawTextPart(type, text, encoding) } : { content: text, contentTransferEncoding: encoding };
  };
  return { html: part('text/html', parts.html), text: part('text/plain', parts.text) };
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
