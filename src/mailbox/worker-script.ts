import { buildSync } from 'esbuild';
import { fileURLToPath } from 'node:url';

const scripts = new Map<string, string | null>();

/**
 * A worker's TypeScript entry as one CommonJS script, for `new Worker(script, { eval: true })`:
 * bundled by esbuild from the sources the first time it is asked for in a process (packages stay
 * outside, required from node_modules as usual, relative to the entry). A worker started from it
 * needs no TypeScript loader: started through tsx (module.register), each worker ran a loader
 * thread of its own, which doubled its start (measured: ~790 against ~385 ms of CPU a parse
 * worker, which every sync run that parses pays twice). Bundled from the sources at run time, it
 * cannot go stale as a build output could. Null when esbuild cannot run here: the caller then
 * starts its workers through tsx.
 */
export function workerScript(entry: URL): string | null {
  const file = fileURLToPath(entry);
  if (scripts.has(file)) return scripts.get(file) ?? null;
  let script: string | null = null;
  try {
    const out = buildSync({ entryPoints: [file], bundle: true, platform: 'node', format: 'cjs', packages: 'external', target: 'node20', write: false, logLevel: 'silent' });
    const code = out.outputFiles[0]?.text;
    // eval'd code has require(), but relative to the working directory: the bundle's packages are required relative to the entry
    if (code) script = `'use strict';\n((require) => {\n${code}\n})(require('node:module').createRequire(${JSON.stringify(file)}));\n`;
  } catch {
    script = null;
  }
  scripts.set(file, script);
  return script;
}
