// The sender gives nodemailer each text part's transfer encoding (src/outbound/compose.ts), decided with
// one scan instead of nodemailer's two character counts; it must be exactly the encoding nodemailer picks.
import { describe, expect, it } from 'vitest';
import MimeNode from 'nodemailer/lib/mime-node';
import MailComposer from 'nodemailer/lib/mail-composer';
import { messageOptions, textTransferEncoding } from '../../src/outbound/compose.ts';
import { quotedPrintable } from '../../src/outbound/text-part.ts';
import type { ClaimedMail } from '../../src/outbound/claim.ts';
import { simpleParser } from 'mailparser';

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

  const mail = {
    id: 1, messageId: 'm1@sender.test', accountEmail: 'me@sender.test', toAddress: 'wang@client.com', toName: '王先生', kind: 'transactional', headers: null,
    inReplyTo: null, references: null,
  } as unknown as ClaimedMail;
  const compose = (b: { html: string; text: string }): Promise<Buffer> =>
    new MailComposer(messageOptions(mail, { subject: 'Offer', ...b }, { date: new Date('2026-12-03T08:00:00Z'), unsubscribe: null })).compile().build();

  it('gives a one-part message the encoding nodemailer gives it, and the same text', async () => {
    for (const b of [{ html: '', text: 'short\n' }, { html: `<p>${'valve flange '.repeat(200)}</p>`, text: '' }, { html: '', text: `Dear 王先生, ${'感谢您的询价。'.repeat(50)}` }]) {
      const options = messageOptions(mail, { subject: 'Offer', ...b }, { date: new Date('2026-12-03T08:00:00Z'), unsubscribe: null });
      const ours = await simpleParser(await new MailComposer(options).compile().build());
      const theirs = await simpleParser(await new MailComposer({ ...options, html: b.html || undefined, text: b.text || undefined }).compile().build());
      expect(ours.headers.get('content-transfer-encoding')).toBe(theirs.headers.get('content-transfer-encoding'));
      expect([ours.text, ours.html]).toEqual([theirs.text, theirs.html]);
    }
  });

  it('encodes two-part mail so a mail reader gets the text back exactly, in lines of 76 characters at most', async () => {
    const texts = [
      `<p>${'valve flange = '.repeat(200)}</p>\n<p>Grüße  \n</p>\tend `, `Dear 王先生,\r\n${'quotation '.repeat(40)}\n\nbye 😀 `, `尊敬的王先生：${'感谢您的询价。'.repeat(50)}`,
      'x'.repeat(500), `${'y'.repeat(74)} \n${'z'.repeat(76)}\t\r\n.`, `lone\rcr and \ud800 surrogate`, 'ends in =', '=', ' ', '\t\t',
      ...[...strings(400)].filter((t) => t.trim() !== ''),
    ];
    // the quoted-printable ones (base64 keeps the bytes as they are, line breaks included: Buffer's encoder)
    for (const t of texts.filter((x) => textTransferEncoding(x) === 'quoted-printable')) {
      const raw = await compose({ html: `<p>${t}</p>`, text: t });
      for (const line of quotedPrintable(t).toString('latin1').split('\r\n')) {
        expect(line.length, line).toBeLessThanOrEqual(76);
        expect(line, 'only printable ASCII').toMatch(/^[\t\x20-\x7e]*$/);
        expect(line, 'no whitespace ends an encoded line').not.toMatch(/[ \t]$/);
      }
      const parsed = await simpleParser(raw);
      // what a reader gets: line breaks as \n, a lone surrogate as U+FFFD (UTF-8 cannot hold it)
      const expected = t.replace(/\r\n|\r/g, '\n').replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
      expect(parsed.text, JSON.stringify(t.slice(0, 60))).toBe(expected);
      expect(parsed.html, JSON.stringify(t.slice(0, 60))).toBe(`<p>${expected}</p>`);
    }
  });
  it('fits the worst cases in its buffer: every byte escaped, short lines, whitespace before every break', () => {
    // a plain decoder: soft breaks out, =XX back to bytes
    const decode = (qp: string): string => {
      const bytes: number[] = [];
      const flat = qp.replace(/=\r\n/g, '');
      for (let i = 0; i < flat.length; i++) {
        if (flat[i] === '=') {
          bytes.push(parseInt(flat.slice(i + 1, i + 3), 16));
          i += 2;
        } else bytes.push(flat.charCodeAt(i));
      }
      return Buffer.from(bytes).toString('utf8');
    };
    const worst = ['='.repeat(5000), '中'.repeat(3000), '😀'.repeat(2000), '\ud800'.repeat(1000), '\x01'.repeat(4000), ' \n'.repeat(3000), '= \r\n'.repeat(2000), `${'a'.repeat(74)}=é `.repeat(300), '\t'.repeat(100)];
    for (const t of worst) {
      const qp = quotedPrintable(t).toString('latin1');
      for (const line of qp.split('\r\n')) expect(line.length).toBeLessThanOrEqual(76);
      expect(decode(qp), JSON.stringify(t.slice(0, 12))).toBe(Buffer.from(t.replace(/\r\n|\n|\r/g, '\r\n'), 'utf8').toString('utf8'));
    }
  });
});
