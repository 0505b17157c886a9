import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const tsx = path.resolve(here, '../../../node_modules/.bin/tsx');

/** `support/sync-child.ts` in a process of its own, to be killed with SIGKILL mid-sync; its stderr is shown when it fails. */
export function runSyncChild(env: NodeJS.ProcessEnv): { done: Promise<number>; kill(): void } {
  const child = spawn(tsx, [path.join(here, 'sync-child.ts')], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  return {
    done: new Promise((resolve) =>
      child.on('exit', (code, signal) => {
        if (code !== 0 && signal === null) process.stderr.write(`sync child: ${err}\n`);
        resolve(code ?? -1);
      }),
    ),
    kill: () => child.kill('SIGKILL'),
  };
}
