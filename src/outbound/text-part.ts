/**
 * A text body part (UTF-8 text/plain or text/html) encoded for the wire, headers included, for nodemailer's
 * `raw` node. nodemailer encodes a quoted-printable part through a chain of streams per part, byte by byte
 * in JavaScript, and checks each part for plain text and long lines first: for a 20 KB mail that is a fifth
 * of the sender's CPU. Mail is mostly ASCII lines that need no escape at all, which this tells with one
 * native scan a line and cuts into soft-broken lines by slicing; other lines are escaped here once.
 *
 * Output follows RFC 2045 6.7: lines end in CRLF (a line break of the text, whichever form it had, is one
 * CRLF), encoded lines are at most 76 characters with the soft break, `=`, control characters and non-ASCII
 * bytes are written =XX, and whitespace ending a line is encoded so no transport can strip it.
 */

const HEX = Buffer.from('0123456789ABCDEF', 'latin1');
/** Characters that cannot stand for themselves in quoted-printable text (one UTF-16 unit at a time). */
const ESCAPE = /[^\t\x20-\x3c\x3e-\x7e]/g;
/** Characters on an encoded line before its soft break `=`: 75 + 1 = 76. */
const MAX = 75;
/** A cut goes after a space this close to the line's end when there is one: words stay whole in the raw text, as nodemailer keeps them. */
const SPACE_WINDOW = 25;

/** Writes quoted-printable into one buffer (no string a character): the sender makes hundreds of these a second. */
class QpWriter {
  readonly buf: Buffer;
  pos = 0;
  /** Characters on the current encoded line. */
  private col = 0;

  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }

  ascii(s: string): void {
    if (this.pos + s.length > this.buf.length) throw new Error('quoted-printable: the output outgrew its buffer');
    this.pos += this.buf.write(s, this.pos, 'latin1');
  }

  softBreak(): void {
    this.ascii('=\r\n');
    this.col = 0;
  }

  hardBreak(): void {
    this.ascii('\r\n');
    this.col = 0;
  }

  /** line[from, to): characters that stand for themselves, cut into encoded lines. */
  run(line: string, from: number, to: number): void {
    while (to - from > MAX - this.col) {
      let end = from + (MAX - this.col);
      // the last space among the window's characters (a bounded look back: text without spaces costs no more)
      for (let k = end - 1, lo = Math.max(from, end - SPACE_WINDOW); k >= lo; k--) {
        if (line.charCodeAt(k) === 0x20) {
          end = k + 1;
          break;
        }
      }
      if (end > from) this.ascii(line.slice(from, end));
      this.softBreak();
      from = end;
    }
    if (to > from) {
      this.ascii(line.slice(from, to));
      this.col += to - from;
    }
  }

  /** One code point as its UTF-8 bytes, =XX each, kept on one encoded line (a lone surrogate as U+FFFD, as Buffer.from writes it). */
  codePoint(cp: number): void {
    if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xfffd;
    const n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    if (this.col + 3 * n > MAX) this.softBreak();
    if (n === 1) this.byte(cp);
    else if (n === 2) {
      this.byte(0xc0 | (cp >> 6));
      this.byte(0x80 | (cp & 63));
    } else if (n === 3) {
      this.byte(0xe0 | (cp >> 12));
      this.byte(0x80 | ((cp >> 6) & 63));
      this.byte(0x80 | (cp & 63));
    } else {
      this.byte(0xf0 | (cp >> 18));
      this.byte(0x80 | ((cp >> 12) & 63));
      this.byte(0x80 | ((cp >> 6) & 63));
      this.byte(0x80 | (cp & 63));
    }
  }

  private byte(b: number): void {
    const { buf } = this;
    if (this.pos + 3 > buf.length) throw new Error('quoted-printable: the output outgrew its buffer');
    buf[this.pos++] = 0x3d;
    buf[this.pos++] = HEX[b >> 4]!;
    buf[this.pos++] = HEX[b & 15]!;
    this.col += 3;
  }
}

/** One line of text (no line break in it). Whitespace ending it is escaped, so no transport can strip it. */
function encodeLine(w: QpWriter, line: string): void {
  const last = line.charCodeAt(line.length - 1);
  const trailing = last === 0x20 || last === 0x09;
  const end = trailing ? line.length - 1 : line.length;
  let from = 0;
  ESCAPE.lastIndex = 0;
  for (;;) {
    const m = ESCAPE.exec(line);
    const at = m && m.index < end ? m.index : end;
    if (at > from) w.run(line, from, at);
    if (at >= end) break;
    const cp = line.codePointAt(at)!;
    w.codePoint(cp);
    from = at + (cp > 0xffff ? 2 : 1);
    ESCAPE.lastIndex = from;
  }
  if (trailing) w.codePoint(last);
}

/** Header text (ASCII) followed by the text as quoted-printable, lines ending in CRLF. */
export function quotedPrintable(text: string, head = ''): Buffer {
  const lines = text.includes('\r') ? text.split(/\r\n|\n|\r/) : text.split('\n');
  // each UTF-8 byte (a lone surrogate counts as U+FFFD's three) becomes 3 characters at most (=XX), an encoded line
  // holds 50 characters or more before its 3-character soft break, each line break is 2
  const encoded = 3 * Buffer.byteLength(text, 'utf8');
  const w = new QpWriter(head.length + encoded + 3 * Math.ceil(encoded / 50) + 2 * lines.length + 16);
  w.ascii(head);
  for (let n = 0; n < lines.length; n++) {
    if (n > 0) w.hardBreak();
    const line = lines[n]!;
    if (line.length > 0) encodeLine(w, line);
  }
  return w.buf.subarray(0, w.pos);
}

/** The text's UTF-8 bytes in base64, lines of 76 characters ending in CRLF. */
export function base64Lines(text: string): string {
  const b64 = Buffer.from(text, 'utf8').toString('base64');
  const out: string[] = [];
  for (let i = 0; i < b64.length; i += 76) out.push(b64.slice(i, i + 76));
  return out.join('\r\n');
}

/** The whole MIME node (its two headers, a blank line, the encoded body) for a UTF-8 text part. */
export function rawTextPart(contentType: 'text/plain' | 'text/html', text: string, encoding: 'quoted-printable' | 'base64'): Buffer | string {
  const head = `Content-Type: ${contentType}; charset=utf-8\r\nContent-Transfer-Encoding: ${encoding}\r\n\r\n`;
  return encoding === 'base64' ? head + base64Lines(text) : quotedPrintable(text, head);
}
