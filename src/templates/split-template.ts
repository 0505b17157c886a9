/**
 * Splits a compiled template part (HTML, text or subject) into chunks at its top-level statements,
 * each with what it reads of a recipient: the root data keys (`products`, `sender`), the time zone,
 * the moment of the render. The batch renderer renders a chunk once and reuses its output for
 * every following recipient whose inputs are equal. A chunk whose inputs the analysis cannot bound
 * (a helper not classified, `{{this}}` at the root, a partial) is rendered for every recipient.
 * Pure apart from compiling the chunks.
 */
import type HandlebarsNs from 'handlebars';
import { compileOptions } from './compile-template.ts';
import { HELPER_INPUTS } from './helpers.ts';

type Hbs = typeof HandlebarsNs;
type Delegate = HandlebarsNs.TemplateDelegate;
type Statement = hbs.AST.Statement;
type Expression = hbs.AST.Expression;
type PathExpression = hbs.AST.PathExpression;

/** What a statement reads of a recipient; `unbounded` when the analysis cannot tell. */
export interface Inputs {
  readonly keys: ReadonlySet<string>;
  readonly zone: boolean;
  readonly now: boolean;
  readonly unbounded: boolean;
}

export interface Chunk {
  readonly fn: Delegate;
  /** Root data keys the chunk reads, sorted. */
  readonly keys: readonly string[];
  /** Reads the recipient's time zone. */
  readonly zone: boolean;
  /** Rendered for every recipient (reads the moment of the render, or cannot be bounded, or reads who the recipient is). */
  readonly always: boolean;
}

export interface SplitPart {
  readonly chunks: readonly Chunk[];
}

/** Keys that name the recipient: chunks reading them differ from mail to mail, so they are not compared, just rendered. */
const RECIPIENT_KEYS: ReadonlySet<string> = new Set(['contact', 'client', 'recipient']);
const BUILTIN_INPUTS: Readonly<Record<string, 'none'>> = { if: 'none', unless: 'none', each: 'none', with: 'none', lookup: 'none' };
const FRAME_CONSTANT = new Set(['locale', 'textMode', 'copy']);

class Analysis {
  readonly keys = new Set<string>();
  zone = false;
  now = false;
  unbounded = false;

  constructor(private readonly helpers: ReadonlySet<string>) {}

  /** A root-relative key for a path read in the context `scope` ('' = the root data, else the root key the context lies under). */
  private path(p: PathExpression, scopes: readonly string[]): void {
    if (p.data) {
      const head = p.parts[0];
      if (head === 'root') {
        if (p.parts.length > 1) this.keys.add(p.parts[1]!);
        else this.unbounded = true;
      } else if (head === 'timeZone') this.zone = true;
      else if (head === 'now') {
        this.zone = true;
        this.now = true;
      } else if (head === undefined || (!FRAME_CONSTANT.has(head) && scopes.length === 1)) {
        // @index and friends outside a loop read the frame, whose other fields are fixed: still, be safe.
        this.unbounded = true;
      }
      return;
    }
    const depth = p.depth ?? 0;
    if (depth > 0) {
      // ../x: one of the enclosing contexts, all of them the root or inside keys already read.
      if (p.parts.length === 0) this.unbounded = true;
      else this.keys.add(p.parts[0]!);
      return;
    }
    const scope = scopes[scopes.length - 1]!;
    if (scope !== '') this.keys.add(scope);
    else if (p.parts.length === 0) this.unbounded = true;
    else this.keys.add(p.parts[0]!);
  }

  /** The single root key a context path lies under ({{#each products}} -> products), or undefined. */
  private contextKey(e: Expression | undefined, scopes: readonly string[]): string | undefined {
    if (!e || e.type !== 'PathExpression') return undefined;
    const p = e as PathExpression;
    if (p.data) return p.parts[0] === 'root' && p.parts.length > 1 ? p.parts[1] : undefined;
    if ((p.depth ?? 0) > 0) return undefined;
    const scope = scopes[scopes.length - 1]!;
    if (scope !== '') return scope;
    return p.parts[0];
  }

