import { createRequire } from 'node:module';

// The maintained list of consumer mail providers (gmail.com, qq.com, 163.com, yandex.ru, gmx.de, ...).
const require = createRequire(import.meta.url);
const FREEMAIL: ReadonlySet<string> = new Set((require('email-providers/all.json') as string[]).map((d) => d.toLowerCase()));

/** True for consumer mail domains, which never identify a client. */
export function isFreemailDomain(domain: string): boolean {
  return FREEMAIL.has(domain.trim().toLowerCase());
}
