import { describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { importMessage } from '../../src/mailbox/index.ts';
import { useTestDb, testBackend, type TestDb } from '../support/test-db.ts';
import { runCli } from '../support/cli.ts';
import { ManualClock } from '../../src/shared/clock.ts';
import {
  parseTriageSettings, runTriage, loadBoard, replyReport, runAlerts, loadTriageEnv, clientRepliedSince, threadHasReplyAfter, setCalendarDay, type AlertMailer,
} from '../../src/triage/index.ts';
import { FIXTURE_DIR } from './quality-set.ts';

const settings = parseTriageSettings({ company: { names: ['Hengda'], products: ['HD-PH12', 'HD-GR4', 'FP-30'] } });
const sh = (local: string) => new Date(`${local}+08:00`);

function fixture(name: string): Buffer {
  return readFileSync(path.join(FIXTURE_DIR, name));
}

function eml(o: { from: string; to: string; subject: string; date: string; id: string; inReplyTo?: string; headers?: Record<string, string>; body: string }): Buffer {
  const lines = [`From: ${o.from}`, `To: ${o.to}`, `Subject: ${o.subject}`, `Date: ${o.date}`, `Message-ID: <${o.id}>`];
  if (o.inReplyTo) lines.push(`In-Reply-To: <${o.inReplyTo}>`, `References: <${o.inReplyTo}>`);
  for (const [k, v] of Object.entries(o.headers ?? {})) lines.push(`${k}: ${v}`);
  lines.push('MIME-Version: 1.0', 'Content-Type: text/plain; charset=utf-8', '', o.body, '');
  return Buffer.from(lines.join('\r\n'));
}

async function seed(db: TestDb) {
  const owner = await db.kysely.insertInto('owners').values({ name: 'Linda Wu', email: 'linda.wu@hengda-outdoor.com', time_zone: 'Asia/Shanghai' }).returning('id').executeTakeFirstOrThrow();
  const account = await db.kysely.insertInto('mail_accounts').values({ name: 'linda', email: 'linda.wu@hengda-outdoor.com', extra_addresses: ['sales@hengda-outdoor.com', 'kevin.zhang@hengda-outdoor.com', 'docs@hengda-outdoor.com'], owner_id: owner.id }).returning('id').executeTakeFirstOrThrow();
  const client = async (name: string, domain: string, tier: 'key' | 'major' | 'normal', zone: string) => {
    const c = await db.kysely.insertInto('clients').values({ name, name_key: name.toLowerCase(), owner_id: owner.id, tier_override: tier, time_zone: zone, status: 'active' }).returning('id').executeTakeFirstOrThrow();
    await db.kysely.insertInto('client_domains').values({ domain, client_id: c.id }).execute();
    return c.id;
  };
  const gardenWorld = await client('Garden World', 'gardenworld.co.uk', 'normal', 'Europe/London');
  const greenleaf = await client('Greenleaf Stores', 'greenleafstores.com', 'key', 'America/New_York');
  const bbq = await client('Barbecue Depot', 'barbecue-depot.com', 'key', 'America/Los_Angeles');
  return { ownerId: owner.id, accountId: account.id, gardenWorld, greenleaf, bbq };
}

async function targets(db: TestDb) {
  return db.kysely.selectFrom('reply_targets').selectAll().orderBy('id').execute();
}

describe(`triage on stored mail (${testBackend})`, () => {
  const t = useTestDb();

  it('scores linked threads, stops the clock at our first human reply (not at an auto-reply or internal forward), and recomputes from events', async () => {
    const db = t.db;
    const s = await seed(db);
    const inq = await importMessage(db, fixture('001-en-inq-1to1-01.eml'), { accountId: s.accountId });
    expect(inq.threadId).not.toBeNull();
    // Tue 1 Dec 10:12 London = 18:12 Shanghai, after hours: 12 working hours from Wed 09:00 -> Thu 12:00 (9 + 3)
    const clock = new ManualClock(sh('2026-12-02T09:30:00'));
    await runTriage(db, settings, clock);
    let rows = await targets(db);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ kind: 'reply', channel: 'email', status: 'open', category: 'inquiry', client_id: s.gardenWorld, owner_id: s.ownerId, met_at: null });
    expect(rows[0]!.due_at.toISOString()).toBe(sh('2026-12-03T12:00:00').toISOString());
    const result = await db.kysely.selectFrom('triage_results').selectAll().where('message_id', '=', inq.rowId).executeTakeFirstOrThrow();
    expect(result).toMatchObject({ category: 'inquiry', delivery: 'one-to-one', channel: 'email', due_in_hours: 12 });
    expect(result.reasons.length).toBeGreaterThan(2);

    // our auto-reply and an internal forward do not stop the clock
    await importMessage(db, eml({ from: 'Linda Wu <linda.wu@hengda-outdoor.com>', to: 'mark.peters@gardenworld.co.uk', subject: 'Automatic reply: Patio heaters for our spring range', date: 'Tue, 01 Dec 2026 10:13:00 +0000', id: 'ar-1@hengda-outdoor.com', inReplyTo: 'en-inq-1to1-01.1@gardenworld.co.uk', headers: { 'Auto-Submitted': 'auto-replied' }, body: 'I am out of the office.' }), { accountId: s.accountId });
    await importMessage(db, eml({ from: 'Linda Wu <linda.wu@hengda-outdoor.com>', to: 'kevin.zhang@hengda-outdoor.com', subject: 'Fwd: Patio heaters for our spring range', date: 'Wed, 02 Dec 2026 01:40:00 +0000', id: 'fw-1@hengda-outdoor.com', inReplyTo: 'en-inq-1to1-01.1@gardenworld.co.uk', body: 'Kevin, can you price this?' }), { accountId: s.accountId });
    await runTriage(db, settings, clock);
    rows = await targets(db);
    expect(rows[0]).toMatchObject({ met_at: null, status: 'open' });

    // our human reply (as found in the Sent folder) stops it
    const reply = await importMessage(db, eml({ from: 'Linda Wu <linda.wu@hengda-outdoor.com>', to: 'Mark Peters <mark.peters@gardenworld.co.uk>', subject: 'Re: Patio heaters for our spring range', date: 'Wed, 02 Dec 2026 03:00:00 +0000', id: 're-1@hengda-outdoor.com', inReplyTo: 'en-inq-1to1-01.1@gardenworld.co.uk', body: 'Dear Mark, our price is USD 98.' }), { accountId: s.accountId });
    expect(reply.threadId).toBe(inq.threadId);
    clock.set(sh('2026-12-04T09:00:00'));
    await runTriage(db, settings, clock);
    rows = await targets(db);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: 'met', met_by_message_id: reply.rowId });
    expect(rows[0]!.met_at!.toISOString()).toBe(new Date('2026-12-02T03:00:00Z').toISOString());

    // changing the calendar recomputes history: Thursday 3 Dec becomes a day off, the due time moves to Friday
    await setCalendarDay(db, '2026-12-03', false, 'company outing');
    await runTriage(db, settings, clock);
    rows = await targets(db);
    expect(rows[0]!.due_at.toISOString()).toBe(sh('2026-12-04T12:00:00').toISOString());
  });

  it('a reply sent by Rapport itself (outbox, not yet synced from Sent) stops the clock', async () => {
    const db = t.db;
    const s = await seed(db);
    const inq = await importMessage(db, fixture('001-en-inq-1to1-01.eml'), { accountId: s.accountId });
    const clock = new ManualClock(sh('2026-12-04T09:30:00'));
    await runTriage(db, settings, clock);
    expect((await targets(db))[0]).toMatchObject({ status: 'breached', met_at: null });
    await sql`INSERT INTO outbox (idempotency_key, account_id, to_address, kind, message_id, in_reply_to, state, sent_at, text_body)
      VALUES ('reply-1', ${s.accountId}, 'mark.peters@gardenworld.co.uk', 'reply', 'out-1@hengda-outdoor.com', 'en-inq-1to1-01.1@gardenworld.co.uk', 'sent', ${sh('2026-12-02T10:00:00')}, 'Dear Mark, our offer.')`.execute(db.kysely);
    await runTriage(db, settings, clock);
    const row = (await targets(db))[0]!;
    expect(row).toMatchObject({ status: 'met', met_by_message_id: null });
    expect(row.met_at!.toISOString()).toBe(sh('2026-12-02T10:00:00').toISOString());
    expect(inq.rowId).toBe(row.message_id);
  });

  it('a logged call stops a phone target; a complaint keeps ack and plan clocks; the board, report and client-replied follow', async () => {
    const db = t.db;
    const s = await seed(db);
    const urgent = await importMessage(db, fixture('076-en-urg-02.eml'), { accountId: s.accountId }); // customs hold, key client
    const complaint = await importMessage(db, fixture('054-en-cmp-06.eml'), { accountId: s.accountId }); // missing cartons, key client
    const inquiry = await importMessage(db, fixture('010-en-inq-1to1-10.eml'), { accountId: s.accountId }); // Greenleaf, key
    const clock = new ManualClock(sh('2026-12-09T11:00:00'));
    await runTriage(db, settings, clock);
    let rows = await targets(db);
    const byMsg = (id: number) => rows.filter((r) => r.message_id === id).map((r) => r.kind).sort();
    expect(byMsg(urgent.rowId)).toEqual(['phone']);
    // the complaint arrives in another thread of the same client
    expect(byMsg(complaint.rowId)).toEqual(['ack', 'plan']);
    expect(byMsg(inquiry.rowId)).toEqual(['reply']);

    // the board: open targets, overdue first, owner, client, tier, client local time
    let board = await loadBoard(db, clock);
    expect(board.open).toBe(4);
    expect(board.rows.map((r) => r.dueAt.getTime())).toEqual([...board.rows.map((r) => r.dueAt.getTime())].sort((a, b) => a - b));
    expect(board.rows[0]).toMatchObject({ overdue: true, owner: 'Linda Wu', client: 'Barbecue Depot', tier: 'key', kind: 'phone', channel: 'phone' });
    expect(board.rows[0]!.minutesLeft).toBeLessThan(0);
    // 11:00 Wednesday in Shanghai is 19:00 Tuesday at the client in Los Angeles
    expect(board.rows[0]).toMatchObject({ clientTimeZone: 'America/Los_Angeles', clientLocalTime: 'Tue 19:00' });
    expect(board.rows[0]!.explanation).toMatch(/-> phone within 1h/);

    // a logged call stops the phone target
    await db.kysely.insertInto('touchpoints').values({ client_id: s.bbq, owner_id: s.ownerId, kind: 'call', occurred_at: new Date('2026-12-08T16:30:00Z'), summary: 'customs invoice' }).execute();
    // a first reply to the complaint acknowledges it; the plan clock keeps running
    const cmpMsg = await db.kysely.selectFrom('messages').select('message_id').where('id', '=', complaint.rowId).executeTakeFirstOrThrow();
    await importMessage(db, eml({ from: 'Kevin Zhang <kevin.zhang@hengda-outdoor.com>', to: 'james.oneill@barbecue-depot.com', subject: 'Re: Missing items in container', date: 'Fri, 18 Dec 2026 20:30:00 -0800', id: 're-cmp-2@hengda-outdoor.com', inReplyTo: cmpMsg.message_id, body: 'James, we are sorry; we are checking with the warehouse now.' }), { accountId: s.accountId });
    clock.set(sh('2026-12-21T10:00:00'));
    await runTriage(db, settings, clock);
    rows = await targets(db);
    const phone = rows.find((r) => r.message_id === urgent.rowId)!;
    expect(phone.met_by_touchpoint_id).not.toBeNull();
    expect(phone.status).toBe('met');
    const ack = rows.find((r) => r.message_id === complaint.rowId && r.kind === 'ack')!;
    const plan = rows.find((r) => r.message_id === complaint.rowId && r.kind === 'plan')!;
    expect(ack.met_at).not.toBeNull();
    expect(plan.met_at).toBeNull();
    board = await loadBoard(db, clock);
    expect(board.rows.map((r) => r.kind).sort()).toEqual(['plan', 'reply']);

    // report: first-response clocks started in December
    const report = await replyReport(db, clock, { from: new Date('2026-12-01T00:00:00Z'), to: new Date('2027-01-01T00:00:00Z') }, 'category', 'Asia/Shanghai');
    const logistics = report.find((r) => r.group === 'logistics')!;
    expect(logistics).toMatchObject({ targets: 1, answered: 1, met: 1, pctMet: 100 });
    const complaintRow = report.find((r) => r.group === 'complaint')!;
    expect(complaintRow.answered).toBe(1);
    expect(complaintRow.medianHours).toBeGreaterThan(0);
    expect(complaintRow.medianWorkingHours).toBeNull(); // no calendar given: wall-clock hours only
    // with our calendar: working hours between the clock's start and the acknowledgement (a Saturday reply counts from the weekend's start)
    const { calendar } = await loadTriageEnv(db, settings);
    const inWorkingHours = await replyReport(db, clock, { from: new Date('2026-12-01T00:00:00Z'), to: new Date('2027-01-01T00:00:00Z') }, 'category', 'Asia/Shanghai', calendar);
    const cw = inWorkingHours.find((r) => r.group === 'complaint')!;
    expect(cw.medianWorkingHours).toBe(Math.round(calendar.workingHoursBetween(ack.started_at, ack.met_at!) * 10) / 10);
    expect(cw.medianWorkingHours!).toBeLessThan(cw.medianHours!);
    const byOwner = await replyReport(db, clock, { from: new Date('2026-12-01T00:00:00Z'), to: new Date('2027-01-01T00:00:00Z') }, 'owner', 'Asia/Shanghai');
    expect(byOwner).toHaveLength(1);
    expect(byOwner[0]).toMatchObject({ group: 'Linda Wu', targets: 3 });
    // by ISO week of the clock's start, in our zone
    const byWeek = await replyReport(db, clock, { from: new Date('2026-12-01T00:00:00Z'), to: new Date('2027-01-01T00:00:00Z') }, 'week', 'Asia/Shanghai');
    expect(byWeek.every((r) => /^2026-W\d{2}$/.test(r.group))).toBe(true);
    expect(byWeek.reduce((n, r) => n + r.targets, 0)).toBe(3);
    expect(byWeek.map((r) => r.group)).toEqual([...byWeek.map((r) => r.group)].sort());

    // the client replied: human inbound after a date; an auto-reply does not count
    expect(await clientRepliedSince(db, s.greenleaf, new Date('2026-12-01T00:00:00Z'))).toBe(true);
    expect(await clientRepliedSince(db, s.greenleaf, new Date('2026-12-16T00:00:00Z'))).toBe(false);
    const ooo = await importMessage(db, eml({ from: 'Rachel Green <rgreen@greenleafstores.com>', to: 'linda.wu@hengda-outdoor.com', subject: 'Automatic reply: price list', date: 'Mon, 21 Dec 2026 10:00:00 -0500', id: 'ooo-rg@greenleafstores.com', headers: { 'Auto-Submitted': 'auto-replied' }, body: 'I am out of the office until January.' }), { accountId: s.accountId });
    expect(await clientRepliedSince(db, s.greenleaf, new Date('2026-12-16T00:00:00Z'))).toBe(false);
    expect(await threadHasReplyAfter(db, ooo.threadId!, new Date('2026-12-16T00:00:00Z'))).toBe(false);
    await importMessage(db, eml({ from: 'Rachel Green <rgreen@greenleafstores.com>', to: 'linda.wu@hengda-outdoor.com', subject: 'Re: price list', date: 'Tue, 22 Dec 2026 10:00:00 -0500', id: 'rg-2@greenleafstores.com', inReplyTo: 'ooo-rg@greenleafstores.com', body: 'Thanks Linda, looks good.' }), { accountId: s.accountId });
    expect(await clientRepliedSince(db, s.greenleaf, new Date('2026-12-16T00:00:00Z'))).toBe(true);
  });

  it('alerts: one digest per owner by mailer and webhook, once, and only during working hours', async () => {
    const db = t.db;
    const s = await seed(db);
    await importMessage(db, fixture('076-en-urg-02.eml'), { accountId: s.accountId });
    await importMessage(db, fixture('010-en-inq-1to1-10.eml'), { accountId: s.accountId });
    const clock = new ManualClock(sh('2026-12-16T14:30:00'));
    await runTriage(db, settings, clock);
    const env = await loadTriageEnv(db, settings);
    const received: unknown[] = [];
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        received.push(JSON.parse(body));
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    const mails: Array<{ to: string; subject: string; text: string }> = [];
    const mailer: AlertMailer = { send: async (m) => void mails.push(m) };
    try {
      // Saturday: nothing is sent
      const weekend = await runAlerts(db, env.calendar, new ManualClock(sh('2026-12-19T10:00:00')), { dueSoonMinutes: 60, mailer, webhookUrl: url });
      expect(weekend.skipped).toMatch(/outside working hours/);
      expect(mails).toHaveLength(0);
      const first = await runAlerts(db, env.calendar, clock, { dueSoonMinutes: 60, mailer, webhookUrl: url });
      expect(first.delivered).toBe(1);
      expect(mails).toHaveLength(1);
      expect(mails[0]!.to).toBe('linda.wu@hengda-outdoor.com');
      expect(mails[0]!.subject).toBe('Rapport: 1 reply target breached, 1 due soon');
      expect(mails[0]!.text).toMatch(/BREACHED/);
      expect(received).toHaveLength(1);
      expect((received[0] as { items: unknown[] }).items).toHaveLength(2);
      // again: already alerted, nothing new
      const second = await runAlerts(db, env.calendar, clock, { dueSoonMinutes: 60, mailer, webhookUrl: url });
      expect(second.digests).toHaveLength(0);
      expect(mails).toHaveLength(1);
    } finally {
      server.close();
    }
  });

  it('rapport score / board / report replies through the CLI, with stable JSON and one-line errors', async () => {
    const db = t.db;
    const s = await seed(db);
    await importMessage(db, fixture('010-en-inq-1to1-10.eml'), { accountId: s.accountId });
    const clock = new ManualClock(sh('2026-12-16T09:30:00'));
    const file = path.join(FIXTURE_DIR, '010-en-inq-1to1-10.eml');
    const scored = await runCli(db, ['score', file, '--json'], { clock });
    expect(scored.error).toBeUndefined();
    const j = scored.json<Record<string, unknown>>();
    expect(Object.keys(j).slice(0, 6)).toEqual(['category', 'delivery', 'urgency', 'channel', 'dueInHours', 'reasons']);
    expect(j).toMatchObject({ category: 'inquiry', delivery: 'one-to-one', channel: 'email', dueInHours: 6, clientId: s.greenleaf });
    const auto = await runCli(db, ['score', path.join(FIXTURE_DIR, '081-en-auto-01.eml'), '--json', '--us', 'hengda-outdoor.com'], { clock });
    expect(auto.json()).toMatchObject({ category: 'not-for-triage', channel: 'none', skipReason: 'auto-reply', dueInHours: null });
    const text = await runCli(db, ['score', file], { clock });
    expect(text.out).toMatch(/^category: +inquiry/m);
    expect(text.out).toMatch(/key client/);
    const missing = await runCli(db, ['score', '/nonexistent/x.eml'], { clock });
    expect(missing.error).toBe('/nonexistent/x.eml: cannot be read');
    // not a mail, or a mail without a Date: one line naming the file and the problem, never a target from 1970
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'rapport-score-'));
    try {
      const write = (name: string, body: string) => {
        writeFileSync(path.join(tmp, name), body);
        return path.join(tmp, name);
      };
      const empty = write('empty.eml', '');
      expect((await runCli(db, ['score', empty, '--us', 'hengda-outdoor.com'], { clock })).error).toBe(`${empty}: empty file, not an email message`);
      const notMail = write('notes.eml', 'just some notes\nabout a heater\n');
      expect((await runCli(db, ['score', notMail, '--us', 'hengda-outdoor.com'], { clock })).error).toMatch(/^.*notes\.eml: not an email message \(no (mail headers|From address)\)$/);
      const noDate = write('nodate.eml', 'From: a@buyer.example\r\nTo: linda.wu@hengda-outdoor.com\r\nSubject: quote\r\n\r\nHi Linda, please quote 100 HD-PH12.\r\n');
      expect((await runCli(db, ['score', noDate, '--us', 'hengda-outdoor.com'], { clock })).error).toBe(`${noDate}: no valid Date header; give --at TIME for when it arrived`);
      const at = await runCli(db, ['score', noDate, '--json', '--us', 'hengda-outdoor.com', '--at', '2026-12-02T10:00:00+08:00'], { clock });
      expect(at.json()).toMatchObject({ category: 'inquiry', channel: 'email', dueInHours: 12, due: '2026-12-03 13:00' });
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }

    expect((await runCli(db, ['triage', 'run'], { clock })).out).toMatch(/targets 1/);
    const board = await runCli(db, ['board', '--json'], { clock });
    expect(board.json<{ open: number; rows: Array<{ client: string }> }>()).toMatchObject({ open: 1, rows: [{ client: 'Greenleaf Stores' }] });
    expect((await runCli(db, ['board'], { clock })).out).toMatch(/Greenleaf Stores +key/);
    const rep = await runCli(db, ['report', 'replies', '--from', '2026-12-01', '--to', '2027-01-01', '--by', 'tier', '--json'], { clock });
    expect(rep.json<{ rows: Array<{ group: string; targets: number }> }>().rows).toEqual([expect.objectContaining({ group: 'key', targets: 1, answered: 0 })]);
    expect((await runCli(db, ['report', 'replies', '--from', 'soon', '--to', '2027-01-01'], { clock })).error).toBe('--from "soon": not a date (use YYYY-MM-DD or an ISO timestamp)');
    expect((await runCli(db, ['report', 'replies', '--from', '2026-12-01', '--to', '2027-01-01', '--by', 'colour'], { clock })).error).toMatch(/--by "colour"/);
  });
});
