/**
 * The documented column mapping of spreadsheet imports: each field, the
 * header names accepted for it (English and Chinese), and which files take it.
 * Headers match case-, space- and punctuation-insensitively ("E-mail",
 * "EMAIL ", "邮箱" all mean Email). Export writes the first English name.
 */

export type ImportEntity = 'clients' | 'contacts' | 'orders';

export type FieldName =
  // client
  | 'company' | 'country' | 'region' | 'timeZone' | 'language' | 'website' | 'domains' | 'industry' | 'nature' | 'size'
  | 'source' | 'owner' | 'tier' | 'status' | 'markedOld' | 'tags' | 'interests' | 'notes' | 'referredBy' | 'lastContact'
  // contact
  | 'contact' | 'title' | 'department' | 'role' | 'email' | 'phone' | 'mobile' | 'fax' | 'whatsapp' | 'wechat' | 'skype'
  | 'telegram' | 'birthday' | 'relationship' | 'hobbies' | 'contactLanguage' | 'contactTimeZone' | 'contactNotes'
  // order
  | 'orderNo' | 'date' | 'orderStatus' | 'currency' | 'orderTotal' | 'product' | 'category' | 'quantity' | 'unit'
  | 'unitPrice' | 'amount' | 'orderNotes';

export interface ColumnSpec {
  readonly field: FieldName;
  /** Accepted header names; the first is what export writes. */
  readonly headers: readonly string[];
  readonly entities: readonly ImportEntity[];
  readonly help: string;
}

const C: ImportEntity[] = ['clients'];
const CC: ImportEntity[] = ['clients', 'contacts'];
const ALL: ImportEntity[] = ['clients', 'contacts', 'orders'];
const O: ImportEntity[] = ['orders'];

