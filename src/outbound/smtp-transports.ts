import { readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import nodemailer, { type Transporter } from 'nodemailer';
import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import { AppError, describeError } from '../shared/app-error.ts';
import type { DkimConfig } from './compose.ts';
import type { OutboundSettings } from './settings.ts';

/**
 * Sees the stream of a mail's bytes as the transport reads it to the server (after composing and
 * DKIM signing) and returns the stream to send: the sender learns from it when the server has had
 * the whole message, and keeps a copy of the bytes when it needs them.
 */
export type StreamTap = (stream: Readable) => Readable;

/** Mail data for sendMail with a tap (see StreamTap). */
export interface TappedMail {
  readonly rapportTap?: StreamTap;
}

export interface SmtpCredentials {
  readonly user: string;
  readonly pass?: string;
  readonly accessToken?: string;
}

/** Where the sender gets an account's SMTP secret (the mailbox domain's getAccountCredentials). */
export type CredentialSource = (accountId: number) => Promise<SmtpCredentials | null>;

export interface SmtpTransportOptions {
  readonly credentials: CredentialSource;
  readonly settings: OutboundSettings;
  /** Connections per account pool (default 5). */
  readonly maxConnections?: number;
  readonly socketTimeoutMs?: number;
}

interface AccountSmtp {
  name: string;
  smtp_host: string | null;
  smtp_port: number | null;
  smtp_tls: string;
}

export interface AccountTransport {
  readonly transporter: Transporter;
  readonly dkim: DkimConfig | undefined;
  readonly fromName: string | undefined;
}

/**
 * One pooled nodemailer transport per sending account. maxMessages is
 * unlimited: reconnecting every 100 messages (nodemailer's default) costs a
 * greeting delay each time. A transport is dropped after an auth failure so a
 * changed password is read again.
 */
export class SmtpTransports {
  private readonly pools = new Map<number, Promise<AccountTransport>>();

  constructor(
    private readonly db: Db,
    private readonly options: SmtpTransportOptions,
  ) {}

  get(accountId: number): Promise<AccountTransport> {
    let p = this.pools.get(accountId);
    if (!p) {
      p = this.open(accountId);
      this.pools.set(accountId, p);
      p.catch(() => this.pools.delete(accountId));
    }
    return p;
  }

  private async open(accountId: number): Promise<AccountTransport> {
    const row = (await sql<AccountSmtp>`SELECT name, smtp_host, smtp_port, smtp_tls FROM mail_accounts WHERE id = ${accountId}`.execute(this.db.kysely)).rows[0];
    if (!row) throw new AppError('NOT_FOUND', `sending account ${accountId}: no such account`);
    if (!row.smtp_host) throw new AppError('CONFIG_INVALID', `account ${row.name}: no SMTP host configured`);
    const creds = await this.options.credentials(accountId);
    const cfg = this.options.settings.accounts[row.name];
    let dkim: DkimConfig | undefined;
    if (cfg?.dkim) {
      let privateKey: string;
      try {
        privateKey = readFileSync(cfg.dkim.privateKeyFile, 'utf8');
      } catch (cause) {
        throw new AppError('CONFIG_INVALID', `config outbound.accounts.${row.name}.dkim.privateKeyFile: cannot be read (${describeError(cause)})`, { cause });
      }
      dkim = { domainName: cfg.dkim.domainName, keySelector: cfg.dkim.keySelector, privateKey };
    }
    const tls = row.smtp_tls;
    const port = row.smtp_port ?? (tls === 'tls' ? 465 : 587);
    const auth = creds && (creds.pass !== undefined || creds.accessToken !== undefined)
      ? creds.accessToken !== undefined
        ? { type: 'OAuth2' as const, user: creds.user, accessToken: creds.accessToken }
        : { user: creds.user, pass: creds.pass ?? '' }
      : undefined;
    const transporter = nodemailer.createTransport({
      pool: true,
      host: row.smtp_host,
      port,
      secure: tls === 'tls',
      requireTLS: tls === 'starttls',
      ignoreTLS: tls === 'none',
      ...(auth ? { auth } : {}),
      maxConnections: this.connectionsFor(row.name),
      maxMessages: Infinity,
      connectionTimeout: 30_000,
      greetingTimeout: 30_000,
      socketTimeout: this.options.socketTimeoutMs ?? 60_000,
    });
    // A raw message's node gets its Message-ID header from the mail data: without one nodemailer makes up
    // a random id (five random draws) for its own bookkeeping, on every mail. The raw bytes are sent as they are.
    transporter.use('stream', (mail, done) => {
      if (mail.data.raw && typeof mail.data.messageId === 'string' && !mail.message.getHeader('Message-ID')) mail.message.setHeader('Message-ID', mail.data.messageId);
      const tap = (mail.data as TappedMail).rapportTap;
      if (tap) {
        const message = mail.message;
        const create = message.createReadStream.bind(message);
        message.createReadStream = (...args: Parameters<typeof create>) => tap(create(...args));
      }
      done();
    });
    return { transporter, dkim, fromName: cfg?.fromName };
  }

  /** How many SMTP connections an account's pool opens (its config, else this sender's default, else 5). */
  connectionsFor(accountName: string): number {
    return this.options.settings.accounts[accountName]?.maxConnections ?? this.options.maxConnections ?? 5;
  }

  /** Closes an account's pool (after an auth failure, or at shutdown). */
  async drop(accountId: number): Promise<void> {
    const p = this.pools.get(accountId);
    this.pools.delete(accountId);
    if (p) (await p.catch(() => null))?.transporter.close();
  }

  async closeAll(): Promise<void> {
    const ids = [...this.pools.keys()];
    await Promise.all(ids.map((id) => this.drop(id)));
  }
}
