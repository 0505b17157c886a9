import { describe, expect, it } from 'vitest';
import { salutation, timeOfDayGreeting } from '../../src/templates/salutation.ts';
import { fallbackChain, resolveLocale } from '../../src/templates/locale-fallback.ts';
import { hbs } from '../../src/templates/handlebars-env.ts';
import { parseTemplateSettings, templateLibraryOptions } from '../../src/templates/template-settings.ts';
import { loadTemplateLibrary } from '../../src/templates/template-library.ts';
import { TEMPLATES_DIR, clock } from './support.ts';

function render(src: string, data: Record<string, unknown>, frame: Partial<{ locale: string; timeZone: string; now: Date; textMode: boolean; copy: Record<string, unknown> }> = {}): string {
  return hbs.compile(src, { strict: true })(data, { data: { locale: 'en', timeZone: 'UTC', now: new Date('2026-11-23T09:30:00Z'), textMode: false, copy: {}, ...frame } });
}

describe('salutation', () => {
  it('greets by title and surname in English and Chinese', () => {
    expect(salutation({ name: 'Wang Wei', title: 'Mr.' }, 'en')).toBe('Dear Mr. Wei');
    expect(salutation({ name: 'Wang Wei', title: 'Mr', surname: 'Wang' }, 'en')).toBe('Dear Mr. Wang');
    expect(salutation({ name: '王伟', title: 'Mr.' }, 'en')).toBe('Dear Mr. 王');
    expect(salutation({ name: 'Anna Schmidt', title: 'Dr.' }, 'en')).toBe('Dear Dr. Schmidt');
    expect(salutation({ name: 'Anna Schmidt', title: 'Purchasing Manager' }, 'en')).toBe('Dear Anna Schmidt');
    expect(salutation({ name: 'Anna Schmidt' }, 'en-GB')).toBe('Dear Anna Schmidt');
    expect(salutation({}, 'en')).toBe('Dear Sir or Madam');
    expect(salutation({ name: '王伟', title: '总经理' }, 'zh-CN')).toBe('王总您好');
    expect(salutation({ name: '王伟', title: 'CEO' }, 'zh-CN')).toBe('王总您好');
    expect(salutation({ name: '李娜', title: '采购经理' }, 'zh-CN')).toBe('李经理您好');
    expect(salutation({ name: '欧阳明', title: '先生' }, 'zh-CN')).toBe('欧阳先生您好');
    expect(salutation({ name: '张敏', title: 'Ms.' }, 'zh-CN')).toBe('张女士您好');
    expect(salutation({ name: '张敏' }, 'zh-CN')).toBe('张敏，您好');
    expect(salutation({ name: 'Hans Meier', title: 'Herr' }, 'de')).toBe('Sehr geehrter Herr Meier');
  });

  it('greets by the local time of day', () => {
    expect(timeOfDayGreeting(8, 'en')).toBe('Good morning');
    expect(timeOfDayGreeting(14, 'en')).toBe('Good afternoon');
    expect(timeOfDayGreeting(21, 'zh-CN')).toBe('晚上好');
    // 09:30 UTC is 17:30 in Shanghai and 03:30 in Chicago
    expect(render('{{greeting}}', {}, { locale: 'zh-CN', timeZone: 'Asia/Shanghai' })).toBe('下午好');
    expect(render('{{greeting}}', {}, { timeZone: 'America/Chicago' })).toBe('Good evening');
    expect(render('{{greeting}}', {}, { timeZone: 'Europe/Berlin' })).toBe('Good morning');
  });
});

