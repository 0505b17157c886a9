// Cutting a body down to what the sender wrote now: no quoted history, no signature.

const QUOTE_START: readonly RegExp[] = [
  /^\s*>/,
  /^\s*On .{4,200} wrote:\s*$/i,
  /^\s*On .{4,200}$/i, // "On Mon, Dec 7, 2026, Kevin Zhang wrote:" folded over two lines
  /^\s*-{2,}\s*(Original Message|Forwarded message|Weitergeleitete Nachricht|Message d'origine|Mensaje original|Mensagem original|原始邮件|转发邮件)/i,
  /^\s*_{10,}\s*$/,
  /^\s*(From|De|Von|Van|Da|От|发件人|寄件者)\s*[:：].+/i,
  /^\s*在.{2,80}(写道|寫道)[:：]?\s*$/,
  /^\s*Am .{4,120} schrieb.*$/i,
  /^\s*Le .{4,120} a écrit\s*:?\s*$/i,
  /^\s*El .{4,120} escribió\s*:?\s*$/i,
  /^\s*Em .{4,120} escreveu\s*:?\s*$/i,
  /^\s*Il .{4,120} ha scritto\s*:?\s*$/i,
];

const SIGNATURE_START: readonly RegExp[] = [/^--\s*$/, /^—\s*$/, /^Sent from my (iPhone|iPad|Android|mobile)/i, /^发自我的(iPhone|手机)/];

/** The newest part of a body: up to the first quote header, without the signature block. */
export function newestPart(text: string): string {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  const out: string[] = [];
  for (let i = 0; i < lines.length; i += 1) {
    const line = lines[i] ?? '';
    if (QUOTE_START[0]!.test(line)) break;
    if (QUOTE_START.slice(1).some((re) => re.test(line))) {
      // "On ... " only counts when it (or the next line) ends with wrote:
      if (/^\s*On /i.test(line) && !/wrote:\s*$/i.test(line) && !/wrote:\s*$/i.test(lines[i + 1] ?? '')) {
        out.push(line);
        continue;
      }
      break;
    }
    if (SIGNATURE_START.some((re) => re.test(line))) break;
    out.push(line);
  }
  return out.join('\n').trim();
}

/** The first non-empty line (the salutation, usually). */
export function firstLine(text: string): string {
  for (const line of text.split('\n')) if (line.trim() !== '') return line.trim();
  return '';
}
