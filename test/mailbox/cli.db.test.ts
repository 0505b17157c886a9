import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/program.ts';
import type { Runner } from '../../src/cli/context.ts';
import type { Config } from '../../src/config/config.ts';
import { silentLogger } from '../../src/shared/logger.ts';
import { ManualClock } from '../../src/shared/clock.ts';
import { useTestDb, testBackend } from '../support/test-db.ts';
import { eml } from './support/eml.ts';

const KEY = 'e'.repeat(64);

describe(`mailbox CLI on ${testBackend}`, { timeout: 120_000 }, () => {
  const t = useTestDb();
  /** Runs the CLI in-process; `env.lines` collects the output even when the command fails. */
  async function cli(args: string[], env: { secretKey?: string | undefined; lines?: string[] } = { secretKey: KEY }): Promise<string> {
    const lines: string[] = env.lines ?? [];
    const config: Config = { databaseUrl: undefined, dataDir: '', secretKey: env.secretKey, logLevel: 'silent', templatesDir: '', campaignsDir: '', sections: {} };
    const run: Runner = async (fn) => fn({ config, db: t.db, logger: silentLogger, clock: new ManualClock('2026-03-10T00:00:00Z'), out: (l) => lines.push(l) });
    await buildProgram(run).parseAsync(args, { from: 'user' });
    return lines.join('\n');
  }

  it('accounts add/list/remove never print the secret, and say when the key is missing', async () => {
    process.env.RAPPORT_TEST_IMAP_PW = 'Sup3r-Secret-Pw';
    try {
      expect(await cli(['accounts', 'add', 'work', '--email', 'Sales@Maker.cn', '--imap-host', 'imap.maker.cn', '--password-env', 'RAPPORT_TEST_IMAP_PW', '--alias', '@maker.com.cn'])).toMatch(/account work added .*secret stored encrypted/);
      const list = await cli(['accounts', 'list', '--json']);
      expect(list).not.toContain('Sup3r');
      expect(JSON.parse(list)).toMatchObject([{ name: 'work', email: 'sales@maker.cn', imap: 'imap.maker.cn:993 (tls)', hasSecret: true, extraAddresses: ['@maker.com.cn'] }]);
      // the table's secret column says whether one is stored, never what it is (nor its ciphertext)
      const table = await cli(['accounts', 'list']);
      const row = await t.db.kysely.selectFrom('mail_accounts').select('secret_enc').executeTakeFirstOrThrow();
      expect(table).not.toContain('Sup3r');
      expect(table).not.toContain(row.secret_enc as string);
      expect(table).toMatch(/^\d+\s+work\s.*\spassword\s+stored\s+true$/m);
      expect(row.secret_enc).not.toContain('Sup3r');
      await expect(cli(['accounts', 'add', 'other', '--email', 'x@maker.cn', '--password-env', 'RAPPORT_TEST_IMAP_PW'], { secretKey: undefined })).rejects.toThrow(/RAPPORT_SECRET_KEY is not set/);
      await expect(cli(['accounts', 'add', 'bad', '--email', 'not-an-address'])).rejects.toThrow(/email "not-an-address" is not an address/);
      expect(await cli(['accounts', 'remove', 'work'])).toBe('account work removed');
      await expect(cli(['accounts', 'remove', 'work'])).rejects.toThrow(/no such account/);
    } finally {
      delete process.env.RAPPORT_TEST_IMAP_PW;
    }
  });

  it('accounts test says plainly that nothing listens there', async () => {
    process.env.RAPPORT_TEST_IMAP_PW = 'pw';
    try {
      await cli(['accounts', 'add', 'dead', '--email', 's@maker.cn', '--imap-host', '127.0.0.1', '--imap-port', '1', '--imap-tls', 'none', '--password-env', 'RAPPORT_TEST_IMAP_PW']);
      const lines: string[] = [];
      await expect(cli(['accounts', 'test', 'dead'], { secretKey: KEY, lines })).rejects.toThrow(/account dead: test failed/);
      expect(lines).toEqual(['FAILED at connect: IMAP 127.0.0.1:1: connect failed (ECONNREFUSED)']);
      lines.length = 0;
      await expect(cli(['accounts', 'test', 'dead', '--json'], { secretKey: KEY, lines })).rejects.toThrow(/test failed/);
      expect(JSON.parse(lines.join('\n'))).toMatchObject({ ok: false, step: 'connect', code: 'IMAP_CONNECT_FAILED' });
    } finally {
      delete process.env.RAPPORT_TEST_IMAP_PW;
    }
  });

  it('import mail, threads list/show/unlinked/link with --remember-domain, sync status', async () => {
    await cli(['accounts', 'add', 'me', '--email', 'sales@maker.cn']);
    const c = await t.db.kysely.insertInto('clients').values({ name: 'ACME Trading', name_key: 'acme trading', website: 'https://acme.com' }).returning('id').executeTakeFirstOrThrow();
    const out = await cli(['import', 'mail', path.resolve('test/fixtures/mailbox/27-outlook-reply.eml')]);
    expect(out).toMatch(/1 messages, 1 new/);
    const unlinked = JSON.parse(await cli(['threads', 'unlinked', '--json'])) as Array<{ id: number; bestGuess: string; guessClientId: number }>;
    expect(unlinked).toHaveLength(1);
    expect(unlinked[0]).toMatchObject({ bestGuess: 'acme.com', guessClientId: c.id });
    const id = String(unlinked[0]?.id);
    expect(await cli(['threads', 'link', id, String(c.id)])).toContain('--remember-domain');
    expect(await cli(['threads', 'link', id, String(c.id), '--remember-domain'])).toContain('remembered domain(s): acme.com');
    const domains = await t.db.kysely.selectFrom('client_domains').selectAll().execute();
    expect(domains).toMatchObject([{ domain: 'acme.com', client_id: c.id, source: 'link' }]);
    // future mail from that domain links by domain
    await cli(['import', 'mail', path.resolve('test/fixtures/mailbox/29-german-quote.eml')]);
    const list = JSON.parse(await cli(['threads', 'list', '--client', String(c.id), '--json'])) as Array<{ linkReason: string }>;
    expect(list.map((l) => l.linkReason).sort()).toEqual(['client domain', 'manual']);
    const show = await cli(['threads', 'show', id]);
    expect(show).toContain('client: ACME Trading (manual');
    expect(show).toContain('OK, we accept the price.');
    // clients show: the conversation timeline, newest first, in text and JSON
    const later = path.join(mkdtempSync(path.join(os.tmpdir(), 'rapport-cli-')), 'shipping.eml');
    writeFileSync(later, eml({ from: 'Wang Li <wang@acme.com>', to: 'sales@maker.cn', subject: 'Shipping date', messageId: 'ship@acme.com', date: '2026-03-05T08:00:00Z', body: 'When does it ship?\n\n> old quote' }));
    await cli(['import', 'mail', later]);
    const shown = JSON.parse(await cli(['clients', 'show', String(c.id), '--json'])) as { conversations: Array<{ subject: string; lastMessageAt: string; linkReason: string; last: { direction: string; from: string; snippet: string } }> };
    expect(shown.conversations.map((x) => x.subject)).toEqual(['Shipping date', 'AW: Angebot', 'RE: Quote for bolts']);
    expect(shown.conversations[0]).toMatchObject({ linkReason: 'client domain', last: { direction: 'inbound', from: 'wang@acme.com', snippet: 'When does it ship?' } });
    const times = shown.conversations.map((x) => Date.parse(x.lastMessageAt));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
    const text = await cli(['clients', 'show', String(c.id)]);
    expect(text).toContain('conversations (newest first):');
    expect(text.indexOf('Shipping date')).toBeLessThan(text.indexOf('Quote for bolts'));
    expect(text).toMatch(/last from wang@acme\.com: When does it ship\?/);
    // wang@acme.com wrote on the client's domain without being a contact: a suggestion
    const sugg = JSON.parse(await cli(['threads', 'suggestions', '--json'])) as Array<{ address: string; name: string; clientId: number; messages: number }>;
    expect(sugg).toMatchObject([{ address: 'wang@acme.com', name: 'Wang Li', clientId: c.id }]);
    expect(await cli(['threads', 'suggestions'])).toMatch(/wang@acme\.com\s+Wang Li\s+ACME Trading \(#\d+\)/);
    // adding the contact settles the suggestion and re-links its past threads by contact address (the manual link stays)
    await cli(['contacts', 'add', '--client', String(c.id), '--name', 'Wang Li', '--email', 'wang@acme.com']);
    expect(JSON.parse(await cli(['threads', 'suggestions', '--json']))).toEqual([]);
    const relinked = JSON.parse(await cli(['threads', 'list', '--client', String(c.id), '--json'])) as Array<{ subject: string; linkReason: string }>;
    expect(Object.fromEntries(relinked.map((x) => [x.subject, x.linkReason]))).toEqual({ 'Shipping date': 'contact address', 'AW: Angebot': 'contact address', 'RE: Quote for bolts': 'manual' });
    expect(JSON.parse(await cli(['sync', 'status', '--json']))).toMatchObject({ accounts: [], folders: [], parseErrorCount: 0 });
    await expect(cli(['import', 'mail', '/nope/x.mbox'])).rejects.toThrow('/nope/x.mbox: cannot be read');
    await expect(cli(['threads', 'show', '999999'])).rejects.toThrow('thread 999999: no such thread');
  });
});
