import { createRequire } from 'node:module';

/**
 * Freemail and consumer domains (gmail.com, qq.com, 163.com, gmx.de ... about
 * 8,700 of them, from the maintained `email-providers` package). An address on
 * one of these never links a thread to a client by its domain.
 */
const require = createRequire(import.meta.url);
const list = require('email-providers/all.json') as string[];
const FREEMAIL: ReadonlySet<string> = new Set([...list.map((d) => d.toLowerCase()), 'foxmail.com', 'vip.qq.com', 'vip.163.com', 'vip.126.com', 'vip.sina.com', '139.com', '189.cn', 'wo.cn', 'tom.com', 'sohu.com', 'yeah.net', 'aliyun.com', 'hotmail.co.uk', 'outlook.de', 'icloud.com', 'me.com', 'mac.com', 'proton.me', 'protonmail.com', 'naver.com', 'daum.net', 'hanmail.net', 'rediffmail.com']);

export function isFreemailDomain(domain: string | null | undefined): boolean {
  if (!domain) return false;
  return FREEMAIL.has(domain.toLowerCase());
}
