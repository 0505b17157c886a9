/** Salutations and time-of-day greetings in the recipient's language. Pure. */

export interface ContactLike {
  readonly name?: unknown;
  readonly title?: unknown;
  readonly surname?: unknown;
  readonly gender?: unknown;
}

const CJK = /[\u3400-\u9fff\uf900-\ufaff]/;
const DOUBLE_SURNAMES = ['欧阳', '司马', '上官', '诸葛', '东方', '皇甫', '尉迟', '公孙', '慕容', '长孙', '宇文', '司徒', '夏侯', '轩辕', '令狐', '钟离', '端木', '独孤', '南宫', '西门'];

type Honorific = 'mr' | 'ms' | 'mrs' | 'miss' | 'dr' | 'prof' | 'boss' | 'manager' | 'director' | 'engineer';

const HONORIFICS: ReadonlyArray<[RegExp, Honorific]> = [
  [/^(mr\.?|mister|先生|herr|monsieur|m\.|señor|sr\.?)$/i, 'mr'],
  [/^(mrs\.?)$/i, 'mrs'],
  [/^(ms\.?|女士|frau|madame|mme\.?|señora|sra\.?)$/i, 'ms'],
  [/^(miss|小姐)$/i, 'miss'],
  [/^(dr\.?|doctor|博士)$/i, 'dr'],
  [/^(prof\.?|professor|教授)$/i, 'prof'],
  [/^(ceo|gm|general manager|president|chairman|owner|boss|总|总经理|董事长|老板|总裁)$/i, 'boss'],
  [/^(director|总监)$/i, 'director'],
  [/^(manager|.*\bmanager|经理|.*经理)$/i, 'manager'],
  [/^(engineer|工程师|工)$/i, 'engineer'],
];

function honorificOf(title: string): Honorific | undefined {
  const t = title.trim();
  for (const [re, h] of HONORIFICS) if (re.test(t)) return h;
  return undefined;
}

export function surnameOf(name: string, explicit?: string): string {
  if (explicit && explicit.trim() !== '') return explicit.trim();
  const n = name.trim();
  if (CJK.test(n)) {
    const compact = n.replace(/\s+/g, '');
    const dbl = DOUBLE_SURNAMES.find((s) => compact.startsWith(s));
    return dbl ?? compact.slice(0, 1);
  }
  const words = n.split(/\s+/).filter(Boolean);
  return words[words.length - 1] ?? n;
}

const ZH_SUFFIX: Record<Honorific, string> = {
  mr: '先生', ms: '女士', mrs: '女士', miss: '小姐', dr: '博士', prof: '教授', boss: '总', director: '总监', manager: '经理', engineer: '工',
};
const EN_PREFIX: Partial<Record<Honorific, string>> = { mr: 'Mr.', ms: 'Ms.', mrs: 'Mrs.', miss: 'Miss', dr: 'Dr.', prof: 'Prof.' };

function str(v: unknown): string {
  return typeof v === 'string' ? v : v === null || v === undefined ? '' : String(v);
}

/** "Dear Mr. Wang" / "王总您好" (no trailing punctuation: the template adds it). */
export function salutation(contact: ContactLike | null | undefined, locale: string): string {
  const name = str(contact?.name).trim();
  const title = str(contact?.title).trim();
  const h = title ? honorificOf(title) : undefined;
  const lang = locale.split('-')[0]!.toLowerCase();
  if (lang === 'zh') {
    if (!name) return '您好';
    if (h) return `${surnameOf(name, str(contact?.surname))}${ZH_SUFFIX[h]}您好`;
    return `${name}，您好`;
  }
  const prefix = h ? EN_PREFIX[h] : undefined;
  if (lang === 'de') {
    if (h === 'mr') return `Sehr geehrter Herr ${surnameOf(name, str(contact?.surname))}`;
    if (h === 'ms' || h === 'mrs') return `Sehr geehrte Frau ${surnameOf(name, str(contact?.surname))}`;
    return name ? `Guten Tag ${name}` : 'Sehr geehrte Damen und Herren';
  }
  if (lang === 'es') return name ? `Estimado/a ${name}` : 'Estimados señores';
  if (lang === 'fr') {
    if (h === 'mr') return `Cher Monsieur ${surnameOf(name, str(contact?.surname))}`;
    if (h === 'ms' || h === 'mrs') return `Chère Madame ${surnameOf(name, str(contact?.surname))}`;
    return name ? `Bonjour ${name}` : 'Madame, Monsieur';
  }
  if (!name) return 'Dear Sir or Madam';
  if (prefix) return `Dear ${prefix} ${surnameOf(name, str(contact?.surname))}`;
  return `Dear ${name}`;
}

export type DayPart = 'morning' | 'afternoon' | 'evening';

export function dayPart(hour: number): DayPart {
  if (hour >= 5 && hour < 12) return 'morning';
  if (hour >= 12 && hour < 18) return 'afternoon';
  return 'evening';
}

const GREETINGS: Record<string, Record<DayPart, string>> = {
  en: { morning: 'Good morning', afternoon: 'Good afternoon', evening: 'Good evening' },
  zh: { morning: '早上好', afternoon: '下午好', evening: '晚上好' },
  de: { morning: 'Guten Morgen', afternoon: 'Guten Tag', evening: 'Guten Abend' },
  fr: { morning: 'Bonjour', afternoon: 'Bonjour', evening: 'Bonsoir' },
  es: { morning: 'Buenos días', afternoon: 'Buenas tardes', evening: 'Buenas noches' },
};

/** "Good morning" by the recipient's local hour. */
export function timeOfDayGreeting(hour: number, locale: string): string {
  const lang = locale.split('-')[0]!.toLowerCase();
  return (GREETINGS[lang] ?? GREETINGS.en!)[dayPart(hour)];
}
