/**
 * Calls a compiled Handlebars template without its per-call setup. A top-level Handlebars call
 * wraps every registered helper in a fresh closure, builds a prototype-access table and copies
 * the data frame, on every call; for a mail rendered as HTML, text and subject that setup costs
 * more than the rendering. We do it once: the helpers (as registered: only the built-in `lookup`
 * needs the lookupProperty option), the same deny-by-default prototype access control Handlebars
 * builds, and the data frame with its root. The call then takes Handlebars' own "partial" path,
 * which uses these prepared values as they are.
 */
import { createRequire } from 'node:module';
import type HandlebarsNs from 'handlebars';
import { hbs } from './handlebars-env.ts';

type Delegate = HandlebarsNs.TemplateDelegate;
type HelperFn = (this: unknown, ...args: unknown[]) => unknown;

const require = createRequire(import.meta.url);
const protoAccess = require('handlebars/dist/cjs/handlebars/internal/proto-access.js') as { createProtoAccessControl(options: object): unknown };

/** The same table Handlebars builds for { allowProtoPropertiesByDefault: false, allowProtoMethodsByDefault: false }. */
const PROTO_ACCESS = protoAccess.createProtoAccessControl({ allowProtoPropertiesByDefault: false, allowProtoMethodsByDefault: false });

function ownLookup(parent: unknown, name: string): unknown {
  if (parent === null || parent === undefined) return undefined;
  return Object.prototype.hasOwnProperty.call(parent, name) ? (parent as Record<string, unknown>)[name] : undefined;
}

const registered = (hbs as unknown as { helpers: Record<string, HelperFn> }).helpers;
const HELPERS: Record<string, HelperFn> = {};
for (const [name, helper] of Object.entries(registered)) {
  HELPERS[name] =
    name === 'lookup'
      ? function lookupWithOwnProperty(this: unknown, ...args: unknown[]) {
          (args[args.length - 1] as { lookupProperty: unknown }).lookupProperty = ownLookup;
          return helper.apply(this, args);
        }
      : helper;
}
const HOOKS = { helperMissing: registered.helperMissing, blockHelperMissing: registered.blockHelperMissing };
const EMPTY = Object.freeze({});

/** The options of a call: prepared helpers and access control, and `frame` as @data (the frame gets `root`). */
export function invokeOptions(context: object, frame: Record<string, unknown>): object {
  return { partial: true, helpers: HELPERS, partials: EMPTY, decorators: EMPTY, hooks: HOOKS, protoAccessControl: PROTO_ACCESS, data: { ...frame, root: context } };
}

/**
 * Renders `fn` with options from invokeOptions. Handlebars reads these options and never changes
 * them, so the parts of one template rendered for the same recipient share them.
 */
export function invokeWith(fn: Delegate, context: object, options: object): string {
  return (fn as unknown as (ctx: object, opts: object) => string)(context, options);
}

/** Renders `fn` for `context` with `frame` as @data (the frame gets `root`). */
export function invokeTemplate(fn: Delegate, context: object, frame: Record<string, unknown>): string {
  return invokeWith(fn, context, invokeOptions(context, frame));
}
