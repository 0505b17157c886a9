/**
 * Pure: delivery status notifications (RFC 3464). A DSN's message/delivery-status
 * part is groups of header-style fields separated by blank lines: the first group
 * is per message (Reporting-MTA, Arrival-Date...), each following one is per
 * recipient (Final-Recipient, Action, Status, Diagnostic-Code...).
 *
 * What a recipient's report means for Rapport (`kind`):
 *  - hard:      Action failed, and the status says the address does not work
 *               (5.1.x bad address or domain, 5.2.1 mailbox disabled, 5.4.4 no route
 *               to the domain; or a generic 5.0.0 / 5.5.x status whose diagnostic
 *               says "user unknown" or the like). The address is suppressed and the
 *               contact's address marked invalid.
 *  - failed:    Action failed with any other 5.x.x (a spam or policy block 5.7.x,
 *               a full mailbox 5.2.2, a message too big 5.3.4...): this mail did not
 *               arrive, but the address is fine; the row records it, nothing is suppressed.
 *  - delayed:   Action delayed (a 4.x.x): the remote server keeps trying; recorded only.
 *  - delivered: Action delivered, relayed or expanded (success reports); recorded only.
 */
export type DsnKind = 'hard' | 'failed' | 'delayed' | 'delivered';

export interface DsnRecipient {
  /** The address that failed (Final-Recipient), lower-case. */
  readonly address: string;
  /** The address as first given (Original-Recipient), when the report carries it. */
  readonly originalAddress: string | null;
  readonly action: string;
  readonly status: string;
  readonly diagnostic: string | null;
  readonly kind: DsnKind;
  /** kind === 'hard': the address does not work. */
  readonly hard: boolean;
}

export interface DsnReport {
  readonly reportingMta: string | null;
  readonly recipients: DsnRecipient[];
  /** The Message-ID of the mail that bounced (from the returned headers, else X-Original-Message-ID). */
  readonly originalMessageId: string | null;
}

function parseGroups(text: string): Array<Map<string, string>> {
  const groups: Array<Map<string, string>> = [];
  let current = new Map<string, string>();
  let last: string | null = null;
  for (const line of text.replace(/\r\n?/g, '\n').split('\n')) {
    if (line.trim() === '') {
      if (current.size > 0) groups.push(current);
      current = new Map();
      last = null;
      continue;
    }
    if (/^[ \t]/.test(line) && last) {
      current.set(last, `${current.get(last) ?? ''} ${line.trim()}`);
      continue;
    }
    const m = /^([A-Za-z][A-Za-z0-9-]*):\s*(.*)$/.exec(line);
    if (m) {
      last = m[1]!.toLowerCase();
      // The first occurrence wins (a group never repeats a field).
      if (!current.has(last)) current.set(last, m[2]!.trim());
      else last = null;
    } else last = null;
  }
  if (current.size > 0) groups.push(current);
  return groups;
}

/** "rfc822; Wang@ACME.com" -> "wang@acme.com" */
function addressOf(field: string | undefined): string | null {
  if (!field) return null;
  const value = field.includes(';') ? field.slice(field.indexOf(';') + 1) : field;
  const a = value.trim().replace(/^<|>$/g, '').trim().toLowerCase();
  return /^[^\s@<>]+@[^\s@<>]+$/.test(a) ? a : null;
}

