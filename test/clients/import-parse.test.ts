import { describe, expect, it } from 'vitest';
import {
  parseDate, parseNumber, parseEmails, parseOrderStatus, parseDepartment, parseLanguage, parseCurrency, websiteDomain,
} from '../../src/clients/import/cell-parsers.ts';
import { mapHeaders, columnMappingMarkdown } from '../../src/clients/import/columns.ts';
import { decodeText, detectDelimiter } from '../../src/clients/import/decode-text.ts';
import { parseCsvText } from '../../src/clients/import/read-spreadsheet.ts';
import { parseRecords } from '../../src/clients/import/parse-records.ts';

const value = <T>(r: { ok: true; value: T } | { ok: false; reason: string }): T | string => (r.ok ? r.value : `ERR ${r.reason}`);

describe('cell parsers', () => {
  it('reads dates people write, and refuses what is not a date', () => {
    expect(value(parseDate('2024-03-05'))).toBe('2024-03-05');
    expect(value(parseDate('2024/3/5'))).toBe('2024-03-05');
    expect(value(parseDate('2024.03.05'))).toBe('2024-03-05');
    expect(value(parseDate('2024-03-05 14:30'))).toBe('2024-03-05');
    expect(value(parseDate('2024年3月5日'))).toBe('2024-03-05');
    expect(value(parseDate('5.3.2024'))).toBe('2024-03-05');
    expect(value(parseDate('25/12/2024'))).toBe('2024-12-25');
    expect(value(parseDate('12/25/2024'))).toBe('2024-12-25');
    expect(value(parseDate(new Date(Date.UTC(2024, 1, 29))))).toBe('2024-02-29');
    expect(value(parseDate(45356))).toBe('2024-03-05'); // an Excel serial day
    expect(value(parseDate('03/05/2024'))).toMatch(/ERR .*ambiguous/);
    expect(value(parseDate('2024-02-30'))).toMatch(/ERR "2024-02-30" is not a date/);
    expect(value(parseDate('2023-02-29'))).toMatch(/ERR/);
    expect(value(parseDate('next week'))).toMatch(/ERR "next week" is not a date/);
    expect(value(parseDate('2024-13-01'))).toMatch(/ERR/);
  });

  it('reads numbers with thousands separators and decimal commas', () => {
    expect(value(parseNumber('1,234.50'))).toBe(1234.5);
    expect(value(parseNumber('1.234,50'))).toBe(1234.5);
    expect(value(parseNumber('1 234'))).toBe(1234);
    expect(value(parseNumber('$1,200'))).toBe(1200);
    expect(value(parseNumber('12,5'))).toBe(12.5);
    expect(value(parseNumber('0,125'))).toBe(0.125);
    expect(value(parseNumber('1,000,000'))).toBe(1000000);
    expect(value(parseNumber('1.000', { decimalComma: true }))).toBe(1000);
    expect(value(parseNumber('5,5', { decimalComma: true }))).toBe(5.5);
    expect(value(parseNumber('ten'))).toMatch(/ERR "ten" is not a number/);
    expect(value(parseNumber(42))).toBe(42);
  });

  it('reads one or more email addresses, refusing malformed ones', () => {
    expect(value(parseEmails('a@x.com; B@Y.de'))).toEqual(['a@x.com', 'B@Y.de']);
    expect(value(parseEmails('mailto:a@x.com'))).toEqual(['a@x.com']);
    expect(value(parseEmails('<a@x.com>'))).toEqual(['a@x.com']);
    for (const bad of ['sam@', '@x.com', 'a@x', 'a b@x.com', 'a@@x.com', 'a@x..com', 'a..b@x.com']) expect(value(parseEmails(bad))).toMatch(/ERR malformed email/);
  });

  it('maps statuses, departments, languages, currencies and websites', () => {
    expect(value(parseOrderStatus('In production'))).toBe('in_production');
    expect(value(parseOrderStatus('in_warehouse'))).toBe('in_warehouse');
    expect(value(parseOrderStatus('已发货'))).toBe('shipped');
    expect(value(parseOrderStatus('lost in space'))).toMatch(/ERR unknown order status/);
    expect(parseDepartment('Purchasing Manager')).toBe('purchasing');
    expect(parseDepartment('采购部')).toBe('purchasing');
    expect(parseDepartment('Einkauf')).toBe('purchasing');
    expect(parseDepartment('QC')).toBe('technical');
    expect(parseDepartment('质检')).toBe('technical');
    expect(parseDepartment('单证')).toBe('customs');
    expect(parseDepartment('Sales Director')).toBe('sales');
    expect(parseDepartment('General Manager')).toBe('management');
    expect(parseDepartment('总经理')).toBe('management');
    expect(parseDepartment('Astrology')).toBeUndefined();
    expect(value(parseLanguage('German'))).toBe('de');
    expect(value(parseLanguage('德语'))).toBe('de');
    expect(value(parseLanguage('pt_br'))).toBe('pt-BR');
    expect(value(parseLanguage('Klingonese'))).toMatch(/ERR unknown language/);
    expect(value(parseCurrency('usd'))).toBe('USD');
    expect(value(parseCurrency('€'))).toBe('EUR');
    expect(value(parseCurrency('人民币'))).toBe('CNY');
    expect(value(parseCurrency('XYZ'))).toMatch(/ERR unknown currency/);
    expect(websiteDomain('https://www.Acme.de/en/')).toBe('acme.de');
    expect(websiteDomain('shop.acme.co.uk')).toBe('shop.acme.co.uk');
    expect(websiteDomain('not a site')).toBeUndefined();
  });
});