  private helperName(path: Expression): string | undefined {
    if (path.type !== 'PathExpression') return undefined;
    const p = path as PathExpression;
    // Handlebars' own simpleId: one part, not scoped (./x, this.x), no ../
    if (p.data || (p.depth ?? 0) > 0 || p.parts.length !== 1 || /^\.|this\b/.test(p.original)) return undefined;
    return this.helpers.has(p.parts[0]!) || BUILTIN_INPUTS[p.parts[0]!] ? p.parts[0] : undefined;
  }

  private helper(name: string): void {
    const kind = HELPER_INPUTS[name] ?? BUILTIN_INPUTS[name];
    if (kind === undefined) this.unbounded = true;
    else if (kind === 'zone') this.zone = true;
    else if (kind === 'now') {
      this.zone = true;
      this.now = true;
    }
  }

  call(path: Expression, params: Expression[], hash: hbs.AST.Hash | undefined, scopes: readonly string[], helperOnly: boolean): void {
    const name = this.helperName(path);
    if (name !== undefined) this.helper(name);
    else if (helperOnly || params.length > 0 || (hash?.pairs.length ?? 0) > 0) this.unbounded = true;
    else this.expr(path, scopes);
    for (const p of params) this.expr(p, scopes);
    for (const pair of hash?.pairs ?? []) this.expr(pair.value, scopes);
  }

  expr(e: Expression | undefined, scopes: readonly string[]): void {
    if (!e) return;
    if (e.type === 'PathExpression') this.path(e as PathExpression, scopes);
    else if (e.type === 'SubExpression') {
      const s = e as hbs.AST.SubExpression;
      this.call(s.path, s.params, s.hash, scopes, true);
    }
    // literals read nothing
  }

  statement(node: Statement, scopes: readonly string[]): void {
    switch (node.type) {
      case 'ContentStatement':
      case 'CommentStatement':
        return;
      case 'MustacheStatement': {
        const m = node as hbs.AST.MustacheStatement;
        this.call(m.path, m.params, m.hash, scopes, false);
        return;
      }
      case 'BlockStatement': {
        const b = node as hbs.AST.BlockStatement;
        const name = this.helperName(b.path);
        // Only the built-in blocks run their body in a context we can follow; block params are not followed.
        if (name === undefined || !(name in BUILTIN_INPUTS) || name === 'lookup' || (b.program?.blockParams?.length ?? 0) > 0) {
          this.unbounded = true;
          return;
        }
        this.call(b.path, b.params, b.hash, scopes, true);
        let inner = scopes;
        if (name === 'each' || name === 'with') {
          const key = this.contextKey(b.params[0], scopes);
          if (key === undefined) {
            this.unbounded = true;
            return;
          }
          inner = [...scopes, key];
        }
        for (const s of b.program?.body ?? []) this.statement(s, inner);
        for (const s of b.inverse?.body ?? []) this.statement(s, scopes);
        return;
      }
      default:
        // partials, decorators: not in our templates (the compiler refuses them); never shared
        this.unbounded = true;
    }
  }
}

/** What one top-level statement reads of a recipient. */
export function statementInputs(node: Statement, helpers: ReadonlySet<string>): Inputs {
  const a = new Analysis(helpers);
  a.statement(node, ['']);
  return { keys: a.keys, zone: a.zone, now: a.now, unbounded: a.unbounded };
}

const readsRecipient = (i: Inputs): boolean => i.unbounded || i.now || [...i.keys].some((k) => RECIPIENT_KEYS.has(k));

const NO_STRIP = Object.freeze({ open: false, close: false });

function isBranch(b: hbs.AST.BlockStatement): boolean {
  const p = b.path as PathExpression;
  return p.type === 'PathExpression' && !p.data && !p.depth && p.parts.length === 1 && !/^\.|this\b/.test(p.original) && (p.parts[0] === 'if' || p.parts[0] === 'unless') && (b.program?.blockParams?.length ?? 0) === 0;
}

/**
 * {{#if C}}P{{else}}Q{{/if}} renders what {{#if C}}p1{{/if}} {{#if C}}p2{{/if}} ... {{#if C}}{{else}}q1{{/if}} ...
 * renders, for the statements p and q of its branches: #if and #unless keep the context and the
 * frame, and C, reading nothing of who the recipient is, comes out the same each time (our helpers
 * are pure; template data is data from the database, YAML or JSON, never a function that could
 * answer differently on a second call). A branch
 * block with a per-recipient hole inside (a name in a paragraph) is split that way, so that only the
 * hole is rendered per mail; one without is left whole.
 */
