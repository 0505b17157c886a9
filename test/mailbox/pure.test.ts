import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { hasReplyPrefix, normalizeSubject } from '../../src/mailbox/subject.ts';
import { newestPart } from '../../src/mailbox/quote-cut.ts';
import { prefixChars } from '../../src/mailbox/store-messages.ts';
import { buildThreadTree, flattenTree } from '../../src/mailbox/thread-tree.ts';
import { decideLink, type LinkContext } from '../../src/mailbox/link-rules.ts';
import { cleanMessageId, parseIdList } from '../../src/mailbox/message-id.ts';
import { pickFolders } from '../../src/mailbox/folder-roles.ts';
import { decryptSecret, encryptSecret } from '../../src/mailbox/secret-box.ts';
import { readMbox } from '../../src/mailbox/mbox.ts';
import { isFreemailDomain } from '../../src/mailbox/freemail.ts';
import { relayOf } from '../../src/mailbox/relays.ts';
import { messageDirection } from '../../src/mailbox/direction.ts';
import { backoffDelay, parseSyncSettings } from '../../src/mailbox/sync-settings.ts';
import { uidSet } from '../../src/mailbox/sync-folder.ts';
import { threadIndexKey } from '../../src/mailbox/threading.ts';
import { normalizeAddress } from '../../src/mailbox/address.ts';

describe('subject normalization', () => {
  it.each([
    ['Re: Quote', 'quote'],
    ['RE: RE: Fwd: Quote', 'quote'],
    ['AW: WG: Angebot', 'angebot'],
    ['SV: VS: Tarjous', 'tarjous'],
    ['Réf : Devis', 'devis'],
    ['回复：报价', '报价'],
    ['回覆: 報價', '報價'],
    ['答复: 转发: 样品', '样品'],
    ['轉寄：樣品', '樣品'],
    ['Re[2]: RE(3): Sample', 'sample'],
    ['[External] RE: Sample  Shipment', 'sample shipment'],
    ['Fw: FW: fwd:   Price   List ', 'price list'],
    ['Rev: not a prefix', 'rev: not a prefix'],
    ['Reply needed', 'reply needed'],
  ])('%s -> %s', (input, expected) => {
    expect(normalizeSubject(input)).toBe(expected);
  });
  it('tells replies from first mails', () => {
    expect(hasReplyPrefix('回复：报价')).toBe(true);
    expect(hasReplyPrefix('AW: x')).toBe(true);
    expect(hasReplyPrefix('Report')).toBe(false);
    expect(hasReplyPrefix('Regarding: x')).toBe(false);
  });
});

describe('newest part', () => {
  it('cuts Gmail, Outlook, Chinese, German and > quotes', () => {
    expect(newestPart('Yes.\n\nOn Mon, Mar 2, 2026 at 8:00 AM Sales <s@x.cn> wrote:\n> old')).toBe('Yes.');
    expect(newestPart('OK.\n\n-----Original Message-----\nFrom: a\nSent: b\n\nold')).toBe('OK.');
    expect(newestPart('OK.\n\nFrom: Sales <s@x.cn>\nSent: Monday\nTo: x\nSubject: y\n\nold')).toBe('OK.');
    expect(newestPart('好的。\n\n在 2026年3月1日，Sales 写道：\n> 旧')).toBe('好的。');
    expect(newestPart('好的。\n\n发件人: Sales\n发送时间: 2026年3月1日\n旧')).toBe('好的。');
    expect(newestPart('Danke.\n\nAm 01.03.2026 um 10:00 schrieb Sales <s@x.cn>:\n> alt')).toBe('Danke.');
    expect(newestPart('> quoted\n> more\n\nmy inline answer')).toBe('> quoted\n> more\n\nmy inline answer');
    expect(newestPart('Just text.')).toBe('Just text.');
  });

  it('cuts at each attribution and separator, in any letter case, and nowhere else (one combined pattern)', () => {
    const cuts = [
      '-----Original Message-----', '-- Ursprüngliche Nachricht --', '---- Forwarded message ----', '-- 原始邮件 --', '________________',
      'On Mon, Mar 2 Sales wrote:', 'ON MONDAY SALES WROTE:', 'Am Montag schrieb Sales <s@x.cn>:', 'Le lundi, Sales a écrit :',
      'El lunes, Sales escribió:', 'Il giorno lunedì Sales ha scritto:', 'Em segunda, Sales escreveu:', 'Op maandag schreef Sales:',
      '在 2026年3月1日，Sales 写道：', 'Sales 寫道:', '发件人: Sales', '寄件者：Sales', '------ 回复的原邮件 ------',
    ];
    for (const line of cuts) expect(newestPart(`New part.\n\n${line}\nold`), line).toBe('New part.');
    const kept = [
      'Once more wrote down the price:', 'on second thought', '_____ short', 'Dear Sales, we wrote: nothing', 'From the factory: 20 pallets',
      'Amount: 20 cartons', 'Delete this', 'Opened: yes', '-- signature', 'Sales 说：好的',
    ];
    for (const line of kept) expect(newestPart(`New part.\n${line}\nend`), line).toBe(`New part.\n${line}\nend`);
  });
});

