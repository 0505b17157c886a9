import { describe, expect, it } from 'vitest';
import { loadTemplateLibrary } from '../../src/templates/index.ts';
import { cleanSubject } from '../../src/templates/render-mail.ts';
import { baseData, body, clock, MINIMAL_META, scratchTemplates, starterLibrary } from './support.ts';

const SCRIPT = 'ACME <script>alert("x")</script> & "Sons" \'Ltd\'';
const LONG = 'Ｗ'.repeat(40) + 'VeryLongCompanyNameWithoutAnySpaces'.repeat(8);
const ARABIC = 'شركة النور للتجارة العامة';
const EMOJI = 'Sunny 🌞 Gardens 🇩🇪';

describe('data a client typed renders safely', () => {
  it('escapes HTML in every variable, in the HTML part', async () => {
    const lib = await starterLibrary();
    const data = { ...lib.sampleData('new-product-push', 'en'), client: { name: SCRIPT }, contact: { name: '<img src=x onerror=alert(1)>', title: 'Mr.' } };
    const mail = lib.render('new-product-push', 'en', data);
    expect(mail.html).not.toContain('<script>');
    expect(mail.html).not.toContain('<img src=x');
    expect(mail.html).toContain('ACME &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &quot;Sons&quot; &#x27;Ltd&#x27;');
    // the text part is plain text: no entities, the name as typed
    expect(mail.text).toContain(SCRIPT);
    expect(mail.subject).toBe(`Patio heaters for outdoor dining: new for ${SCRIPT}`);
  });

  it('keeps emoji, right-to-left Arabic and a 300-character name intact and escaped', async () => {
    const lib = await starterLibrary();
    for (const name of [EMOJI, ARABIC, LONG]) {
      const mail = lib.render('vip-summary', 'en', { ...lib.sampleData('vip-summary', 'en'), client: { name } });
      expect(mail.html).toContain(name);
      expect(mail.text).toContain(name);
      expect(mail.subject).toContain(name);
    }
    expect(LONG.length).toBeGreaterThanOrEqual(300);
  });

  it('strips CR/LF from subjects so nothing reaches the headers', async () => {
    const lib = await starterLibrary();
    const evil = 'ACME\r\nBcc: victim@example.com\r\n\r\n<b>body</b>';
    const mail = lib.render('new-product-push', 'en', { ...lib.sampleData('new-product-push', 'en'), client: { name: evil }, headline: 'Heaters\nX-Injected: 1' });
    expect(mail.subject).not.toMatch(/[\r\n]/);
    expect(mail.subject).toBe('Heaters X-Injected: 1: new for ACME Bcc: victim@example.com <b>body</b>');
    expect(cleanSubject('a\u2028b\u0000c\td')).toBe('a b c d');
    for (const t of ['birthday', 'follow-up', 'order-status']) {
      const m = lib.render(t, 'zh-CN', { ...lib.sampleData(t, 'zh-CN'), contact: { name: '王\r\n伟', title: '总经理' } });
      expect(m.subject).not.toMatch(/[\r\n]/);
    }
  });

  it('turns javascript: and other unsafe URLs into "#"', async () => {
    const lib = await starterLibrary();
    const sample = lib.sampleData('new-product-push', 'en');
    const mail = lib.render('new-product-push', 'en', { ...sample, ctaUrl: 'javascript:alert(1)', unsubscribeUrl: 'data:text/html,<script>x</script>' });
    expect(mail.html).not.toMatch(/javascript:|data:text\/html/);
    expect(mail.html).toContain('href="#"');
  });

  it('gives no access to prototypes', async () => {
    const dir = scratchTemplates({
      'proto/meta.yaml': MINIMAL_META('proto'),
      'proto/en.mjml': body('Hi {{message}}', '<mj-section><mj-column><mj-text>[{{message.constructor.name}}][{{message.__proto__}}][{{#with message}}{{constructor}}{{/with}}]</mj-text></mj-column></mj-section>'),
    });
    // A printed property the value does not own is missing (strict), never the prototype's.
    const lib = await loadTemplateLibrary(dir, { clock });
    expect(() => lib.render('proto', 'en', baseData({ message: 'hi' }))).toThrow(/variable "(constructor|__proto__)"|not defined|has no value/);
    const obj = baseData({ message: { toString: () => 'x' } });
    expect(() => lib.render('proto', 'en', obj)).toThrow();
    // in conditions and helper arguments, a prototype property reads as absent
    const dir2 = scratchTemplates({
      'p2/meta.yaml': MINIMAL_META('p2'),
      'p2/en.mjml': body('Hi', '<mj-section><mj-column><mj-text>[{{#if message.constructor}}LEAK{{else}}none{{/if}}][{{default message.__proto__ message.constructor "safe"}}][{{message}}]</mj-text></mj-column></mj-section>'),
    });
    const lib2 = await loadTemplateLibrary(dir2, { clock });
    const m = lib2.render('p2', 'en', baseData({ message: 'hello' }));
    expect(m.text).toContain('[none][safe][hello]');
  });

  it('refuses triple-stash in a template body (only our partials may use it)', async () => {
    const dir = scratchTemplates({
      'raw/meta.yaml': MINIMAL_META('raw'),
      'raw/en.mjml': body('Hi', '<mj-section><mj-column>\n<mj-text>{{{message}}}</mj-text>\n</mj-column></mj-section>'),
    });
    await expect(loadTemplateLibrary(dir)).rejects.toThrow(/raw\/en\.mjml:5: triple-stash/);
  });
});
