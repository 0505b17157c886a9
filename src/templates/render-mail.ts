/** Renders one recipient from a compiled template: checks required data, then HTML, text and subject. */
import { AppError } from '../shared/app-error.ts';
import type { CompiledLocale } from './compile-template.ts';
import type { RenderFrame } from './helpers.ts';
import type { RenderedMail, VariableSpec } from './types.ts';
import { invokeTemplate } from './fast-invoke.ts';

export interface RenderContext {
  readonly now: () => Date;
}

/** A requirement compiled from the declared variables: path segments, '[]' marking arrays. */
export interface Requirement {
  readonly path: string;
  readonly segments: readonly string[];
  readonly type: VariableSpec['type'];
  readonly required: boolean;
  readonly values?: readonly string[];
  readonly min?: number;
  readonly max?: number;
}

export function compileRequirements(specs: readonly VariableSpec[]): Requirement[] {
  // Required variables, and optional ones with allowed values or bounds (checked when given).
  return specs
    .filter((s) => s.required || s.values !== undefined || s.min !== undefined || s.max !== undefined)
    .map((s) => ({
      path: s.path, type: s.type, required: s.required, segments: s.path.split('.').flatMap((seg) => (seg.endsWith('[]') ? [seg.slice(0, -2), '[]'] : [seg])),
      ...(s.values && s.otherwise === undefined ? { values: s.values } : {}), ...(s.min !== undefined ? { min: s.min } : {}), ...(s.max !== undefined ? { max: s.max } : {}),
    }));
}

function isEmpty(v: unknown): boolean {
  return v === undefined || v === null || (typeof v === 'string' && v.trim() === '');
}

/** The first missing required variable, as a concrete path (products[2].price), or undefined. */
export function findMissing(data: unknown, reqs: readonly Requirement[]): { path: string; problem: string } | undefined {
  for (const r of reqs) {
    const miss = check(data, r.segments, 0, '', r);
    if (miss) return miss;
  }
  return undefined;
}

function check(node: unknown, segs: readonly string[], i: number, at: string, r: Requirement): { path: string; problem: string } | undefined {
  if (i === segs.length) {
    if (isEmpty(node)) return r.required ? { path: at, problem: 'has no value' } : undefined;
    if (r.type === 'array' && (!Array.isArray(node) || node.length === 0)) return { path: at, problem: 'must be a non-empty list' };
    if (r.type === 'number' && typeof node !== 'number') return { path: at, problem: 'must be a number' };
    if (r.type === 'object' && (typeof node !== 'object' || Array.isArray(node))) return { path: at, problem: 'must be an object' };
    // A wrong variant would render a plausible but wrong mail (step 5 as the last step, "easter" as a generic card).
    if (r.values && !r.values.includes(String(node))) return { path: at, problem: `is "${String(node).slice(0, 40)}", not one of ${r.values.join(', ')}` };
    if (Array.isArray(node)) {
      if (r.max !== undefined && node.length > r.max) return { path: at, problem: `has ${node.length} items, at most ${r.max}` };
      if (r.min !== undefined && node.length < r.min) return { path: at, problem: `has ${node.length} items, at least ${r.min}` };
    } else if (typeof node === 'number') {
      if ((r.min !== undefined && node < r.min) || (r.max !== undefined && node > r.max) || !Number.isFinite(node)) {
        return { path: at, problem: `is ${node}, outside ${r.min ?? '-∞'}..${r.max ?? '∞'}` };
      }
    }
    return undefined;
  }
  const seg = segs[i]!;
  if (seg === '[]') {
    // An absent list is the list's own requirement's business (a required list has one); its items' rules apply to items only.
    if (node === undefined || node === null) return undefined;
    if (!Array.isArray(node)) return { path: at, problem: 'must be a list' };
    for (let k = 0; k < node.length; k++) {
      const m = check(node[k], segs, i + 1, `${at}[${k}]`, r);
      if (m) return m;
    }
    return undefined;
  }
  const next = node !== null && typeof node === 'object' && Object.prototype.hasOwnProperty.call(node, seg) ? (node as Record<string, unknown>)[seg] : undefined;
  const where = at === '' ? seg : `${at}.${seg}`;
  if (next === undefined && i + 1 < segs.length && segs[i + 1] !== '[]') return { path: where, problem: 'has no value' };
  return check(next, segs, i + 1, where, r);
}

export function recipientLabel(data: Record<string, unknown>, index: number | undefined): string {
  const c = data.contact as Record<string, unknown> | undefined;
  const pick = [data.recipient, c?.email, c?.name].find((v) => typeof v === 'string' && v.trim() !== '') as string | undefined;
  const label = pick ? pick.replace(/[\r\n\t]+/g, ' ').slice(0, 80) : 'recipient';
  return index === undefined ? label : `${label} (#${index + 1})`;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;
}

