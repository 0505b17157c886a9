/** Builds a small RFC 5322 message for tests. */
export interface EmlSpec {
  from: string;
  to?: string | string[];
  cc?: string | string[];
  subject?: string;
  messageId?: string | null;
  inReplyTo?: string;
  references?: string[];
  date?: string | Date;
  body?: string;
  headers?: Record<string, string>;
}

export function eml(spec: EmlSpec): Buffer {
  const list = (v: string | string[] | undefined): string => (Array.isArray(v) ? v.join(', ') : (v ?? ''));
  const lines: string[] = [];
  lines.push(`From: ${spec.from}`);
  if (spec.to) lines.push(`To: ${list(spec.to)}`);
  if (spec.cc) lines.push(`Cc: ${list(spec.cc)}`);
  lines.push(`Subject: ${spec.subject ?? 'Hello'}`);
  const date = spec.date instanceof Date ? spec.date : new Date(spec.date ?? '2026-03-02T09:00:00Z');
  lines.push(`Date: ${date.toUTCString().replace('GMT', '+0000')}`);
  if (spec.messageId !== null) lines.push(`Message-ID: <${spec.messageId ?? `${Math.random().toString(36).slice(2)}@test.local`}>`);
  if (spec.inReplyTo) lines.push(`In-Reply-To: <${spec.inReplyTo}>`);
  if (spec.references) lines.push(`References: ${spec.references.map((r) => `<${r}>`).join(' ')}`);
  for (const [k, v] of Object.entries(spec.headers ?? {})) lines.push(`${k}: ${v}`);
  lines.push('MIME-Version: 1.0', 'Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: 8bit', '', spec.body ?? 'Body text.', '');
  return Buffer.from(lines.join('\r\n'), 'utf8');
}
