/**
 * Renders many recipients from one compiled template. Each part (HTML, text, subject) is split at
 * its top-level statements (split-template.ts); a chunk that does not read who the recipient is
 * (products, copy, signature, footer) is rendered once and its output reused for every following
 * recipient whose data it reads is equal, so each mail only renders its own holes. The result is
 * byte for byte what renderOne gives: the checks, frame and finishing are renderOne's own, a chunk
 * is reused only on equal inputs, and the first recipient of every batch is also rendered whole
 * and compared (a difference turns the split off for that template and renders one by one).
 */
import type { CompiledLocale } from './compile-template.ts';
import { invokeOptions, invokeWith } from './fast-invoke.ts';
import { hbs, HELPER_NAMES } from './handlebars-env.ts';
import { checkRecipient, findMissing, finishMail, recipientFrame, renderOne, type RenderContext, type Requirement } from './render-mail.ts';
import { splitTemplate, type Chunk, type SplitPart } from './split-template.ts';
import type { RenderedMail } from './types.ts';

/** A split part, with each chunk's root keys as indexes into the plan's key list. */
interface PartPlan extends SplitPart {
  readonly keyIndexes: ReadonlyArray<readonly number[]>;
}

export interface BatchPlan {
  readonly html: PartPlan;
  readonly text: PartPlan;
  readonly subject: PartPlan;
  /** Every root key a shared chunk reads. */
  readonly keys: readonly string[];
}

/** Per compiled template: its split parts, or null once a split render differed from the whole one. */
const plans = new WeakMap<CompiledLocale, BatchPlan | null>();

function planFor(c: CompiledLocale): BatchPlan | null {
  let plan = plans.get(c);
  if (plan === undefined) {
    const parts = [
      splitTemplate(hbs, HELPER_NAMES, c.htmlSource),
      splitTemplate(hbs, HELPER_NAMES, c.textSource, { noEscape: true }),
      splitTemplate(hbs, HELPER_NAMES, c.subjectSource, { noEscape: true }),
    ];
    const keys = [...new Set(parts.flatMap((p) => p.chunks.filter((ch) => !ch.always).flatMap((ch) => ch.keys)))].sort();
    const index = new Map(keys.map((k, i) => [k, i]));
    const withIndexes = (p: SplitPart): PartPlan => ({ chunks: p.chunks, keyIndexes: p.chunks.map((ch) => (ch.always ? [] : ch.keys.map((k) => index.get(k)!))) });
    plan = { html: withIndexes(parts[0]!), text: withIndexes(parts[1]!), subject: withIndexes(parts[2]!), keys };
    plans.set(c, plan);
  }
  return plan;
}

/**
 * For tests and the benchmark: the chunks of each part when batches of this template render split,
 * or undefined (not batched yet, or a split render differed from the whole one).
 */
export function batchSplit(c: CompiledLocale): BatchPlan | undefined {
  return plans.get(c) ?? undefined;
}

const hasOwn = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);

/**
 * Equal as a template sees them: the same primitive (Object.is: -0 is not 0), or plain objects,
 * arrays and dates with the same own properties in the same order, holding equal values. Functions
 * (Handlebars calls them) and other objects are never equal, nor anything nested deeper than 32.
 */
export function sameData(a: unknown, b: unknown, depth = 0): boolean {
  if (typeof a === 'function' || typeof b === 'function') return false;
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null || depth > 32) return false;
  const proto = Object.getPrototypeOf(a) as unknown;
  if (proto !== Object.getPrototypeOf(b)) return false;
  if (proto === Date.prototype) {
    if (!Object.is((a as Date).getTime(), (b as Date).getTime())) return false;
  } else if (proto !== Object.prototype && proto !== Array.prototype && proto !== null) return false;
  const ka = Object.getOwnPropertyNames(a);
  const kb = Object.getOwnPropertyNames(b);
  if (ka.length !== kb.length) return false;
  for (let i = 0; i < ka.length; i++) {
    const k = ka[i]!;
    if (k !== kb[i]) return false;
    if (!sameData((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], depth + 1)) return false;
  }
  return true;
}

