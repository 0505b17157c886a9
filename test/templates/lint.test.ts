import { describe, expect, it } from 'vitest';
import { lintTemplates } from '../../src/templates/lint-templates.ts';
import { checkWriting } from '../../src/templates/writing-rules.ts';
import { body, MINIMAL_META, scratchTemplates, TEMPLATES_DIR } from './support.ts';

const SECTION = (text: string): string => `<mj-section>\n  <mj-column>\n    <mj-text>${text}</mj-text>\n  </mj-column>\n</mj-section>`;

describe('templates lint', () => {
  it('passes the starter library with no error and no warning', async () => {
    const findings = await lintTemplates(TEMPLATES_DIR);
    expect(findings).toEqual([]);
  });

  it('finds undeclared and unused variables, unlisted and missing locales, broken sample data', async () => {
    const dir = scratchTemplates({
      'v/meta.yaml': MINIMAL_META('v', '  unused: { type: string, required: false }\n'),
      'v/en.mjml': body('Hi', SECTION('{{message}} {{#if mystery}}{{mystery.deep}}{{/if}}')),
      'v/fr.mjml': body('Salut', SECTION('{{message}}')),
      's/meta.yaml': MINIMAL_META('s').replace('  message: Hello there\n', '  other: 1\n'),
      's/en.mjml': body('Hi', SECTION('{{message}}')),
    });
    const f = await lintTemplates(dir);
    const msgs = f.map((x) => `${x.template} ${x.level} ${x.message}`);
    expect(msgs).toEqual(expect.arrayContaining([
      'v error variable "mystery.deep" is used but not declared in meta.yaml',
      'v error variable "unused" is declared but no locale uses it',
      'v warning locale zh-CN is missing (the starter library ships en and zh-CN)',
      'v warning fr.mjml exists but locale fr is not listed in meta.yaml, so it is never used',
    ]));
    expect(msgs.some((m) => m.startsWith('s error the sample data does not render') && m.includes('"message"'))).toBe(true);
    expect(f.find((x) => x.message.includes('mystery'))?.file).toMatch(/v\/en\.mjml$/);
  });

  it('reports a broken template with its file and line, and lints one template by name', async () => {
    const dir = scratchTemplates({
      'b/meta.yaml': MINIMAL_META('b'),
      'b/en.mjml': body('Hi', SECTION('{{nosuchhelper message}}')),
      'ok/meta.yaml': MINIMAL_META('ok'),
      'ok/en.mjml': body('Hi', SECTION('{{message}}')),
    });
    const all = await lintTemplates(dir);
    const broken = all.find((x) => x.template === 'b' && x.level === 'error');
    expect(broken).toMatchObject({ line: 6, message: expect.stringContaining('unknown helper "nosuchhelper"') });
    expect(broken?.file).toMatch(/b\/en\.mjml$/);
    const one = await lintTemplates(dir, 'ok');
    expect(one.every((x) => x.template === 'ok' && x.level === 'warning')).toBe(true);
    expect(await lintTemplates(dir, 'zzz')).toEqual([expect.objectContaining({ level: 'error', message: expect.stringContaining('no template "zzz"') })]);
  });

  it('warns on the writing rules with the line in the source', async () => {
    const dir = scratchTemplates({
      'w/meta.yaml': MINIMAL_META('w'),
      'w/en.mjml': body('RE: FREE HEATERS FOR YOU', SECTION('{{message}}. We will get back to you soon. Click here to buy now!!\n    </mj-text>\n    <mj-text>If you want, your team can send your order to your buyer and you will see your price in your account within your usual terms and your budget for your stores across your whole region this year and next year as always.')),
    });
    const f = await lintTemplates(dir);
    const rules = f.filter((x) => x.level === 'warning').map((x) => x.message);
    expect(rules.some((m) => m.startsWith('vague "soon"'))).toBe(true);
    expect(rules.some((m) => m.startsWith('ALL-CAPS subject'))).toBe(true);
    expect(rules.some((m) => m.startsWith('a "RE:"/"FW:" subject on a first mail'))).toBe(true);
    expect(rules.some((m) => m.startsWith('spam-trigger'))).toBe(true);
    expect(rules.some((m) => m.startsWith('"you"-heavy sentence'))).toBe(true);
    expect(rules.some((m) => m.startsWith('overlong sentence'))).toBe(true);
    expect(f.find((x) => x.message.startsWith('vague "soon"'))?.line).toBe(6);
  });

  it('writing rules in Chinese', () => {
    const rules = checkWriting('回复：新品', '我们会尽快联系我们的客户。您的订单您的价格您的交期都已确认好了的吧', 'zh-CN').map((r) => r.rule);
    expect(rules).toEqual(expect.arrayContaining(['vague-word', 'fake-reply-subject', 'you-heavy']));
    expect(checkWriting('Patio heaters for outdoor use', 'We will ship your samples by March 15.', 'en')).toEqual([]);
  });
});
