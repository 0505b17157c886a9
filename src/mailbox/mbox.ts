import { createReadStream } from 'node:fs';

/**
 * Splits an mbox file into raw messages, streaming (a 15-year archive does not
 * fit in memory). A message starts at a line "From " after an empty line (or
 * at the top); ">From " quoting (mboxrd) is undone.
 */
export async function* readMbox(file: string): AsyncGenerator<Buffer> {
  let carry = Buffer.alloc(0);
  let current: Buffer[] = [];
  let started = false;
  let prevEmpty = true;
  const flush = (): Buffer | null => {
    if (!started || current.length === 0) return null;
    let buf = Buffer.concat(current);
    // drop the separator's trailing blank line
    if (buf.length >= 2 && buf[buf.length - 1] === 0x0a && buf[buf.length - 2] === 0x0a) buf = buf.subarray(0, buf.length - 1);
    return buf;
  };
  const onLine = function* (line: Buffer): Generator<Buffer> {
    const isFrom = line.length >= 5 && line[0] === 0x46 && line.subarray(0, 5).toString('latin1') === 'From ';
    if (isFrom && prevEmpty) {
      const done = flush();
      if (done && done.length > 0) yield done;
      current = [];
      started = true;
      prevEmpty = false;
      return;
    }
    if (!started) {
      // not an mbox separator at the top: treat the file as one message
      started = true;
    }
    const unquoted = /^>+From /.test(line.subarray(0, Math.min(line.length, 64)).toString('latin1')) ? line.subarray(1) : line;
    current.push(unquoted);
    prevEmpty = line.length === 1 || (line.length === 2 && line[0] === 0x0d);
  };
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) {
    let data = carry.length > 0 ? Buffer.concat([carry, chunk as Buffer]) : (chunk as Buffer);
    let at = 0;
    for (;;) {
      const nl = data.indexOf(0x0a, at);
      if (nl < 0) break;
      yield* onLine(data.subarray(at, nl + 1));
      at = nl + 1;
    }
    carry = Buffer.from(data.subarray(at));
    data = Buffer.alloc(0);
  }
  if (carry.length > 0) yield* onLine(carry);
  const last = flush();
  if (last && last.length > 0) yield last;
}
