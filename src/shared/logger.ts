import { pino, type Logger } from 'pino';

export type { Logger };

/** Keys whose values never reach a log line (house rule 10). */
export const REDACTED_KEYS = [
  'password', 'pass', 'secret', 'token', 'accessToken', 'access_token', 'auth.pass', 'auth.accessToken',
  '*.password', '*.pass', '*.secret', '*.token', '*.accessToken', 'databaseUrl', '*.databaseUrl',
];

export function createLogger(options: { level?: string; destination?: NodeJS.WritableStream } = {}): Logger {
  const level = options.level ?? process.env.RAPPORT_LOG_LEVEL ?? 'warn';
  const opts = { level, redact: { paths: REDACTED_KEYS, censor: '[redacted]' }, base: null };
  return options.destination ? pino(opts, options.destination as pino.DestinationStream) : pino(opts, pino.destination(2));
}

/** A logger that writes nothing, for tests and library callers that pass none. */
export const silentLogger: Logger = pino({ level: 'silent' });

/** Replaces the password in a connection URL, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
  }
}
