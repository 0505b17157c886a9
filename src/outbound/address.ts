/** Pure address helpers. */

// A practical check (not the full RFC 5322 grammar): one @, a dotted domain, no spaces or control characters.
const ADDRESS = /^[^\s@<>()[\]\\,;:"\u0000-\u001f\u007f]+@[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+$/i;

export function isValidAddress(address: string): boolean {
  return address.length <= 254 && ADDRESS.test(address);
}

export function addressKey(address: string): string {
  return address.trim().toLowerCase();
}

export function addressDomain(address: string): string {
  return (address.split('@')[1] ?? '').toLowerCase();
}
