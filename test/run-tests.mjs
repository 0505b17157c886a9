#!/usr/bin/env node
// The README's test command. Runs the whole suite on PGlite, and the database
// tests again on PostgreSQL when a server answers at RAPPORT_TEST_PG_URL
// (default postgres://postgres@127.0.0.1:5432/test). Under CI=true a missing
// server is a failure, not a skip.
import { spawnSync } from 'node:child_process';
import net from 'node:net';

const url = new URL(process.env.RAPPORT_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test');
const reachable = await new Promise((resolve) => {
  const socket = net.connect({ host: url.hostname, port: Number(url.port || 5432) });
  socket.setTimeout(2000);
  socket.once('connect', () => { socket.destroy(); resolve(true); });
  socket.once('error', () => resolve(false));
  socket.once('timeout', () => { socket.destroy(); resolve(false); });
});
const projects = ['--project', 'pglite'];
if (reachable) projects.push('--project', 'postgres');
else if (process.env.CI === 'true') {
  console.error(`PostgreSQL at ${url.hostname}:${url.port || 5432} is not reachable, and CI=true needs it`);
  process.exit(1);
} else {
  console.warn(`note: PostgreSQL at ${url.hostname}:${url.port || 5432} is not reachable: running the PGlite project only (set RAPPORT_TEST_PG_URL to test on a server)`);
}
const args = ['vitest', 'run', ...projects, ...process.argv.slice(2)];
const res = spawnSync('npx', args, { stdio: 'inherit', env: process.env });
process.exit(res.status ?? 1);
