/**
 * The guides' writing rules (DOMAIN.md section 4) as lint warnings over a rendered subject and
 * text part. Pure.
 */

export interface WritingFinding {
  readonly rule: 'vague-word' | 'you-heavy' | 'long-sentence' | 'all-caps-subject' | 'spam-word' | 'fake-reply-subject';
  readonly message: string;
  /** The words that triggered it, to locate the line in the source. */
  readonly match: string;
}

const VAGUE_EN: ReadonlyArray<[RegExp, string]> = [
  [/\b(soon|shortly|asap|as soon as possible|in due course|at your earliest convenience|in the near future)\b/i, 'say "by <date>" instead'],
  [/\b(contact (us|me)|get in touch|reach out)\b/i, 'say "call", "write" or "visit" instead of "contact"'],
];
const VAGUE_ZH: ReadonlyArray<[RegExp, string]> = [
  [/(尽快|尽早|近期|不久|稍后)/, '写明具体日期（"X月X日前"）'],
  [/(联系我们|与我们联系|和我们联系|随时联系)/, '写明"打电话""回复邮件"或"拜访"，不要只说"联系"'],
];
const SPAM_EN = /\b(100% free|free!|act now|limited time|click here|buy now|order now|risk[- ]free|guaranteed|winner|cash bonus|no obligation|once in a lifetime|urgent)\b|!!+|\$\$+/i;
const SPAM_ZH = /(免费领取|限时抢购|点击这里|立即购买|中奖|稳赚|不容错过|！！+)/;
const FAKE_REPLY = /^\s*(re|fw|fwd|aw|sv|回复|答复|转发)\s*[:：]/i;

function sentences(text: string, chinese: boolean): string[] {
  return text
    .split(chinese ? /[。！？!?\n]+/ : /(?<=[.!?])\s+|\n+/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

export function checkWriting(subject: string, text: string, locale: string): WritingFinding[] {
  const chinese = /^zh/i.test(locale);
  const out: WritingFinding[] = [];
  // The footer (company details, unsubscribe) is ours and fixed: check what the template says.
  const body = text;
  for (const [re, advice] of chinese ? VAGUE_ZH : VAGUE_EN) {
    const m = re.exec(`${subject}\n${body}`);
    if (m) out.push({ rule: 'vague-word', match: m[0], message: `vague "${m[0]}": ${advice}` });
  }
  for (const s of sentences(body, chinese)) {
    if (chinese) {
      const you = (s.match(/[您你]/g) ?? []).length;
      const we = (s.match(/我们|我/g) ?? []).length;
      if (you >= 3 && we === 0) out.push({ rule: 'you-heavy', match: s.slice(0, 20), message: `"您"用得多而没有"我们"："${s.slice(0, 40)}..."：改用"我们"开头更亲切` });
      if ([...s].length > 80) out.push({ rule: 'long-sentence', match: s.slice(0, 20), message: `句子过长（${[...s].length} 字）："${s.slice(0, 30)}..."` });
    } else {
      const words = s.split(/\s+/).filter(Boolean);
      const you = words.filter((w) => /^(you|your|yours|yourself)\b/i.test(w)).length;
      const we = words.filter((w) => /^(we|our|us|i|my)\b/i.test(w)).length;
      if (you >= 3 && we === 0) out.push({ rule: 'you-heavy', match: words.slice(0, 4).join(' '), message: `"you"-heavy sentence with no "we": "${s.slice(0, 60)}...": "we" reads warmer` });
      if (words.length > 35) out.push({ rule: 'long-sentence', match: words.slice(0, 4).join(' '), message: `overlong sentence (${words.length} words): "${s.slice(0, 50)}..."` });
    }
  }
  const letters = subject.replace(/[^A-Za-z]/g, '');
  if (letters.length >= 6 && letters.replace(/[^A-Z]/g, '').length / letters.length > 0.7) {
    out.push({ rule: 'all-caps-subject', match: subject, message: 'ALL-CAPS subject: it reads as shouting and trips spam filters' });
  }
  const spam = (chinese ? SPAM_ZH : SPAM_EN).exec(`${subject}\n${body}`) ?? (chinese ? SPAM_EN.exec(subject) : null);
  if (spam) out.push({ rule: 'spam-word', match: spam[0], message: `spam-trigger "${spam[0]}"` });
  if (FAKE_REPLY.test(subject)) {
    out.push({ rule: 'fake-reply-subject', match: subject.slice(0, 4), message: 'a "RE:"/"FW:" subject on a first mail deceives the reader (and anti-spam law treats it as deceptive)' });
  }
  return out;
}
