import type { ImapFlow } from 'imapflow';
import type { Config } from '../config/config.ts';
import type { Db } from '../db/database.ts';
import { AppError } from '../shared/app-error.ts';
import { systemClock, type Clock } from '../shared/clock.ts';
import type { Logger } from '../shared/logger.ts';
import { pickFolders } from './folder-roles.ts';
import { createParsePool } from './parse-pool.ts';
import { accountTarget, connectImap, translateImapError, type ImapTarget } from './imap-connect.ts';
import { ourAddresses } from './our-addresses.ts';
import { syncFolder, type FolderProgress, type FolderSyncResult, type BodyParseFn, type ParseFn } from './sync-folder.ts';
import { backoffDelay, parseSyncSettings, type SyncSettings } from './sync-settings.ts';

export interface FolderReport {
  readonly path: string;
  readonly ok: boolean;
  readonly result?: FolderSyncResult;
  readonly error?: string;
  readonly code?: string;
}

export interface AccountSyncReport {
  readonly accountId: number;
  readonly account: string;
  readonly ok: boolean;
  readonly folders: FolderReport[];
  /** An account-level fault (connection, login): no folder could be synced. */
  readonly error?: string;
  readonly code?: string;
}

export interface SyncAccountOptions {
  readonly settings?: SyncSettings;
  readonly logger?: Logger;
  readonly clock?: Clock;
  readonly onProgress?: (p: FolderProgress) => void;
  readonly parse?: ParseFn;
  readonly afterBatch?: (committed: number, pass: 'headers' | 'bodies') => void | Promise<void>;
  /** Stop each folder after its header pass (threads and links in, bodies on the next run). */
  readonly stopAfterHeaders?: boolean;
  readonly sleep?: (ms: number) => Promise<void>;
}

const defaultSleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function recordFolderError(db: Db, folderId: number, message: string, at: Date): Promise<void> {
  await db.kysely.updateTable('mail_folders').set({ last_error: message.slice(0, 1000), last_error_at: at }).where('id', '=', folderId).execute();
}

async function connectWithRetry(target: ImapTarget, settings: SyncSettings, logger: Logger | undefined, sleep: (ms: number) => Promise<void>): Promise<ImapFlow> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await connectImap(target, { ...(logger ? { logger } : {}), timeoutMs: settings.connectTimeoutMs });
    } catch (e) {
      const err = e instanceof AppError ? e : translateImapError(e, target);
      if (err.code === 'IMAP_AUTH_FAILED' || attempt >= settings.reconnectAttempts) throw err;
      await sleep(backoffDelay(attempt, settings.backoffMs));
    }
  }
}

/**
 * Syncs one account: INBOX and Sent first, then configured folders. Every
 * folder's fault is recorded on the folder and reported, never fatal to the
 * others; a dropped connection is re-opened with jittered backoff and the
 * folder resumes from its cursor.
 */
