/** Locale resolution along a fallback chain. Pure. */

export const DEFAULT_FALLBACK: Readonly<Record<string, readonly string[]>> = {
  'zh-TW': ['zh-Hant', 'zh-CN'],
  'zh-HK': ['zh-Hant', 'zh-CN'],
  'zh-Hant': ['zh-CN'],
  zh: ['zh-CN'],
  'zh-Hans': ['zh-CN'],
  'zh-SG': ['zh-CN'],
};

export function canonicalLocale(tag: string): string | undefined {
  try {
    return Intl.getCanonicalLocales(tag.trim().replace(/_/g, '-'))[0];
  } catch {
    return undefined;
  }
}

/** zh-Hant-TW -> [zh-Hant-TW, zh-Hant, zh] */
function truncations(tag: string): string[] {
  const parts = tag.split('-');
  const out: string[] = [];
  for (let n = parts.length; n >= 1; n--) out.push(parts.slice(0, n).join('-'));
  return out;
}

/** The candidate chain for a wanted tag: itself, its truncations, configured fallbacks, then 'en'. */
export function fallbackChain(wanted: string | null | undefined, fallback: Readonly<Record<string, readonly string[]>> = DEFAULT_FALLBACK): string[] {
  const chain: string[] = [];
  const push = (t: string): void => {
    const c = canonicalLocale(t);
    if (c && !chain.some((x) => x.toLowerCase() === c.toLowerCase())) chain.push(c);
  };
  const start = wanted ? canonicalLocale(wanted) : undefined;
  if (start) {
    const seen = new Set<string>();
    const visit = (tag: string, depth: number): void => {
      if (depth > 8 || seen.has(tag.toLowerCase())) return;
      seen.add(tag.toLowerCase());
      for (const t of truncations(tag)) {
        push(t);
        const key = Object.keys(fallback).find((k) => k.toLowerCase() === t.toLowerCase());
        if (key) for (const next of fallback[key] ?? []) visit(canonicalLocale(next) ?? next, depth + 1);
      }
    };
    visit(start, 0);
  }
  push('en');
  return chain;
}

/**
 * Picks the first of `available` along the chain; a bare language also matches an available
 * regional variant of it (zh -> zh-CN) before falling back to 'en'.
 */
export function resolveLocale(available: readonly string[], wanted: string | null | undefined, fallback?: Readonly<Record<string, readonly string[]>>): string | undefined {
  const byLower = new Map(available.map((a) => [a.toLowerCase(), a]));
  const chain = fallbackChain(wanted, fallback);
  for (const c of chain.slice(0, -1)) {
    const hit = byLower.get(c.toLowerCase());
    if (hit) return hit;
  }
  const start = wanted ? canonicalLocale(wanted) : undefined;
  if (start) {
    const lang = start.split('-')[0]!.toLowerCase();
    const sameLang = available.find((a) => a.split('-')[0]!.toLowerCase() === lang);
    if (sameLang) return sameLang;
  }
  return byLower.get('en') ?? available.find((a) => a.toLowerCase().startsWith('en-'));
}

export function isRtl(locale: string): boolean {
  return /^(ar|he|fa|ur|ps|yi|dv|ckb)(-|$)/i.test(locale);
}

export function isChinese(locale: string): boolean {
  return /^zh(-|$)/i.test(locale);
}
