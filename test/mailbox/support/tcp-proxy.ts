import net from 'node:net';

/**
 * A loopback TCP relay in front of a real server, to drop connections the way
 * a flaky network does (not a protocol mock: bytes pass through unchanged), and
 * to stand in for the one IMAP answer Dovecot never gives: a provider's throttling.
 *
 *   const p = await startTcpProxy(d.port);
 *   p.cutAfter(64 * 1024); // the next connection(s) die once 64 KB more came from the server
 *   p.throttleFetches(2, 300); // the next two UID FETCH commands are answered as Microsoft 365 throttles
 *
 * With `gmail`, it also stands in for Gmail's IMAP extension, which Dovecot lacks: it adds X-GM-EXT-1 to
 * every CAPABILITY, takes X-GM-MSGID and X-GM-THRID out of the FETCH commands it passes on, and puts the
 * ids `gmail` gives for the selected folder and UID into each FETCH answer, as Gmail answers them
 * (literals, the messages themselves, pass untouched). With `objectId`, the same for RFC 8474's OBJECTID
 * (Fastmail, Cyrus): OBJECTID in the CAPABILITY, EMAILID and THREADID out of the FETCH commands, and
 * EMAILID (id) into the answers.
 */
export interface GmailIds {
  readonly thrid: string;
  readonly msgid: string;
}
export interface TcpProxy {
  readonly port: number;
  /** Destroys every open connection once `bytes` more bytes have flowed from the server (once). */
  cutAfter(bytes: number): void;
  /** How many connections were cut so far. */
  readonly cuts: number;
  /**
   * The next `count` UID FETCH commands are not passed on: the relay answers each as Microsoft 365
   * answers a throttled request ("BAD Request is throttled. Suggested Backoff Time: N milliseconds").
   */
  throttleFetches(count: number, backoffMs: number): void;
  /** The commands answered as throttled so far. */
  readonly throttled: number;
  /** FETCH commands that asked for X-GM-THRID (gmail mode). */
  readonly gmailFetches: number;
  close(): Promise<void>;
}

export interface TcpProxyOptions {
  readonly targetHost?: string;
  /** Gmail's ids of a message by folder and UID (null: the answer gets none). */
  readonly gmail?: (folder: string, uid: number) => GmailIds | null;
  /** RFC 8474's EMAILID of a message by folder and UID. */
  readonly objectId?: (folder: string, uid: number) => string | null;
}

export async function startTcpProxy(targetPort: number, options: TcpProxyOptions = {}): Promise<TcpProxy> {
  const targetHost = options.targetHost ?? '127.0.0.1';
  const gmail = options.gmail;
  const objectId = options.objectId;
  const rewrite = gmail !== undefined || objectId !== undefined;
  const added = [gmail ? ' X-GM-EXT-1' : '', objectId ? ' OBJECTID' : ''].join('');
  let gmailFetches = 0;
  const open = new Set<net.Socket>();
  let budget: number | null = null;
  let cuts = 0;
  let throttle = { left: 0, backoffMs: 0 };
  let throttled = 0;
  const cutAll = (): void => {
    budget = null;
    cuts++;
    for (const s of open) s.destroy();
  };
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, targetHost);
    open.add(client);
    open.add(upstream);
    const done = (): void => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', done).on('close', done);
    upstream.on('error', done).on('close', done);
    let folder = '';
    // the client's bytes go on line by line (IMAP commands end with CRLF, literals too) so a command can be recognised
    let pending: Buffer = Buffer.alloc(0);
    client.on('data', (d: Buffer) => {
      pending = pending.length === 0 ? d : Buffer.concat([pending, d]);
      let end: number;
      while ((end = pending.indexOf('\r\n')) >= 0) {
        const line = pending.subarray(0, end + 2);
        pending = pending.subarray(end + 2);
        const fetch = throttle.left > 0 ? /^(\S+) UID FETCH /i.exec(line.toString('latin1')) : null;
        if (fetch) {
          throttle.left--;
          throttled++;
          client.write(`${fetch[1]} BAD Request is throttled. Suggested Backoff Time: ${throttle.backoffMs} milliseconds\r\n`);
        } else upstream.write(rewrite ? fromClient(line) : line);
      }
    });
    const fromClient = (line: Buffer): Buffer => {
      const text = line.toString('latin1');
      const select = /^\S+ (?:SELECT|EXAMINE) (?:"((?:[^"\\]|\\.)*)"|(\S+))/i.exec(text);
      if (select) folder = select[1] !== undefined ? select[1].replace(/\\(.)/g, '$1') : (select[2] as string);
      if (!/^\S+ (?:UID )?FETCH /i.test(text) || !/X-GM-(?:MSGID|THRID)|EMAILID|THREADID/i.test(text)) return line;
      if (/X-GM-THRID/i.test(text)) gmailFetches++;
      return Buffer.from(text.replace(/ (?:X-GM-MSGID|X-GM-THRID|EMAILID|THREADID)\b/gi, ''), 'latin1');
    };
    // gmail or objectId: the server's answer read line by line, each literal passed on as it is
    let serverPending: Buffer = Buffer.alloc(0);
    let literalLeft = 0;
    const fromServer = (d: Buffer): Buffer => {
      serverPending = serverPending.length === 0 ? d : Buffer.concat([serverPending, d]);
      const out: Buffer[] = [];
      for (;;) {
        if (literalLeft > 0) {
          const n = Math.min(literalLeft, serverPending.length);
          if (n === 0) break;
          out.push(serverPending.subarray(0, n));
          serverPending = serverPending.subarray(n);
          literalLeft -= n;
          continue;
        }
        const end = serverPending.indexOf('\r\n');
        if (end < 0) break;
        let text = serverPending.subarray(0, end + 2).toString('latin1');
        serverPending = serverPending.subarray(end + 2);
        text = text.replace(/CAPABILITY IMAP4rev1/gi, `$&${added}`);
        const fetch = /^\* \d+ FETCH \(/i.exec(text);
        const uid = fetch ? Number(/\bUID (\d+)/i.exec(text)?.[1] ?? 0) : 0;
        if (fetch && uid > 0) {
          const ids = gmail?.(folder, uid);
          const emailId = objectId?.(folder, uid);
          const extra = `${ids ? `X-GM-THRID ${ids.thrid} X-GM-MSGID ${ids.msgid} ` : ''}${emailId ? `EMAILID (${emailId}) ` : ''}`;
          text = `${fetch[0]}${extra}${text.slice(fetch[0].length)}`;
        }
        const literal = /\{(\d+)\+?\}\r\n$/.exec(text);
        if (literal) literalLeft = Number(literal[1]);
        out.push(Buffer.from(text, 'latin1'));
      }
      return Buffer.concat(out);
    };
    upstream.on('data', (raw: Buffer) => {
      const d = rewrite ? fromServer(raw) : raw;
      if (budget !== null) {
        budget -= d.length;
        if (budget <= 0) {
          // pass half of the chunk, then drop: the client sees a literal cut short
          client.write(d.subarray(0, Math.floor(d.length / 2)), () => cutAll());
          return;
        }
      }
      client.write(d);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const a = server.address();
  const port = typeof a === 'object' && a ? a.port : 0;
  return {
    port,
    cutAfter(bytes) {
      budget = bytes;
    },
    get cuts() {
      return cuts;
    },
    throttleFetches(count, backoffMs) {
      throttle = { left: count, backoffMs };
    },
    get throttled() {
      return throttled;
    },
    get gmailFetches() {
      return gmailFetches;
    },
    async close() {
      for (const s of open) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
