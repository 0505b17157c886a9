/** The `templates:` section of the config file. */
import { z } from 'zod';
import { parseConfigSection } from '../config/section.ts';

const schema = z
  .object({
    /** Extra fallback steps per locale, e.g. { zh-TW: [zh-CN] }; 'en' always ends the chain. */
    fallback: z.record(z.string().min(2), z.array(z.string().min(2))).default({}),
    /** Recompile templates when their files change (for people editing templates). */
    dev: z.boolean().default(false),
  })
  .strict();

export type TemplateSettings = z.infer<typeof schema>;

export function parseTemplateSettings(raw: unknown): TemplateSettings {
  return parseConfigSection('templates', schema, raw);
}

/** The library options the config asks for (`templates.fallback`, `templates.dev`): every command that loads templates uses these. */
export function templateLibraryOptions(raw: unknown): { fallback: TemplateSettings['fallback']; dev: boolean } {
  const s = parseTemplateSettings(raw);
  return { fallback: s.fallback, dev: s.dev };
}
