/**
 * Marketplace relays: inquiry notifications sent by a platform on a buyer's
 * behalf. The sender's domain is the platform's, never the client's, so these
 * never link by domain; the thread records which platform relayed it.
 */
const RELAY_DOMAINS: ReadonlyArray<readonly [string, string]> = [
  ['alibaba.com', 'alibaba'], ['alibaba-inc.com', 'alibaba'], ['aliexpress.com', 'aliexpress'], ['1688.com', '1688'],
  ['made-in-china.com', 'made-in-china'], ['globalsources.com', 'globalsources'], ['tradekey.com', 'tradekey'],
  ['ec21.com', 'ec21'], ['ecplaza.net', 'ecplaza'], ['indiamart.com', 'indiamart'], ['tradeindia.com', 'tradeindia'],
  ['exportersindia.com', 'exportersindia'], ['dhgate.com', 'dhgate'], ['go4worldbusiness.com', 'go4worldbusiness'],
  ['europages.com', 'europages'], ['kompass.com', 'kompass'], ['thomasnet.com', 'thomasnet'], ['hktdc.com', 'hktdc'],
  ['tradewheel.com', 'tradewheel'], ['marketplace.amazon.com', 'amazon'], ['marketplace.amazon.de', 'amazon'],
  ['marketplace.amazon.co.uk', 'amazon'], ['members.ebay.com', 'ebay'], ['members.ebay.de', 'ebay'], ['etsy.com', 'etsy'],
  ['linkedin.com', 'linkedin'], ['fiverr.com', 'fiverr'], ['upwork.com', 'upwork'],
];

const RELAY_BY_DOMAIN: ReadonlyMap<string, string> = new Map(RELAY_DOMAINS);

/** The platform name when the address or domain belongs to a marketplace relay (the domain or a parent domain is one), else null. */
export function relayOf(addressOrDomain: string | null | undefined): string | null {
  if (!addressOrDomain) return null;
  const s = addressOrDomain.toLowerCase();
  // the domain, then each parent domain (found by the position of each dot: only the strings looked up are made)
  for (let at = s.lastIndexOf('@') + 1; ; ) {
    const name = RELAY_BY_DOMAIN.get(s.slice(at));
    if (name !== undefined) return name;
    const dot = s.indexOf('.', at);
    if (dot < 0) return null;
    at = dot + 1;
  }
}
