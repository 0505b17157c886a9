/**
 * Keeps Handlebars expressions intact through MJML: each `{{...}}` becomes an inert token
 * (letters and digits only, safe in attributes, CSS, URLs and text, untouched by juice and the
 * validator) before mjml2html, and the original expression is put back afterwards. A block
 * statement standing alone on a line between MJML elements is wrapped in <mj-raw>, so MJML keeps it
 * in place between the sections (or column rows) it wraps. Pure.
 */

export interface ProtectedSource {
  readonly text: string;
  readonly expressions: readonly string[];
}

const ENDING_TAGS = 'mj-text|mj-button|mj-table|mj-raw|mj-title|mj-preview|mj-style|mj-navbar-link|mj-accordion-title|mj-accordion-text|mj-social-element';
const SCAN = new RegExp(`<(/?)(${ENDING_TAGS})\\b[^>]*?(/?)>|\\{\\{\\{[\\s\\S]*?\\}\\}\\}|\\{\\{[\\s\\S]*?\\}\\}`, 'g');
const TOKEN = /hbx(\d+)x/g;

export function tokenFor(i: number): string {
  return `hbx${i}x`;
}

/** Removes Handlebars comments, keeping the line count. */
export function stripComments(text: string): string {
  return text.replace(/\{\{!--[\s\S]*?--\}\}|\{\{![\s\S]*?\}\}/g, (c) => c.replace(/[^\n]/g, ''));
}

function isBlockish(expr: string): boolean {
  return /^\{\{~?\s*([#/^]|else\b)/.test(expr);
}

export function protectExpressions(source: string): ProtectedSource {
  if (TOKEN.test(source)) {
    TOKEN.lastIndex = 0;
    throw new Error('the source contains the reserved token pattern hbx<digits>x');
  }
  TOKEN.lastIndex = 0;
  const expressions: string[] = [];
  let depth = 0;
  const text = source.replace(SCAN, (match: string, close: string | undefined, tag: string | undefined, selfClose: string | undefined, offset: number) => {
    if (tag !== undefined) {
      if (!selfClose) depth += close ? -1 : 1;
      if (depth < 0) depth = 0;
      return match;
    }
    const i = expressions.push(match) - 1;
    const token = tokenFor(i);
    const newlines = match.split('\n').length - 1;
    const pad = '\n'.repeat(newlines);
    if (depth === 0 && isBlockish(match)) {
      const lineStart = source.lastIndexOf('\n', offset - 1) + 1;
      const lineEndRaw = source.indexOf('\n', offset + match.length);
      const lineEnd = lineEndRaw === -1 ? source.length : lineEndRaw;
      const standalone = source.slice(lineStart, offset).trim() === '' && source.slice(offset + match.length, lineEnd).trim() === '';
      if (standalone) return `<mj-raw>${token}</mj-raw>${pad}`;
    }
    return token + pad;
  });
  return { text, expressions };
}

export function restoreExpressions(text: string, expressions: readonly string[]): string {
  return text.replace(TOKEN, (m, n: string) => expressions[Number(n)] ?? m);
}