export async function syncAccount(db: Db, config: Pick<Config, 'secretKey' | 'sections'>, accountId: number, options: SyncAccountOptions = {}): Promise<AccountSyncReport> {
  const settings = options.settings ?? parseSyncSettings(config.sections.mailbox);
  const clock = options.clock ?? systemClock;
  const sleep = options.sleep ?? defaultSleep;
  const account = await db.kysely.selectFrom('mail_accounts').select(['id', 'name', 'sync_folders']).where('id', '=', accountId).executeTakeFirst();
  if (!account) throw new AppError('NOT_FOUND', `account ${accountId}: no such account`);
  const target = await accountTarget(db, config, accountId);
  const us = await ourAddresses(db);
  const knownFolders = await db.kysely.selectFrom('mail_folders').select(['id', 'path']).where('account_id', '=', accountId).execute();

  const pool = !options.parse && settings.parseWorkers > 0 ? createParsePool(settings.parseWorkers, { timeoutMs: settings.parseTimeoutMs }) : null;
  const parse: ParseFn | undefined = options.parse ?? (pool ? (raw, internalDate) => pool.parse(raw, internalDate) : undefined);
  const parseBody: BodyParseFn | undefined = pool ? (raw) => pool.parseBody(raw) : undefined;
  try {
    return await syncWithClient();
  } finally {
    await pool?.close();
  }

  async function syncWithClient(): Promise<AccountSyncReport> {
  if (!account) throw new AppError('NOT_FOUND', `account ${accountId}: no such account`);
  let client: ImapFlow;
  try {
    client = await connectWithRetry(target, settings, options.logger, sleep);
  } catch (e) {
    const err = e instanceof AppError ? e : translateImapError(e, target);
    options.logger?.warn({ account: account.name, code: err.code, err: err.message }, 'account sync failed');
    for (const f of knownFolders) await recordFolderError(db, f.id, err.message, clock.now());
    await db.kysely.updateTable('mail_accounts').set({ last_error: err.message.slice(0, 1000), last_error_at: clock.now() }).where('id', '=', accountId).execute();
    return { accountId, account: account.name, ok: false, folders: [], error: err.message, code: err.code };
  }
  const reports: FolderReport[] = [];
  await db.kysely.updateTable('mail_accounts').set({ last_sync_at: clock.now(), last_error: null }).where('id', '=', accountId).execute();
  try {
    const listed = await client.list();
    const picked = pickFolders(listed, account.sync_folders);
    // folders we synced before that the server no longer has
    for (const f of knownFolders) {
      if (!listed.some((l) => l.path === f.path)) {
        const msg = `folder ${f.path}: no longer exists on the server (its messages are kept)`;
        await recordFolderError(db, f.id, msg, clock.now());
        reports.push({ path: f.path, ok: false, error: msg, code: 'IMAP_FOLDER_GONE' });
      }
    }
    for (const p of picked) {
      const row = await db.kysely
        .insertInto('mail_folders')
        .values({ account_id: accountId, path: p.path, role: p.role })
        .onConflict((oc) => oc.columns(['account_id', 'path']).doUpdateSet({ role: p.role }))
        .returning('id')
        .executeTakeFirstOrThrow();
      for (let attempt = 0; ; attempt++) {
        try {
          if (!client.usable) client = await connectWithRetry(target, settings, options.logger, sleep);
          const result = await syncFolder({ db, client, accountId, us, settings, clock, logger: options.logger, onProgress: options.onProgress, parse, parseBody, warmParsers: pool ? () => pool.warm() : undefined, afterBatch: options.afterBatch, stopAfterHeaders: options.stopAfterHeaders }, row.id);
          reports.push({ path: p.path, ok: true, result });
          break;
        } catch (e) {
          const err = e instanceof AppError && e.code !== 'INTERNAL' ? e : translateImapError(e, target, `sync ${p.path}`);
          options.logger?.warn({ folder: p.path, code: err.code, err: err.message }, 'folder sync failed');
          await recordFolderError(db, row.id, err.message, clock.now());
          const retryable = !client.usable && err.code !== 'IMAP_AUTH_FAILED' && attempt < settings.reconnectAttempts;
          if (!retryable) {
            reports.push({ path: p.path, ok: false, error: err.message, code: err.code });
            if (!client.usable) {
              // cannot go on with this account in this run
              for (const rest of picked.slice(picked.indexOf(p) + 1)) reports.push({ path: rest.path, ok: false, error: 'skipped: connection lost', code: 'IMAP_CONNECT_FAILED' });
              return { accountId, account: account.name, ok: false, folders: reports, error: err.message, code: err.code };
            }
            break;
          }
          await sleep(backoffDelay(attempt, settings.backoffMs));
        }
      }
    }
  } catch (e) {
    const err = translateImapError(e, target, 'list folders');
    return { accountId, account: account.name, ok: false, folders: reports, error: err.message, code: err.code };
  } finally {
    await client.logout().catch(() => client.close());
  }
  return { accountId, account: account.name, ok: reports.every((r) => r.ok), folders: reports };
  }
}