export function expandBranches(node: Statement, helpers: ReadonlySet<string>): Statement[] {
  if (node.type !== 'BlockStatement') return [node];
  const b = node as hbs.AST.BlockStatement;
  if (!isBranch(b) || !readsRecipient(statementInputs(b, helpers))) return [node];
  const cond = new Analysis(helpers);
  cond.call(b.path, b.params, b.hash, [''], true);
  if (readsRecipient(cond)) return [node];
  const program = (body: Statement[], like: hbs.AST.Program | undefined): hbs.AST.Program =>
    ({ type: 'Program', body, blockParams: undefined, strip: {}, loc: like?.loc ?? b.loc }) as unknown as hbs.AST.Program;
  const wrap = (body: Statement[], inverse: Statement[] | undefined): Statement =>
    ({ ...b, program: program(body, b.program), inverse: inverse && program(inverse, b.inverse), openStrip: NO_STRIP, inverseStrip: NO_STRIP, closeStrip: NO_STRIP }) as unknown as Statement;
  // A content piece that whitespace control emptied, or a comment, renders nothing: no block for it.
  const renders = (p: Statement): boolean => p.type !== 'CommentStatement' && !(p.type === 'ContentStatement' && (p as hbs.AST.ContentStatement).value === '');
  const out: Statement[] = [];
  for (const s of b.program.body) for (const p of expandBranches(s, helpers)) if (renders(p)) out.push(wrap([p], undefined));
  for (const s of b.inverse?.body ?? []) for (const p of expandBranches(s, helpers)) if (renders(p)) out.push(wrap([], [p]));
  return out;
}

function sameKeys(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  if (a.size !== b.size) return false;
  for (const k of a) if (!b.has(k)) return false;
  return true;
}

/**
 * Splits a template source into chunks whose outputs, concatenated, are the template's output.
 * The source is parsed once with Handlebars' whitespace rules (standalone lines, `~`) applied to
 * the whole; each chunk then compiles from that processed tree with standalone detection off, so
 * a chunk's first or last statement is not taken for a standalone line it was not.
 */
export function splitTemplate(hb: Hbs, helperNames: readonly string[], source: string, extra: Record<string, unknown> = {}): SplitPart {
  const helpers = new Set(helperNames);
  const program = hb.parse(source);
  interface Group {
    body: Statement[];
    keys: Set<string>;
    zone: boolean;
    always: boolean;
    content: boolean;
  }
  const groups: Group[] = [];
  for (const node of program.body.flatMap((n) => expandBranches(n, helpers))) {
    const last = groups[groups.length - 1];
    if (node.type === 'ContentStatement' || node.type === 'CommentStatement') {
      if (last) last.body.push(node);
      else groups.push({ body: [node], keys: new Set(), zone: false, always: false, content: true });
      continue;
    }
    const inputs = statementInputs(node, helpers);
    const always = readsRecipient(inputs);
    if (last && last.content) {
      // leading content only: the statement takes the group over
      Object.assign(last, { keys: new Set(inputs.keys), zone: inputs.zone, always, content: false });
      last.body.push(node);
    } else if (last && ((always && last.always) || (!always && !last.always && last.zone === inputs.zone && sameKeys(last.keys, inputs.keys)))) {
      last.body.push(node);
      for (const k of inputs.keys) last.keys.add(k);
      last.zone ||= inputs.zone;
    } else {
      groups.push({ body: [node], keys: new Set(inputs.keys), zone: inputs.zone, always, content: false });
    }
  }
  const opts = { ...compileOptions(helperNames, extra), ignoreStandalone: true };
  return {
    chunks: groups.map((g) => ({
      fn: hb.compile({ type: 'Program', body: g.body, strip: {}, blockParams: undefined, loc: g.body[0]!.loc } as unknown as hbs.AST.Program, opts),
      keys: [...g.keys].sort(),
      zone: g.zone,
      always: g.always,
    })),
  };
}
