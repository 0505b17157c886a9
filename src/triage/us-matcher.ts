/** Which addresses are "us": our accounts' addresses and whole domains. */
export interface UsMatcher {
  readonly addresses: ReadonlySet<string>;
  readonly domains: ReadonlySet<string>;
  isUs(address: string | null | undefined): boolean;
}

/** Entries: "linda@hengda.com", "hengda.com" or "@hengda.com". */
export function makeUsMatcher(entries: Iterable<string>): UsMatcher {
  const addresses = new Set<string>();
  const domains = new Set<string>();
  for (const raw of entries) {
    const e = raw.trim().toLowerCase();
    if (e === '') continue;
    if (e.startsWith('@')) domains.add(e.slice(1));
    else if (e.includes('@')) addresses.add(e);
    else domains.add(e);
  }
  return {
    addresses,
    domains,
    isUs(address) {
      if (!address) return false;
      const a = address.trim().toLowerCase();
      if (addresses.has(a)) return true;
      const d = a.slice(a.lastIndexOf('@') + 1);
      return domains.has(d);
    },
  };
}

export function domainOf(address: string): string {
  const a = address.trim().toLowerCase();
  return a.slice(a.lastIndexOf('@') + 1);
}
