import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseMessage } from '../../src/mailbox/index.ts';
import { failureKind, parseDsn, parseLegacyBounce, readDsnRaw } from '../../src/outbound/index.ts';
import { dsnFixture } from './dsn-fixtures.ts';

const here = path.dirname(fileURLToPath(import.meta.url));

describe('delivery status notifications (RFC 3464)', () => {
  it('reads a Postfix "user unknown" bounce: hard, with the returned Message-ID', async () => {
    const r = await readDsnRaw(dsnFixture('postfix-user-unknown', 'autumn-1@maker.cn'));
    expect(r).not.toBeNull();
    expect(r!.reportingMta).toBe('mail.maker.cn');
    expect(r!.originalMessageId).toBe('autumn-1@maker.cn');
    expect(r!.recipients).toEqual([
      {
        address: 'wang@acme-gone.com',
        originalAddress: 'wang@acme-gone.com',
        action: 'failed',
        status: '5.1.1',
        diagnostic: '550 5.1.1 <wang@acme-gone.com>: Recipient address rejected: User unknown in virtual mailbox table',
        kind: 'hard',
        hard: true,
      },
    ]);
  });

  it('reads an Exchange Online NDR (5.1.10, mixed-case address, folded Message-ID in text/rfc822-headers)', async () => {
    const r = await readDsnRaw(dsnFixture('exchange-ndr', 'order-4711@maker.cn'));
    expect(r!.originalMessageId).toBe('order-4711@maker.cn');
    expect(r!.recipients).toHaveLength(1);
    expect(r!.recipients[0]).toMatchObject({ address: 'hans.mueller@globex.de', status: '5.1.10', kind: 'hard' });
    expect(r!.recipients[0]!.diagnostic).toContain('RecipientNotFound');
  });

  it('reads a Gmail policy block (5.7.1): the mail failed, the address is not dead', async () => {
    const r = await readDsnRaw(dsnFixture('gmail-policy-block', 'fair-9@maker.cn'));
    expect(r!.originalMessageId).toBe('fair-9@maker.cn');
    expect(r!.recipients[0]).toMatchObject({ address: 'li.na@initech.com.cn', action: 'failed', status: '5.7.1', kind: 'failed', hard: false });
  });

  it('reads an Exim bounce whose generic 5.0.0 says "No such user": hard', async () => {
    const r = await readDsnRaw(dsnFixture('exim-user-unknown', 'cat-3@maker.cn'));
    expect(r!.reportingMta).toBe('mail.umbrella.co.uk');
    expect(r!.originalMessageId).toBe('cat-3@maker.cn');
    expect(r!.recipients[0]).toMatchObject({ address: 'j.smith@umbrella.co.uk', status: '5.0.0', kind: 'hard' });
  });

  it('reads a Postfix 4.4.1 delay warning: delayed, nothing hard', async () => {
    const r = await readDsnRaw(dsnFixture('postfix-delayed', 'quote-118@maker.cn'));
    expect(r!.originalMessageId).toBe('quote-118@maker.cn');
    expect(r!.recipients[0]).toMatchObject({ address: 'buyer@slow-co.com.br', action: 'delayed', status: '4.4.1', kind: 'delayed', hard: false });
    expect(r!.recipients[0]!.diagnostic).toBe('X-Postfix; connect to mx.slow-co.com.br[203.0.113.77]:25: Connection timed out');
  });

  it('finds no report in a human note from a postmaster', async () => {
    expect(await readDsnRaw(dsnFixture('postmaster-human-note'))).toBeNull();
  });

  it('reads the status fields from the stored text of a synced DSN (no raw bytes), and Gmail\'s X-Original-Message-ID', async () => {
    const postfix = await parseMessage(dsnFixture('postfix-user-unknown'));
    const r = parseDsn(postfix.textBody ?? '', postfix.textBody);
    expect(r!.recipients.map((x) => [x.address, x.kind])).toEqual([['wang@acme-gone.com', 'hard']]);
    expect(r!.originalMessageId).toBeNull(); // the returned headers are an attachment: matched by recipient instead
    const gmailStatus = readFileSync(path.join(here, 'fixtures', 'dsn', 'gmail-policy-block.eml'), 'utf8').replaceAll('{{MID}}', 'x-orig@maker.cn');
    const part = gmailStatus.slice(gmailStatus.indexOf('Reporting-MTA'), gmailStatus.indexOf('--000000000000a1b2c3d4e5f60708\nContent-Type: message/rfc822'));
    expect(parseDsn(part)!.originalMessageId).toBe('x-orig@maker.cn');
  });

  it('reads an old-style Exim bounce without DSN fields from X-Failed-Recipients and the quoted message', async () => {
    const raw = dsnFixture('exim-legacy-plain', 'listino-7@maker.cn');
    expect(await readDsnRaw(raw)).toBeNull(); // not RFC 3464
    const parsed = await parseMessage(raw);
    const r = parseLegacyBounce(parsed.textBody ?? '', parsed.headers['x-failed-recipients']);
    expect(r).toMatchObject({ originalMessageId: 'listino-7@maker.cn' });
    expect(r!.recipients).toEqual([expect.objectContaining({ address: 'm.rossi@pasta-gone.it', status: '5.1.1', kind: 'hard' })]);
    expect(r!.recipients[0]!.diagnostic).toContain('550 5.1.1 <m.rossi@pasta-gone.it>: Recipient address rejected: User unknown');
    expect(parseLegacyBounce('Sorry, it did not work.', 'a@b.com')).toBeNull();
    expect(parseLegacyBounce('550 5.1.1 user unknown', null)).toBeNull();
  });

  it('classifies failure statuses', () => {
    expect(failureKind('5.1.1', null)).toBe('hard');
    expect(failureKind('5.2.1', null)).toBe('hard'); // mailbox disabled
    expect(failureKind('5.4.4', null)).toBe('hard'); // no route to the domain
    expect(failureKind('5.2.2', 'mailbox full')).toBe('failed');
    expect(failureKind('5.7.1', 'user unknown')).toBe('failed'); // policy wins over words
    expect(failureKind('5.0.0', 'Recipient address rejected: User unknown')).toBe('hard');
    expect(failureKind('5.0.0', 'message too large')).toBe('failed');
    expect(parseDsn('Final-Recipient: rfc822; a@b.com\nAction: failed\nStatus: 5.1.1')!.recipients[0]!.hard).toBe(true);
    expect(parseDsn('Final-Recipient: rfc822; not an address\nAction: failed\nStatus: 5.1.1')).toBeNull();
    expect(parseDsn('Final-Recipient: rfc822; a@b.com\nAction: failed')).toBeNull();
  });
});
