import { ImapFlow, type ImapFlowOptions } from 'imapflow';
import type { Config } from '../config/config.ts';
import type { Db } from '../db/database.ts';
import { AppError, describeError } from '../shared/app-error.ts';
import type { Logger } from '../shared/logger.ts';
import { getAccountCredentials } from './accounts.ts';

export interface ImapTarget {
  readonly host: string;
  readonly port: number;
  readonly tls: 'tls' | 'starttls' | 'none';
  readonly user: string;
  readonly pass?: string | undefined;
  readonly accessToken?: string | undefined;
}

interface LibError {
  code?: string;
  authenticationFailed?: boolean;
  responseText?: string;
  serverResponseCode?: string;
  message?: string;
}

/** Translates an imapflow/socket error into an AppError naming the server and the fault (never the secret). */
export function translateImapError(cause: unknown, target: { host: string; port: number }, what = 'connect'): AppError {
  if (cause instanceof AppError) return cause;
  const e = (cause ?? {}) as LibError;
  const where = `IMAP ${target.host}:${target.port}`;
  const code = e.code ?? '';
  if (e.authenticationFailed || code === 'AUTHENTICATIONFAILED' || e.serverResponseCode === 'AUTHENTICATIONFAILED') {
    return new AppError('IMAP_AUTH_FAILED', `${where}: login refused (${(e.responseText ?? 'authentication failed').slice(0, 200)})`, { cause });
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return new AppError('IMAP_CONNECT_FAILED', `${where}: DNS lookup failed (${code})`, { cause });
  if (code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'EHOSTUNREACH' || code === 'ETIMEDOUT' || code === 'CONNECT_TIMEOUT' || code === 'GREETING_TIMEOUT' || code === 'NoConnection' || code === 'EPIPE') {
    return new AppError('IMAP_CONNECT_FAILED', `${where}: ${what} failed (${code})`, { cause });
  }
  if (/ssl|tls|certificate|self.signed|wrong version number/i.test(`${code} ${e.message ?? ''}`)) {
    return new AppError('IMAP_TLS_FAILED', `${where}: TLS failed (${describeError(cause)})`, { cause });
  }
  if (code === 'ETHROTTLE') return new AppError('IMAP_FAILED', `${where}: the server is throttling us`, { cause, details: { throttled: true } });
  if (e.serverResponseCode === 'NONEXISTENT' || /doesn't exist|does not exist|Mailbox not found|NONEXISTENT/i.test(e.responseText ?? '')) {
    return new AppError('IMAP_FOLDER_GONE', `${where}: ${what}: folder does not exist`, { cause });
  }
  return new AppError('IMAP_FAILED', `${where}: ${what} failed (${(e.responseText ?? describeError(cause)).slice(0, 200)})`, { cause });
}

/** Opens and logs in. The caller logs out (or closes) it. */
export async function connectImap(target: ImapTarget, options: { logger?: Logger; timeoutMs?: number } = {}): Promise<ImapFlow> {
  const auth = target.accessToken ? { user: target.user, accessToken: target.accessToken } : { user: target.user, pass: target.pass ?? '' };
  const opts: ImapFlowOptions = {
    host: target.host,
    port: target.port,
    secure: target.tls === 'tls',
    doSTARTTLS: target.tls === 'starttls' ? true : target.tls === 'none' ? false : undefined,
    auth,
    logger: false,
    qresync: true,
    disableAutoIdle: true,
    connectionTimeout: options.timeoutMs ?? 15_000,
    greetingTimeout: options.timeoutMs ?? 15_000,
    socketTimeout: 5 * 60_000,
  } as ImapFlowOptions;
  const client = new ImapFlow(opts);
  client.on('error', (err: unknown) => options.logger?.warn({ host: target.host, err: describeError(err) }, 'imap connection error'));
  try {
    await client.connect();
  } catch (cause) {
    client.close();
    throw translateImapError(cause, target);
  }
  return client;
}

/** The IMAP target of a stored account (decrypts its secret). */
export async function accountTarget(db: Db, config: Pick<Config, 'secretKey'>, accountId: number): Promise<ImapTarget> {
  const row = await db.kysely.selectFrom('mail_accounts').select(['name', 'imap_host', 'imap_port', 'imap_tls']).where('id', '=', accountId).executeTakeFirst();
  if (!row) throw new AppError('NOT_FOUND', `account ${accountId}: no such account`);
  if (!row.imap_host) throw new AppError('INPUT_INVALID', `account ${row.name}: no IMAP host configured`);
  const cred = await getAccountCredentials(db, config, accountId, 'imap');
  return { host: row.imap_host, port: row.imap_port ?? (row.imap_tls === 'tls' ? 993 : 143), tls: row.imap_tls, user: cred.user, pass: cred.pass, accessToken: cred.accessToken };
}