describe('formatting helpers', () => {
  it('formats dates in the recipient locale and time zone; calendar dates do not shift', () => {
    expect(render('{{date d}}', { d: '2026-12-15' }, { timeZone: 'Pacific/Honolulu' })).toBe('December 15, 2026');
    expect(render('{{date d}}', { d: '2026-12-15' }, { locale: 'zh-CN' })).toBe('2026年12月15日');
    expect(render('{{date d}}', { d: '2026-12-15T23:30:00Z' }, { timeZone: 'Asia/Shanghai' })).toBe('December 16, 2026');
    expect(render('{{date d style="medium"}}', { d: '2026-12-15' }, { locale: 'de' })).toBe('15.12.2026');
    expect(render('{{datetime d}}', { d: '2026-12-02T15:00:00Z' }, { timeZone: 'America/Chicago' })).toMatch(/Dec 2, 2026, 9:00\sAM/);
    expect(() => render('{{date d}}', { d: 'someday' })).toThrow(/is not a date/);
    expect(() => render('{{date d}}', {})).toThrow(/has no value/);
  });

  it('formats numbers, currency and percentages per locale', () => {
    expect(render('{{number n}}', { n: 1234567.891 })).toBe('1,234,567.89');
    expect(render('{{number n}}', { n: 1234567.891 }, { locale: 'de' })).toBe('1.234.567,89');
    expect(render('{{currency a "USD"}}', { a: 64.5 })).toBe('$64.50');
    expect(render('{{currency a "EUR"}}', { a: 1200 }, { locale: 'de' })).toBe('1.200\u00a0€');
    expect(render('{{currency a "CNY"}}', { a: 1290 }, { locale: 'zh-CN' })).toBe('¥1,290');
    expect(render('{{percent p}}', { p: 0.184 })).toBe('18.4%');
    expect(() => render('{{currency a "dollars"}}', { a: 1 })).toThrow(/ISO 4217/);
    expect(() => render('{{number n}}', { n: 'lots' })).toThrow(/not a number/);
  });

  it('pluralises with the locale plural rules', () => {
    const src = "{{plural n one='# product' other='# products'}}";
    expect(render(src, { n: 1 })).toBe('1 product');
    expect(render(src, { n: 3 })).toBe('3 products');
    expect(render(src, { n: 0 })).toBe('0 products');
    expect(render("{{plural n other='#款产品'}}", { n: 1 }, { locale: 'zh-CN' })).toBe('1款产品');
  });

  it('keeps line breaks safely, and plain in the text part', () => {
    expect(render('{{lines s}}', { s: 'a<b>\nc' })).toBe('a&lt;b&gt;<br>c');
    expect(render('{{lines s}}', { s: 'a<b>\nc' }, { textMode: true })).toBe('a&lt;b&gt;\nc');
  });
});

describe('locale fallback chain', () => {
  it('walks truncations, configured steps, then en', () => {
    expect(fallbackChain('zh-Hant-TW')).toEqual(['zh-Hant-TW', 'zh-Hant', 'zh-CN', 'zh', 'en']);
    expect(fallbackChain('pt-BR', { 'pt-BR': ['pt-PT'] })).toEqual(['pt-BR', 'pt-PT', 'pt', 'en']);
    expect(resolveLocale(['en', 'pt-PT'], 'pt-BR', { 'pt-BR': ['pt-PT'] })).toBe('pt-PT');
    expect(resolveLocale(['en', 'pt-PT'], 'pt')).toBe('pt-PT');
    expect(resolveLocale(['de'], 'fr')).toBeUndefined();
    expect(parseTemplateSettings({ fallback: { 'zh-TW': ['zh-CN'] } }).fallback['zh-TW']).toEqual(['zh-CN']);
    expect(() => parseTemplateSettings({ dev: 'yes' })).toThrow(/templates\.dev/);
  });

  it('the configured chain (templates.fallback) is what the library uses', async () => {
    const plain = await loadTemplateLibrary(TEMPLATES_DIR, { clock });
    expect(plain.resolveLocale('birthday', 'ja')).toBe('en');
    const opts = templateLibraryOptions({ fallback: { ja: ['zh-CN'] } });
    expect(opts).toEqual({ fallback: { ja: ['zh-CN'] }, dev: false });
    const configured = await loadTemplateLibrary(TEMPLATES_DIR, { ...opts, clock });
    expect(configured.resolveLocale('birthday', 'ja')).toBe('zh-CN');
    expect(configured.resolveLocale('birthday', 'ja-JP')).toBe('zh-CN');
    configured.close();
    plain.close();
    expect(() => templateLibraryOptions({ fallbacks: {} })).toThrow(/templates\./);
  });
});