describe('JWZ thread tree', () => {
  const m = (id: string, refs: string[], day: number) => ({ key: id, messageId: id, references: refs, date: new Date(Date.UTC(2026, 0, day)) });
  it('links replies under parents, keeps placeholders for missing parents, and breaks cycles', () => {
    const roots = buildThreadTree([m('c', ['a', 'b'], 3), m('a', [], 1), m('d', ['a'], 4), m('x', ['y'], 5), m('y', ['x'], 6)]);
    const flat = flattenTree(roots).map((n) => `${'.'.repeat(n.depth)}${n.node.message ? n.node.messageId : `(${n.node.messageId})`}`);
    // b is a missing parent between a and c: its empty container is pruned and c promoted under a (JWZ);
    // x and y reference each other: the cycle is refused, one is the root, no loop
    expect(flat).toEqual(['a', '.c', '.d', 'y', '.x']);
    const placeholderRoot = buildThreadTree([m('c', ['z'], 3), m('e', ['z'], 4)]);
    expect(flattenTree(placeholderRoot).map((n) => `${'.'.repeat(n.depth)}${n.node.message ? n.node.messageId : `(${n.node.messageId})`}`)).toEqual(['(z)', '.c', '.e']);
  });
  it('a reply that arrives before its parent is placed under it once the parent is known', () => {
    const roots = buildThreadTree([m('r', ['p'], 2), m('p', [], 1)]);
    expect(roots).toHaveLength(1);
    expect(roots[0]?.messageId).toBe('p');
    expect(roots[0]?.children[0]?.messageId).toBe('r');
  });
});

describe('linking rules', () => {
  const ctx: LinkContext = {
    us: new Set(['maker.cn', 'sales@maker.cn', 'me@gmail.com']),
    contactsByAddress: new Map([['wang@acme.com', { contactId: 10, clientId: 1 }], ['buyer@gmail.com', { contactId: 20, clientId: 2 }], ['li@beta.com', { contactId: 30, clientId: 3 }]]),
    clientByDomain: new Map([['acme.com', 1], ['gamma.de', 4], ['gmail.com', 9]]),
  };
  const p = (address: string, sent = 0) => ({ address, name: null, sent });
  it('contact address first, with full confidence', () => {
    expect(decideLink([p('sales@maker.cn', 1), p('wang@acme.com', 1)], ctx)).toMatchObject({ clientId: 1, contactId: 10, reason: 'contact address', confidence: 1 });
    expect(decideLink([p('buyer@gmail.com', 1)], ctx)).toMatchObject({ clientId: 2, reason: 'contact address' });
  });
  it('contacts of two clients: the one who wrote most, lower confidence', () => {
    expect(decideLink([p('wang@acme.com', 0), p('li@beta.com', 3)], ctx)).toMatchObject({ clientId: 3, confidence: 0.8 });
  });
  it('client domain (also a subdomain), suggesting the unknown address', () => {
    const d = decideLink([p('new.buyer@eu.gamma.de', 1)], ctx);
    expect(d).toMatchObject({ clientId: 4, contactId: null, reason: 'client domain', confidence: 0.8 });
    expect(d.suggestions).toEqual([{ address: 'new.buyer@eu.gamma.de', name: null, clientId: 4, domain: 'eu.gamma.de' }]);
  });
  it('never by a freemail domain, our own domain, or a relay', () => {
    expect(decideLink([p('stranger@gmail.com', 1)], ctx)).toMatchObject({ clientId: null, bestGuess: 'stranger@gmail.com' });
    expect(decideLink([p('boss@maker.cn', 1), p('sales@maker.cn', 1)], ctx)).toMatchObject({ clientId: null, bestGuess: null });
    expect(decideLink([p('feedback@service.alibaba.com', 1)], ctx)).toMatchObject({ clientId: null, relay: 'alibaba' });
    expect(decideLink([p('someone@unknown-corp.com', 1), p('x@qq.com', 2)], ctx)).toMatchObject({ clientId: null, bestGuess: 'unknown-corp.com' });
  });
  it('knows a maintained freemail list and the marketplaces', () => {
    for (const d of ['gmail.com', 'outlook.com', 'hotmail.com', 'yahoo.com', 'qq.com', '163.com', '126.com', 'sina.com', 'aliyun.com', 'yandex.ru', 'mail.ru', 'gmx.de', 'web.de', 'foxmail.com']) expect(isFreemailDomain(d)).toBe(true);
    expect(isFreemailDomain('acme.com')).toBe(false);
    expect(relayOf('x@message.made-in-china.com')).toBe('made-in-china');
    expect(relayOf('acme.com')).toBeNull();
  });
  it('direction', () => {
    const us = new Set(['maker.cn']);
    expect(messageDirection('a@acme.com', ['s@maker.cn'], us)).toBe('inbound');
    expect(messageDirection('s@maker.cn', ['a@acme.com'], us)).toBe('outbound');
    expect(messageDirection('s@maker.cn', ['b@maker.cn'], us)).toBe('internal');
  });
});

