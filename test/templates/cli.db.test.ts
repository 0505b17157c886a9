import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { useTestDb } from '../support/test-db.ts';
import { buildProgram } from '../../src/cli/program.ts';
import type { Runner } from '../../src/cli/context.ts';
import { loadConfig } from '../../src/config/config.ts';
import { silentLogger } from '../../src/shared/logger.ts';
import { ManualClock } from '../../src/shared/clock.ts';
import { isAppError } from '../../src/shared/app-error.ts';
import { TEMPLATES_DIR } from './support.ts';

const t = useTestDb();

async function cli(args: string[]): Promise<{ out: string; error?: string }> {
  const lines: string[] = [];
  const config = loadConfig({ RAPPORT_TEMPLATES_DIR: TEMPLATES_DIR }, os.tmpdir());
  const run: Runner = (fn) => fn({ config, db: t.db, logger: silentLogger, clock: new ManualClock('2026-11-23T09:30:00Z'), out: (l) => lines.push(l) });
  try {
    await buildProgram(run).parseAsync(['node', 'rapport', ...args]);
    return { out: lines.join('\n') };
  } catch (e) {
    if (!isAppError(e)) throw e;
    return { out: lines.join('\n'), error: e.message };
  }
}

describe('rapport templates', () => {
  it('list, render --json, preview --data, lint, and preview --client from the client book', async () => {
    const list = await cli(['templates', 'list', '--json']);
    const names = (JSON.parse(list.out) as Array<{ name: string }>).map((x) => x.name);
    expect(names).toContain('new-product-push');
    expect((await cli(['templates', 'list'])).out).toMatch(/vip-summary\s+vip\s+en, zh-CN/);

    const r = await cli(['templates', 'render', 'birthday', '--locale', 'zh-TW', '--json']);
    const json = JSON.parse(r.out) as { locale: string; subject: string; html: string; text: string };
    expect(json.locale).toBe('zh-CN');
    expect(json.subject).toBe('王伟，生日快乐！');
    expect(json.text).toContain('王总您好！');

    const out = mkdtempSync(path.join(os.tmpdir(), 'rapport-preview-'));
    const dataFile = path.join(out, 'data.json');
    writeFileSync(dataFile, JSON.stringify({
      contact: { name: 'Ana Costa', title: 'Ms.' }, client: { name: 'Costa & Filhos' }, recipient: 'ana@costa.example',
      sender: { name: 'Lily Chen', company: 'Brightway', website: 'https://brightway.example', email: 'lily@brightway.example' },
      month: 5,
    }));
    const p = await cli(['templates', 'preview', 'monthly-card', '--data', dataFile, '--out', out]);
    expect(p.error).toBeUndefined();
    expect(p.out).toContain('subject: Wishing you a bright May, Ana Costa');
    expect(readFileSync(path.join(out, 'monthly-card.en.html'), 'utf8')).toContain('Dear Ms. Costa,');
    expect(readFileSync(path.join(out, 'monthly-card.en.txt'), 'utf8')).toContain('Dear Ms. Costa,');

    const missing = await cli(['templates', 'preview', 'monthly-card', '--data', path.join(out, 'nope.json')]);
    expect(missing.error).toMatch(/--data .*nope\.json: cannot be read/);
    const bad = await cli(['templates', 'render', 'no-such', '--json']);
    expect(bad.error).toMatch(/template "no-such" does not exist/);

    const client = await t.db.kysely.insertInto('clients').values({ name: 'Huaxin Trading', name_key: 'huaxin trading', country: 'CN', time_zone: 'Asia/Shanghai', language: 'zh-CN' }).returning('id').executeTakeFirstOrThrow();
    await t.db.kysely.insertInto('contacts').values({ client_id: client.id, name: '李娜', title: '采购经理', language: 'zh-CN' }).execute();
    const c = await cli(['templates', 'preview', 'new-product-push', '--client', String(client.id), '--out', out]);
    expect(c.error).toBeUndefined();
    expect(c.out).toContain('locale:  zh-CN');
    expect(readFileSync(path.join(out, 'new-product-push.zh-CN.txt'), 'utf8')).toContain('李经理您好！');
    expect(readFileSync(path.join(out, 'new-product-push.zh-CN.html'), 'utf8')).toContain('Huaxin Trading');
    expect((await cli(['templates', 'preview', 'birthday', '--client', '999999'])).error).toMatch(/client 999999: no such client/);

    const lint = await cli(['templates', 'lint']);
    expect(lint.error).toBeUndefined();
    expect(lint.out).toContain('0 error(s), 0 warning(s)');
  });
});
