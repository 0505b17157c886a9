import { isAscii, isUtf8 } from 'node:buffer';
import { TextDecoder } from 'node:util';
/**
 * Repairs applied to raw bytes before parsing, for mail found in the wild:
 * bare-CR line endings (old Mac clients) become CRLF, and a header block in
 * raw 8-bit bytes that are not UTF-8 (Latin-1 or GBK headers written without
 * encoded words) is decoded with the charset the message declares, else
 * Windows-1252, and re-written as UTF-8.
 */
/**
 * Where the header block ends: the first blank line (CRLF CRLF, or LF LF in bare-LF mail), else the
 * end. A bare-LF blank line is looked for only before the first CRLF one (not through the whole body).
 */
export function headerEnd(raw: Buffer): number {
  const crlf = raw.indexOf('\r\n\r\n');
  const lf = (crlf < 0 ? raw : raw.subarray(0, crlf)).indexOf('\n\n');
  return lf >= 0 ? lf : crlf >= 0 ? crlf : raw.length;
}

function decoderFor(charset: string | null): TextDecoder {
  for (const c of [charset, 'windows-1252']) {
    if (!c) continue;
    try {
      return new TextDecoder(c.toLowerCase() === 'gb2312' ? 'gbk' : c);
    } catch {
      /* unknown label: try the next */
    }
  }
  return new TextDecoder('windows-1252');
}

export function repairRaw(raw: Buffer): Buffer {
  let buf = raw;
  const probe = buf.subarray(0, Math.min(buf.length, 65_536));
  if (probe.indexOf(0x0a) < 0 && probe.indexOf(0x0d) >= 0) {
    buf = Buffer.from(buf.toString('latin1').replace(/\r/g, '\r\n'), 'latin1');
  }
  const end = headerEnd(buf);
  const head = buf.subarray(0, end);
  // native checks: most header blocks are ASCII (a loop over their bytes in JS cost ~1% of a sync)
  if (isAscii(head) || isUtf8(head)) return buf;
  const declared = /content-type:[^\n]*?charset\s*=\s*"?([A-Za-z0-9_.:-]+)/i.exec(head.toString('latin1'))?.[1] ?? null;
  const text = decoderFor(declared).decode(head);
  return Buffer.concat([Buffer.from(text, 'utf8'), buf.subarray(end)]);
}
