import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import type { AddressInfo } from 'node:net';

export interface SinkMail {
  readonly messageId: string;
  readonly to: string[];
  readonly raw: Buffer;
  readonly at: number;
}

export interface SmtpSink {
  readonly port: number;
  readonly mails: SinkMail[];
  /** How many times each Message-ID arrived. */
  counts(): Map<string, number>;
  close(): Promise<void>;
}

export interface SinkBehaviour {
  /** Answer RCPT TO for this recipient with an error (e.g. '550 5.1.1 user unknown' or '451 4.3.0 try later'). */
  rcpt?: (address: string) => { code: number; message: string } | null;
  /** Refuse every login. */
  refuseAuth?: boolean;
  /** Do not keep the body (benchmarks). */
  light?: boolean;
}

/** An in-process smtp-server on a random loopback port that counts what it receives. */
export async function startSink(behaviour: SinkBehaviour = {}, extra: Partial<SMTPServerOptions> = {}): Promise<SmtpSink> {
  const mails: SinkMail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    size: 50 * 1024 * 1024,
    onAuth(auth, _session, cb) {
      if (behaviour.refuseAuth) {
        const err = new Error('5.7.8 Authentication credentials invalid') as Error & { responseCode: number };
        err.responseCode = 535;
        cb(err);
        return;
      }
      cb(null, { user: auth.username });
    },
    onRcptTo(address, _session, cb) {
      const answer = behaviour.rcpt?.(address.address);
      if (answer) {
        const err = new Error(answer.message) as Error & { responseCode: number };
        err.responseCode = answer.code;
        cb(err);
        return;
      }
      cb();
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      let head = '';
      stream.on('data', (c: Buffer) => {
        if (!behaviour.light) chunks.push(c);
        if (head.length < 4096) head += c.toString('latin1');
      });
      stream.on('end', () => {
        const m = /^message-id:\s*<?([^>\r\n]+)>?/im.exec(head);
        mails.push({ messageId: m?.[1]?.trim() ?? '', to: session.envelope.rcptTo.map((r) => r.address), raw: Buffer.concat(chunks), at: Date.now() });
        cb(null, '250 2.0.0 queued as sink');
      });
    },
    ...extra,
  });
  server.on('error', () => undefined); // a client killed mid-session resets its socket: not the sink's failure
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.server.address() as AddressInfo).port;
  return {
    port,
    mails,
    counts() {
      const c = new Map<string, number>();
      for (const m of mails) c.set(m.messageId, (c.get(m.messageId) ?? 0) + 1);
      return c;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
