import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.ts';
import { importMessage } from '../../src/mailbox/index.ts';
import { enqueueMail } from '../../src/outbound/index.ts';
import { runCli } from '../support/cli.ts';
import { testBackend, useTestDb } from '../support/test-db.ts';
import { dsnFixture } from './dsn-fixtures.ts';
import { addTestAccount } from './helpers.ts';
import { startSink } from './smtp-sink.ts';

describe(`rapport send (CLI) on ${testBackend}`, () => {
  const t = useTestDb();
  const base = loadConfig({});
  const config = (outbound: Record<string, unknown> = {}) => ({ ...base, secretKey: 'k'.repeat(44), sections: { ...base.sections, outbound: { publicUrl: 'https://rapport.example.com', ...outbound } } });

  it('send test sends one rendered template now; --dry-run renders and sends nothing; bad input is one line', async () => {
    const sink = await startSink();
    try {
      await addTestAccount(t.db, { name: 'sales', email: 'sales@maker.cn', smtpPort: sink.port, savesSent: true });
      const dry = await runCli(t.db, ['send', 'test', '--account', 'sales', '--to', 'me@maker.cn', '--template', 'order-status', '--dry-run'], { extra: { config: config() } });
      expect(dry.error).toBeUndefined();
      expect(dry.out).toMatch(/^\d+\twould-send\tme@maker\.cn$/);
      expect(sink.mails).toHaveLength(0);

      const res = await runCli(t.db, ['send', 'test', '--account', 'sales', '--to', 'me@maker.cn', '--template', 'order-status', '--json'], { extra: { config: config() } });
      expect(res.error).toBeUndefined();
      const report = res.json<{ mails: Array<{ outcome: string; toAddress: string }> }>();
      expect(report.mails).toEqual([expect.objectContaining({ outcome: 'sent', toAddress: 'me@maker.cn' })]);
      expect(sink.mails).toHaveLength(1);
      expect(sink.mails[0]!.raw.toString()).toMatch(/^Subject: /m);
      const rows = await t.db.kysely.selectFrom('outbox').select(['state', 'kind']).orderBy('id').execute();
      expect(rows).toEqual([{ state: 'cancelled', kind: 'transactional' }, { state: 'sent', kind: 'transactional' }]);

      const bad = await runCli(t.db, ['send', 'test', '--account', 'sales', '--to', 'me@maker.cn', '--template', 'no-such-template'], { extra: { config: config() } });
      expect(bad.error).toMatch(/^--template no-such-template: no such template in /);
      const noAcct = await runCli(t.db, ['send', 'test', '--account', 'nobody', '--to', 'me@maker.cn', '--template', 'order-status'], { extra: { config: config() } });
      expect(noAcct.error).toMatch(/nobody/);
      expect(sink.mails).toHaveLength(1);
    } finally {
      await sink.close();
    }
  }, 60_000);

  it('send run --once --dry-run changes nothing; send bounces reads new reports once; outbox list shows the bounce', async () => {
    const acct = await addTestAccount(t.db, { name: 'sales', email: 'sales@maker.cn', smtpPort: 1 });
    await enqueueMail(t.db, [{ idempotencyKey: 'w', accountId: acct.id, toAddress: 'wang@acme-gone.com', kind: 'personal', subject: 'Hello', textBody: 'Hi' }]);
    const dry = await runCli(t.db, ['send', 'run', '--once', '--dry-run'], { extra: { config: config({ throttles: false }) } });
    expect(dry.error).toBeUndefined();
    expect(dry.out).toMatch(/\twould-send\twang@acme-gone\.com\n.*dry run: nothing sent$/s);
    expect((await t.db.kysely.selectFrom('outbox').select('state').executeTakeFirstOrThrow()).state).toBe('planned');

    await sql`UPDATE outbox SET state = 'sent', sent_at = '2026-11-01T00:00:00Z'`.execute(t.db.kysely);
    const inbox = await sql<{ id: number }>`INSERT INTO mail_folders (account_id, path, role) VALUES (${acct.id}, 'INBOX', 'inbox') RETURNING id`.execute(t.db.kysely);
    await importMessage(t.db, dsnFixture('postfix-user-unknown', 'whatever@maker.cn'), { accountId: acct.id, folderId: Number(inbox.rows[0]!.id), uid: 1 });
    const first = await runCli(t.db, ['send', 'bounces', '--no-fetch'], { extra: { config: config() } });
    expect(first.error).toBeUndefined();
    expect(first.out).toBe('bounce reports: 1 read, 1 addresses suppressed, 0 mails blocked or failed, 0 delays, 0 not sent by Rapport');
    const again = await runCli(t.db, ['send', 'bounces', '--no-fetch', '--json'], { extra: { config: config() } });
    expect(again.json()).toMatchObject({ dsnMessages: 0, hard: 0 });
    await sql`INSERT INTO outbox (idempotency_key, account_id, to_address, kind, message_id, state) VALUES ('u', ${acct.id}, 'u@x.com', 'personal', 'u-1@maker.cn', 'uncertain')`.execute(t.db.kysely);
    const status = await runCli(t.db, ['send', 'status', '--json'], { extra: { config: config() } });
    expect(status.json()).toEqual([{ account: 'sales', paused: null, planned: 0, uncertain: 1, sentToday: 0, copiesWaiting: 0 }]);
    const list = await runCli(t.db, ['outbox', 'list', '--state', 'sent', '--json'], { extra: { config: config() } });
    expect(list.json<Array<{ state: string; reason: string }>>()[0]).toMatchObject({ state: 'sent', reason: expect.stringMatching(/^bounced: 5\.1\.1 550 5\.1\.1 <wang@acme-gone\.com>: Recipient address rejected/) });
  }, 60_000);

  it('accounts remove says why it refuses an account that has mail in flight, queued or on record, and removes nothing', async () => {
    const acct = await addTestAccount(t.db, { name: 'sales', email: 'sales@maker.cn', smtpPort: 1 });
    await addTestAccount(t.db, { name: 'spare', email: 'spare@maker.cn', smtpPort: 1 });
    await enqueueMail(t.db, [
      { idempotencyKey: 'a', accountId: acct.id, toAddress: 'a@acme.com', kind: 'personal', subject: 'A', textBody: 'a' },
      { idempotencyKey: 'b', accountId: acct.id, toAddress: 'b@acme.com', kind: 'personal', subject: 'B', textBody: 'b' },
    ]);
    await sql`UPDATE outbox SET state = 'claimed' WHERE idempotency_key = 'b'`.execute(t.db.kysely);
    const remove = (name: string) => runCli(t.db, ['accounts', 'remove', name], { extra: { config: config() } });
    expect((await remove('sales')).error).toBe('account sales: 1 mail(s) are being sent from it right now; stop `rapport send run` and try again');
    await sql`UPDATE outbox SET state = 'sent' WHERE idempotency_key = 'b'`.execute(t.db.kysely);
    expect((await remove('sales')).error).toBe('account sales: 1 mail(s) still queued in the outbox (rapport outbox list --account sales); cancel them first');
    await sql`UPDATE outbox SET state = 'cancelled' WHERE idempotency_key = 'a'`.execute(t.db.kysely);
    expect((await remove('sales')).error).toBe('account sales: the outbox keeps the record of 2 mail(s) sent or tried from it, so the account stays; `rapport accounts disable sales` stops syncing it and `rapport send pause --account sales` its sending');
    expect((await t.db.kysely.selectFrom('outbox').select('state').orderBy('idempotency_key').execute()).map((r) => r.state)).toEqual(['cancelled', 'sent']);
    const disabled = await runCli(t.db, ['accounts', 'disable', 'sales'], { extra: { config: config() } });
    expect(disabled.out).toBe('account sales disabled: not synced, not used by campaigns; `rapport send pause --account sales` also stops its queued mail');
    expect((await t.db.kysely.selectFrom('mail_accounts').select(['name', 'enabled']).orderBy('name').execute())).toEqual([{ name: 'sales', enabled: false }, { name: 'spare', enabled: true }]);
    expect((await runCli(t.db, ['accounts', 'enable', 'sales'], { extra: { config: config() } })).out).toBe('account sales enabled');
    expect((await runCli(t.db, ['accounts', 'disable', 'nobody'], { extra: { config: config() } })).error).toBe('account nobody: no such account');
    // an account that never sent goes
    const spare = await remove('spare');
    expect(spare.error).toBeUndefined();
    expect(spare.out).toBe('account spare removed');
    expect((await t.db.kysely.selectFrom('mail_accounts').select('name').execute()).map((r) => r.name)).toEqual(['sales']);
  }, 60_000);

  it('outbox show, cancel and retry: the row and its history, --json, and a one-line refusal for what cannot be done', async () => {
    const acct = await addTestAccount(t.db, { name: 'sales', email: 'sales@maker.cn', smtpPort: 1 });
    await enqueueMail(t.db, [
      { idempotencyKey: 'p', accountId: acct.id, toAddress: 'p@acme.com', kind: 'personal', subject: 'P', textBody: 'p' },
      { idempotencyKey: 's', accountId: acct.id, toAddress: 's@acme.com', kind: 'personal', subject: 'S', textBody: 's' },
    ]);
    const [p, s] = await t.db.kysely.selectFrom('outbox').select('id').orderBy('idempotency_key').execute();
    await sql`UPDATE outbox SET state = 'sent' WHERE id = ${s!.id}`.execute(t.db.kysely);
    const cli = (args: string[]) => runCli(t.db, args, { extra: { config: config() } });

    const cancel = await cli(['outbox', 'cancel', String(p!.id), String(s!.id), '999999']);
    expect(cancel.error).toBeUndefined();
    expect(cancel.out).toBe(`cancelled 1: ${p!.id}\nnot cancelled ${s!.id}: it is sent\nnot cancelled 999999: no such row`);
    const shown = (await cli(['outbox', 'show', String(p!.id), '--json'])).json<{ row: { state: string; to_address: string }; events: Array<{ event: string }> }>();
    expect(shown.row).toMatchObject({ state: 'cancelled', to_address: 'p@acme.com' });
    expect(shown.events.map((e) => e.event)).toContain('cancelled');
    expect((await cli(['outbox', 'show', String(p!.id)])).out).toMatch(/^state: cancelled$/m);

    expect((await cli(['outbox', 'retry', String(s!.id)])).error).toBe(`outbox row ${s!.id}: is sent; only failed, uncertain, expired or cancelled rows can be retried`);
    expect((await cli(['outbox', 'retry', String(p!.id), '--until', 'soon'])).error).toBe('--until "soon": not a date');
    const retried = await cli(['outbox', 'retry', String(p!.id), '--json']);
    expect(retried.json()).toEqual({ id: p!.id, state: 'planned' });
    expect((await t.db.kysely.selectFrom('outbox').select('state').where('id', '=', p!.id).executeTakeFirstOrThrow()).state).toBe('planned');
    expect((await cli(['outbox', 'show', '999999'])).error).toBe('outbox row 999999: no such row');
  }, 60_000);
});
