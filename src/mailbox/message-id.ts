/** Message-ID handling: ids are stored without angle brackets, as written (case kept). */

/** '<abc@x.com>' -> 'abc@x.com'; null when empty. */
export function cleanMessageId(value: string | null | undefined): string | null {
  if (!value) return null;
  const ids = parseIdList(value);
  if (ids.length > 0) return ids[0] ?? null;
  const s = value.trim().replace(/^<|>$/g, '').trim();
  return s.length > 0 && !/\s/.test(s) ? s.slice(0, 900) : null;
}

/** The ids of a References or In-Reply-To header, in order, without duplicates. */
export function parseIdList(value: string | ReadonlyArray<string> | null | undefined): string[] {
  if (!value) return [];
  const text = Array.isArray(value) ? value.join(' ') : String(value);
  const out: string[] = [];
  const seen = new Set<string>();
  const add = (id: string): void => {
    const s = id.trim();
    if (s.length === 0 || s.length > 900 || seen.has(s)) return;
    seen.add(s);
    out.push(s);
  };
  const bracketed = text.match(/<[^<>\s]+>/g);
  if (bracketed && bracketed.length > 0) for (const b of bracketed) add(b.slice(1, -1));
  else for (const part of text.split(/[\s,]+/)) if (part.includes('@')) add(part);
  return out;
}

/** A stable Message-ID for a message that has none, from its content hash. */
export function syntheticMessageId(contentHash: string): string {
  return `synthetic.${contentHash.slice(0, 32)}@rapport.invalid`;
}

export function isSyntheticMessageId(id: string): boolean {
  return id.startsWith('synthetic.') && id.endsWith('@rapport.invalid');
}