/** Field specs. Language, Time zone and Notes go to the client in a clients file and to the contact in a contacts file. */
export const COLUMN_SPECS: readonly ColumnSpec[] = [
  { field: 'company', headers: ['Company', 'Client', 'Customer', 'Company name', 'Client name', 'Customer name', 'Account', '公司名称', '公司', '客户', '客户名称', '公司名', '企业名称'], entities: ALL, help: 'client name; the natural key (case-insensitive)' },
  { field: 'country', headers: ['Country', 'Country/Region', 'Nation', '国家', '国家/地区', '国别', '地区国家'], entities: C, help: 'ISO code or name in English/Chinese' },
  { field: 'region', headers: ['Region', 'State', 'Province', 'City', '地区', '省份', '州', '城市'], entities: C, help: 'free text' },
  { field: 'timeZone', headers: ['Time zone', 'Timezone', 'TZ', '时区'], entities: C, help: 'IANA name; default from the country when it has one clock' },
  { field: 'language', headers: ['Language', 'Lang', 'Locale', '语言', '语种'], entities: C, help: 'code or name (en, German, 德语)' },
  { field: 'website', headers: ['Website', 'Web', 'Site', 'URL', 'Homepage', '网站', '网址', '官网'], entities: C, help: 'its domain joins client_domains' },
  { field: 'domains', headers: ['Domains', 'Domain', 'Mail domains', '域名', '邮箱域名'], entities: C, help: 'extra domains, separated by ; or ,' },
  { field: 'industry', headers: ['Industry', 'Sector', '行业', '所属行业'], entities: C, help: 'free text' },
  { field: 'nature', headers: ['Nature', 'Type', 'Business type', 'Company type', '性质', '公司性质', '客户类型', '类型'], entities: C, help: 'importer, distributor, retailer...' },
  { field: 'size', headers: ['Size', 'Company size', 'Scale', '规模', '公司规模'], entities: C, help: 'free text' },
  { field: 'source', headers: ['Source', 'Lead source', 'Channel', '来源', '客户来源', '渠道'], entities: C, help: 'trade fair, Alibaba, referral...' },
  { field: 'owner', headers: ['Owner', 'Sales rep', 'Salesperson', 'Account manager', 'Sales', '业务员', '负责人', '销售', '跟进人'], entities: C, help: 'sales rep name (created if new)' },
  { field: 'tier', headers: ['Tier', 'Level', 'Grade', '等级', '客户等级', '级别'], entities: C, help: 'key|major|normal|small (重点/重要/普通/小): a hand-set tier' },
  { field: 'status', headers: ['Status', 'Client status', '状态', '客户状态'], entities: C, help: 'prospect|active|inactive|lost (潜在/合作中/休眠/流失)' },
  { field: 'markedOld', headers: ['Marked old', 'Old client', '老客户'], entities: C, help: 'yes/no: treat as an old client' },
  { field: 'tags', headers: ['Tags', 'Tag', 'Labels', '标签'], entities: C, help: 'separated by ; , 、 or |' },
  { field: 'interests', headers: ['Product interests', 'Interests', 'Interested in', 'Products of interest', '产品兴趣', '意向产品', '感兴趣产品'], entities: C, help: 'separated by ; , 、 or |' },
  { field: 'notes', headers: ['Notes', 'Note', 'Remarks', 'Comments', 'Background', '备注', '背景', '说明'], entities: C, help: 'client notes' },
  { field: 'referredBy', headers: ['Referred by', 'Referral', 'Introduced by', '介绍人', '推荐客户', '转介绍'], entities: C, help: 'name of the client who introduced it' },
  { field: 'lastContact', headers: ['Last contact', 'Last contacted', 'Last contact date', '最近联系', '最后联系', '最近联系日期', '上次联系'], entities: C, help: 'date; logged as a touchpoint (note) unless one exists since' },

  { field: 'contact', headers: ['Contact', 'Contact name', 'Name', 'Contact person', 'Person', '联系人', '姓名', '联系人姓名'], entities: CC, help: 'contact name' },
  { field: 'title', headers: ['Title', 'Job title', 'Position', '职位', '职务', '头衔'], entities: CC, help: 'free text' },
  { field: 'department', headers: ['Department', 'Dept', 'Function', '部门'], entities: CC, help: 'purchasing|technical|customs|sales|warehouse|management|other (采购/技术/质检/报关/单证/销售/仓库/管理); unknown -> other, kept as role' },
  { field: 'role', headers: ['Role', '角色'], entities: CC, help: 'free text' },
  { field: 'email', headers: ['Email', 'E-mail', 'Mail', 'Email address', 'Emails', '邮箱', '电子邮箱', '电子邮件', '邮件', '邮箱地址'], entities: CC, help: 'one or more, separated by ; or , (the first is primary)' },
  { field: 'phone', headers: ['Phone', 'Tel', 'Telephone', 'Phone number', '电话', '座机', '联系电话'], entities: CC, help: 'separated by ;' },
  { field: 'mobile', headers: ['Mobile', 'Cell', 'Cellphone', 'Mobile phone', '手机', '手机号'], entities: CC, help: 'separated by ;' },
  { field: 'fax', headers: ['Fax', '传真'], entities: CC, help: '' },
  { field: 'whatsapp', headers: ['WhatsApp', 'WA'], entities: CC, help: '' },
  { field: 'wechat', headers: ['WeChat', '微信', '微信号'], entities: CC, help: '' },
  { field: 'skype', headers: ['Skype'], entities: CC, help: '' },
  { field: 'telegram', headers: ['Telegram'], entities: CC, help: '' },
  { field: 'birthday', headers: ['Birthday', 'Date of birth', 'DOB', '生日', '出生日期'], entities: CC, help: 'date' },
  { field: 'relationship', headers: ['Relationship', 'Relationship level', '关系', '关系等级', '关系程度'], entities: CC, help: 'acquaintance|engaged|partner|ally (认识/交往/伙伴/盟友)' },
  { field: 'hobbies', headers: ['Hobbies', 'Interests (personal)', '爱好', '兴趣爱好'], entities: CC, help: 'free text' },
  { field: 'contactLanguage', headers: ['Contact language', '联系人语言'], entities: CC, help: 'the contact\'s language (in a contacts file, Language works too)' },
  { field: 'contactTimeZone', headers: ['Contact time zone', '联系人时区'], entities: CC, help: 'the contact\'s IANA zone (in a contacts file, Time zone works too)' },
  { field: 'contactNotes', headers: ['Contact notes', '联系人备注'], entities: CC, help: 'the contact\'s notes (in a contacts file, Notes works too)' },

  { field: 'orderNo', headers: ['Order No', 'Order number', 'Order', 'Order ID', 'PO', 'PO No', 'Contract No', 'Invoice No', '订单号', '订单编号', '合同号', '单号', 'PI号'], entities: O, help: 'natural key with the company; rows sharing it are the lines of one order' },
  { field: 'date', headers: ['Date', 'Order date', 'Ordered on', '日期', '下单日期', '订单日期', '签单日期'], entities: O, help: 'YYYY-MM-DD (also 2024/3/5, 2024年3月5日, 5.3.2024, unambiguous d/m/y)' },
  { field: 'orderStatus', headers: ['Status', 'Order status', '状态', '订单状态'], entities: O, help: 'confirmed|in production|shipped|in transit|customs|in warehouse|selling|remaining stock|cancelled (已确认/生产中/已发货/运输中/清关/到仓/销售中/余货/已取消)' },
  { field: 'currency', headers: ['Currency', 'Cur', '币种', '货币'], entities: O, help: 'ISO code or symbol ($, €, ¥/RMB, 美元); default USD' },
  { field: 'orderTotal', headers: ['Order total', 'Total', 'Order amount', '订单总额', '总金额', '合计'], entities: O, help: 'the order amount; default: the sum of the lines\' Amount' },
  { field: 'product', headers: ['Product', 'Item', 'Product name', 'Model', '产品', '品名', '产品名称', '型号'], entities: O, help: 'one order line per row' },
  { field: 'category', headers: ['Category', 'Product category', '类别', '品类', '产品类别', '类目'], entities: O, help: '' },
  { field: 'quantity', headers: ['Quantity', 'Qty', '数量'], entities: O, help: 'number' },
  { field: 'unit', headers: ['Unit', 'UOM', '单位'], entities: O, help: 'pcs, sets, kg...' },
  { field: 'unitPrice', headers: ['Unit price', 'Price', '单价'], entities: O, help: 'number' },
  { field: 'amount', headers: ['Amount', 'Line amount', 'Value', '金额', '行金额'], entities: O, help: 'the line amount' },
  { field: 'orderNotes', headers: ['Notes', 'Note', 'Remarks', '备注'], entities: O, help: 'order notes' },
];

