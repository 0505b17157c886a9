import type { Delivery, Reason, TriageMessage } from './types.ts';
import type { UsMatcher } from './us-matcher.ts';
import { domainOf } from './us-matcher.ts';
import { BARE_GREETING, CATALOGUE_REQUEST, CHINESE_PERSONAL_GREETING, GENERIC_SALUTATION, PRIOR_CONTACT } from './lexicon.ts';
import { firstLine } from './text-parts.ts';
import freemail from 'email-providers/all.json' with { type: 'json' };

const FREEMAIL: ReadonlySet<string> = new Set(freemail as string[]);
const ROLE_ADDRESS = /^(info|sales|contact|enquiry|enquiries|inquiry|export|office|service|hello|mail|admin)@/i;

export interface DeliveryInput {
  readonly msg: TriageMessage;
  readonly newest: string;
  readonly us: UsMatcher;
  readonly companyNames: readonly string[];
  readonly products: readonly string[];
  /** Our people's names (owners, account holders): a greeting naming one is personal. */
  readonly people?: readonly string[];
  readonly relay: string | null;
  readonly linkedClient: boolean;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

const nameRegexCache = new Map<string, RegExp>();

function nameRegex(n: string): RegExp {
  let re = nameRegexCache.get(n);
  if (!re) {
    re = /[\p{Script=Han}]/u.test(n) ? new RegExp(escapeRe(n), 'u') : new RegExp(`(?<![\\p{L}\\p{N}])${escapeRe(n)}(?![\\p{L}\\p{N}])`, 'iu');
    if (nameRegexCache.size > 10_000) nameRegexCache.clear();
    nameRegexCache.set(n, re);
  }
  return re;
}

function mentions(text: string, names: readonly string[]): string | null {
  for (const n of names) if (nameRegex(n).test(text)) return n;
  return null;
}

/**
 * One-to-one or mass. Signals add up: positive weights push to mass, negative to one-to-one;
 * a balance of 2 or more is mass.
 */
export function assessDelivery(input: DeliveryInput): { delivery: Delivery; balance: number; reasons: Reason[] } {
  const { msg, newest, us } = input;
  const reasons: Reason[] = [];
  const add = (code: string, text: string, weight: number) => reasons.push({ group: 'delivery', code, text, weight });
  const toCc = [...msg.to, ...msg.cc].map((a) => a.toLowerCase());
  const usInToCc = toCc.some((a) => us.isUs(a));
  const usInBcc = msg.bcc.some((a) => us.isUs(a));
  const allText = `${msg.to.join(' ')} ${msg.cc.join(' ')}`.toLowerCase();
  if (/undisclosed[- ]recipients/.test(allText) || /undisclosed[- ]recipients/i.test(msg.headers['to'] ?? '')) add('undisclosed', '"undisclosed recipients"', 3);
  else if (usInBcc && !usInToCc) add('bcc-only', 'our address only in Bcc', 3);
  else if (!usInToCc && toCc.length > 0) add('not-addressed', 'our address not in To/Cc', 3);
  const senderDomain = msg.fromAddress ? domainOf(msg.fromAddress) : '';
  const otherDomains = new Set(toCc.filter((a) => a.includes('@') && !us.isUs(a)).map(domainOf).filter((d) => d !== senderDomain));
  if (otherDomains.size >= 2) add('many-companies', `${otherDomains.size + (usInToCc ? 1 : 0)} recipient companies in To/Cc`, 3);
  if (input.relay) add('relay', `marketplace relay (${input.relay})`, 4);

  const greeting = firstLine(newest);
  if (GENERIC_SALUTATION.test(greeting)) add('generic-salutation', `generic salutation "${greeting.slice(0, 30)}"`, 2);
  else if (BARE_GREETING.test(greeting)) add('bare-greeting', 'greeting without a name', 1);

  // Addressed by name: a To display name's first or last name in the greeting.
  const ourNames = [...(msg.toNames ?? []).filter((n, i) => n && us.isUs(msg.to[i])), ...(input.people ?? [])].flatMap((n) => n.split(/\s+/)).filter((p) => p.length >= 2);
  const byName = mentions(greeting, ourNames) ?? (CHINESE_PERSONAL_GREETING.test(greeting) ? greeting.slice(0, 6) : null);
  if (byName) add('named-person', `addressed by name ("${byName}")`, -2);
  const company = mentions(`${msg.subject}\n${newest}`, input.companyNames);
  if (company) add('company-named', `our company named ("${company}")`, -2);
  const product = mentions(`${msg.subject}\n${newest}`, input.products);
  if (product) add('product-named', `our product named ("${product}")`, -2);
  if (msg.inReplyTo || (msg.references?.length ?? 0) > 0) add('earlier-thread', 'reply in an earlier thread', -3);
  else if (PRIOR_CONTACT.test(newest)) add('prior-contact', 'refers to earlier contact', -1);
  if (input.linkedClient) add('known-client', 'known client', -1);
  if (toCc.filter((a) => a.includes('@')).length === 1 && usInToCc) add('single-recipient', 'single recipient', -1);
  if (CATALOGUE_REQUEST.test(newest) && !product) add('catalogue-request', 'asks for a catalogue or price list', 1);
  const toUs = toCc.find((a) => us.isUs(a));
  if (toUs && ROLE_ADDRESS.test(toUs) && !byName) add('role-address', `sent to ${toUs.split('@')[0]}@`, 1);
  if (senderDomain && FREEMAIL.has(senderDomain) && !input.linkedClient && !byName) add('freemail', `free-mail sender (${senderDomain})`, 1);
  const balance = reasons.reduce((s, r) => s + r.weight, 0);
  return { delivery: balance >= 2 ? 'mass' : 'one-to-one', balance, reasons };
}
