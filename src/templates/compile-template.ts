/**
 * Compiles one template in one locale: MJML once (Handlebars expressions protected), the plain-text
 * part once (html-to-text over the compiled HTML with the expressions still as tokens), the subject;
 * then three Handlebars functions that render per recipient.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { displayPath } from './display-path.ts';
import type HandlebarsNs from 'handlebars';
import type { compile as CompileHtmlToText } from 'html-to-text';
import { AppError } from '../shared/app-error.ts';
import { assembleSource, AssembleError, originOf, type AssembledSource, type SourceFile } from './assemble-source.ts';
import { protectExpressions, restoreExpressions, stripComments } from './protect-expressions.ts';
import { parseLocaleFile, FrontMatterError } from './front-matter.ts';
import { analyseProgram, type UsedVariable } from './hbs-ast.ts';
import { isChinese, isRtl } from './locale-fallback.ts';
import type { TemplateMeta } from './metadata.ts';

type Hbs = typeof HandlebarsNs;
type Delegate = HandlebarsNs.TemplateDelegate;

export interface TemplateSources {
  readonly name: string;
  readonly dir: string;
  readonly metaFile: string;
  readonly meta: TemplateMeta;
  readonly metaText: string;
  readonly layout: SourceFile;
  /** Shared partials keyed by file base name: "footer", "footer.zh-CN". */
  readonly partials: ReadonlyMap<string, SourceFile>;
  /** Locale files keyed by locale tag as written in the file name. */
  readonly localeFiles: ReadonlyMap<string, { readonly file: string; readonly text: string }>;
}

export interface CompiledLocale {
  readonly name: string;
  readonly locale: string;
  readonly version: string;
  readonly html: Delegate;
  readonly text: Delegate;
  readonly subject: Delegate;
  readonly copy: Readonly<Record<string, unknown>>;
  readonly used: readonly UsedVariable[];
  /** The compiled HTML with expressions, for the raw-Handlebars benchmark and inspection. */
  readonly htmlSource: string;
  readonly textSource: string;
  readonly subjectSource: string;
  readonly compileMs: number;
}

/** What the disk cache keeps of a compiled template (everything but the functions). */
export interface CompiledSources {
  readonly htmlSource: string;
  readonly textSource: string;
  readonly subjectSource: string;
  readonly copy: Readonly<Record<string, unknown>>;
  readonly used: readonly UsedVariable[];
}

/** Rebuilds the render functions from cached sources (Handlebars compiles them lazily, in microseconds). */
export function fromCompiledSources(hb: Hbs, helpers: readonly string[], name: string, locale: string, version: string, c: CompiledSources): CompiledLocale {
  const opts = compileOptions(helpers);
  return {
    name,
    locale,
    version,
    html: hb.compile(c.htmlSource, opts),
    text: hb.compile(c.textSource, { ...opts, noEscape: true }),
    subject: hb.compile(c.subjectSource, { ...opts, noEscape: true }),
    copy: c.copy,
    used: c.used,
    htmlSource: c.htmlSource,
    textSource: c.textSource,
    subjectSource: c.subjectSource,
    compileMs: 0,
  };
}

export const FONT_STACK_LATIN = 'Arial, Calibri, Verdana, Helvetica, sans-serif';
export const FONT_STACK_CHINESE = "'Microsoft YaHei', '微软雅黑', 'PingFang SC', 'Hiragino Sans GB', 'Heiti SC', Arial, sans-serif";

function invalid(template: string, locale: string, file: string, line: number, problem: string, cause?: unknown): AppError {
  const rel = displayPath(file);
  return new AppError('TEMPLATE_INVALID', `${rel}:${line}: ${problem} (template ${template}, locale ${locale})`, {
    ...(cause === undefined ? {} : { cause }),
    details: { template, locale, file: rel, line, problem },
  });
}

/** Resolves a partial for a locale: footer.zh-CN -> footer.zh -> footer. */
function partialResolver(partials: ReadonlyMap<string, SourceFile>, locale: string): (name: string) => SourceFile | undefined {
  return (name) => {
    const parts = locale.split('-');
    for (let n = parts.length; n >= 1; n--) {
      const hit = partials.get(`${name}.${parts.slice(0, n).join('-')}`);
      if (hit) return hit;
    }
    return partials.get(name);
  };
}

export function sourceVersion(src: TemplateSources, locale: string): string {
  const h = createHash('sha256');
  h.update(src.metaText).update('\0').update(src.layout.text).update('\0');
  for (const [k, p] of [...src.partials.entries()].sort(([a], [b]) => a.localeCompare(b))) h.update(k).update('\0').update(p.text).update('\0');
  h.update(locale).update('\0').update(src.localeFiles.get(locale)?.text ?? '');
  return h.digest('hex').slice(0, 16);
}