/** "E-mail ", "EMAIL", "邮 箱" -> "email", "邮箱". Full-width forms folded, case, spaces and punctuation dropped. */
export function headerKey(header: string): string {
  return header.normalize('NFKC').toLowerCase().replace(/[\s_\-./:：()（）#*]+/g, '');
}

export interface HeaderMapping {
  /** For each column index, the field it feeds (undefined: ignored). */
  readonly fields: ReadonlyArray<FieldName | undefined>;
  /** Headers not recognised for this entity (shown in the report). */
  readonly ignored: readonly string[];
  /** Fields present. */
  readonly present: ReadonlySet<FieldName>;
}

/** In a contacts file, the client-level Language/Time zone/Notes headers mean the contact's. */
const CONTACTS_FILE_REDIRECT: Partial<Record<FieldName, FieldName>> = { language: 'contactLanguage', timeZone: 'contactTimeZone', notes: 'contactNotes' };

function indexFor(entity: ImportEntity): Map<string, FieldName> {
  const index = new Map<string, FieldName>();
  for (const spec of COLUMN_SPECS) {
    let field: FieldName | undefined;
    if (spec.entities.includes(entity)) field = spec.field;
    else if (entity === 'contacts' && CONTACTS_FILE_REDIRECT[spec.field]) field = CONTACTS_FILE_REDIRECT[spec.field];
    if (!field) continue;
    for (const h of spec.headers) {
      const key = headerKey(h);
      if (!index.has(key)) index.set(key, field);
    }
  }
  return index;
}

/** Maps a header row to fields. The first column of a field wins; a repeated one is ignored. */
export function mapHeaders(headers: readonly string[], entity: ImportEntity): HeaderMapping {
  const index = indexFor(entity);
  const present = new Set<FieldName>();
  const ignored: string[] = [];
  const fields = headers.map((h) => {
    const field = index.get(headerKey(h));
    if (!field || present.has(field)) {
      if (h.trim()) ignored.push(h.trim());
      return undefined;
    }
    present.add(field);
    return field;
  });
  return { fields, ignored, present };
}

/** The header export writes for a field. */
export function exportHeader(field: FieldName): string {
  const spec = COLUMN_SPECS.find((s) => s.field === field);
  return spec?.headers[0] ?? field;
}

/** The required columns of each file (any one of a group). */
export const REQUIRED_FIELDS: Readonly<Record<ImportEntity, ReadonlyArray<readonly FieldName[]>>> = {
  clients: [['company']],
  contacts: [['company'], ['contact', 'email']],
  orders: [['company'], ['orderNo'], ['date']],
};

/** Markdown table of the mapping (for the README / `rapport import --help`). */
export function columnMappingMarkdown(): string {
  const lines = ['| Field | Files | Headers accepted | Values |', '|---|---|---|---|'];
  for (const s of COLUMN_SPECS) lines.push(`| ${s.headers[0]} | ${s.entities.join(', ')} | ${s.headers.join(', ')} | ${s.help} |`);
  return lines.join('\n');
}
