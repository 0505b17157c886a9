import type { LinkReason } from '../db/tables/mailbox.ts';
import { isFreemailDomain } from './freemail.ts';
import { relayOf } from './relays.ts';

/**
 * Which client a thread belongs to, and why (pure). Order of evidence:
 * 1. an external participant is a known contact ("contact address", 1.0;
 *    0.8 when contacts of several clients take part: the one who wrote most wins);
 * 2. an external participant's domain (or a parent domain) belongs to exactly
 *    one client ("client domain", 0.8). Freemail domains, marketplace relays
 *    and our own addresses and domains never link by domain.
 * Addresses on the client's domain that are not contacts become suggestions.
 */
export interface LinkParticipant {
  readonly address: string;
  readonly name: string | null;
  /** How many messages of the thread this address sent. */
  readonly sent: number;
}

export interface LinkContext {
  /** Lower-case addresses and domains that are "us". */
  readonly us: ReadonlySet<string>;
  readonly contactsByAddress: ReadonlyMap<string, { readonly contactId: number; readonly clientId: number }>;
  /** Domain -> the one client it belongs to. */
  readonly clientByDomain: ReadonlyMap<string, number>;
}

export interface LinkSuggestion {
  readonly address: string;
  readonly name: string | null;
  readonly clientId: number;
  readonly domain: string;
}

export interface LinkDecision {
  readonly clientId: number | null;
  readonly contactId: number | null;
  readonly reason: LinkReason | null;
  readonly confidence: number | null;
  readonly relay: string | null;
  readonly suggestions: ReadonlyArray<LinkSuggestion>;
  /** For unlinked threads: the most telling external domain or address. */
  readonly bestGuess: string | null;
}

export function isUs(address: string, us: ReadonlySet<string>): boolean {
  if (us.has(address)) return true;
  const domain = address.slice(address.lastIndexOf('@') + 1);
  return us.has(domain) || us.has(`@${domain}`);
}

/** acme.com for sales.eu.acme.com, tried from the most specific. */
export function domainCandidates(domain: string): string[] {
  const out: string[] = [];
  // each suffix that still has a dot in it, found by the positions of the dots
  for (let at = 0, dot = domain.indexOf('.'); dot >= 0; at = dot + 1, dot = domain.indexOf('.', at)) out.push(domain.slice(at));
  return out;
}

export function clientForDomain(domain: string, ctx: LinkContext): number | null {
  if (isFreemailDomain(domain) || relayOf(domain)) return null;
  for (const d of domainCandidates(domain)) {
    if (ctx.us.has(d)) return null;
    const c = ctx.clientByDomain.get(d);
    if (c !== undefined) return c;
  }
  return null;
}

export function decideLink(participants: ReadonlyArray<LinkParticipant>, ctx: LinkContext): LinkDecision {
  const external = participants.filter((p) => !isUs(p.address, ctx.us));
  const relay = external.map((p) => relayOf(p.address)).find((r) => r !== null) ?? null;

  // 1. contact address
  const byClient = new Map<number, { weight: number; contactId: number }>();
  for (const p of external) {
    const c = ctx.contactsByAddress.get(p.address);
    if (!c) continue;
    const cur = byClient.get(c.clientId);
    const weight = 1 + p.sent * 10;
    if (!cur) byClient.set(c.clientId, { weight, contactId: c.contactId });
    else byClient.set(c.clientId, { weight: cur.weight + weight, contactId: weight > 1 && cur.weight <= 1 ? c.contactId : cur.contactId });
  }
  const suggestionsFor = (clientId: number): LinkSuggestion[] =>
    external
      .filter((p) => !ctx.contactsByAddress.has(p.address) && !relayOf(p.address))
      .map((p) => ({ p, domain: p.address.slice(p.address.lastIndexOf('@') + 1) }))
      .filter(({ domain }) => clientForDomain(domain, ctx) === clientId)
      .map(({ p, domain }) => ({ address: p.address, name: p.name, clientId, domain }));

  if (byClient.size > 0) {
    const ranked = [...byClient.entries()].sort((a, b) => b[1].weight - a[1].weight || a[0] - b[0]);
    const [clientId, best] = ranked[0] as [number, { weight: number; contactId: number }];
    return { clientId, contactId: best.contactId, reason: 'contact address', confidence: byClient.size === 1 ? 1 : 0.8, relay, suggestions: suggestionsFor(clientId), bestGuess: null };
  }

  // 2. client domain
  const domainVotes = new Map<number, number>();
  for (const p of external) {
    const clientId = clientForDomain(p.address.slice(p.address.lastIndexOf('@') + 1), ctx);
    if (clientId !== null) domainVotes.set(clientId, (domainVotes.get(clientId) ?? 0) + 1 + p.sent * 10);
  }
  if (domainVotes.size > 0) {
    const ranked = [...domainVotes.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0]);
    const clientId = (ranked[0] as [number, number])[0];
    return { clientId, contactId: null, reason: 'client domain', confidence: domainVotes.size === 1 ? 0.8 : 0.6, relay, suggestions: suggestionsFor(clientId), bestGuess: null };
  }

  // 3. unlinked: the best guess is the busiest external non-freemail domain, else the busiest address
  const ranked = [...external].sort((a, b) => b.sent - a.sent || a.address.localeCompare(b.address));
  const corporate = ranked.find((p) => {
    const d = p.address.slice(p.address.lastIndexOf('@') + 1);
    return !isFreemailDomain(d) && !relayOf(d);
  });
  const bestGuess = corporate ? corporate.address.slice(corporate.address.lastIndexOf('@') + 1) : (ranked[0]?.address ?? null);
  return { clientId: null, contactId: null, reason: null, confidence: null, relay, suggestions: [], bestGuess };
}
