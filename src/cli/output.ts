/** Prints a value as stable, indented JSON (the --json contract). */
export function formatJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v), 2);
}

function width(text: string): number {
  // East Asian wide characters take two columns in a terminal.
  let w = 0;
  for (const ch of text) w += /[\u1100-\u115F\u2E80-\uA4CF\uAC00-\uD7A3\uF900-\uFAFF\uFE30-\uFE4F\uFF00-\uFF60\uFFE0-\uFFE6]/.test(ch) ? 2 : 1;
  return w;
}

/** A plain aligned table for people. */
export function formatTable<T extends object>(rows: ReadonlyArray<T>, columns: ReadonlyArray<string>): string {
  const cell = (v: unknown): string => (v === null || v === undefined ? '' : v instanceof Date ? v.toISOString() : Array.isArray(v) ? v.join(', ') : String(v)).replace(/[\r\n]+/g, ' ');
  const data = rows.map((r) => columns.map((c) => cell((r as Record<string, unknown>)[c])));
  const widths = columns.map((c, i) => Math.max(width(c), ...data.map((r) => width(r[i] ?? ''))));
  const line = (cells: string[]): string => cells.map((t, i) => t + ' '.repeat(Math.max(0, (widths[i] ?? 0) - width(t)))).join('  ').trimEnd();
  return [line([...columns]), line(widths.map((w) => '-'.repeat(w))), ...data.map(line)].join('\n');
}
