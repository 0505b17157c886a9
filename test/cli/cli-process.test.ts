import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PGlite } from '@electric-sql/pglite';

// The real `rapport` binary, as a user runs it: exit codes, one-line errors, no stack traces.
const BIN = path.resolve('src/cli/rapport.mjs');
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function rapport(args: string[], env: Record<string, string> = {}) {
  const res = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, RAPPORT_LOG_LEVEL: 'silent', ...env }, timeout: 60_000 });
  return { code: res.status, out: res.stdout, err: res.stderr };
}

describe('the rapport command', () => {
  it('prints help and exits 0', () => {
    const r = rapport(['--help']);
    expect(r.code).toBe(0);
    for (const c of ['clients', 'contacts', 'orders', 'inquiries', 'touch', 'segments', 'import', 'export', 'db', 'demo']) expect(r.out).toMatch(new RegExp(`\\n\\s+${c}\\b`));
  });

  it('reports an unreachable DATABASE_URL in one line within seconds, without a stack trace or the password', () => {
    const started = Date.now();
    const r = rapport(['db', 'status'], { DATABASE_URL: 'postgres://rapport:s3cret@127.0.0.1:1/nowhere' });
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(r.code).toBe(1);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).toMatch(/^rapport: DATABASE_URL 127\.0\.0\.1:1\/nowhere: cannot connect \(.*ECONNREFUSED.*\)/);
    expect(r.err).not.toContain('s3cret');
    expect(r.err).not.toMatch(/\bat .*\.ts:\d+/);
  });

  it('refuses a data folder written by a newer schema version, and leaves it as it was', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'rapport-cli-'));
    dirs.push(dir);
    expect(rapport(['db', 'migrate'], { RAPPORT_DATA_DIR: dir }).code).toBe(0);
    const pg = await PGlite.create(dir);
    await pg.exec("INSERT INTO kysely_migration (name, timestamp) VALUES ('9999_future', now()::text)");
    await pg.close();
    const r = rapport(['clients', 'list'], { RAPPORT_DATA_DIR: dir });
    expect(r.code).toBe(1);
    expect(r.err.trim()).toBe('rapport: database schema public: written by a newer Rapport (unknown migration 9999_future); upgrade Rapport instead of using this version');
    const again = await PGlite.create(dir);
    const rows = await again.query<{ n: number }>('SELECT count(*)::int AS n FROM kysely_migration');
    await again.close();
    expect(rows.rows[0]?.n).toBeGreaterThan(1);
  }, 90_000);

  it('answers bad input with exit 1 and one line naming the input', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'rapport-cli-'));
    dirs.push(dir);
    const r = rapport(['orders', 'add', '--client', '1', '--no', 'X', '--date', '2026-02-30'], { RAPPORT_DATA_DIR: dir });
    expect(r.code).toBe(1);
    expect(r.err).toBe('rapport: date "2026-02-30": not a calendar date\n');
  }, 90_000);

  it('serve: answers the unsubscribe pages until SIGTERM, then stops cleanly; a forged token changes nothing', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'rapport-cli-'));
    dirs.push(dir);
    const child = spawn(process.execPath, [BIN, 'serve', '--port', '0'], {
      env: { ...process.env, RAPPORT_LOG_LEVEL: 'silent', RAPPORT_DATA_DIR: dir, RAPPORT_SECRET_KEY: 'a'.repeat(64) },
    });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const started = Date.now();
      while (!/listening on (http:\/\/\S+)/.test(out) && Date.now() - started < 60_000) await new Promise((r) => setTimeout(r, 100));
      const base = /listening on (http:\/\/\S+)/.exec(out)?.[1];
      expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(await (await fetch(`${base}/health`)).json()).toEqual({ ok: true });
      const forged = await fetch(`${base}/unsubscribe/1.forged`, { method: 'POST', body: 'List-Unsubscribe=One-Click' });
      expect(forged.status).toBe(400);
      expect(await forged.text()).toContain('Nothing was changed');
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(out).toContain('stopped');
  }, 90_000);

  it('serve: a bad port is one line, exit 1', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'rapport-cli-'));
    dirs.push(dir);
    const r = rapport(['serve', '--port', 'eighty'], { RAPPORT_DATA_DIR: dir, RAPPORT_SECRET_KEY: 'a'.repeat(64) });
    expect(r.code).toBe(1);
    expect(r.err).toBe('rapport: --port "eighty": not a port number\n');
  });
});
