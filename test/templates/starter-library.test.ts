import { describe, expect, it } from 'vitest';
import { starterLibrary } from './support.ts';

const TEMPLATES = [
  'birthday', 'call-recap', 'complaint-ack', 'complaint-plan', 'dormant-wakeup', 'follow-up', 'holiday-greeting',
  'monthly-card', 'new-product-push', 'order-status', 'relationship-repair', 'vip-summary',
];

describe('the starter library', () => {
  it('has every template of the contract, each in en and zh-CN, with metadata', async () => {
    const lib = await starterLibrary();
    expect(lib.list().map((t) => t.name).sort()).toEqual(TEMPLATES);
    for (const t of lib.list()) {
      expect(t.locales).toEqual(expect.arrayContaining(['en', 'zh-CN']));
      expect(t.purpose.length).toBeGreaterThan(20);
      expect(['promotion', 'greeting', 'personal', 'vip', 'transactional', 'followup']).toContain(t.kind);
      expect(lib.requiredVariables(t.name)).toEqual(expect.arrayContaining(['contact.name', 'client.name', 'sender.company', 'sender.website', 'sender.email']));
    }
    expect(lib.requiredVariables('new-product-push')).toContain('unsubscribeUrl');
    expect(lib.requiredVariables('birthday')).not.toContain('unsubscribeUrl');
  });

  for (const name of TEMPLATES) {
    for (const locale of ['en', 'zh-CN']) {
      it(`${name} renders in ${locale} with its sample data (text part snapshot)`, async () => {
        const lib = await starterLibrary();
        const mail = lib.render(name, locale, lib.sampleData(name, locale));
        expect(mail.subject).not.toMatch(/[\r\n]/);
        expect(mail.subject.length).toBeGreaterThan(4);
        expect(mail.html).toMatch(/^<!doctype html>/i);
        expect(mail.html).not.toMatch(/\{\{|\}\}|hbx\d+x/); // no expression left, no placeholder token leaked
        expect(mail.html).not.toMatch(/fonts\.googleapis|<link[^>]+font/i);
        expect(mail.html).toContain(locale === 'zh-CN' ? 'Microsoft YaHei' : 'Arial');
        expect(mail.html).toContain(`lang="${locale}"`);
        expect(mail.text).not.toMatch(/\{\{|hbx\d+x|<div|<td/);
        // the signature with the company's website and contact details
        const sample = lib.sampleData(name, locale) as { sender: { website: string; email: string } };
        expect(mail.text).toContain(sample.sender.website);
        expect(mail.text).toContain(sample.sender.email);
        expect({ subject: mail.subject, text: mail.text }).toMatchSnapshot();
      });
    }
  }

  it('renders every variant: holidays, months, follow-up steps, wake-up angles, order statuses', async () => {
    const lib = await starterLibrary();
    const variants: Array<[string, string, unknown[]]> = [
      ['holiday-greeting', 'holiday', ['christmas', 'new-year', 'spring-festival', 'mid-autumn', 'eid-al-fitr', 'diwali', 'thanksgiving', 'generic']],
      ['monthly-card', 'month', [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]],
      ['follow-up', 'step', [1, 2, 3, 4]],
      ['dormant-wakeup', 'angle', ['new-product', 'new-plan', 'manager']],
      ['order-status', 'status', ['production', 'shipped', 'arrival']],
    ];
    for (const [name, variable, values] of variants) {
      for (const locale of ['en', 'zh-CN']) {
        const subjects = new Set<string>();
        const lengths: number[] = [];
        for (const value of values) {
          const mail = lib.render(name, locale, { ...lib.sampleData(name, locale), [variable]: value });
          subjects.add(mail.subject);
          lengths.push(mail.text.length);
        }
        expect(subjects.size, `${name} ${locale}: each ${variable} has its own subject`).toBe(values.length);
        if (name === 'follow-up') {
          // each step shorter than the last
          for (let i = 1; i < lengths.length; i++) expect(lengths[i]!).toBeLessThan(lengths[i - 1]!);
        }
      }
    }
    const nd = lib.render('holiday-greeting', 'en', { ...lib.sampleData('holiday-greeting', 'en'), holiday: 'national-day', holidayName: 'Independence Day' });
    expect(nd.subject).toBe('Happy Independence Day, from Brightway Outdoor Co., Ltd.');
    expect(() => lib.render('holiday-greeting', 'en', { ...lib.sampleData('holiday-greeting', 'en'), holiday: 'national-day' })).toThrow(/holidayName|needs a value/);
  });

  it('previews a transactional or personal mail without the unsubscribe line that only promotional mail carries', async () => {
    const lib = await starterLibrary();
    for (const name of ['complaint-ack', 'complaint-plan', 'call-recap', 'order-status', 'relationship-repair', 'birthday']) {
      expect(lib.sampleData(name, 'en')).not.toHaveProperty('unsubscribeUrl');
      expect(lib.render(name, 'en', lib.sampleData(name, 'en')).text, name).not.toMatch(/Unsubscribe/);
    }
    for (const name of ['new-product-push', 'holiday-greeting', 'monthly-card', 'vip-summary', 'dormant-wakeup']) {
      expect(lib.render(name, 'en', lib.sampleData(name, 'en')).text, name).toMatch(/Unsubscribe <https:\/\/mail\.brightway-outdoor\.example\/u\/sample-token>/);
      expect(lib.render(name, 'zh-CN', lib.sampleData(name, 'zh-CN')).text, name).toMatch(/点此退订/);
    }
  });

  it('monthly cards follow the client\'s seasons: July is winter in Sydney and São Paulo, summer in Chicago', async () => {
    const lib = await starterLibrary();
    const card = (locale: string, month: number, country?: string) => {
      const s = lib.sampleData('monthly-card', locale) as { client: Record<string, unknown> };
      return lib.render('monthly-card', locale, { ...s, month, client: { ...s.client, country } });
    };
    expect(card('en', 7, 'AU').subject).toMatch(/^A winter hello/);
    expect(card('en', 7, 'AU').text).not.toMatch(/summer/i);
    expect(card('en', 7, 'US').subject).toMatch(/^A summer hello/);
    expect(card('en', 7).subject).toMatch(/^A summer hello/);
    expect(card('en', 3, 'BR').text).toMatch(/autumn/);
    expect(card('zh-CN', 7, 'AU').subject).toMatch(/^冬日问候 \| /);
    expect(card('zh-CN', 9, 'NZ').subject).toMatch(/^春日问候 \| /);
    // months without a seasonal difference are the same card everywhere
    expect(card('en', 1, 'AU').subject).toBe(card('en', 1, 'US').subject);
    const south = new Set([2, 3, 4, 5, 7, 8, 9, 10].map((m) => card('en', m, 'AU').subject));
    expect(south.size).toBe(8);
  });

  it('an optional list left out renders without it; a list given with an incomplete item is refused', async () => {
    const lib = await starterLibrary();
    for (const [name, list] of [['vip-summary', 'projects'], ['order-status', 'photos']] as const) {
      const data: Record<string, unknown> = { ...lib.sampleData(name, 'en') };
      delete data[list];
      expect(() => lib.render(name, 'en', data), name).not.toThrow();
      expect(() => lib.render(name, 'en', { ...data, [list]: 'none' }), name).toThrow(/must be a list/);
      expect(() => lib.render(name, 'en', { ...data, [list]: [{}] }), name).toThrow(new RegExp(`${list}\\[0\\]`));
    }
  });

  it('falls back along the locale chain', async () => {
    const lib = await starterLibrary();
    expect(lib.resolveLocale('birthday', 'zh-TW')).toBe('zh-CN');
    expect(lib.resolveLocale('birthday', 'zh')).toBe('zh-CN');
    expect(lib.resolveLocale('birthday', 'zh_CN')).toBe('zh-CN');
    expect(lib.resolveLocale('birthday', 'en-GB')).toBe('en');
    expect(lib.resolveLocale('birthday', 'de-DE')).toBe('en');
    expect(lib.resolveLocale('birthday', null)).toBe('en');
    expect(lib.resolveLocale('birthday', 'not a tag!')).toBe('en');
    expect(lib.resolveLocale('no-such-template', 'en')).toBeUndefined();
    expect(() => lib.render('birthday', 'fr', lib.sampleData('birthday', 'en'))).toThrow(/no locale fr/);
    expect(() => lib.render('nope', 'en', {})).toThrow(/does not exist/);
  });

  it('renders a batch from one compiled template, naming the recipient that fails', async () => {
    const lib = await starterLibrary();
    const sample = lib.sampleData('new-product-push', 'en');
    const batch = Array.from({ length: 50 }, (_, i) => ({ ...sample, contact: { name: `Person ${i}`, email: `p${i}@x.example` } }));
    const out = lib.renderBatch('new-product-push', 'en', batch);
    expect(out).toHaveLength(50);
    expect(out[7]!.text).toContain('Dear Person 7,');
    expect(out[7]!.html).toContain('Dear Person 7,');
    const broken = [...batch.slice(0, 3), { ...sample, recipient: undefined, contact: { email: 'nameless@x.example' } }];
    expect(() => lib.renderBatch('new-product-push', 'en', broken)).toThrow(/variable "contact.name" has no value for recipient nameless@x.example \(#4\)/);
  });
});
