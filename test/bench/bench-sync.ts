// npm run bench:sync — IMAP initial sync throughput against a real Dovecot on loopback.
// The corpus (BENCH_SYNC_CORPUS=realistic, the default) is trade mail as Outlook, Foxmail and webmail send it:
// 3-8 KB, most of it multipart/alternative (quoted-printable text and Outlook-style HTML), 15% plain text, one
// in seven with a small PDF attached; one thread in seven in Chinese (GB18030 or UTF-8, base64, encoded
// subjects and names); replies quote the message before. BENCH_SYNC_CORPUS=plain is the earlier corpus:
// 7-bit text/plain only, which mailparser reads in half the time.
// Sizes: BENCH_SYNC_MESSAGES (default 20000). Database: BENCH_DATABASE_URL or DATABASE_URL
// (default postgres://postgres@127.0.0.1:5432/test), in a scratch schema dropped at the end.
// BENCH_SYNC_BATCH: the sync's batch size (default 500). BENCH_SYNC_ONLY=c skips (a) and (b) (for profiling (c); no ratio).
// BENCH_SYNC_PROF=FILE writes a CPU profile of the main thread during (c) alone; BENCH_SYNC_THREADS=1 prints
// the CPU seconds of this process's threads during (c) (main, V8's helpers; the parse workers have ended).
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import inspector from 'node:inspector';
import os from 'node:os';
import { sql } from 'kysely';
import iconv from 'iconv-lite';
import { simpleParser } from 'mailparser';
import { encode as qpEncode, wrap as qpWrap } from 'nodemailer/lib/qp';
import { openDatabase } from '../../src/db/database.ts';
import { migrateToLatest } from '../../src/db/migrator.ts';
import { addAccount } from '../../src/mailbox/accounts.ts';
import { connectImap } from '../../src/mailbox/imap-connect.ts';
import { ourAddresses } from '../../src/mailbox/our-addresses.ts';
import { syncAccount } from '../../src/mailbox/sync-account.ts';
import { syncFolder } from '../../src/mailbox/sync-folder.ts';
import { parseSyncSettings } from '../../src/mailbox/sync-settings.ts';
import { systemClock } from '../../src/shared/clock.ts';
import { startDovecot } from '../mailbox/support/dovecot.ts';

const N = Number(process.env.BENCH_SYNC_MESSAGES ?? 20_000);
const CORPUS = process.env.BENCH_SYNC_CORPUS === 'plain' ? 'plain' : 'realistic';
const url = process.env.BENCH_DATABASE_URL ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const KEY = 'd'.repeat(64);
const load = (): string => os.loadavg().map((x) => x.toFixed(2)).join(' ');