/**
 * The value of each root key along the batch, as a version number that changes when a recipient's
 * value differs from the one before (compared once per recipient, when first needed).
 */
class KeyVersions {
  private readonly has: boolean[];
  private readonly values: unknown[];
  private readonly versions: number[];
  private readonly checkedFor: number[];

  constructor(private readonly keys: readonly string[]) {
    this.has = keys.map(() => false);
    this.values = keys.map(() => undefined);
    this.versions = keys.map(() => 0);
    this.checkedFor = keys.map(() => -1);
  }

  version(k: number, data: Record<string, unknown>, recipient: number): number {
    if (this.checkedFor[k] === recipient) return this.versions[k]!;
    this.checkedFor[k] = recipient;
    const key = this.keys[k]!;
    const has = hasOwn(data, key);
    const value = has ? data[key] : undefined;
    if (this.versions[k] === 0 || has !== this.has[k] || !sameData(value, this.values[k])) this.versions[k]!++;
    this.has[k] = has;
    this.values[k] = value; // the latest object: the next recipient most likely shares it
    return this.versions[k]!;
  }
}

/** The last output of a chunk and the versions of the inputs it was rendered from. */
interface ChunkMemo {
  out: string | undefined;
  zone: string;
  readonly versions: number[];
}

interface PartState {
  readonly memos: ChunkMemo[];
  /** The joined output of the run of shared chunks starting at an index. */
  readonly runs: Array<string | undefined>;
}

const stateFor = (part: PartPlan): PartState => ({ memos: part.chunks.map(() => ({ out: undefined, zone: '', versions: [] })), runs: part.chunks.map(() => undefined) });

interface Recipient {
  readonly index: number;
  readonly data: Record<string, unknown>;
  readonly zone: string;
  readonly keys: KeyVersions;
}

function reusable(chunk: Chunk, keyIndexes: readonly number[], memo: ChunkMemo, r: Recipient): boolean {
  if (memo.out === undefined || (chunk.zone && memo.zone !== r.zone)) return false;
  for (let j = 0; j < keyIndexes.length; j++) if (r.keys.version(keyIndexes[j]!, r.data, r.index) !== memo.versions[j]) return false;
  return true;
}

function remember(keyIndexes: readonly number[], memo: ChunkMemo, r: Recipient, out: string): void {
  for (let j = 0; j < keyIndexes.length; j++) memo.versions[j] = r.keys.version(keyIndexes[j]!, r.data, r.index);
  memo.zone = r.zone;
  memo.out = out;
}

/**
 * A part's output for one recipient: the chunks rendered for every recipient, and between them the
 * runs of shared chunks, each run's output kept joined while all its chunks are reused (so every
 * mail holds the same run string, not a copy or a tree of its pieces).
 */
function renderPart(part: PartPlan, state: PartState, r: Recipient, options: object): string {
  let out = '';
  const chunks = part.chunks;
  const { memos, runs } = state;
  let runStart = -1;
  let reused = true;
  for (let i = 0; i <= chunks.length; i++) {
    const chunk = chunks[i];
    if (chunk === undefined || chunk.always) {
      if (runStart >= 0) {
        let joined = runs[runStart];
        if (!reused || joined === undefined) {
          joined = '';
          for (let k = runStart; k < i; k++) joined += memos[k]!.out!;
          runs[runStart] = joined;
        }
        out += joined;
        runStart = -1;
      }
      if (chunk !== undefined) out += invokeWith(chunk.fn, r.data, options);
      continue;
    }
    if (runStart < 0) {
      runStart = i;
      reused = true;
    }
    const memo = memos[i]!;
    const keyIndexes = part.keyIndexes[i]!;
    if (reusable(chunk, keyIndexes, memo, r)) continue;
    reused = false;
    remember(keyIndexes, memo, r, invokeWith(chunk.fn, r.data, options));
  }
  return out;
}

