/** Address helpers: everything compares lower-case, without angle brackets or display names. */

const ADDRESS = /^[^\s@<>(),;:"]+@[^\s@<>(),;:"]+\.[^\s@<>(),;:"]+$/;

/** 'Wang Li <Wang.Li@ACME.com>' or ' wang.li@acme.com ' -> 'wang.li@acme.com'; null when not an address. */
export function normalizeAddress(input: string | null | undefined): string | null {
  if (!input) return null;
  let s = input.trim();
  const angle = /<([^<>]*)>\s*$/.exec(s);
  if (angle?.[1] !== undefined) s = angle[1].trim();
  s = s.replace(/^mailto:/i, '').toLowerCase();
  return ADDRESS.test(s) ? s : null;
}

/** The domain part of an address (lower-case), or null. */
export function domainOf(address: string | null | undefined): string | null {
  const a = normalizeAddress(address);
  if (!a) return null;
  return a.slice(a.lastIndexOf('@') + 1);
}

/** Distinct, normalized, order kept. */
export function uniqueAddresses(list: ReadonlyArray<string | null | undefined>): string[] {
  const seen = new Set<string>();
  for (const item of list) {
    const a = normalizeAddress(item);
    if (a) seen.add(a);
  }
  return [...seen];
}