const ADDRESS_WORDS = /user unknown|unknown user|no such (user|mailbox|recipient)|does ?n[o']t exist|not exist|unknown recipient|recipient (address )?rejected|invalid (recipient|mailbox|address)|mailbox (unavailable|not found)|address (rejected|not found)|account (is )?(disabled|inactive)/i;

/** What a failed status means: the address does not work (hard), or only this mail failed. */
export function failureKind(status: string, diagnostic: string | null): 'hard' | 'failed' {
  const m = /^5\.(\d{1,3})\.(\d{1,3})$/.exec(status);
  if (!m) return 'failed';
  const [cls, detail] = [Number(m[1]), Number(m[2])];
  if (cls === 7) return 'failed'; // policy / spam blocks: the address exists
  if (cls === 1) return 'hard';
  if (cls === 2 && detail === 1) return 'hard';
  if (cls === 4 && detail === 4) return 'hard';
  if ((cls === 0 || cls === 5) && diagnostic && ADDRESS_WORDS.test(diagnostic)) return 'hard';
  return 'failed';
}

function kindOf(action: string, status: string, diagnostic: string | null): DsnKind | null {
  if (action === 'failed') return status.startsWith('5.') ? failureKind(status, diagnostic) : status.startsWith('4.') ? 'failed' : null;
  if (action === 'delayed') return 'delayed';
  if (action === 'delivered' || action === 'relayed' || action === 'expanded') return 'delivered';
  return null;
}

function cleanId(v: string | undefined | null): string | null {
  const m = /<([^<>\s]+)>/.exec(v ?? '') ?? /^\s*([^<>\s]+@[^<>\s]+)\s*$/.exec(v ?? '');
  return m?.[1] ?? null;
}

/**
 * Reads the delivery-status fields out of a text (the delivery-status part, or
 * a parsed DSN's text, which carries it). Returns null when there is no
 * per-recipient group. `headersText` is the returned message's headers, when known.
 */
export function parseDsn(statusText: string, headersText?: string | null): DsnReport | null {
  const groups = parseGroups(statusText);
  const recipients: DsnRecipient[] = [];
  let reportingMta: string | null = null;
  let xOriginal: string | null = null;
  for (const g of groups) {
    if (g.has('reporting-mta') && !reportingMta) reportingMta = (g.get('reporting-mta') ?? '').replace(/^dns;\s*/i, '') || null;
    if (g.has('x-original-message-id') && !xOriginal) xOriginal = cleanId(g.get('x-original-message-id'));
    const address = addressOf(g.get('final-recipient')) ?? addressOf(g.get('original-recipient'));
    const action = (g.get('action') ?? '').toLowerCase().split(/\s/)[0] ?? '';
    const status = /([245])\.\d{1,3}\.\d{1,3}/.exec(g.get('status') ?? '')?.[0] ?? '';
    if (!address || !action || !status) continue;
    const diagnostic = g.get('diagnostic-code')?.replace(/^smtp;\s*/i, '').trim() || null;
    const kind = kindOf(action, status, diagnostic);
    if (!kind) continue;
    recipients.push({ address, originalAddress: addressOf(g.get('original-recipient')), action, status, diagnostic, kind, hard: kind === 'hard' });
  }
  if (recipients.length === 0) return null;
  // Only the returned message's own header block (up to its first blank line).
  const head = (headersText ?? '').replace(/\r\n?/g, '\n').split(/\n\n/)[0] ?? '';
  const fromHeaders = /^message-id:\s*(<[^>\s]+>)/im.exec(head)?.[1];
  const originalMessageId = cleanId(fromHeaders) ?? xOriginal;
  return { reportingMta, recipients, originalMessageId };
}

/**
 * A bounce without RFC 3464 fields (older Exim, some hosted providers): the
 * addresses come from the X-Failed-Recipients header, the status from the
 * first enhanced status code (or the 5xx reply code) in the text, the
 * diagnostic from the line carrying it, the Message-ID from the quoted
 * returned message when there is one. Returns null unless both are found;
 * only permanent (5xx) failures are read this way.
 */
export function parseLegacyBounce(text: string, failedRecipients: string | null | undefined): DsnReport | null {
  const addresses = [...new Set((failedRecipients ?? '').split(/[,\s]+/).map((a) => addressOf(a)).filter((a): a is string => a !== null))];
  if (addresses.length === 0) return null;
  const lines = text.replace(/\r\n?/g, '\n').split('\n').map((l) => l.trim());
  const line = lines.find((l) => /\b5\.\d{1,3}\.\d{1,3}\b/.test(l)) ?? lines.find((l) => /(^|\s)5\d\d[\s-]/.test(l));
  if (!line) return null;
  const status = /\b(5\.\d{1,3}\.\d{1,3})\b/.exec(line)?.[1] ?? '5.0.0';
  const diagnostic = line.slice(0, 500);
  const kind = failureKind(status, diagnostic);
  // The returned message is often quoted below the notice, headers first.
  const originalMessageId = /^message-id:\s*<([^<>\s]+)>/im.exec(text)?.[1] ?? null;
  return { reportingMta: null, originalMessageId, recipients: addresses.map((address) => ({ address, originalAddress: null, action: 'failed', status, diagnostic, kind, hard: kind === 'hard' })) };
}