export const HBS_COMPILE_OPTIONS = { strict: true, knownHelpersOnly: true, preventIndent: true } as const;

export function compileOptions(helpers: readonly string[], extra: Record<string, unknown> = {}): CompileOptions {
  return { ...HBS_COMPILE_OPTIONS, knownHelpers: Object.fromEntries(helpers.map((h) => [h, true])), ...extra };
}
type CompileOptions = Parameters<Hbs['compile']>[1];

let htmlToTextFn: ((html: string) => string) | undefined;

/** html-to-text, configured once (loaded on first compile: a cache hit never needs it, nor MJML). */
async function htmlToTextConverter(): Promise<(html: string) => string> {
  if (htmlToTextFn) return htmlToTextFn;
  const { compile } = (await import('html-to-text')) as { compile: typeof CompileHtmlToText };
  htmlToTextFn = compile({
  wordwrap: false,
  selectors: [
    { selector: 'img', format: 'skip' },
    { selector: 'a', options: { hideLinkHrefIfSameAsText: true, linkBrackets: ['<', '>'] } },
    { selector: 'a[href^="mailto:"]', format: 'anchor', options: { ignoreHref: true } },
    { selector: 'a[href^="tel:"]', format: 'anchor', options: { ignoreHref: true } },
    { selector: 'a.plain', format: 'anchor', options: { ignoreHref: true } },
    { selector: 'div', format: 'block', options: { leadingLineBreaks: 2, trailingLineBreaks: 2 } },
    ...['h1', 'h2', 'h3', 'h4', 'h5', 'h6'].map((h) => ({ selector: h, options: { uppercase: false, leadingLineBreaks: 2, trailingLineBreaks: 1 } })),
    { selector: 'tr', format: 'block', options: { leadingLineBreaks: 1, trailingLineBreaks: 1 } },
    { selector: 'td.cell', format: 'inlineSurround', options: { prefix: '', suffix: '   ' } },
    { selector: 'th.cell', format: 'inlineSurround', options: { prefix: '', suffix: '   ' } },
    { selector: '.text-skip', format: 'skip' },
  ],
  });
  return htmlToTextFn;
}

function mapHbsParseError(err: unknown, src: AssembledSource, template: string, locale: string): AppError {
  const msg = (err as Error).message ?? String(err);
  const m = /line (\d+)/.exec(msg);
  const line = m ? Number(m[1]) : 1;
  const o = originOf(src, line);
  const detail = msg.split('\n').filter((l) => l.trim() !== '' && !/^-*\^$/.test(l.trim())).slice(-1)[0] ?? msg;
  return invalid(template, locale, o.file, o.line, `Handlebars: ${detail.trim()}`, err);
}

/** Collapses whitespace between tags (a newline is kept, so inline words stay apart). */
function tidyHtml(html: string): string {
  return html.replace(/>[ \t]*\n\s*</g, '>\n<').replace(/\n{2,}/g, '\n');
}

function stripPreview(html: string): string {
  return html.replace(/<div style="display:none;font-size:1px;[^"]*">[\s\S]*?<\/div>/, '');
}

function tidyTextSource(text: string): string {
  return text.replace(/[ \t]+\n/g, '\n').replace(/\n{3,}/g, '\n\n').trim();
}

