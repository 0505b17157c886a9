import net from 'node:net';

/**
 * A loopback TCP relay in front of a real server, to drop connections the way
 * a flaky network does (not a protocol mock: bytes pass through unchanged).
 *
 *   const p = await startTcpProxy(d.port);
 *   p.cutAfter(64 * 1024); // the next connection(s) die once 64 KB more came from the server
 */
export interface TcpProxy {
  readonly port: number;
  /** Destroys every open connection once `bytes` more bytes have flowed from the server (once). */
  cutAfter(bytes: number): void;
  /** How many connections were cut so far. */
  readonly cuts: number;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  const open = new Set<net.Socket>();
  let budget: number | null = null;
  let cuts = 0;
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
    client.on('data', (d: Buffer) => upstream.write(d));
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
    async close() {
      for (const s of open) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
