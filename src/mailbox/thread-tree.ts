/**
 * JWZ threading (https://www.jwz.org/doc/threading.html) over a set of
 * messages, pure: containers for every Message-ID seen, placeholder
 * containers for ids only referenced, parent links from References (the
 * last one is the parent), cycles refused, empty placeholders pruned.
 * Used to order a thread for display and, in tests, as the oracle for
 * which messages belong together.
 */
export interface TreeInput {
  readonly key: string | number;
  readonly messageId: string;
  /** References then In-Reply-To: the last id is the parent. */
  readonly references: ReadonlyArray<string>;
  readonly date: Date | null;
}

export interface TreeNode<T extends TreeInput = TreeInput> {
  readonly messageId: string;
  message: T | null;
  parent: TreeNode<T> | null;
  children: TreeNode<T>[];
}

function isAncestor<T extends TreeInput>(maybeAncestor: TreeNode<T>, node: TreeNode<T>): boolean {
  for (let p: TreeNode<T> | null = node; p; p = p.parent) if (p === maybeAncestor) return true;
  return false;
}

function setParent<T extends TreeInput>(child: TreeNode<T>, parent: TreeNode<T>): void {
  if (child === parent || isAncestor(child, parent)) return; // would make a cycle
  if (child.parent) child.parent.children = child.parent.children.filter((c) => c !== child);
  child.parent = parent;
  parent.children.push(child);
}

/** Builds the forest; returns the roots (placeholders with one child are replaced by it), children sorted by date. */
export function buildThreadTree<T extends TreeInput>(messages: ReadonlyArray<T>): TreeNode<T>[] {
  const table = new Map<string, TreeNode<T>>();
  const node = (id: string): TreeNode<T> => {
    let n = table.get(id);
    if (!n) {
      n = { messageId: id, message: null, parent: null, children: [] };
      table.set(id, n);
    }
    return n;
  };
  for (const m of messages) {
    let own = node(m.messageId);
    if (own.message) {
      // duplicate Message-ID: keep both, the second as a child of the first
      const dup: TreeNode<T> = { messageId: `${m.messageId}#${String(m.key)}`, message: m, parent: null, children: [] };
      table.set(dup.messageId, dup);
      setParent(dup, own);
      continue;
    }
    own.message = m;
    let prev: TreeNode<T> | null = null;
    for (const ref of m.references) {
      const r = node(ref);
      if (prev && !r.parent && r !== prev) setParent(r, prev);
      prev = r;
    }
    own = node(m.messageId);
    if (prev && prev !== own) {
      if (own.parent && own.parent !== prev) own.parent.children = own.parent.children.filter((c) => c !== own);
      if (own.parent !== prev) {
        own.parent = null;
        setParent(own, prev);
      }
    }
  }
  const roots = [...table.values()].filter((n) => n.parent === null);
  const prune = (n: TreeNode<T>): TreeNode<T>[] => {
    n.children = n.children.flatMap(prune);
    if (n.message === null) {
      if (n.children.length === 0) return [];
      if (n.children.length === 1 || n.parent !== null) {
        for (const c of n.children) c.parent = n.parent;
        return n.children;
      }
    }
    return [n];
  };
  const pruned = roots.flatMap(prune);
  for (const r of pruned) r.parent = null;
  const time = (n: TreeNode<T>): number => n.message?.date?.getTime() ?? Math.min(...n.children.map(time), Number.MAX_SAFE_INTEGER);
  const sort = (list: TreeNode<T>[]): void => {
    list.sort((a, b) => time(a) - time(b));
    for (const n of list) sort(n.children);
  };
  sort(pruned);
  return pruned;
}

/** Depth-first order with depth, for printing a thread. */
export function flattenTree<T extends TreeInput>(roots: ReadonlyArray<TreeNode<T>>): Array<{ depth: number; node: TreeNode<T> }> {
  const out: Array<{ depth: number; node: TreeNode<T> }> = [];
  const walk = (n: TreeNode<T>, depth: number): void => {
    out.push({ depth, node: n });
    for (const c of n.children) walk(c, depth + 1);
  };
  for (const r of roots) walk(r, 0);
  return out;
}
