import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';

/** Makes one empty PGlite snapshot that every test file loads (fast) instead of initdb (slow). */
export default async function setup(): Promise<() => void> {
  if (process.env.RAPPORT_TEST_BACKEND === 'postgres') return () => undefined;
  const dir = path.join(os.tmpdir(), 'rapport-test');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `pglite-snapshot-${process.pid}.tar`);
  const pglite = await PGlite.create();
  const blob = await pglite.dumpDataDir('none');
  writeFileSync(file, Buffer.from(await blob.arrayBuffer()));
  await pglite.close();
  process.env.RAPPORT_TEST_PGLITE_SNAPSHOT = file;
  return () => undefined;
}