export async function compileTemplateLocale(hb: Hbs, helpers: readonly string[], src: TemplateSources, locale: string): Promise<CompiledLocale> {
  const started = performance.now();
  const name = src.name;
  const lf = src.localeFiles.get(locale);
  if (!lf) throw new AppError('TEMPLATE_NOT_FOUND', `template ${name}: no ${locale}.mjml in ${src.dir}`);
  let parsed;
  try {
    parsed = parseLocaleFile(lf.text);
  } catch (e) {
    if (e instanceof FrontMatterError) throw invalid(name, locale, lf.file, e.line, e.message, e);
    throw e;
  }
  const helperSet = new Set(helpers);

  // Subject and preheader: single Handlebars strings from the front matter.
  const checkInline = (source: string, line: number, what: string): void => {
    let program;
    try {
      program = hb.parse(source);
    } catch (e) {
      throw invalid(name, locale, lf.file, line, `${what}: Handlebars: ${String((e as Error).message).split('\n').slice(-1)[0]}`, e);
    }
    const report = analyseProgram(program, helperSet);
    const f = report.findings[0];
    if (f) throw invalid(name, locale, lf.file, line, `${what}: ${f.problem}`);
    if (report.tripleStashLines.length > 0) throw invalid(name, locale, lf.file, line, `${what}: triple-stash {{{ }}} is not allowed in templates`);
  };
  checkInline(parsed.front.subject, parsed.subjectLine, 'subject');
  if (/[\r\n]/.test(parsed.front.subject.trim())) throw invalid(name, locale, lf.file, parsed.subjectLine, 'subject: must be one line');
  if (parsed.front.preheader !== undefined) checkInline(parsed.front.preheader, parsed.preheaderLine, 'preheader');

  // The body alone first, so a syntax error (an unclosed block) points into the body's file.
  try {
    hb.parse(parsed.body);
  } catch (e) {
    const msg = String((e as Error).message);
    const m = /line (\d+)/.exec(msg);
    const line = Math.min(m ? Number(m[1]) : 1, parsed.body.split('\n').length) + parsed.bodyLine - 1;
    const detail = msg.split('\n').filter((l) => l.trim() !== '' && !/^-*\^$/.test(l.trim())).slice(-1)[0] ?? msg;
    throw invalid(name, locale, lf.file, line, `Handlebars: ${detail.trim()}`, e);
  }

  const chinese = isChinese(locale);
  let assembled: AssembledSource;
  try {
    assembled = assembleSource(
      src.layout,
      { file: lf.file, text: parsed.body, firstLine: parsed.bodyLine },
      partialResolver(src.partials, locale),
      {
        LANG: locale,
        DIR: isRtl(locale) ? 'rtl' : 'ltr',
        FONT: chinese ? FONT_STACK_CHINESE : FONT_STACK_LATIN,
        TITLE: parsed.front.subject.replace(/\s+/g, ' ').trim(),
        PREHEADER: (parsed.front.preheader ?? '').replace(/\s+/g, ' ').trim(),
        LINE_HEIGHT: chinese ? '1.75' : '1.6',
      },
    );
  } catch (e) {
    if (e instanceof AssembleError) throw invalid(name, locale, e.file, e.line, e.message, e);
    throw e;
  }

  // Handlebars syntax and policy, with lines mapped back to files.
  let program;
  try {
    program = hb.parse(assembled.text);
  } catch (e) {
    throw mapHbsParseError(e, assembled, name, locale);
  }
  const report = analyseProgram(program, helperSet);
  const finding = report.findings[0];
  if (finding) {
    const o = originOf(assembled, finding.line);
    throw invalid(name, locale, o.file, o.line, finding.problem);
  }
  for (const line of report.tripleStashLines) {
    const o = originOf(assembled, line);
    if (!o.trusted) throw invalid(name, locale, o.file, o.line, 'triple-stash {{{ }}} outputs unescaped HTML: only our shared partials may use it');
  }

  // MJML, once, with the expressions protected.
  const prot = protectExpressions(stripComments(assembled.text));
  const mjml2html = (await import('mjml')).default;
  const htmlToText = await htmlToTextConverter();
  let result;
  try {
    result = await mjml2html(prot.text, { validationLevel: 'strict', fonts: {}, keepComments: false, minify: false, beautify: false });
  } catch (e) {
    const errs = (e as { errors?: Array<{ line: number; message: string }> }).errors;
    const first = errs?.[0];
    if (first) {
      const o = originOf(assembled, first.line);
      throw invalid(name, locale, o.file, o.line, `MJML: ${first.message}`, e);
    }
    throw invalid(name, locale, lf.file, 1, `MJML: ${String((e as Error).message).split('\n')[0]}`, e);
  }
  if (result.errors.length > 0) {
    const first = result.errors[0]!;
    const o = originOf(assembled, first.line);
    throw invalid(name, locale, o.file, o.line, `MJML: ${first.message}`);
  }
  if (/<link[^>]+fonts\.googleapis|@import\s+url\(/i.test(result.html)) {
    throw invalid(name, locale, lf.file, 1, 'web-font links are not allowed (they do not load in China and slow every client)');
  }
  const tokenHtml = tidyHtml(result.html);
  const htmlSource = restoreExpressions(tokenHtml, prot.expressions);
  const textSource = tidyTextSource(restoreExpressions(htmlToText(stripPreview(tokenHtml)), prot.expressions));

  const opts = compileOptions(helpers);
  const compileChecked = (source: string, what: string, extra: Record<string, unknown> = {}): Delegate => {
    try {
      hb.precompile(source, compileOptions(helpers, extra));
    } catch (e) {
      throw invalid(name, locale, lf.file, 1, `${what} does not compile after MJML: ${String((e as Error).message).split('\n')[0]}`, e);
    }
    return hb.compile(source, { ...opts, ...extra });
  };
  return {
    name,
    locale,
    version: sourceVersion(src, locale),
    html: compileChecked(htmlSource, 'the HTML part'),
    text: compileChecked(textSource, 'the text part', { noEscape: true }),
    subject: compileChecked(parsed.front.subject.trim(), 'the subject', { noEscape: true }),
    copy: parsed.front.copy,
    used: report.used,
    htmlSource,
    textSource,
    subjectSource: parsed.front.subject.trim(),
    compileMs: performance.now() - started,
  };
}
