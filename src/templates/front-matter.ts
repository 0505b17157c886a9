/** The locale file: YAML front matter (subject, preheader, copy) between --- lines, then the MJML body. Pure. */
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

const frontSchema = z.object({
  subject: z.string().min(1),
  preheader: z.string().optional(),
  copy: z.record(z.string(), z.unknown()).default({}),
});

export type FrontMatter = z.infer<typeof frontSchema>;

export interface LocaleFile {
  readonly front: FrontMatter;
  readonly body: string;
  /** Line number (1-based) of the body's first line in the file. */
  readonly bodyLine: number;
  /** Line numbers of the subject and preheader keys. */
  readonly subjectLine: number;
  readonly preheaderLine: number;
}

export class FrontMatterError extends Error {
  constructor(readonly line: number, message: string) {
    super(message);
  }
}

export function parseLocaleFile(text: string): LocaleFile {
  const lines = text.split(/\r?\n/);
  if (lines[0]?.trim() !== '---') throw new FrontMatterError(1, 'must start with a --- line, then subject: ..., then ---');
  const end = lines.findIndex((l, i) => i > 0 && l.trim() === '---');
  if (end === -1) throw new FrontMatterError(1, 'the front matter has no closing --- line');
  let raw: unknown;
  try {
    raw = parseYaml(lines.slice(1, end).join('\n'));
  } catch (cause) {
    const m = /line (\d+)/.exec(String((cause as Error).message));
    throw new FrontMatterError(m ? Number(m[1]) + 1 : 2, `front matter is not valid YAML: ${String((cause as Error).message).split('\n')[0]}`);
  }
  const parsed = frontSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new FrontMatterError(2, `front matter: ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`);
  }
  const keyLine = (key: string): number => {
    const i = lines.slice(1, end).findIndex((l) => l.startsWith(`${key}:`));
    return i === -1 ? 1 : i + 2;
  };
  return {
    front: parsed.data,
    body: lines.slice(end + 1).join('\n'),
    bodyLine: end + 2,
    subjectLine: keyLine('subject'),
    preheaderLine: keyLine('preheader'),
  };
}