function rand(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const WORDS = 'quotation sample shipment container price order invoice delivery schedule packing carton pallet stainless bolt nut screw flange valve fitting tolerance drawing certificate payment deposit balance freight forwarder customs clearance production lead time confirm kindly please regards thank'.split(' ');

function plainCorpus(n: number): Array<{ raw: string; folder: 'INBOX' | 'Sent'; time: Date }> {
  const r = rand(42);
  const clients = Array.from({ length: 40 }, (_, i) => `client${i}.example.com`);
  const free = ['gmail.com', 'qq.com', '163.com', 'outlook.com'];
  const out: Array<{ raw: string; folder: 'INBOX' | 'Sent'; time: Date }> = [];
  let t = Date.UTC(2024, 0, 1);
  let thread = 0;
  while (out.length < n) {
    thread++;
    const domain = r() < 0.85 ? clients[Math.floor(r() * clients.length)]! : free[Math.floor(r() * free.length)]!;
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

function realisticCorpus(n: number): Array<{ raw: string; folder: 'INBOX' | 'Sent'; time: Date }> {
  const r = rand(42);
  const clients = Array.from({ length: 40 }, (_, i) => `client${i}.example.com`);
  const free = ['gmail.com', 'qq.com', '163.com', 'outlook.com'];
  const out: Array<{ raw: string; folder: 'INBOX' | 'Sent'; time: Date }> = [];
  let t = Date.UTC(2024, 0, 1);
  let thread = 0;
  while (out.length < n) {
    thread++;
    const domain = r() < 0.85 ? pick(r, clients) : pick(r, free);
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

/** CPU seconds (user + system) of processes, by pid: this run's PostgreSQL backends (by application_name), and Dovecot's imap processes. */
function procCpu(pids: Iterable<number>): Map<number, number> {
  const out = new Map<number, number>();
  for (const pid of pids) {
    try {
      const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
      out.set(pid, (Number(f[11]) + Number(f[12])) / 100);
    } catch {
      /* gone, or no /proc here */
    }
  }
  return out;
}
/** CPU seconds of this process's threads, summed by thread name (main, parse workers, GC helpers, libuv). */
function threadCpu(): Map<string, number> {
  const out = new Map<string, number>();
  try {
    for (const t of readdirSync('/proc/self/task')) {
      const name = readFileSync(`/proc/self/task/${t}/comm`, 'utf8').trim();
      const f = readFileSync(`/proc/self/task/${t}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
      out.set(`${name}#${t}`, (Number(f[11]) + Number(f[12])) / 100);
    }
  } catch {
    /* no /proc here */
  }
  return out;
}
function imapPids(): number[] {
  try {
    return readdirSync('/proc').filter((d) => /^\d+$/.test(d) && readFileSync(`/proc/${d}/comm`, 'utf8').trim() === 'imap').map(Number);
  } catch {
    return [];
  }
}
const cpuDelta = (before: Map<number, number>, after: Map<number, number>): number => {
  let s = 0;
  for (const [pid, v] of after) s += v - (before.get(pid) ?? 0);
  return s;
};

const HEADER_FIELDS = ['message-id', 'in-reply-to', 'references', 'from', 'to', 'cc', 'subject', 'date', 'list-id', 'auto-submitted', 'thread-index'];

async function main(): Promise<void> {
  console.log(`bench:sync  messages=${N}  load before: ${load()}`);
  const d = await startDovecot({ users: [{ user: 'bench', password: 'bench-pw' }] });
  const schema = `bench_sync_${process.pid}`;
  const db = await openDatabase({ databaseUrl: `${url}${url.includes('?') ? '&' : '?'}application_name=${schema}`, schema, poolSize: 4 });
  const backends = async (): Promise<number[]> => (await sql<{ pid: number }>`SELECT pid FROM pg_stat_activity WHERE application_name = ${schema}`.execute(db.kysely)).rows.map((r) => r.pid);
  try {
    const corpus = CORPUS === 'plain' ? plainCorpus(N) : realisticCorpus(N);
    const sizes = corpus.map((m) => m.raw.length).sort((x, y) => x - y);
    const kb = (i: number): string => ((sizes[Math.min(sizes.length - 1, Math.floor(i))] ?? 0) / 1024).toFixed(1);
    console.log(`corpus: ${CORPUS}, message sizes min ${kb(0)} / median ${kb(sizes.length / 2)} / p99 ${kb(sizes.length * 0.99)} / max ${kb(sizes.length)} KB`);
    for (const m of corpus) d.deliver('bench', m.folder, m.raw, { seen: true, time: m.time });
    const inboxCount = corpus.filter((m) => m.folder === 'INBOX').length;
    const target = { host: d.host, port: d.port, tls: 'none' as const, user: 'bench', pass: 'bench-pw' };
    // warm Dovecot's index so every pass sees the same server
    {
      const c = await connectImap(target);
      for (const f of ['INBOX', 'Sent']) {
        const lock = await c.getMailboxLock(f);
        await c.fetchAll('1:*', { uid: true, flags: true }, { uid: true });
        lock.release();
      }
      await c.logout();
    }

    const onlyC = process.env.BENCH_SYNC_ONLY === 'c';
    // (a) imapflow alone, header fields
    let t0 = performance.now();
    let count = 0;
    if (!onlyC) {
      const c = await connectImap(target);
      for (const f of ['INBOX', 'Sent']) {
        const lock = await c.getMailboxLock(f, { readOnly: true });
        for await (const m of c.fetch('1:*', { uid: true, flags: true, internalDate: true, size: true, headers: HEADER_FIELDS }, { uid: true })) if (m.headers) count++;
        lock.release();
      }
      await c.logout();
    }
    const a = count / ((performance.now() - t0) / 1000);
    if (!onlyC) console.log(`(a) imapflow header fields:            ${a.toFixed(0)} msg/s (${count} messages)`);

    // (b) imapflow full sources + mailparser, one after the other
    t0 = performance.now();
    count = 0;
    if (!onlyC) {
      const c = await connectImap(target);
      for (const f of ['INBOX', 'Sent']) {
        const lock = await c.getMailboxLock(f, { readOnly: true });
        const sources: Buffer[] = [];
        for await (const m of c.fetch('1:*', { uid: true, source: true }, { uid: true })) if (m.source) sources.push(m.source);
        for (const s of sources) {
          await simpleParser(s);
          count++;
        }
        lock.release();
      }
      await c.logout();
    }
    const b = count / ((performance.now() - t0) / 1000);
    if (!onlyC) console.log(`(b) imapflow sources + mailparser:     ${b.toFixed(0)} msg/s`);

    // (c) Rapport's whole initial sync into PostgreSQL
    await migrateToLatest(db);
    for (let i = 0; i < 40; i += 2) {
      const c = await db.kysely.insertInto('clients').values({ name: `Client ${i}`, name_key: `client ${i}` }).returning('id').executeTakeFirstOrThrow();
      await db.kysely.insertInto('client_domains').values({ domain: `client${i}.example.com`, client_id: c.id }).execute();
    }
    const acc = await addAccount(db, { secretKey: KEY }, { name: 'bench', email: 'sales@maker.cn', imapHost: d.host, imapPort: d.port, imapTls: 'none', imapUser: 'bench', secret: 'bench-pw' });
    const settings = parseSyncSettings({ batchSize: Number(process.env.BENCH_SYNC_BATCH ?? 500) });
    const threadsBefore = threadCpu();
    const nodeCpu = process.cpuUsage();
    const pgBefore = procCpu(await backends());
    const imapBefore = procCpu(imapPids());
    // an imap process ends with its connection (before (c) returns): its CPU is sampled while it lives
    const imapSeen = new Map(imapBefore);
    const sampler = setInterval(() => {
      for (const [pid, v] of procCpu(imapPids())) imapSeen.set(pid, v);
    }, 1000);
    const prof = process.env.BENCH_SYNC_PROF ? new inspector.Session() : null;
    if (prof) {
      prof.connect();
      await new Promise<void>((r) => prof.post('Profiler.enable', () => prof.post('Profiler.start', () => r())));
    }
    t0 = performance.now();
    const rep = await syncAccount(db, { secretKey: KEY, sections: {} }, acc.id, { settings });
    const cSecs = (performance.now() - t0) / 1000;
    clearInterval(sampler);
    const imapAfter = imapSeen;
    const pgAfter = procCpu(await backends());
    const nodeUsed = process.cpuUsage(nodeCpu);
    // the parse workers have ended by now: what is missing from these is theirs
    if (process.env.BENCH_SYNC_THREADS) console.log(`    threads: ${[...threadCpu()].map(([k, v]) => [k, v - (threadsBefore.get(k) ?? 0)] as const).filter(([, v]) => v > 0.05).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ')}`);
    if (prof) {
      // the main thread's profile of (c) alone (the parse workers are not in it)
      await new Promise<void>((r) => prof.post('Profiler.stop', (err, res) => {
        if (!err) writeFileSync(process.env.BENCH_SYNC_PROF as string, JSON.stringify(res.profile));
        r();
      }));
      prof.disconnect();
    }
    if (!rep.ok) throw new Error(JSON.stringify(rep));
    const stored = (await db.kysely.selectFrom('messages').select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow()).n;
    const threads = (await db.kysely.selectFrom('threads').select([sql<number>`count(*)::int`.as('n'), sql<number>`count(client_id)::int`.as('linked')]).where('merged_into', 'is', null).executeTakeFirstOrThrow());
    const c = stored / cSecs;
    console.log(`(c) rapport initial sync (${settings.parseWorkers} parse workers, batch ${settings.batchSize}): ${c.toFixed(0)} msg/s (${stored} messages, ${threads.n} threads, ${threads.linked} linked, ${cSecs.toFixed(1)} s)`);
    const perMsg = (secs: number): string => `${((secs * 1000) / stored).toFixed(2)} ms/msg`;
    const nodeSecs = (nodeUsed.user + nodeUsed.system) / 1e6;
    console.log(`    cpu: node (all threads) ${nodeSecs.toFixed(2)} s = ${perMsg(nodeSecs)}, PostgreSQL backends ${cpuDelta(pgBefore, pgAfter).toFixed(2)} s = ${perMsg(cpuDelta(pgBefore, pgAfter))}, Dovecot imap ${cpuDelta(imapBefore, imapAfter).toFixed(2)} s; load ${load()}`);
    if (!onlyC) console.log(`    c/b = ${(c / b).toFixed(2)}`);

    // (d) incremental sync of the unchanged INBOX on an open connection
    const client = await connectImap(target);
    const us = await ourAddresses(db);
    const folder = await db.kysely.selectFrom('mail_folders').select('id').where('path', '=', 'INBOX').executeTakeFirstOrThrow();
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t1 = performance.now();
      const r = await syncFolder({ db, client, accountId: acc.id, us, settings, clock: systemClock }, folder.id);
      times.push(performance.now() - t1);
      if (!r.unchanged) console.log('    (first pass after the sweep was not a no-op)');
    }
    await client.logout();
    console.log(`(d) incremental sync, unchanged INBOX of ${inboxCount}: median ${times.sort((x, y) => x - y)[2]?.toFixed(1)} ms (open connection)`);
    console.log(`load after: ${load()}  (cores: ${os.cpus().length})`);
  } finally {
    await sql.raw(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).execute(db.kysely).catch(() => undefined);
    await db.close();
    await d.stop();
  }
}

await main();
