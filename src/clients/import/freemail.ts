import { createRequire } from 'node:module';

let providers: ReadonlySet<string> | undefined;

/** True for a free mail provider's domain (gmail.com, 163.com, qq.com...): such a domain never identifies a client. */
export function isFreemailDomain(domain: string): boolean {
  if (!providers) {
    const require = createRequire(import.meta.url);
    providers = new Set((require('email-providers/all.json') as string[]).map((d) => d.toLowerCase()));
  }
  return providers.has(domain.toLowerCase());
}
