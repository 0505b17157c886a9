import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseBody, parseHeaderFields, parseMessage } from '../../src/mailbox/parse-message.ts';

/** What an IMAP server answers to BODY.PEEK[HEADER] (the sync's header pass): the header lines and the empty line after them. */
function headerBlockOf(raw: Buffer): Buffer {
  const crlf = raw.indexOf('\r\n\r\n');
  const lf = raw.indexOf('\n\n');
  const end = crlf >= 0 && (lf < 0 || crlf < lf) ? crlf + 4 : lf >= 0 ? lf + 2 : raw.length;
  return raw.subarray(0, end);
}

const dir = path.resolve('test/fixtures/mailbox');
const files = readdirSync(dir).filter((f) => f.endsWith('.eml')).sort();
const load = (name: string): Buffer => readFileSync(path.join(dir, name));

describe('fixture corpus: malformed and unusual messages', () => {
  it('has at least 40 hand-made messages', () => {
    expect(files.length).toBeGreaterThanOrEqual(40);
  });

  it.each(files)('%s parses without throwing, quickly, with a Message-ID and a content hash', async (file) => {
    const t0 = performance.now();
    const p = await parseMessage(load(file));
    expect(performance.now() - t0).toBeLessThan(5000);
    expect(p.messageId.length).toBeGreaterThan(0);
    expect(p.contentHash).toMatch(/^[0-9a-f]{64}$/);
    expect(p.textBody ?? '').not.toContain('\u0000');
  });

  it.each(files)('%s: its header alone (the sync\'s header pass) reads the same as the whole message', async (file) => {
    const whole = await parseMessage(load(file));
    const head = parseHeaderFields(headerBlockOf(load(file)));
    if (whole.parseError) return; // kept raw: its fields come from the fallback reader either way
    const fields = (p: typeof whole) => ({ messageId: p.messageId, hasMessageId: p.hasMessageId, from: p.from, to: p.to, cc: p.cc, bcc: p.bcc, replyTo: p.replyTo, subject: p.subject, date: p.date, inReplyTo: p.inReplyTo, references: p.references, headers: p.headers });
    expect({ ...fields(head), parseError: head.parseError }).toEqual({ ...fields(whole), ...(whole.hasMessageId ? {} : { messageId: head.messageId }), parseError: null });
    // the dedupe key: the same with a Message-ID (without one the key needs the body: such a message waits for the body pass)
    if (whole.hasMessageId) expect(head.contentHash).toBe(whole.contentHash);
    expect(head.textBody).toBeNull();
  });

  it.each(files)('%s: its body read from the body-shaping headers alone (the sync\'s body pass) is the body of the whole message', async (file) => {
    const whole = await parseMessage(load(file));
    const body = await parseBody(load(file));
    const fields = (p: typeof body) => ({ textBody: p.textBody, htmlBody: p.htmlBody, newestPart: p.newestPart, attachments: p.attachments, size: p.size });
    if (whole.parseError) {
      expect(body.parseError).not.toBeNull();
      return;
    }
    expect({ ...fields(body), parseError: body.parseError }).toEqual({ ...fields(whole), parseError: null });
  });

  it('decodes the charsets of Chinese and Japanese trade mail', async () => {
    expect((await parseMessage(load('01-gb2312.eml'))).textBody).toContain('不锈钢螺丝');
    expect((await parseMessage(load('02-gbk.eml'))).subject).toBe('询价 螺丝');
    expect((await parseMessage(load('03-gb18030.eml'))).textBody).toContain('不锈钢螺丝');
    expect((await parseMessage(load('04-big5.eml'))).textBody).toContain('不鏽鋼螺絲');
    expect((await parseMessage(load('05-iso-2022-jp.eml'))).textBody).toContain('ステンレスねじ');
    expect((await parseMessage(load('06-shift-jis.eml'))).subject).toBe('見積依頼');
    expect((await parseMessage(load('49-gb2312-declared-gbk-bytes.eml'))).textBody).toContain('镕钢');
    expect((await parseMessage(load('45-latin1-raw-header.eml'))).subject).toBe('Grüße aus München');
    expect((await parseMessage(load('36-raw-utf8-headers.eml'))).from?.name).toBe('王丽');
  });

  it('handles the odd shapes', async () => {
    expect((await parseMessage(load('07-no-message-id.eml'))).messageId).toMatch(/^synthetic\..+@rapport\.invalid$/);
    expect((await parseMessage(load('07-no-message-id.eml'))).messageId).toBe((await parseMessage(load('07-no-message-id.eml'))).messageId);
    expect((await parseMessage(load('09-nul-byte.eml'))).textBody).toContain('beforeafter');
    expect((await parseMessage(load('10-deep-mime.eml'))).textBody).toContain('deep text');
    expect((await parseMessage(load('11-5000-recipients.eml'))).to).toHaveLength(5000);
    expect((await parseMessage(load('12-no-date.eml'))).date).toBeNull();
    expect((await parseMessage(load('13-invalid-date.eml'))).date).toBeNull();
    expect((await parseMessage(load('14-future-date.eml'))).date).toBeNull();
    expect((await parseMessage(load('15-folded-encoded-subject.eml'))).subject).toBe('回复：Order confirmation 订单 part two');
    expect((await parseMessage(load('20-html-only.eml'))).textBody).toContain('price list');
    expect((await parseMessage(load('21-rfc2231-filename.eml'))).attachments).toEqual([{ filename: '报价单.pdf', contentType: 'application/pdf', size: 25, contentId: null }]);
    expect((await parseMessage(load('22-inline-image-cid.eml'))).attachments[0]?.contentId).toBe('logo@maker');
    expect((await parseMessage(load('24-dsn-bounce.eml'))).headers['content-type']).toMatch(/multipart\/report/);
    const auto = await parseMessage(load('25-auto-reply.eml'));
    expect(auto.headers).toMatchObject({ 'auto-submitted': 'auto-replied', 'x-autoreply': 'yes', 'x-auto-response-suppress': 'All' });
    expect((await parseMessage(load('26-list-mail.eml'))).headers).toMatchObject({ 'list-id': 'Trade News <trade-news.lists.example.org>', precedence: 'bulk' });
    const outlook = await parseMessage(load('27-outlook-reply.eml'));
    expect(outlook.newestPart).toBe('OK, we accept the price.\n\nBest regards\nWang');
    expect(outlook.headers['thread-index']).toBeDefined();
    expect((await parseMessage(load('28-chinese-quote.eml'))).newestPart).toBe('好的，我们下周下单。');
    expect((await parseMessage(load('29-german-quote.eml'))).newestPart).toBe('Danke, passt.');
    expect((await parseMessage(load('31-lf-only.eml'))).subject).toBe('LF only');
    expect((await parseMessage(load('32-cr-only.eml'))).subject).toBe('CR only');
    expect((await parseMessage(load('35-empty.eml'))).from).toBeNull();
    expect((await parseMessage(load('37-duplicate-headers.eml'))).messageId).toBe('37a@acme.com');
    expect((await parseMessage(load('38-many-references.eml'))).references.length).toBeGreaterThanOrEqual(200);
    expect((await parseMessage(load('39-in-reply-to-prose.eml'))).inReplyTo).toBe('q9@maker.cn');
    expect((await parseMessage(load('40-undisclosed-recipients.eml'))).to).toEqual([]);
    expect((await parseMessage(load('41-no-from.eml'))).from).toBeNull();
    expect((await parseMessage(load('42-long-line.eml'))).textBody?.length).toBeGreaterThanOrEqual(1_000_000);
    expect((await parseMessage(load('51-gmail-style.eml'))).newestPart).toBe('Hi, when will it ship?');
  });

  it('a 30 MB message parses without stalling', async () => {
    const head = 'From: big@acme.com\r\nTo: s@maker.cn\r\nSubject: Big\r\nMessage-ID: <big@acme.com>\r\nContent-Type: multipart/mixed; boundary="B"\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\ncatalogue attached\r\n--B\r\nContent-Type: application/pdf; name="catalogue.pdf"\r\nContent-Transfer-Encoding: base64\r\n\r\n';
    const body = Buffer.alloc(22 * 1024 * 1024, 1).toString('base64').replace(/.{76}/g, '$&\r\n');
    const raw = Buffer.from(`${head}${body}\r\n--B--\r\n`);
    expect(raw.length).toBeGreaterThan(29 * 1024 * 1024);
    const t0 = performance.now();
    const p = await parseMessage(raw);
    expect(performance.now() - t0).toBeLessThan(25_000);
    expect(p.attachments[0]).toMatchObject({ filename: 'catalogue.pdf', size: 22 * 1024 * 1024 });
    expect(p.textBody).toContain('catalogue attached');
  }, 60_000);
});
