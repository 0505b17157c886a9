import type { Command } from 'commander';
import type { RegisterCommands, AppContext } from '../context.ts';
import { clientConversations } from '../../mailbox/threads-query.ts';
import { formatJson, formatTable } from '../output.ts';
import {
  addClient, addContact, addInquiry, addOrder, deleteClient, deleteContact, editClient, editContact, listClients, listContacts,
  listInquiries, listOrders, logTouch, setOrderStatus, showClient, winInquiry, type OrderLineInput,
} from '../../clients/client-book.ts';
import {
  CHANNEL_KINDS, CLIENT_STATUSES, DEPARTMENTS, LEVELS, ORDER_STATUSES, TIERS, parseDateOnly, parseEnum, parseNumber, parseTimestamp,
} from '../../clients/client-input.ts';
import { refreshSegments, storedSegments } from '../../clients/segments.ts';
import { parseSegmentSettings } from '../../clients/segment-settings.ts';
import { AppError } from '../../shared/app-error.ts';

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

function parseId(value: string, what: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new AppError('INPUT_INVALID', `${what} "${value}": not an id (a positive whole number)`);
  return n;
}

type Opts = Record<string, string | string[] | boolean | undefined>;
const str = (o: Opts, key: string): string | undefined => (typeof o[key] === 'string' ? (o[key] as string) : undefined);
const list = (o: Opts, key: string): string[] | undefined => {
  const v = o[key];
  if (v === undefined) return undefined;
  const arr = Array.isArray(v) ? v : [String(v)];
  return arr.flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
};

function clientFields(o: Opts) {
  const tier = str(o, 'tier');
  const status = str(o, 'status');
  return {
    ...(str(o, 'name') !== undefined ? { name: str(o, 'name') as string } : {}),
    ...(o.country !== undefined ? { country: str(o, 'country') ?? null } : {}),
    ...(o.timeZone !== undefined ? { timeZone: str(o, 'timeZone') ?? null } : {}),
    ...(o.region !== undefined ? { region: str(o, 'region') ?? null } : {}),
    ...(o.language !== undefined ? { language: str(o, 'language') ?? null } : {}),
    ...(o.website !== undefined ? { website: str(o, 'website') ?? null } : {}),
    ...(o.industry !== undefined ? { industry: str(o, 'industry') ?? null } : {}),
    ...(o.nature !== undefined ? { nature: str(o, 'nature') ?? null } : {}),
    ...(o.size !== undefined ? { size: str(o, 'size') ?? null } : {}),
    ...(o.source !== undefined ? { source: str(o, 'source') ?? null } : {}),
    ...(o.owner !== undefined ? { owner: str(o, 'owner') ?? null } : {}),
    ...(o.notes !== undefined ? { notes: str(o, 'notes') ?? null } : {}),
    ...(tier !== undefined ? { tier: tier === 'auto' ? null : parseEnum(tier, TIERS, 'tier') } : {}),
    ...(status !== undefined ? { status: parseEnum(status, CLIENT_STATUSES, 'status') } : {}),
    ...(o.old !== undefined ? { markedOld: Boolean(o.old) } : {}),
    ...(o.referredBy !== undefined ? { referredBy: parseId(str(o, 'referredBy') ?? '', 'referred by') } : {}),
    ...(list(o, 'tag') ? { tags: list(o, 'tag') } : {}),
    ...(list(o, 'product') ? { products: list(o, 'product') } : {}),
    ...(list(o, 'domain') ? { domains: list(o, 'domain') } : {}),
  };
}

