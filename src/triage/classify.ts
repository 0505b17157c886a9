import type { Category, Reason, SkipReason, TriageMessage } from './types.ts';
import type { UsMatcher } from './us-matcher.ts';
import { domainOf } from './us-matcher.ts';
import {
  AUTO_REPLY_BODY, AUTO_REPLY_SUBJECT, BOUNCE_SENDER, BOUNCE_SUBJECT, COMPLAINT_STRONG, COMPLAINT_WEAK, HYPOTHETICAL, INQUIRY_TERMS,
  LOGISTICS_TERMS, ORDER_TERMS, OUT_OF_OFFICE_BODY, RELAY_DOMAINS, RELAY_INQUIRY, UNSUBSCRIBE_BODY, findTerms, type Term,
} from './lexicon.ts';

export interface SkipVerdict {
  readonly reason: SkipReason;
  readonly text: string;
}

/** The marketplace relay a sender belongs to (its domain), if any. */
export function relayOf(address: string | null, extraDomains: readonly string[] = []): string | null {
  if (!address) return null;
  const d = domainOf(address);
  for (const r of [...RELAY_DOMAINS, ...extraDomains]) if (d === r || d.endsWith(`.${r}`)) return r;
  return null;
}

/** RFC 3834 and the vendor headers that mark a machine-sent reply. */
export function autoReplyHeader(headers: Readonly<Record<string, string>>): string | null {
  const as = headers['auto-submitted']?.trim().toLowerCase();
  if (as && !as.startsWith('no')) return `Auto-Submitted: ${as}`;
  if (headers['x-autoreply'] || headers['x-autorespond'] || headers['x-autoresponder']) return 'X-Autoreply';
  const prec = headers['precedence']?.trim().toLowerCase();
  if (prec === 'auto_reply') return 'Precedence: auto_reply';
  if (headers['x-auto-response-suppress'] && /\b(all|oof|autoreply)\b/i.test(headers['x-auto-response-suppress'])) return `X-Auto-Response-Suppress: ${headers['x-auto-response-suppress']}`;
  return null;
}

/** Why a message is not for triage, or null when it is. */
export function detectNotForTriage(msg: TriageMessage, newest: string, us: UsMatcher, relayDomains: readonly string[] = []): SkipVerdict | null {
  const from = msg.fromAddress?.toLowerCase() ?? '';
  const h = msg.headers;
  const ct = (msg.contentType ?? h['content-type'] ?? '').toLowerCase();
  if (us.isUs(from)) {
    const recipients = [...msg.to, ...msg.cc].filter((a) => a.includes('@'));
    if (recipients.every((a) => us.isUs(a))) return { reason: 'internal', text: 'internal: between our own addresses' };
    return { reason: 'outbound', text: 'sent by us' };
  }
  if (BOUNCE_SENDER.test(from) || ct.includes('report-type=delivery-status') || ct.startsWith('multipart/report') || (BOUNCE_SUBJECT.test(msg.subject) && /postmaster|daemon|delivery|退信/i.test(`${from} ${msg.fromName ?? ''}`))) {
    return { reason: 'bounce', text: `bounce (${BOUNCE_SENDER.test(from) ? from : 'delivery status report'})` };
  }
  const relay = relayOf(from, relayDomains);
  const bulkHeaders = Boolean(h['list-unsubscribe'] || h['list-id']) || /^(bulk|list|junk)$/i.test(h['precedence']?.trim() ?? '');
  if (relay && bulkHeaders && !RELAY_INQUIRY.test(msg.subject)) return { reason: 'newsletter', text: `newsletter from ${relay}` };
  if (relay && !RELAY_INQUIRY.test(`${msg.subject}\n${newest}`)) return { reason: 'platform', text: `platform notification from ${relay}, not an inquiry` };
  const auto = autoReplyHeader(h);
  if (auto) return { reason: 'auto-reply', text: `auto-reply (${auto})` };
  if (AUTO_REPLY_SUBJECT.test(msg.subject)) return { reason: 'auto-reply', text: `auto-reply (subject "${msg.subject.slice(0, 60)}")` };
  if (AUTO_REPLY_BODY.test(newest) || (newest.length < 400 && OUT_OF_OFFICE_BODY.test(newest))) return { reason: 'auto-reply', text: 'auto-reply (out-of-office text)' };
  if (relay) return null;
  const prec = h['precedence']?.trim().toLowerCase();
  if (h['list-unsubscribe'] || h['list-id']) return { reason: 'newsletter', text: `newsletter (${h['list-id'] ? 'List-Id' : 'List-Unsubscribe'})` };
  if (prec === 'bulk' || prec === 'list' || prec === 'junk') return { reason: 'newsletter', text: `bulk mail (Precedence: ${prec})` };
  if (/^(no-?reply|newsletter|news|marketing|mailer|notifications?)@/i.test(from) && UNSUBSCRIBE_BODY.test(newest)) return { reason: 'newsletter', text: `newsletter (${from})` };
  return null;
}

function score(text: string, terms: readonly Term[]): { points: number; words: string[] } {
  const found = findTerms(text, terms);
  return { points: found.reduce((s, f) => s + f.term.weight, 0), words: found.map((f) => f.match) };
}

/** inquiry, complaint, order or logistics: the words of the newest part and the subject decide. */
export function classifyCategory(subject: string, newest: string): { category: Exclude<Category, 'not-for-triage'>; reasons: Reason[] } {
  const text = `${subject.replace(/^\s*((re|aw|fw|fwd|sv|回复|答复)\s*[:：]\s*)+/iu, '')}\n${newest}`;
  const strong = score(text, COMPLAINT_STRONG);
  const weak = score(text, COMPLAINT_WEAK);
  const hypothetical = findTerms(text, HYPOTHETICAL).length > 0;
  const complaintPoints = hypothetical ? 0 : strong.points * 2 + weak.points;
  const order = score(text, ORDER_TERMS);
  const logistics = score(text, LOGISTICS_TERMS);
  const inquiry = score(text, INQUIRY_TERMS);
  const reason = (category: string, words: string[]): Reason => ({
    group: 'category', code: `category:${category}`, weight: 0,
    text: `${category} (${[...new Set(words.map((w) => w.toLowerCase()))].slice(0, 3).map((w) => `"${w}"`).join(', ') || 'default'})`,
  });
  if (complaintPoints >= 3 || (strong.points >= 1 && complaintPoints >= 2 && inquiry.points < 3)) {
    return { category: 'complaint', reasons: [reason('complaint', [...strong.words, ...weak.words])] };
  }
  const ranked = [
    { c: 'order' as const, p: order.points > 0 ? order.points + 0.1 : 0, w: order.words },
    // On a tie the inquiry wins over logistics: "when could the samples ship" is a sample request.
    { c: 'inquiry' as const, p: inquiry.points, w: inquiry.words },
    { c: 'logistics' as const, p: logistics.points, w: logistics.words },
  ].sort((a, b) => b.p - a.p);
  const best = ranked[0]!;
  if (best.p <= 0) return { category: 'inquiry', reasons: [reason('inquiry', [])] };
  return { category: best.c, reasons: [reason(best.c, best.w)] };
}
