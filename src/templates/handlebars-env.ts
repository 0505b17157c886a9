/**
 * The one Handlebars environment templates compile in: our helpers (no global registrations leak),
 * and a compiler whose path lookups are null-safe: `{{#if handler.name}}` is false when `handler`
 * is absent, while strict mode still makes a printed `{{handler.name}}` with no handler an error
 * (never an empty hole in a client's mail).
 */
import Handlebars from 'handlebars';
import { registerHelpers } from './helpers.ts';

type CodeChunk = unknown;
interface CompilerProto {
  nameLookup(this: unknown, parent: CodeChunk, name: string, type: string): CodeChunk;
}

export const hbs = Handlebars.create();

const Base = (Handlebars as unknown as { JavaScriptCompiler: { prototype: CompilerProto } }).JavaScriptCompiler;
function NullSafeCompiler(this: unknown): void {}
NullSafeCompiler.prototype = Object.create(Base.prototype) as CompilerProto & { compiler: unknown };
(NullSafeCompiler.prototype as { compiler: unknown }).compiler = NullSafeCompiler;
(NullSafeCompiler.prototype as CompilerProto).nameLookup = function nameLookup(this: unknown, parent, name, type) {
  const inner = Base.prototype.nameLookup.call(this, parent, name, type);
  if (type !== 'context') return inner;
  return ['(', parent, ' != null ? ', inner, ' : undefined)'];
};
(hbs as unknown as { JavaScriptCompiler: unknown }).JavaScriptCompiler = NullSafeCompiler;

export const HELPER_NAMES: readonly string[] = registerHelpers(hbs);
