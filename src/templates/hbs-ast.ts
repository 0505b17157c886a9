/**
 * Walks a Handlebars AST: finds the variables a template reads (for lint and checks), partial
 * calls, unknown helpers and triple-stash outside our partials. Pure.
 */


type Node = hbs.AST.Node;
type Program = hbs.AST.Program;
type Expression = hbs.AST.Expression;
type PathExpression = hbs.AST.PathExpression;

export interface AstFinding {
  readonly line: number;
  readonly problem: string;
}

export interface UsedVariable {
  readonly path: string;
  readonly line: number;
}

export interface AstReport {
  readonly used: UsedVariable[];
  readonly findings: AstFinding[];
  /** Lines holding a triple-stash {{{ }}}. */
  readonly tripleStashLines: number[];
}

const BUILTIN_BLOCKS = new Set(['if', 'unless', 'each', 'with', 'lookup', 'log']);

function isPath(e: Expression | undefined): e is PathExpression {
  return !!e && e.type === 'PathExpression';
}

/** Walks a program; `scope` is the variable prefix of the current context ('' at root, 'products[]' in #each products). */
export function analyseProgram(program: Program, helpers: ReadonlySet<string>): AstReport {
  const used: UsedVariable[] = [];
  const findings: AstFinding[] = [];
  const tripleStashLines: number[] = [];

  const pathOf = (p: PathExpression, scopes: readonly string[]): string | undefined => {
    if (p.data) return undefined; // @index, @root handled below
    const depth = p.depth ?? 0;
    const scope = scopes[scopes.length - 1 - depth] ?? '';
    const parts = p.parts;
    if (parts.length === 0) return scope === '' ? undefined : scope; // {{this}}
    const joined = parts.join('.');
    return scope === '' ? joined : `${scope}.${joined}`;
  };

  const useExpr = (e: Expression | undefined, scopes: readonly string[]): void => {
    if (!e) return;
    if (e.type === 'PathExpression') {
      const p = e as PathExpression;
      if (p.data && p.parts[0] === 'root' && p.parts.length > 1) {
        used.push({ path: p.parts.slice(1).join('.'), line: p.loc?.start.line ?? 0 });
        return;
      }
      const path = pathOf(p, scopes);
      if (path) used.push({ path, line: p.loc?.start.line ?? 0 });
    } else if (e.type === 'SubExpression') {
      const s = e as hbs.AST.SubExpression;
      callee(s.path, s.params, s.hash, s.loc?.start.line ?? 0, scopes, true);
    }
  };

  const callee = (
    path: Expression,
    params: Expression[],
    hash: hbs.AST.Hash | undefined,
    line: number,
    scopes: readonly string[],
    mustBeHelper: boolean,
  ): void => {
    const name = isPath(path) && path.parts.length === 1 && !path.data && (path.depth ?? 0) === 0 ? path.parts[0]! : undefined;
    const isHelper = name !== undefined && (helpers.has(name) || BUILTIN_BLOCKS.has(name));
    if (!isHelper && (mustBeHelper || params.length > 0 || (hash?.pairs.length ?? 0) > 0)) {
      findings.push({ line, problem: `unknown helper "${isPath(path) ? path.original : '?'}"` });
    }
    if (!isHelper) useExpr(path, scopes);
    for (const p of params) useExpr(p, scopes);
    for (const pair of hash?.pairs ?? []) useExpr(pair.value, scopes);
  };

  const walk = (node: Node | undefined, scopes: readonly string[]): void => {
    if (!node) return;
    switch (node.type) {
      case 'Program':
        for (const s of (node as Program).body) walk(s, scopes);
        return;
      case 'MustacheStatement': {
        const m = node as hbs.AST.MustacheStatement;
        if (!m.escaped) tripleStashLines.push(m.loc?.start.line ?? 0);
        callee(m.path, m.params, m.hash, m.loc?.start.line ?? 0, scopes, false);
        return;
      }
      case 'BlockStatement': {
        const b = node as hbs.AST.BlockStatement;
        const line = b.loc?.start.line ?? 0;
        const name = isPath(b.path) ? b.path.original : '?';
        callee(b.path, b.params, b.hash, line, scopes, true);
        let inner = scopes;
        const first = b.params[0];
        if ((name === 'each' || name === 'with') && isPath(first)) {
          const base = pathOf(first, scopes) ?? '';
          inner = [...scopes, name === 'each' ? `${base}[]` : base];
        }
        walk(b.program, inner);
        walk(b.inverse, scopes);
        return;
      }
      case 'PartialStatement':
      case 'PartialBlockStatement': {
        const p = node as hbs.AST.PartialStatement;
        const n = p.name.type === 'PathExpression' ? (p.name as PathExpression).original : '?';
        findings.push({ line: p.loc?.start.line ?? 0, problem: `unknown partial "${n}" (include partials on a line of their own)` });
        return;
      }
      case 'DecoratorBlock':
      case 'Decorator':
        findings.push({ line: node.loc?.start.line ?? 0, problem: 'decorators are not allowed' });
        return;
      default:
        return;
    }
  };
  walk(program, ['']);
  return { used, findings, tripleStashLines };
}


