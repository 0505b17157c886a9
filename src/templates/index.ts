/** The templates domain: MJML + Handlebars mails, compiled once, rendered per recipient. */
export type { RenderedMail, TemplateInfo, TemplateLibrary, VariableSpec, VariableType, TemplateKind, LoadOptions } from './types.ts';
export { loadTemplateLibrary, deepMerge } from './template-library.ts';
export { resolveLocale, fallbackChain, DEFAULT_FALLBACK } from './locale-fallback.ts';
export { salutation, timeOfDayGreeting } from './salutation.ts';
export { cleanSubject } from './render-mail.ts';
export { parseTemplateSettings, templateLibraryOptions, type TemplateSettings } from './template-settings.ts';
