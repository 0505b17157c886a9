// The sender gives nodemailer each text part's transfer encoding (src/outbound/compose.ts), decided with
// one scan instead of nodemailer's two character counts; it must be exactly the encoding nodemailer picks.
import { describe, expect, it } from 'vitest';
import MimeNode from 'nodemailer/lib/mime-node';
import MailComposer from 'nodemailer/lib/mail-composer';
import { messageOptions, textTransferEncoding } from '../../src/outbound/compose.ts';
import type { ClaimedMail } from '../../src/outbound/claim.ts';

const nodemailerChoice = (s: string): string => {
  const node = new MimeNode('text/html; charset=utf-8');
  node.setContent(s);
  return String((node as unknown as { getTransferEncoding(): string }).getTransferEncoding());
};

// A small seeded generator: the same strings every run (empty text is never a part: the sender leaves it out).
function* strings(count: number): Generator<string> {
  let seed = 12345;
  const next = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const pieces = ['a', 'Z', ' ', '1', '=', '.', '\n', '\r', '\r\n', '\t', '\x00', '\x07', '\x1b', 'é', 'ü', '中', '文', '😀', '\u2028', 'x'.repeat(70), 'y'.repeat(80), '<p>', '询价'];
  for (let i = 0; i < count; i++) {
    let s = '';
    const len = next(60);
    for (let j = 0; j < len; j++) s += pieces[next(pieces.length)];
    yield s;
  }
}

describe('text transfer encoding', () => {
  it('is the encoding nodemailer picks, for hand-picked and generated text', () => {
    const cases = [
      'Dear Mr. Wang,\nThank you.\n', 'x'.repeat(76), 'x'.repeat(77), `${'x'.repeat(76)}\r\n${'y'.repeat(76)}`, `${'x'.repeat(76)}\r${'y'.repeat(77)}`,
      '12345 67890', '1'.repeat(100), '尊敬的王先生，感谢您的询价。', `Dear 王先生, ${'valve '.repeat(30)}`, 'Grüße aus München', '\x00\x01 ab',
      'a'.repeat(130 * 1024), '中'.repeat(10), `${'ab '.repeat(40)}\u2028`,
    ];
    for (const s of [...cases, ...strings(3000)].filter((t) => t !== '')) expect(textTransferEncoding(s), JSON.stringify(s.slice(0, 80))).toBe(nodemailerChoice(s));
  });

  it('leaves the composed message byte for byte as nodemailer composes it by itself', async () => {
    const mail = {
      id: 1, messageId: 'm1@sender.test', accountEmail: 'me@sender.test', toAddress: 'wang@client.com', toName: '王先生', kind: 'transactional', headers: null,
      inReplyTo: null, references: null,
    } as unknown as ClaimedMail;
    const bodies = [
      { html: '<p>short</p>\n', text: 'short\n' },
      { html: `<p>${'valve flange '.repeat(200)}</p>`, text: 'valve flange '.repeat(100) },
      { html: `<p>尊敬的王先生：${'感谢您的询价。'.repeat(50)}</p>`, text: `Dear 王先生, ${'quotation '.repeat(40)}` },
    ];
    for (const b of bodies) {
      const options = messageOptions(mail, { subject: 'Offer', ...b }, { date: new Date('2026-12-03T08:00:00Z'), unsubscribe: null });
      const ours = await new MailComposer(options).compile().build();
      const theirs = await new MailComposer({ ...options, html: b.html, text: b.text }).compile().build();
      expect(ours.toString()).toBe(theirs.toString());
    }
  });
});
