/**
 * Builds the MJML source of one template and locale: the shared layout, the locale's body, and
 * our partials, included where a line holds only `{{> name}}`. Keeps where each line came from,
 * so MJML and Handlebars errors name the file and line a person must fix. Pure.
 */

export interface SourceFile {
  readonly file: string;
  readonly text: string;
  /** The line number of the file's first line of `text` (front matter shifts a body down). */
  readonly firstLine?: number;
}

export interface LineOrigin {
  readonly file: string;
  readonly line: number;
  /** True for lines from our shared partials/layout (triple-stash allowed there). */
  readonly trusted: boolean;
}

export interface AssembledSource {
  readonly text: string;
  readonly origins: readonly LineOrigin[];
}

export class AssembleError extends Error {
  constructor(readonly file: string, readonly line: number, message: string) {
    super(message);
  }
}

const INCLUDE = /^\s*\{\{>\s*([A-Za-z][\w-]*)\s*\}\}\s*$/;

/** `body` is the template's own file; other names resolve through `partial`. */
export function assembleSource(
  layout: SourceFile,
  body: SourceFile,
  partial: (name: string) => SourceFile | undefined,
  macros: Readonly<Record<string, string>>,
): AssembledSource {
  const lines: string[] = [];
  const origins: LineOrigin[] = [];
  const expand = (src: SourceFile, trusted: boolean, stack: readonly string[]): void => {
    const first = src.firstLine ?? 1;
    src.text.split(/\r?\n/).forEach((raw, i) => {
      const m = INCLUDE.exec(raw);
      if (m) {
        const name = m[1]!;
        if (name === 'body') {
          if (stack.includes(body.file)) throw new AssembleError(src.file, first + i, 'the body includes itself');
          expand(body, false, [...stack, body.file]);
          return;
        }
        const p = partial(name);
        if (!p) throw new AssembleError(src.file, first + i, `unknown partial "${name}"`);
        if (stack.includes(p.file)) throw new AssembleError(src.file, first + i, `partial "${name}" includes itself`);
        expand(p, true, [...stack, p.file]);
        return;
      }
      let line = raw;
      for (const [k, v] of Object.entries(macros)) if (line.includes(`%${k}%`)) line = line.split(`%${k}%`).join(v);
      lines.push(line);
      origins.push({ file: src.file, line: first + i, trusted });
    });
  };
  expand(layout, true, [layout.file]);
  return { text: lines.join('\n'), origins };
}

/** Maps a 1-based line of the assembled text to its file and line. */
export function originOf(src: AssembledSource, line: number): LineOrigin {
  return src.origins[Math.min(Math.max(line, 1), src.origins.length) - 1] ?? { file: '?', line, trusted: false };
}