const zoneCache = new Map<string, boolean>();
function validZone(z: string | undefined): string | undefined {
  if (!z) return undefined;
  let ok = zoneCache.get(z);
  if (ok === undefined) {
    try {
      new Intl.DateTimeFormat('en', { timeZone: z });
      ok = true;
    } catch {
      ok = false;
    }
    if (zoneCache.size < 10_000) zoneCache.set(z, ok);
  }
  return ok ? z : undefined;
}

/** Subjects go into a header: one line, no control characters, squeezed spaces. */
export function cleanSubject(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, ' ').replace(/\s{2,}/g, ' ').trim();
}

/** Throws the error a render of `data` gives when it is not an object or misses a required variable. */
export function checkRecipient(compiled: CompiledLocale, reqs: readonly Requirement[], data: Record<string, unknown>, index: number | undefined): void {
  const tplName = `${compiled.name} (${compiled.locale})`;
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new AppError('INPUT_INVALID', `template ${tplName}: the data for ${index === undefined ? 'the recipient' : `recipient #${index + 1}`} must be an object`);
  }
  const missing = findMissing(data, reqs);
  if (missing) {
    const who = recipientLabel(data, index);
    throw new AppError('TEMPLATE_VARIABLE_MISSING', `template ${tplName}: variable "${missing.path}" ${missing.problem} for recipient ${who}`, {
      details: { template: compiled.name, locale: compiled.locale, variable: missing.path, recipient: who },
    });
  }
}

/** The @data frame of one recipient's HTML render: the template's locale and copy, the recipient's zone and "now". */
export function recipientFrame(compiled: CompiledLocale, data: Record<string, unknown>, ctx: RenderContext): RenderFrame {
  const contact = data.contact as Record<string, unknown> | undefined;
  const client = data.client as Record<string, unknown> | undefined;
  const timeZone = validZone(str(data.timeZone) ?? str(contact?.timeZone) ?? str(client?.timeZone)) ?? 'UTC';
  const nowRaw = data.now;
  const now = nowRaw instanceof Date ? nowRaw : typeof nowRaw === 'string' && !Number.isNaN(Date.parse(nowRaw)) ? new Date(nowRaw) : ctx.now();
  return { locale: compiled.locale, timeZone, now, textMode: false, copy: compiled.copy };
}

/** The mail from the three rendered parts: the subject on one line, the text without runs of blank lines. */
export function finishMail(html: string, text: string, subject: string): RenderedMail {
  return { subject: cleanSubject(subject), html, text: text.replace(/\n{3,}/g, '\n\n').trim() };
}

/** A render failure as the AppError that names the variable (strict mode) or the problem, and the recipient. */
export function renderFailure(e: unknown, compiled: CompiledLocale, data: Record<string, unknown>, index: number | undefined): AppError {
  const tplName = `${compiled.name} (${compiled.locale})`;
  const who = recipientLabel(data, index);
  const msg = String((e as Error).message ?? e).split('\n')[0] ?? '';
  const strict = /^"([^"]+)" not defined in/.exec(msg);
  if (strict) {
    return new AppError('TEMPLATE_VARIABLE_MISSING', `template ${tplName}: variable "${strict[1]}" has no value for recipient ${who}`, {
      cause: e,
      details: { template: compiled.name, locale: compiled.locale, variable: strict[1], recipient: who },
    });
  }
  return new AppError('TEMPLATE_RENDER_FAILED', `template ${tplName}: ${msg.replace(/ - \d+:\d+$/, '')} for recipient ${who}`, {
    cause: e,
    details: { template: compiled.name, locale: compiled.locale, recipient: who },
  });
}

export function renderOne(
  compiled: CompiledLocale,
  reqs: readonly Requirement[],
  data: Record<string, unknown>,
  ctx: RenderContext,
  index?: number,
): RenderedMail {
  checkRecipient(compiled, reqs, data, index);
  const base = recipientFrame(compiled, data, ctx);
  try {
    const html = invokeTemplate(compiled.html, data, base as unknown as Record<string, unknown>);
    const textFrame = { ...base, textMode: true } as unknown as Record<string, unknown>;
    const text = invokeTemplate(compiled.text, data, textFrame);
    const subject = invokeTemplate(compiled.subject, data, textFrame);
    return finishMail(html, text, subject);
  } catch (e) {
    throw renderFailure(e, compiled, data, index);
  }
}