function clientOptions(cmd: Command): Command {
  return cmd
    .option('--country <country>', 'ISO code or name (English or Chinese)')
    .option('--time-zone <zone>', 'IANA time zone; defaults from the country when it has one')
    .option('--region <region>').option('--language <tag>', 'BCP 47, e.g. de, zh-CN')
    .option('--website <url>').option('--industry <text>').option('--nature <text>', 'e.g. importer, distributor, retailer')
    .option('--size <text>').option('--source <text>', 'e.g. trade fair, Alibaba, referral')
    .option('--owner <name>', 'the sales rep who owns the client')
    .option('--tier <tier>', 'key|major|normal|small, or auto to follow revenue')
    .option('--status <status>', CLIENT_STATUSES.join('|'))
    .option('--old', 'mark as an old client by hand (e.g. a satisfied sample order)')
    .option('--referred-by <clientId>', 'the client who introduced this one')
    .option('--tag <tag>', 'a tag (repeat or comma-separate)', collect)
    .option('--product <product>', 'a product interest (repeatable)', collect)
    .option('--domain <domain>', 'a mail domain of the client (repeatable)', collect)
    .option('--notes <text>', 'background notes');
}

function contactFields(o: Opts) {
  const channels = CHANNEL_KINDS.flatMap((kind) => (list(o, kind) ?? []).map((value) => ({ kind, value })));
  return {
    ...(str(o, 'name') !== undefined ? { name: str(o, 'name') as string } : {}),
    ...(str(o, 'title') !== undefined ? { title: str(o, 'title') as string } : {}),
    ...(str(o, 'department') !== undefined ? { department: parseEnum(str(o, 'department') as string, DEPARTMENTS, 'department') } : {}),
    ...(str(o, 'role') !== undefined ? { role: str(o, 'role') as string } : {}),
    ...(str(o, 'level') !== undefined ? { level: parseEnum(str(o, 'level') as string, LEVELS, 'level') } : {}),
    ...(str(o, 'language') !== undefined ? { language: str(o, 'language') as string } : {}),
    ...(str(o, 'timeZone') !== undefined ? { timeZone: str(o, 'timeZone') as string } : {}),
    ...(str(o, 'birthday') !== undefined ? { birthday: parseDateOnly(str(o, 'birthday') as string, 'birthday') } : {}),
    ...(str(o, 'hobbies') !== undefined ? { hobbies: str(o, 'hobbies') as string } : {}),
    ...(str(o, 'notes') !== undefined ? { notes: str(o, 'notes') as string } : {}),
    ...(o.weeklyNote !== undefined ? { weeklyNote: Boolean(o.weeklyNote) } : {}),
    ...(list(o, 'email') ? { emails: list(o, 'email') } : {}),
    ...(channels.length ? { channels } : {}),
  };
}

function contactOptions(cmd: Command): Command {
  let c = cmd
    .option('--title <title>', 'Mr., Ms., Dr., 总 ...').option('--department <dept>', DEPARTMENTS.join('|'))
    .option('--role <role>').option('--level <level>', LEVELS.join('|')).option('--language <tag>')
    .option('--time-zone <zone>').option('--birthday <date>', 'YYYY-MM-DD').option('--hobbies <text>').option('--notes <text>')
    .option('--weekly-note', 'send this contact a weekly personal note')
    .option('--email <address>', 'an email address (repeatable)', collect);
  for (const kind of CHANNEL_KINDS) c = c.option(`--${kind} <value>`, `${kind} (repeatable)`, collect);
  return c;
}

function print(ctx: AppContext, json: boolean | undefined, value: unknown, table: () => string): void {
  ctx.out(json ? formatJson(value) : table());
}

/** Parses "product[:category[:quantity[:amount]]]" order lines. */
function parseLine(text: string): OrderLineInput {
  const [product, category, qty, amount] = text.split(':').map((s) => s.trim());
  if (!product) throw new AppError('INPUT_INVALID', `line "${text}": needs a product (product:category:quantity:amount)`);
  return {
    product,
    category: category || null,
    ...(qty ? { quantity: parseNumber(qty, `line "${text}" quantity`, { min: 0 }) } : {}),
    ...(amount ? { amount: parseNumber(amount, `line "${text}" amount`, { min: 0 }) } : {}),
  };
}

