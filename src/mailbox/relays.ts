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

/** The platform name when the address or domain belongs to a marketplace relay, else null. */
export function relayOf(addressOrDomain: string | null | undefined): string | null {
  if (!addressOrDomain) return null;
  const s = addressOrDomain.toLowerCase();
  const domain = s.includes('@') ? s.slice(s.lastIndexOf('@') + 1) : s;
  for (const [d, name] of RELAY_DOMAINS) if (domain === d || domain.endsWith(`.${d}`)) return name;
  return null;
}
