/** The public shapes of the templates domain (see /tmp contracts: other domains code against these). */

export interface RenderedMail {
  readonly subject: string;
  readonly html: string;
  readonly text: string;
}

export type VariableType = 'string' | 'number' | 'date' | 'boolean' | 'url' | 'email' | 'array' | 'object' | 'money';

/** One variable a template reads. `path` is dotted; `[]` marks array items: `products[].name`. */
export interface VariableSpec {
  readonly path: string;
  readonly type: VariableType;
  readonly required: boolean;
  readonly description?: string;
  /** For string variables that pick a variant (holiday, step...): the allowed values. */
  readonly values?: readonly string[];
  /** With values: what a value outside them renders as; without it, such a value is an error. */
  readonly otherwise?: string;
  /** Numbers: the allowed range; lists: how many items. */
  readonly min?: number;
  readonly max?: number;
}

export type TemplateKind = 'promotion' | 'greeting' | 'personal' | 'vip' | 'transactional' | 'followup';

export interface TemplateInfo {
  name: string;
  purpose: string;
  locales: string[];
  variables: VariableSpec[];
  kind?: string;
}

export interface TemplateLibrary {
  list(): TemplateInfo[];
  has(name: string): boolean;
  /** The template locale to use for a wanted BCP 47 tag, along the fallback chain; undefined when none fits. */
  resolveLocale(name: string, wanted: string | null | undefined): string | undefined;
  /** Renders one mail. Throws AppError (TEMPLATE_NOT_FOUND, TEMPLATE_VARIABLE_MISSING, TEMPLATE_RENDER_FAILED). */
  render(name: string, locale: string, data: Record<string, unknown>): RenderedMail;
  /** Renders many recipients from one compiled template; throws on the first failing recipient (naming it). */
  renderBatch(name: string, locale: string, data: ReadonlyArray<Record<string, unknown>>): RenderedMail[];
  requiredVariables(name: string): string[];
  /** The sample data set of a template for a locale (common sample merged with the template's). */
  sampleData(name: string, locale: string): Record<string, unknown>;
  /** A version string per template and locale (hash of every source file that went into it). */
  version(name: string, locale: string): string | undefined;
  /** Stops the dev-mode file watcher, if any. */
  close(): void;
}

export interface LoadOptions {
  /** Extra fallback steps per locale tag, e.g. { 'zh-TW': ['zh-CN'] }. `en` is always the last resort. */
  fallback?: Record<string, string[]>;
  /** Watch the folder and recompile a template when one of its files changes. */
  dev?: boolean;
  /** "now" for time-of-day greetings when the data has no `now`. */
  clock?: { now(): Date };
  /**
   * Folder of the compiled-template disk cache (default $RAPPORT_TEMPLATE_CACHE or
   * <tmp>/rapport-template-cache); false turns it off.
   */
  cacheDir?: string | false;
  /** Called when a dev-mode recompile fails (the previous compiled version stays in use). */
  onReloadError?: (error: Error) => void;
}