export const registerClientsCommands: RegisterCommands = (program, run) => {
  // ---- clients
  const clients = program.command('clients').description('the client book: companies');
  clientOptions(clients.command('add').description('add a client').requiredOption('--name <name>', 'company name').option('--json', 'print JSON'))
    .action((o: Opts) => run(async (ctx) => {
      const id = await addClient(ctx.db, { ...clientFields(o), name: str(o, 'name') ?? '' });
      await refreshSegments(ctx.db, parseSegmentSettings(ctx.config.sections.segments), { clientId: id });
      print(ctx, Boolean(o.json), { id }, () => `added client ${id}`);
    }));
  clients.command('list').description('list clients')
    .option('--segment <segment>', 'old|new|prospect|key|major|normal|small|dormant|order-anomaly|narrow|not-contacted-this-year')
    .option('--owner <name>').option('--country <country>').option('--tag <tag>').option('--search <text>').option('--limit <n>')
    .option('--json', 'print JSON')
    .action((o: Opts) => run(async (ctx) => {
      const rows = await listClients(ctx.db, {
        ...(str(o, 'segment') ? { segment: str(o, 'segment') } : {}), ...(str(o, 'owner') ? { owner: str(o, 'owner') } : {}),
        ...(str(o, 'country') ? { country: str(o, 'country') } : {}), ...(str(o, 'tag') ? { tag: str(o, 'tag') } : {}),
        ...(str(o, 'search') ? { search: str(o, 'search') } : {}), ...(str(o, 'limit') ? { limit: parseNumber(str(o, 'limit') ?? '', 'limit', { min: 1 }) } : {}),
      });
      print(ctx, Boolean(o.json), rows, () => formatTable(rows, ['id', 'name', 'country', 'owner', 'status', 'contacts', 'orders', 'segments']));
    }));
  clients.command('show <id>').description('a client with contacts, orders, inquiries, touchpoints, segments and its mail conversations (newest first)').option('--json', 'print JSON')
    .action((id: string, o: Opts) => run(async (ctx) => {
      const base = await showClient(ctx.db, parseId(id, 'client'));
      const c = { ...base, conversations: await clientConversations(ctx.db, base.id) };
      print(ctx, Boolean(o.json), c, () => [
        `${c.name} (#${c.id})  ${c.country ?? '--'}  ${c.time_zone ?? ''}  owner: ${c.owner ?? '--'}  status: ${c.status}`,
        c.tags.length ? `tags: ${c.tags.join(', ')}` : '',
        c.domains.length ? `domains: ${c.domains.map((d) => d.domain).join(', ')}` : '',
        '', 'segments:', ...c.segments.map((s) => `  ${s.segment}: ${s.reason}`),
        '', 'contacts:', c.contacts.length ? formatTable(c.contacts, ['id', 'name', 'department', 'relationship_level', 'emails']) : '  (none)',
        '', 'orders:', c.orders.length ? formatTable(c.orders.slice(0, 20), ['id', 'order_no', 'ordered_on', 'status', 'amount', 'currency']) : '  (none)',
        '', 'touchpoints:', ...c.touchpoints.slice(0, 10).map((t) => `  ${t.occurred_at.toISOString().slice(0, 16)} ${t.kind} ${t.summary ?? t.gift ?? ''}`),
        '', 'conversations (newest first):', ...(c.conversations.length ? c.conversations.map((t) => `  ${t.lastMessageAt?.toISOString().slice(0, 16).replace('T', ' ') ?? '--'}  thread ${t.id}  ${t.subject}  (${t.messages} msgs, ${t.linkReason ?? ''})${t.last ? `\n      last ${t.last.direction === 'outbound' ? 'sent by us' : `from ${t.last.from ?? '?'}`}: ${t.last.snippet ?? ''}` : ''}`) : ['  (none)']),
      ].filter((l) => l !== '').join('\n'));
    }));
  clientOptions(clients.command('edit <id>').description('change a client').option('--name <name>'))
    .action((id: string, o: Opts) => run(async (ctx) => {
      const cid = parseId(id, 'client');
      await editClient(ctx.db, cid, clientFields(o));
      await refreshSegments(ctx.db, parseSegmentSettings(ctx.config.sections.segments), { clientId: cid });
      ctx.out(`updated client ${cid}`);
    }));
  clients.command('delete <id>').description('delete a client and everything that belongs to it').option('--yes', 'confirm')
    .action((id: string, o: Opts) => run(async (ctx) => {
      if (!o.yes) throw new AppError('INPUT_INVALID', `client ${id}: deleting removes its contacts, orders and history; add --yes to confirm`);
      await deleteClient(ctx.db, parseId(id, 'client'));
      ctx.out(`deleted client ${id}`);
    }));

  // ---- contacts
  const contacts = program.command('contacts').description('the people at each client');
  contactOptions(contacts.command('add').description('add a contact').requiredOption('--client <id>').requiredOption('--name <name>').option('--json', 'print JSON'))
    .action((o: Opts) => run(async (ctx) => {
      const id = await addContact(ctx.db, { ...contactFields(o), clientId: parseId(str(o, 'client') ?? '', 'client'), name: str(o, 'name') ?? '' });
      print(ctx, Boolean(o.json), { id }, () => `added contact ${id}`);
    }));
  contacts.command('list').description('list contacts').option('--client <id>').option('--department <dept>').option('--json', 'print JSON')
    .action((o: Opts) => run(async (ctx) => {
      const rows = await listContacts(ctx.db, {
        ...(str(o, 'client') ? { clientId: parseId(str(o, 'client') ?? '', 'client') } : {}),
        ...(str(o, 'department') ? { department: parseEnum(str(o, 'department') ?? '', DEPARTMENTS, 'department') } : {}),
      });
      print(ctx, Boolean(o.json), rows, () => formatTable(rows, ['id', 'client', 'name', 'department', 'relationship_level', 'emails']));
    }));
  contactOptions(contacts.command('edit <id>').description('change a contact').option('--name <name>').option('--inactive', 'the person left').option('--active'))
    .action((id: string, o: Opts) => run(async (ctx) => {
      await editContact(ctx.db, parseId(id, 'contact'), { ...contactFields(o), ...(o.inactive ? { active: false } : o.active ? { active: true } : {}) });
      ctx.out(`updated contact ${id}`);
    }));
  contacts.command('delete <id>').description('delete a contact').action((id: string) => run(async (ctx) => {
    await deleteContact(ctx.db, parseId(id, 'contact'));
    ctx.out(`deleted contact ${id}`);
  }));

  // ---- orders
  const orders = program.command('orders').description('orders and their status');
  orders.command('add').description('add an order')
    .requiredOption('--client <id>').requiredOption('--no <orderNo>', 'the order number (PO/PI)').requiredOption('--date <date>', 'YYYY-MM-DD')
    .option('--amount <amount>').option('--currency <code>', 'ISO 4217', 'USD').option('--status <status>', ORDER_STATUSES.join('|'))
    .option('--line <line>', 'product:category:quantity:amount (repeatable)', collect).option('--inquiry <id>').option('--json', 'print JSON')
    .action((o: Opts) => run(async (ctx) => {
      const clientId = parseId(str(o, 'client') ?? '', 'client');
      const id = await addOrder(ctx.db, {
        clientId, orderNo: str(o, 'no') ?? '', orderedOn: parseDateOnly(str(o, 'date') ?? '', 'date'),
        ...(str(o, 'amount') ? { amount: parseNumber(str(o, 'amount') ?? '', 'amount', { min: 0 }) } : {}),
        currency: str(o, 'currency') ?? 'USD',
        ...(str(o, 'status') ? { status: parseEnum(str(o, 'status') ?? '', ORDER_STATUSES, 'status') } : {}),
        ...(str(o, 'inquiry') ? { inquiryId: parseId(str(o, 'inquiry') ?? '', 'inquiry') } : {}),
        lines: (list(o, 'line') ?? []).map(parseLine),
      });
      await refreshSegments(ctx.db, parseSegmentSettings(ctx.config.sections.segments), { clientId });
      const anomaly = await ctx.db.kysely.selectFrom('client_segments').select('order_anomaly as reason').where('client_id', '=', clientId).where('order_anomaly', 'is not', null).executeTakeFirst();
      print(ctx, Boolean(o.json), { id, anomaly: anomaly?.reason ?? null }, () => `added order ${id}${anomaly ? `\nwarning: order anomaly: ${anomaly.reason}` : ''}`);
    }));
  orders.command('list').description('list orders').option('--client <id>').option('--status <status>').option('--json', 'print JSON')
    .action((o: Opts) => run(async (ctx) => {
      const rows = await listOrders(ctx.db, {
        ...(str(o, 'client') ? { clientId: parseId(str(o, 'client') ?? '', 'client') } : {}),
        ...(str(o, 'status') ? { status: parseEnum(str(o, 'status') ?? '', ORDER_STATUSES, 'status') } : {}),
      });
      print(ctx, Boolean(o.json), rows, () => formatTable(rows, ['id', 'client', 'order_no', 'ordered_on', 'status', 'amount', 'currency']));
    }));
  orders.command('status <id> <status>').description(`move an order along: ${ORDER_STATUSES.join(' -> ')}`)
    .action((id: string, status: string) => run(async (ctx) => {
      await setOrderStatus(ctx.db, parseId(id, 'order'), parseEnum(status, ORDER_STATUSES, 'status'));
      ctx.out(`order ${id} is ${status}`);
    }));

  // ---- inquiries
  const inquiries = program.command('inquiries').description('inquiries (RFQs)');
  inquiries.command('add').description('record an inquiry').requiredOption('--client <id>')
    .option('--contact <id>').option('--ref <ref>').option('--received <time>', 'ISO date-time (default now)')
    .option('--country <country>').option('--project <text>').option('--application <text>').option('--product <text>')
    .option('--quantity <n>').option('--unit <unit>').option('--target-price <price>').option('--currency <code>').option('--amount <amount>')
    .option('--packing <text>').option('--delivery <text>').option('--progress <text>').option('--background <text>').option('--json', 'print JSON')
    .action((o: Opts) => run(async (ctx) => {
      const num = (key: string, label: string) => (str(o, key) ? { [key]: parseNumber(str(o, key) ?? '', label, { min: 0 }) } : {});
      const id = await addInquiry(ctx.db, {
        clientId: parseId(str(o, 'client') ?? '', 'client'),
        ...(str(o, 'contact') ? { contactId: parseId(str(o, 'contact') ?? '', 'contact') } : {}),
        receivedAt: str(o, 'received') ? parseTimestamp(str(o, 'received') ?? '', 'received') : ctx.clock.now(),
        ref: str(o, 'ref') ?? null, country: str(o, 'country') ?? null, project: str(o, 'project') ?? null, application: str(o, 'application') ?? null,
        product: str(o, 'product') ?? null, unit: str(o, 'unit') ?? null, currency: str(o, 'currency') ?? null, packing: str(o, 'packing') ?? null,
        delivery: str(o, 'delivery') ?? null, progress: str(o, 'progress') ?? null, background: str(o, 'background') ?? null,
        ...num('quantity', 'quantity'), ...num('targetPrice', 'target price'), ...num('amount', 'amount'),
      });
      print(ctx, Boolean(o.json), { id }, () => `added inquiry ${id}`);
    }));
  inquiries.command('list').description('list inquiries').option('--client <id>').option('--status <status>', 'open|quoted|won|lost').option('--json', 'print JSON')
    .action((o: Opts) => run(async (ctx) => {
      const rows = await listInquiries(ctx.db, {
        ...(str(o, 'client') ? { clientId: parseId(str(o, 'client') ?? '', 'client') } : {}),
        ...(str(o, 'status') ? { status: parseEnum(str(o, 'status') ?? '', ['open', 'quoted', 'won', 'lost'] as const, 'status') } : {}),
      });
      print(ctx, Boolean(o.json), rows, () => formatTable(rows, ['id', 'client', 'ref', 'received_at', 'product', 'quantity', 'target_price', 'status', 'order_id']));
    }));
  inquiries.command('won <id>').description('the inquiry became an order').requiredOption('--order-no <no>').option('--date <date>', 'YYYY-MM-DD (default today)')
    .option('--amount <amount>').option('--currency <code>').option('--json', 'print JSON')
    .action((id: string, o: Opts) => run(async (ctx) => {
      const orderId = await winInquiry(ctx.db, parseId(id, 'inquiry'), {
        orderNo: str(o, 'orderNo') ?? '', orderedOn: str(o, 'date') ? parseDateOnly(str(o, 'date') ?? '', 'date') : ctx.clock.now().toISOString().slice(0, 10),
        ...(str(o, 'amount') ? { amount: parseNumber(str(o, 'amount') ?? '', 'amount', { min: 0 }) } : {}),
        ...(str(o, 'currency') ? { currency: str(o, 'currency') } : {}),
      });
      print(ctx, Boolean(o.json), { inquiry: Number(id), order: orderId }, () => `inquiry ${id} won as order ${orderId}`);
    }));

  // ---- touchpoints
  const touch = program.command('touch').description('calls, visits, meetings, gifts');
  touch.command('log').description('log a touchpoint').requiredOption('--client <id>').option('--contact <id>')
    .option('--call', 'a phone call').option('--visit', 'a visit').option('--meeting', 'a meeting').option('--fair', 'a trade-fair meeting')
    .option('--gift <what>', 'a gift (what was given)').option('--note', 'a note').option('--reaction <text>', "the client's reaction")
    .option('--summary <text>', 'key points (for a call, the recap to send)').option('--at <time>', 'ISO date-time (default now)').option('--owner <name>')
    .option('--json', 'print JSON')
    .action((o: Opts) => run(async (ctx) => {
      const kinds = (['call', 'visit', 'meeting', 'fair', 'gift', 'note'] as const).filter((kd) => o[kd] !== undefined);
      if (kinds.length !== 1) throw new AppError('INPUT_INVALID', 'touch log: give exactly one of --call, --visit, --meeting, --fair, --gift WHAT, --note');
      const kind = kinds[0] ?? 'note';
      const id = await logTouch(ctx.db, {
        clientId: parseId(str(o, 'client') ?? '', 'client'),
        ...(str(o, 'contact') ? { contactId: parseId(str(o, 'contact') ?? '', 'contact') } : {}),
        kind, occurredAt: str(o, 'at') ? parseTimestamp(str(o, 'at') ?? '', 'at') : ctx.clock.now(),
        summary: str(o, 'summary') ?? null, gift: str(o, 'gift') ?? null, reaction: str(o, 'reaction') ?? null, owner: str(o, 'owner') ?? null,
      });
      print(ctx, Boolean(o.json), { id, kind }, () => `logged ${kind} ${id}`);
    }));

  // ---- segments
  program.command('segments').description("each client's segments, with the rule behind each")
    .option('--client <id>').option('--as-of <date>', 'YYYY-MM-DD (default today)').option('--json', 'print JSON')
    .action((o: Opts) => run(async (ctx) => {
      const settings = parseSegmentSettings(ctx.config.sections.segments);
      const asOf = str(o, 'asOf') ? parseDateOnly(str(o, 'asOf') ?? '', 'as-of') : ctx.clock.now().toISOString().slice(0, 10);
      const clientId = str(o, 'client') ? parseId(str(o, 'client') ?? '', 'client') : undefined;
      await refreshSegments(ctx.db, settings, { asOf, ...(clientId ? { clientId } : {}) });
      // what was just stored, read back (computing it a second time doubled the command's time)
      const rows = await storedSegments(ctx.db, clientId ? { clientId } : {});
      const names = new Map((await ctx.db.kysely.selectFrom('clients').select(['id', 'name']).execute()).map((c) => [c.id, c.name]));
      const byClient = new Map<number, Array<{ segment: string; reason: string }>>();
      for (const r of rows) byClient.set(r.clientId, [...(byClient.get(r.clientId) ?? []), { segment: r.segment, reason: r.reason }]);
      const out = [...byClient.entries()].map(([id, segments]) => ({ clientId: id, client: names.get(id) ?? '', segments }));
      print(ctx, Boolean(o.json), { asOf, clients: out }, () =>
        out.map((c) => [`${c.client} (#${c.clientId})`, ...c.segments.map((s) => `  ${s.segment.padEnd(24)} ${s.reason}`)].join('\n')).join('\n'));
    }));
};
