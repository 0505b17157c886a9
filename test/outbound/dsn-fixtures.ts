import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

/** A DSN fixture (test/outbound/fixtures/dsn) as a server delivers it (CRLF), about the mail with this Message-ID. */
export function dsnFixture(name: string, messageId = 'orig-1@maker.cn'): Buffer {
  const text = readFileSync(path.join(here, 'fixtures', 'dsn', `${name}.eml`), 'utf8').replaceAll('{{MID}}', messageId);
  return Buffer.from(text.replace(/\r?\n/g, '\r\n'));
}
