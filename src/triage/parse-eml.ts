import { simpleParser, type AddressObject, type EmailAddress, type ParsedMail } from 'mailparser';
import { AppError, describeError } from '../shared/app-error.ts';
import type { TriageMessage } from './types.ts';

const KEPT_HEADERS = ['auto-submitted', 'x-auto-response-suppress', 'x-autoreply', 'x-autorespond', 'precedence', 'list-id', 'list-unsubscribe', 'content-type', 'to', 'x-failed-recipients', 'return-path'];

function flatten(list: EmailAddress[], out: Array<{ address: string; name: string }>): void {
  for (const a of list) {
    if (a.group) flatten(a.group, out);
    else if (a.address) out.push({ address: a.address.toLowerCase(), name: a.name ?? '' });
  }
}

function addresses(field: AddressObject | AddressObject[] | undefined): Array<{ address: string; name: string }> {
  const out: Array<{ address: string; name: string }> = [];
  if (!field) return out;
  for (const obj of Array.isArray(field) ? field : [field]) flatten(obj.value, out);
  return out;
}

/** "Tue, 01 Dec 2026 10:12:00 +0530" -> 330. */
export function offsetFromDateHeader(raw: string | undefined): number | null {
  const m = raw ? /([+-])(\d{2}):?(\d{2})\s*(\(.*\))?\s*$/.exec(raw.trim()) : null;
  if (!m) return null;
  return (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3]));
}

function headerLine(parsed: ParsedMail, key: string): string | undefined {
  const line = parsed.headerLines.find((h) => h.key === key)?.line;
  return line ? line.slice(line.indexOf(':') + 1).trim() : undefined;
}

/** Parses raw .eml bytes into what triage reads. Throws AppError MAIL_PARSE_FAILED naming `source`. */
export async function parseEml(raw: Buffer, source: string): Promise<TriageMessage> {
  if (raw.length === 0 || raw.toString('latin1').trim() === '') throw new AppError('MAIL_PARSE_FAILED', `${source}: empty file, not an email message`);
  let parsed: ParsedMail;
  try {
    parsed = await simpleParser(raw, { skipImageLinks: true, skipTextToHtml: true });
  } catch (cause) {
    throw new AppError('MAIL_PARSE_FAILED', `${source}: cannot parse the message (${describeError(cause)})`, { cause });
  }
  if (!addresses(parsed.from)[0]) {
    const what = parsed.headerLines.length === 0 ? 'no mail headers' : 'no From address';
    throw new AppError('MAIL_PARSE_FAILED', `${source}: not an email message (${what})`);
  }
  return fromParsedMail(parsed);
}

export function fromParsedMail(parsed: ParsedMail): TriageMessage {
  const headers: Record<string, string> = {};
  for (const key of KEPT_HEADERS) {
    const v = headerLine(parsed, key);
    if (v !== undefined) headers[key] = v;
  }
  const from = addresses(parsed.from)[0];
  const to = addresses(parsed.to);
  const refs = parsed.references;
  const text = parsed.text ?? (typeof parsed.html === 'string' ? parsed.html.replace(/<[^>]+>/g, ' ') : '');
  return {
    messageId: parsed.messageId?.replace(/^<|>$/g, '') ?? null,
    fromAddress: from?.address ?? null,
    fromName: from?.name || null,
    to: to.map((a) => a.address),
    toNames: to.map((a) => a.name),
    cc: addresses(parsed.cc).map((a) => a.address),
    bcc: addresses(parsed.bcc).map((a) => a.address),
    replyTo: addresses(parsed.replyTo).map((a) => a.address),
    subject: parsed.subject ?? '',
    sentAt: parsed.date ?? new Date(0),
    utcOffsetMinutes: offsetFromDateHeader(headerLine(parsed, 'date')),
    headers,
    text,
    inReplyTo: parsed.inReplyTo?.replace(/^<|>$/g, '') ?? null,
    references: (Array.isArray(refs) ? refs : refs ? [refs] : []).map((r) => r.replace(/^<|>$/g, '')),
    attachments: parsed.attachments.map((a) => ({ filename: a.filename ?? null, contentType: a.contentType })),
    contentType: headers['content-type'] ?? null,
  };
}
