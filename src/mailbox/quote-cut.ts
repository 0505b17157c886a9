/**
 * The newest part of a reply: the text above the quoted history. Recognises
 * the attributions of common clients in several languages, Outlook's
 * separators and header blocks, and leading '>' quotes.
 */
const CUT_LINES: RegExp[] = [
  /^-{2,}\s*(original message|ursprüngliche nachricht|message d'origine|mensaje original|messaggio originale|原始邮件|原始郵件|原邮件|oorspronkelijk bericht|forwarded message|weitergeleitete nachricht)\s*-{2,}/i,
  /^_{10,}\s*$/,
  /^on\b.{0,200}\bwrote:\s*$/i,
  /^am\b.{0,200}\bschrieb.{0,80}:\s*$/i,
  /^le\b.{0,200}\ba écrit\s*:\s*$/i,
  /^el\b.{0,200}\bescribió:\s*$/i,
  /^il\b.{0,200}\bha scritto:\s*$/i,
  /^em\b.{0,200}\bescreveu:\s*$/i,
  /^op\b.{0,200}\bschreef.{0,80}:\s*$/i,
  /^在\s?.{0,200}(写道|寫道)\s*[:：]\s*$/,
  /^.{0,200}(写道|寫道)\s*[:：]\s*$/,
  /^(发件人|發件人|寄件者)\s*[:：]/,
  /^-+\s*(回复的原邮件|原始邮件|原始信件)\s*-+/,
  /^(from|von|de|da|van|от)\s*:\s.+/i,
];

/**
 * The lines that end the new part (all of CUT_LINES but the last, bare "From:"), as one
 * alternation: a line is tested once, not 13 times (each pattern is anchored and read
 * case-insensitively either way; the ones written without /i have no letters with case).
 */
const CUT_LINE = new RegExp(CUT_LINES.slice(0, 13).map((re) => `(?:${re.source})`).join('|'), 'i');
const HEADER_BLOCK_FROM = /^\*?(from|von|de|da|van|от|发件人|發件人|寄件者)\*?\s*[:：]/i;
const HEADER_BLOCK_NEXT = /^\*?(sent|date|gesendet|envoyé|enviado|inviato|发送时间|發送時間|日期|时间|to|an|à|para|a|收件人)\*?\s*[:：]/i;

function isHeaderBlockStart(lines: string[], i: number): boolean {
  // "From: x" followed within 4 lines by "Sent:"/"Date:"/"发送时间:" is Outlook's quoted header.
  const line = lines[i] ?? '';
  if (!HEADER_BLOCK_FROM.test(line.trim())) return false;
  for (let j = i + 1; j < Math.min(lines.length, i + 5); j++) {
    if (HEADER_BLOCK_NEXT.test((lines[j] ?? '').trim())) return true;
  }
  return false;
}

export function newestPart(text: string | null | undefined): string {
  if (!text) return '';
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  let cut = lines.length;
  for (let i = 0; i < lines.length; i++) {
    const t = (lines[i] ?? '').trim();
    if (t.startsWith('>')) {
      // a block of quoted lines ends the new part when it runs to the end or to a signature
      let j = i;
      while (j < lines.length && ((lines[j] ?? '').trim().startsWith('>') || (lines[j] ?? '').trim() === '')) j++;
      if (j >= lines.length || j - i >= 3) {
        cut = i;
        break;
      }
      continue;
    }
    if (CUT_LINE.test(t) || isHeaderBlockStart(lines, i)) {
      cut = i;
      break;
    }
  }
  const out = lines.slice(0, cut).join('\n').trim();
  return out.length > 0 ? out : text.trim();
}
