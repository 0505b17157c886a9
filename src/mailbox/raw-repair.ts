import { TextDecoder } from 'node:util';
/**
 * Repairs applied to raw bytes before parsing, for mail found in the wild:
 * bare-CR line endings (old Mac clients) become CRLF, and a header block in
 * raw 8-bit bytes that are not UTF-8 (Latin-1 or GBK headers written without
 * encoded words) is decoded with the charset the message declares, else
 * Windows-1252, and re-written as UTF-8.
 */
const utf8 = new TextDecoder('utf-8', { fatal: true });

function headerEnd(raw: Buffer): number {
  const crlf = raw.indexOf('\r\n\r\n');
  const lf = raw.indexOf('\n\n');
  if (crlf < 0) return lf < 0 ? raw.length : lf;
  if (lf < 0) return crlf;
  return Math.min(crlf, lf);
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
  let high = false;
  for (const b of head) {
    if (b >= 0x80) {
      high = true;
      break;
    }
  }
  if (!high) return buf;
  try {
    utf8.decode(head);
    return buf;
  } catch {
    const declared = /content-type:[^\n]*?charset\s*=\s*"?([A-Za-z0-9_.:-]+)/i.exec(head.toString('latin1'))?.[1] ?? null;
    const text = decoderFor(declared).decode(head);
    return Buffer.concat([Buffer.from(text, 'utf8'), buf.subarray(end)]);
  }
}
