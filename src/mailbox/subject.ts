/**
 * Subject normalization for the subject fallback of threading: strips reply
 * and forward prefixes in many languages (Re, RE, Fwd, FW, AW, WG, SV, VS,
 * Réf, 回复, 回覆, 答复, 转发, 轉寄 ...), counters like "Re[2]:", and
 * gateway tags like "[External]", then folds case and white space.
 */
const PREFIXES = [
  're', 'fw', 'fwd', 'aw', 'wg', 'sv', 'vs', 'vb', 'antw', 'doorst', 'tr', 'rif', 'r', 'i', 'réf', 'ref', 'rv', 'enc',
  'res', 'odp', 'pd', 'přeposlat', 'atb', 'vl', 'ynt', 'ilt', 'fs', 'sv', 'πρθ', 'σχετ', 'отв', 'пересл', 'הועבר', 'השב',
  'رد', 'إعادة توجيه', '回复', '回覆', '答复', '答覆', '转发', '轉發', '轉寄', '转寄', 'إلى',
];
const escaped = [...new Set(PREFIXES)].sort((a, b) => b.length - a.length).map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
const PREFIX_RE = new RegExp(`^\\s*(?:${escaped.join('|')})\\s*(?:\\[\\d+\\]|\\(\\d+\\)|\\^\\d+)?\\s*[:：]\\s*`, 'iu');
const TAG_RE = /^\s*[[【](?:external|ext|extern|spam|suspected spam|外部邮件|外部郵件|外部|warning|caution)[\]】]\s*/iu;

/** Strips every leading reply/forward prefix and gateway tag. Keeps the original case. */
export function stripSubjectPrefixes(subject: string | null | undefined): string {
  let s = (subject ?? '').normalize('NFKC');
  for (let i = 0; i < 50; i++) {
    const next = s.replace(PREFIX_RE, '').replace(TAG_RE, '');
    if (next === s) break;
    s = next;
  }
  return s.trim();
}

/** The key for subject fallback: prefixes stripped, lower-case, single spaces. */
export function normalizeSubject(subject: string | null | undefined): string {
  return stripSubjectPrefixes(subject).toLowerCase().replace(/\s+/g, ' ').trim();
}

/** True when the subject starts with a reply or forward prefix. */
export function hasReplyPrefix(subject: string | null | undefined): boolean {
  const s = (subject ?? '').normalize('NFKC').replace(TAG_RE, '');
  return PREFIX_RE.test(s);
}
