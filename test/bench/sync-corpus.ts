// The corpora of bench:sync (and of the parse micro-benchmark): deterministic, from a fixed seed.
import iconv from 'iconv-lite';
import { encode as qpEncode, wrap as qpWrap } from 'nodemailer/lib/qp';

export interface CorpusMessage {
  readonly raw: string;
  readonly folder: 'INBOX' | 'Sent';
  readonly time: Date;
}

function rand(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const WORDS = 'quotation sample shipment container price order invoice delivery schedule packing carton pallet stainless bolt nut screw flange valve fitting tolerance drawing certificate payment deposit balance freight forwarder customs clearance production lead time confirm kindly please regards thank'.split(' ');

/** The client domains (half of them clients in the bench's book) and the freemail domains senders write from. */
const CLIENTS = Array.from({ length: 40 }, (_, i) => `client${i}.example.com`);
const FREEMAIL = ['gmail.com', 'qq.com', '163.com', 'outlook.com'];

export function plainCorpus(n: number): CorpusMessage[] {
  const r = rand(42);
  const out: CorpusMessage[] = [];
  let t = Date.UTC(2024, 0, 1);
  let thread = 0;
  while (out.length < n) {
    thread++;
    const domain = r() < 0.85 ? CLIENTS[Math.floor(r() * CLIENTS.length)]! : FREEMAIL[Math.floor(r() * FREEMAIL.length)]!;
    const them = `buyer${Math.floor(r() * 5)}@${domain}`;
    const subject = `${WORDS[Math.floor(r() * WORDS.length)]} ${WORDS[Math.floor(r() * WORDS.length)]} #${thread}`;
    const len = 1 + Math.floor(r() * 6);
    const ids: string[] = [];
    for (let k = 0; k < len && out.length < n; k++) {
      t += Math.floor(r() * 3_600_000);
      const inbound = k % 2 === 0;
      const id = `m${out.length}.${thread}@${inbound ? domain : 'maker.cn'}`;
      const size = 3000 + Math.floor(r() * 5000);
      let body = '';
      while (body.length < size) body += `${WORDS[Math.floor(r() * WORDS.length)]}${r() < 0.1 ? '.\r\n' : ' '}`;
      const headers = [
        `From: ${inbound ? them : 'sales@maker.cn'}`,
        `To: ${inbound ? 'sales@maker.cn' : them}`,
        `Subject: ${k > 0 ? 'Re: ' : ''}${subject}`,
        `Date: ${new Date(t).toUTCString().replace('GMT', '+0000')}`,
        `Message-ID: <${id}>`,
        ...(ids.length > 0 ? [`In-Reply-To: <${ids[ids.length - 1]}>`, `References: ${ids.map((x) => `<${x}>`).join(' ')}`] : []),
        'MIME-Version: 1.0',
        'Content-Type: text/plain; charset=utf-8',
      ];
      ids.push(id);
      out.push({ raw: `${headers.join('\r\n')}\r\n\r\n${body}\r\n`, folder: inbound ? 'INBOX' : 'Sent', time: new Date(t) });
    }
  }
  return out;
}

const ZH = '报价 样品 发货 集装箱 价格 订单 发票 交货 时间表 包装 纸箱 托盘 不锈钢 螺栓 螺母 螺丝 法兰 阀门 配件 公差 图纸 证书 付款 定金 尾款 货代 清关 生产 交期 确认 请 谢谢 您好 我们 贵司 本周 下周 数量 规格'.split(' ');

type Rand = () => number;
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;

/** Words until about `chars` characters; a sentence ends every ten words or so. */
function prose(r: Rand, chars: number, zh = false): string {
  let s = '';
  while (s.length < chars) s += zh ? `${pick(r, ZH)}${r() < 0.12 ? '。\n' : r() < 0.2 ? '，' : ''}` : `${pick(r, WORDS)}${r() < 0.1 ? '.\n' : ' '}`;
  return s;
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const qp = (s: string): string => qpWrap(qpEncode(Buffer.from(s, 'utf8')), 76);
const b64 = (b: Buffer): string => b.toString('base64').replace(/.{76}/g, '$&\r\n');
const crlf = (s: string): string => s.replace(/\r?\n/g, '\r\n');

/** Outlook-style HTML of a text: every paragraph a MsoNormal <p>, a signature table, the previous message quoted. */
function htmlOf(text: string, quoted: string | null, zh: boolean): string {
  const font = zh ? '宋体' : 'Calibri';
  const paras = text.split('\n').filter(Boolean).map((p) => `<p class="MsoNormal"><span lang="EN-US" style="font-size:11.0pt;font-family:&quot;${font}&quot;,sans-serif;color:#1F497D">${esc(p)}<o:p></o:p></span></p>`);
  const sig = `<table class="MsoNormalTable" border="0" cellspacing="0" cellpadding="0"><tr><td style="padding:0cm 5.4pt 0cm 5.4pt"><p class="MsoNormal"><b><span style="font-size:10.0pt;color:#0070C0">Sales Department</span></b><br><span style="font-size:9.0pt">Tel: +86 574 8888 0000 | Web: www.maker.cn</span></p></td></tr></table>`;
  const q = quoted ? `<div style="border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0cm 0cm 0cm"><p class="MsoNormal"><b>From:</b> buyer<br><b>Sent:</b> Monday<br><b>Subject:</b> RE</p></div><blockquote style="margin-left:6pt">${esc(quoted).replace(/\n/g, '<br>')}</blockquote>` : '';
  return `<html xmlns:o="urn:schemas-microsoft-com:office:office"><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8"><style><!--p.MsoNormal{margin:0cm;font-size:11.0pt;font-family:"${font}",sans-serif;}--></style></head><body lang="ZH-CN" link="#0563C1" vlink="#954F72"><div class="WordSection1">${paras.join('\n')}\n${sig}\n${q}</div></body></html>`;
}

export function realisticCorpus(n: number): CorpusMessage[] {
  const r = rand(42);
  const out: CorpusMessage[] = [];
  let t = Date.UTC(2024, 0, 1);
  let thread = 0;
  while (out.length < n) {
    thread++;
    const domain = r() < 0.85 ? pick(r, CLIENTS) : pick(r, FREEMAIL);
    const who = Math.floor(r() * 5);
    const them = `buyer${who}@${domain}`;
    const zhThread = r() < 0.15;
    const subject = zhThread ? `${pick(r, ZH)}${pick(r, ZH)} #${thread}` : `${pick(r, WORDS)} ${pick(r, WORDS)} #${thread}`;
    const len = 1 + Math.floor(r() * 6);
    const ids: string[] = [];
    let previous: string | null = null;
    for (let k = 0; k < len && out.length < n; k++) {
      t += Math.floor(r() * 3_600_000);
      const inbound = k % 2 === 0;
      const id = `m${out.length}.${thread}@${inbound ? domain : 'maker.cn'}`;
      const size = 3000 + Math.floor(r() * 5000);
      const shape = r();
      const cc = r() < 0.3;
      const outlook = r() < 0.5;
      const gb = zhThread && r() < 0.6;
      const pdfText = shape >= 0.85 ? prose(r, 1000 + Math.floor(r() * 1000)) : '';
      const words = prose(r, 12_000, zhThread);
      const quote = previous ? previous.slice(0, 600) : null;
      const subj = `${k > 0 ? (zhThread ? '回复: ' : 'RE: ') : ''}${subject}`;
      const fromName = inbound ? (zhThread ? `=?UTF-8?B?${Buffer.from(`王${who}经理`).toString('base64')}?=` : `"Buyer ${who}"`) : '"Sales | Maker"';
      const when = new Date(t).toUTCString();
      const refs = [...ids];
      const build = (own: string): string => {
        const text = quote ? `${own}\n\n-----Original Message-----\n${quote.split('\n').map((l) => `> ${l}`).join('\n')}\n` : own;
        const headers = [
          `Return-Path: <${inbound ? them : 'sales@maker.cn'}>`,
          `Received: from mx${who}.${domain} (mx${who}.${domain} [203.0.113.${who + 10}]) by mx.maker.cn with ESMTPS id ${id.slice(0, 12)} for <sales@maker.cn>; ${when}`,
          `Received: from ${inbound ? 'PC-BUYER' : 'SALES-PC'} (unknown [10.0.0.${who + 2}]) by smtp.${inbound ? domain : 'maker.cn'} (Postfix) with ESMTPSA; ${when}`,
          `DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=${inbound ? domain : 'maker.cn'}; s=s1; h=from:to:subject:date:message-id; bh=${Buffer.from(id).toString('base64')};\r\n b=${b64(Buffer.from(id.repeat(6))).replace(/\r\n/g, '\r\n ')}`,
          `From: ${fromName} <${inbound ? them : 'sales@maker.cn'}>`,
          `To: ${inbound ? '"Sales" <sales@maker.cn>' : `<${them}>`}`,
          ...(cc ? [`Cc: buyer${(who + 1) % 5}@${domain}, purchasing@${domain}`] : []),
          `Subject: ${zhThread ? `=?UTF-8?B?${Buffer.from(subj).toString('base64')}?=` : subj}`,
          `Date: ${when.replace('GMT', '+0000')}`,
          `Message-ID: <${id}>`,
          ...(refs.length > 0 ? [`In-Reply-To: <${refs[refs.length - 1]}>`, `References: ${refs.map((x) => `<${x}>`).join(' ')}`] : []),
          ...(outlook ? [`Thread-Index: ${Buffer.from(`${thread}.${k}.outlook`).toString('base64')}`, 'X-Mailer: Microsoft Outlook 16.0', 'Content-Language: en-us'] : ['X-Mailer: Foxmail 7.2.25']),
          'MIME-Version: 1.0',
        ];
        let body: string;
        const boundary = `----=_NextPart_${out.length}_${thread}`;
        const charset = gb ? 'GB18030' : 'utf-8';
        const enc = (s: string): { cte: string; data: string } =>
          gb ? { cte: 'base64', data: b64(iconv.encode(crlf(s), 'gb18030')) } : zhThread ? { cte: 'base64', data: b64(Buffer.from(crlf(s))) } : { cte: 'quoted-printable', data: qp(crlf(s)) };
        if (shape < 0.15) {
          // plain text only
          const e = enc(text);
          headers.push(`Content-Type: text/plain; charset=${charset}`, `Content-Transfer-Encoding: ${e.cte}`);
          body = e.data;
        } else {
          const pt = enc(text);
          const ht = enc(htmlOf(own, quote, zhThread));
          const alt = `--${boundary}a\r\nContent-Type: text/plain; charset="${charset}"\r\nContent-Transfer-Encoding: ${pt.cte}\r\n\r\n${pt.data}\r\n--${boundary}a\r\nContent-Type: text/html; charset="${charset}"\r\nContent-Transfer-Encoding: ${ht.cte}\r\n\r\n${ht.data}\r\n--${boundary}a--\r\n`;
          if (shape < 0.85) {
            headers.push(`Content-Type: multipart/alternative; boundary="${boundary}a"`);
            body = `This is a multi-part message in MIME format.\r\n\r\n${alt}`;
          } else {
            // an attachment: a small PDF (a price list) of 1-2 KB
            headers.push(`Content-Type: multipart/mixed; boundary="${boundary}m"`);
            body = `--${boundary}m\r\nContent-Type: multipart/alternative; boundary="${boundary}a"\r\n\r\n${alt}\r\n--${boundary}m\r\nContent-Type: application/pdf; name="price-list-${thread}.pdf"\r\nContent-Disposition: attachment; filename="price-list-${thread}.pdf"\r\nContent-Transfer-Encoding: base64\r\n\r\n${b64(Buffer.from(`%PDF-1.4\n${pdfText}\n%%EOF\n`))}\r\n--${boundary}m--\r\n`;
          }
        }
        return `${headers.join('\r\n')}\r\n\r\n${body}\r\n`;
      };
      // the message's own words cut so the whole raw message is about `size` bytes (3-8 KB)
      const fixed = build(words.slice(0, 40)).length;
      const probe = build(words.slice(0, 2000)).length;
      const own = words.slice(0, Math.max(40, Math.round(40 + ((size - fixed) * 1960) / Math.max(1, probe - fixed))));
      ids.push(id);
      previous = own;
      out.push({ raw: build(own), folder: inbound ? 'INBOX' : 'Sent', time: new Date(t) });
    }
  }
  return out;
}