describe('headers and files', () => {
  it('maps English and Chinese headers case-, space- and punctuation-insensitively', () => {
    const m = mapHeaders(['公司名称', ' COUNTRY ', 'E-mail', '联系人', '部门', 'Time Zone', 'Whatever', '邮箱'], 'clients');
    expect(m.fields).toEqual(['company', 'country', 'email', 'contact', 'department', 'timeZone', undefined, undefined]);
    expect(m.ignored).toEqual(['Whatever', '邮箱']); // a second Email column is ignored, not merged
    const o = mapHeaders(['订单号', '日期', '客户', '产品', '数量', '金额', '币种', '状态'], 'orders');
    expect(o.fields).toEqual(['orderNo', 'date', 'company', 'product', 'quantity', 'amount', 'currency', 'orderStatus']);
    // Language in a contacts file is the contact's
    expect(mapHeaders(['Company', 'Email', 'Language'], 'contacts').fields).toEqual(['company', 'email', 'contactLanguage']);
    expect(columnMappingMarkdown()).toContain('| Company | clients, contacts, orders | Company, Client');
  });

  it('decodes UTF-8 (with or without BOM), UTF-16 and GBK', () => {
    const gbk = Uint8Array.from([0xb9, 0xab, 0xcb, 0xbe, 0xc3, 0xfb, 0xb3, 0xc6]); // 公司名称 in GBK
    expect(decodeText(gbk)).toEqual({ text: '公司名称', encoding: 'gb18030' });
    expect(decodeText(new TextEncoder().encode('公司名称'))).toEqual({ text: '公司名称', encoding: 'utf-8' });
    expect(decodeText(Uint8Array.from([0xef, 0xbb, 0xbf, 0x41]))).toEqual({ text: 'A', encoding: 'utf-8' });
    expect(decodeText(Uint8Array.from([0xff, 0xfe, 0x41, 0x00]))).toEqual({ text: 'A', encoding: 'utf-16le' });
  });

  it('detects the delimiter and keeps line numbers across blank lines and quoted newlines', () => {
    expect(detectDelimiter('a;b;"c,d"\n')).toBe(';');
    expect(detectDelimiter('a,b;c,d\n')).toBe(',');
    expect(detectDelimiter('a\tb\tc\n')).toBe('\t');
    const { rows } = parseCsvText('Company,Notes\n\nACME,"two\nlines"\nBeta,x\n', 'x.csv');
    expect(rows.map((r) => r.line)).toEqual([1, 3, 5]);
  });

  it('finds the header below a title row and names missing required columns', () => {
    const rows = [
      { line: 1, cells: ['Client list 2025'] },
      { line: 2, cells: ['Company', 'Country'] },
      { line: 3, cells: ['ACME', 'DE'] },
    ];
    const res = parseRecords(rows, 'clients');
    expect('problem' in res).toBe(false);
    if (!('problem' in res)) expect(res.headerLine).toBe(2);
    const orders = parseRecords([{ line: 1, cells: ['Company', 'Amount'] }], 'orders');
    expect('problem' in orders && orders.problem).toMatch(/no Order No, no Date column in the header on line 1/);
    const none = parseRecords([{ line: 1, cells: ['foo', 'bar'] }], 'clients');
    expect('problem' in none && none.problem).toMatch(/no recognisable header row/);
  });
});
