import type { Config } from '../config/config.ts';
import type { Db } from '../db/database.ts';
import { AppError } from '../shared/app-error.ts';
import { pickFolders } from './folder-roles.ts';
import { accountTarget, connectImap, translateImapError } from './imap-connect.ts';

export interface AccountTestReport {
  readonly ok: boolean;
  readonly step: 'connect' | 'login' | 'list' | 'capabilities' | 'done';
  readonly message: string;
  readonly code?: string;
  readonly capabilities: string[];
  readonly folders: string[];
  readonly inbox: string | null;
  readonly sent: string | null;
  readonly incremental: 'QRESYNC' | 'CONDSTORE' | 'UID range';
}

/** `rapport accounts test`: logs in, lists folders, and says plainly what failed (DNS, TLS, auth, capability). */
export async function testAccount(db: Db, config: Pick<Config, 'secretKey'>, accountId: number): Promise<AccountTestReport> {
  const target = await accountTarget(db, config, accountId);
  let client;
  try {
    client = await connectImap(target, { timeoutMs: 10_000 });
  } catch (e) {
    const err = e instanceof AppError ? e : translateImapError(e, target);
    return { ok: false, step: err.code === 'IMAP_AUTH_FAILED' ? 'login' : 'connect', message: err.message, code: err.code, capabilities: [], folders: [], inbox: null, sent: null, incremental: 'UID range' };
  }
  try {
    const caps = [...client.capabilities.keys()].sort();
    const incremental = client.capabilities.has('QRESYNC') ? 'QRESYNC' : client.capabilities.has('CONDSTORE') ? 'CONDSTORE' : 'UID range';
    const listed = await client.list();
    const picked = pickFolders(listed);
    const inbox = picked.find((p) => p.role === 'inbox')?.path ?? null;
    const sent = picked.find((p) => p.role === 'sent')?.path ?? null;
    const base = { capabilities: caps, folders: listed.map((l) => l.path), inbox, sent, incremental } as const;
    if (!client.capabilities.has('IMAP4rev1') && !client.capabilities.has('IMAP4rev2')) {
      return { ok: false, step: 'capabilities', message: `IMAP ${target.host}:${target.port}: the server lacks IMAP4rev1`, code: 'IMAP_CAPABILITY_MISSING', ...base };
    }
    if (!inbox) return { ok: false, step: 'list', message: `IMAP ${target.host}:${target.port}: no INBOX listed`, code: 'IMAP_FAILED', ...base };
    return { ok: true, step: 'done', message: `IMAP ${target.host}:${target.port}: login ok, ${listed.length} folders, incremental sync by ${incremental}${sent ? `, Sent is "${sent}"` : ', no Sent folder found'}`, ...base };
  } catch (e) {
    const err = translateImapError(e, target, 'list folders');
    return { ok: false, step: 'list', message: err.message, code: err.code, capabilities: [], folders: [], inbox: null, sent: null, incremental: 'UID range' };
  } finally {
    await client.logout().catch(() => client.close());
  }
}
