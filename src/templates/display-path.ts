import path from 'node:path';

/** A file path for messages: relative to the working folder when inside it, else absolute. */
export function displayPath(file: string): string {
  const rel = path.relative(process.cwd(), file);
  return rel === '' ? file : rel.startsWith('..') || path.isAbsolute(rel) ? file : rel;
}