describe('ids, addresses, folders, settings', () => {
  it('message ids', () => {
    expect(cleanMessageId(' <abc@x.com> ')).toBe('abc@x.com');
    expect(cleanMessageId('')).toBeNull();
    expect(parseIdList('<a@x> <b@x>\r\n <a@x>')).toEqual(['a@x', 'b@x']);
    expect(parseIdList('a@x b@x')).toEqual(['a@x', 'b@x']);
    expect(parseIdList('Your message of Monday <q@x>')).toEqual(['q@x']);
  });
  it('addresses', () => {
    expect(normalizeAddress('Wang Li <Wang.Li@ACME.com>')).toBe('wang.li@acme.com');
    expect(normalizeAddress('not an address')).toBeNull();
  });
  it('finds INBOX and Sent by special use, else by a localized name, plus configured folders', () => {
    expect(pickFolders([{ path: 'INBOX' }, { path: 'Gesendet' }, { path: 'Sent Items', specialUse: '\\Sent' }])).toEqual([{ path: 'INBOX', role: 'inbox' }, { path: 'Sent Items', role: 'sent' }]);
    expect(pickFolders([{ path: 'INBOX' }, { path: '已发送' }]).map((f) => f.path)).toEqual(['INBOX', '已发送']);
    expect(pickFolders([{ path: 'INBOX' }, { path: '[Gmail]/Sent Mail' }, { path: 'Projects' }], ['projects']).map((f) => `${f.path}:${f.role}`)).toEqual(['INBOX:inbox', '[Gmail]/Sent Mail:sent', 'Projects:other']);
    expect(pickFolders([{ path: 'INBOX' }, { path: 'Enviados' }]).map((f) => f.path)).toEqual(['INBOX', 'Enviados']);
  });
  it('settings have floors and the backoff is jittered and capped', () => {
    expect(parseSyncSettings({}).batchSize).toBe(250);
    expect(() => parseSyncSettings({ pollSeconds: 1 })).toThrow(/mailbox.pollSeconds/);
    expect(backoffDelay(3, 500, () => 1)).toBe(4000);
    expect(backoffDelay(3, 500, () => 0)).toBe(0);
    expect(backoffDelay(50, 500, () => 1)).toBe(300_000);
  });
  it('uid sets and thread-index keys', () => {
    expect(uidSet([5, 1, 2, 3, 9, 10])).toBe('1:3,5,9:10');
    const ti = Buffer.alloc(27, 7).toString('base64');
    const reply = Buffer.concat([Buffer.alloc(22, 7), Buffer.alloc(10, 1)]).toString('base64');
    expect(threadIndexKey(ti)).toBe(threadIndexKey(reply));
    expect(threadIndexKey('short')).toBeNull();
  });
});

describe('secrets at rest', () => {
  const key = Buffer.alloc(32, 9).toString('hex');
  it('round-trips, never stores the plain text, and refuses a wrong or missing key clearly', () => {
    const enc = encryptSecret('hunter2-password', key);
    expect(enc).not.toContain('hunter2');
    expect(decryptSecret(enc, key)).toBe('hunter2-password');
    expect(() => decryptSecret(enc, Buffer.alloc(32, 1).toString('hex'))).toThrow(/does not decrypt/);
    expect(() => encryptSecret('x', undefined)).toThrow(/RAPPORT_SECRET_KEY is not set/);
    expect(() => encryptSecret('x', 'short')).toThrow(/32 bytes/);
    expect(decryptSecret(encryptSecret('x', Buffer.alloc(32, 9).toString('base64')), key)).toBe('x');
  });
});

describe('mbox reader', () => {
  it('splits on From_ lines after a blank line, unquotes >From, streams big files', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'rapport-mbox-'));
    const file = path.join(dir, 'a.mbox');
    const one = 'From a@x Mon Mar  2 09:00:00 2026\nFrom: a@x\nSubject: one\n\nhello\n>From the start\nFrom inside a line is fine\n\n';
    const two = 'From b@x Mon Mar  2 09:00:00 2026\nFrom: b@x\nSubject: two\n\nbye\n';
    writeFileSync(file, one + two);
    const out: string[] = [];
    for await (const m of readMbox(file)) out.push(m.toString());
    expect(out).toHaveLength(2);
    expect(out[0]).toContain('\nFrom the start\n');
    expect(out[0]).toContain('From inside a line is fine');
    expect(out[1]).toMatch(/^From: b@x/);
  });
});

describe('prefixChars (the newest part sent as a length)', () => {
  it('counts code points of a prefix, null when the part is not the start of the text', () => {
    expect(prefixChars('Price confirmed.\nRegards\n', 'Price confirmed.\nRegards')).toBe(24);
    expect(prefixChars('好的 👍 收到\n> old', '好的 👍 收到')).toBe(7);
    expect(prefixChars('  Yes', 'Yes')).toBeNull();
    expect(prefixChars(null, 'x')).toBeNull();
    expect(prefixChars('x', null)).toBeNull();
    expect(prefixChars('a\ud83d\ude00', 'a\ud83d')).toBeNull();
    expect(prefixChars('a\udc00b', 'a\udc00')).toBe(2);
  });
});