/**
 * The required-variable checks grouped by the root key they read (each check reads only its own
 * root key), with the value that last passed: an equal value passes again without a walk.
 */
interface CheckGroup {
  readonly key: string;
  readonly reqs: readonly Requirement[];
  passed: boolean;
  value: unknown;
}

function checkGroups(reqs: readonly Requirement[]): CheckGroup[] {
  const byKey = new Map<string, Requirement[]>();
  for (const r of reqs) {
    const key = r.segments[0]!;
    const list = byKey.get(key) ?? [];
    list.push(r);
    byKey.set(key, list);
  }
  return [...byKey].map(([key, list]) => ({ key, reqs: list, passed: false, value: undefined }));
}

/** True when every requirement holds for `data` (the first failure's message is checkRecipient's business). */
function passes(groups: CheckGroup[], data: Record<string, unknown>): boolean {
  for (const g of groups) {
    const value = hasOwn(data, g.key) ? data[g.key] : undefined;
    if (g.passed && sameData(value, g.value)) continue;
    g.passed = false;
    if (findMissing(data, g.reqs)) return false;
    g.passed = true;
    g.value = value;
  }
  return true;
}

/** Below this many recipients the split and its first-recipient comparison cost more than they save. */
const MIN_SPLIT_BATCH = 3;

/** Renders every recipient; throws on the first failing one, with renderOne's error. */
export function renderBatch(c: CompiledLocale, reqs: readonly Requirement[], data: ReadonlyArray<Record<string, unknown>>, ctx: RenderContext): RenderedMail[] {
  const out = new Array<RenderedMail>(data.length);
  let plan = data.length < MIN_SPLIT_BATCH ? null : planFor(c);
  const groups = checkGroups(reqs);
  const state = plan && { html: stateFor(plan.html), text: stateFor(plan.text), subject: stateFor(plan.subject), keys: new KeyVersions(plan.keys) };
  let compared = false;
  for (let i = 0; i < data.length; i++) {
    const d = data[i]!;
    // Only plain objects are split (their lookups are the ones the analysis follows); anything else goes through renderOne.
    if (!plan || !state || d === null || typeof d !== 'object' || Object.getPrototypeOf(d) !== Object.prototype) {
      out[i] = renderOne(c, reqs, d, ctx, i);
      continue;
    }
    if (!passes(groups, d)) checkRecipient(c, reqs, d, i);
    const frame = recipientFrame(c, d, ctx);
    const htmlOptions = invokeOptions(d, frame as unknown as Record<string, unknown>);
    const textOptions = invokeOptions(d, { ...frame, textMode: true } as unknown as Record<string, unknown>);
    const r: Recipient = { index: i, data: d, zone: frame.timeZone, keys: state.keys };
    let html: string;
    let text: string;
    let subject: string;
    try {
      html = renderPart(plan.html, state.html, r, htmlOptions);
      text = renderPart(plan.text, state.text, r, textOptions);
      subject = renderPart(plan.subject, state.subject, r, textOptions);
    } catch {
      // A run cut short leaves its joined output behind its chunks' memos: forget the joined runs.
      for (const part of [state.html, state.text, state.subject]) part.runs.fill(undefined);
      // renderOne throws the error one render gives (naming the variable and the recipient); should it not fail, its mail stands.
      out[i] = renderOne(c, reqs, d, ctx, i);
      continue;
    }
    if (!compared) {
      compared = true;
      const whole = invokeWith(c.html, d, htmlOptions) === html && invokeWith(c.text, d, textOptions) === text && invokeWith(c.subject, d, textOptions) === subject;
      if (!whole) {
        plans.set(c, null);
        plan = null;
        out[i] = renderOne(c, reqs, d, ctx, i);
        continue;
      }
    }
    out[i] = finishMail(html, text, subject);
  }
  return out;
}
