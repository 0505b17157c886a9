import net from 'node:net';

/**
 * A loopback TCP relay in front of a real server, to drop connections the way
 * a flaky network does (not a protocol mock: bytes pass through unchanged), and
 * to stand in for the one IMAP answer Dovecot never gives: a provider's throttling.
 *
 *   const p = await startTcpProxy(d.port);
 *   p.cutAfter(64 * 1024); // the next connection(s) die once 64 KB more came from the server
 *   p.throttleFetches(2, 300); // the next two UID FETCH commands are answered as Microsoft 365 throttles
 */
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
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
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
        } else upstream.write(line);
      }
    });
    upstream.on('data', (d: Buffer) => {
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
    async close() {
      for (const s of open) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
