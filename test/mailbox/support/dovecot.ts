import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/**
 * A real Dovecot IMAP server for tests: its own config under a temp folder,
 * a random loopback port, maildir, passwd-file users (uid 5000, Dovecot will
 * not serve mail as root), no TLS on loopback. CONDSTORE/QRESYNC are on.
 *
 *   const d = await startDovecot({ users: [{ user: 'rep', password: 'secret' }] });
 *   ... d.host, d.port, d.maildir('rep') ...
 *   await d.stop();
 */
export interface DovecotUser {
  readonly user: string;
  readonly password: string;
}

export interface Dovecot {
  readonly host: string;
  readonly port: number;
  /** The user's maildir root (INBOX is cur/new/tmp here; folder X is .X). */
  maildir(user: string): string;
  /** Drops a raw message straight into a folder's maildir (fast, for big mailboxes); chowned to the mail uid. */
  deliver(user: string, folder: string, raw: Buffer | string, options?: { seen?: boolean; time?: Date }): void;
  /** Stops the server and every session it serves (connections drop; the data stays); restart() brings it back on the same port. */
  kill(): Promise<void>;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

// RAPPORT_TEST_DOVECOT_BIN points at another binary (or at nothing, to try the no-Dovecot path).
const candidates = process.env.RAPPORT_TEST_DOVECOT_BIN !== undefined ? [process.env.RAPPORT_TEST_DOVECOT_BIN] : ['/usr/sbin/dovecot', '/usr/local/sbin/dovecot'];
export const DOVECOT_BIN = candidates.find((p) => p !== '' && existsSync(p)) ?? null;
const MAIL_UID = 5000;

/** Why the Dovecot tests cannot run here, or null when they can. */
export const dovecotMissingReason: string | null = !DOVECOT_BIN
  ? `Dovecot is not installed (looked for ${candidates.filter((c) => c !== '').join(', ') || 'nothing'}; apt-get install -y dovecot-imapd)`
  : typeof process.getuid === 'function' && process.getuid() !== 0
    ? `the tests are not running as root (Dovecot serves its test users as uid ${MAIL_UID}, which needs root to set up)`
    : null;

const warned = new Set<string>();
/**
 * True when a Dovecot suite must be skipped: Dovecot is missing or unusable
 * and CI is not set. Says so on stderr, naming the suite and the reason.
 * Under CI=true nothing is skipped: the suite runs and fails with the reason.
 */
export function skipWithoutDovecot(suite: string): boolean {
  if (!dovecotMissingReason) return false;
  if (process.env.CI === 'true') return false;
  if (!warned.has(suite)) {
    warned.add(suite);
    process.stderr.write(`SKIPPED: ${suite}: ${dovecotMissingReason}. These tests need a real IMAP server; under CI=true they run and fail instead.\n`);
  }
  return true;
}
/** @deprecated use skipWithoutDovecot(suite), which says why. */
export const dovecotAvailable = dovecotMissingReason === null;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

async function waitForGreeting(port: number, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const ok = await new Promise<boolean>((resolve) => {
      const sock = net.connect(port, '127.0.0.1');
      sock.setTimeout(1000);
      sock.once('data', (d) => {
        sock.destroy();
        resolve(d.toString().startsWith('* OK'));
      });
      sock.once('error', () => resolve(false));
      sock.once('timeout', () => {
        sock.destroy();
        resolve(false);
      });
    });
    if (ok) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

let counter = 0;
const SPECIAL_USE_FOLDERS = `  mailbox Sent {
    special_use = \\Sent
    auto = subscribe
  }
  mailbox "Sent Messages" {
    special_use = \\Sent
  }`;

/**
 * plainFolders: no special-use folders (no \\Sent), as an old server or a localized one without RFC 6154 would list them.
 * capability: the whole post-login CAPABILITY list instead of Dovecot's own (which has CONDSTORE and
 * QRESYNC), to play a server without them.
 */
export async function startDovecot(options: { users: ReadonlyArray<DovecotUser>; plainFolders?: boolean; capability?: string }): Promise<Dovecot> {
  if (dovecotMissingReason) throw new Error(`cannot start Dovecot: ${dovecotMissingReason}${process.env.CI === 'true' ? ' (CI=true: the IMAP tests are not skipped)' : ''}`);
  const root = mkdtempSync(path.join(os.tmpdir(), 'rapport-dovecot-'));
  chmodSync(root, 0o755);
  const mailRoot = path.join(root, 'mail');
  mkdirSync(mailRoot, { recursive: true });
  mkdirSync(path.join(root, 'run'), { recursive: true });
  mkdirSync(path.join(root, 'state'), { recursive: true });
  chownSync(mailRoot, MAIL_UID, MAIL_UID);
  const passwd = options.users.map((u) => `${u.user}:{PLAIN}${u.password}:${MAIL_UID}:${MAIL_UID}::${path.join(mailRoot, u.user)}::`).join('\n');
  writeFileSync(path.join(root, 'passwd'), `${passwd}\n`, { mode: 0o644 });
  for (const u of options.users) {
    const home = path.join(mailRoot, u.user);
    for (const d of ['', 'Maildir', 'Maildir/cur', 'Maildir/new', 'Maildir/tmp']) {
      mkdirSync(path.join(home, d), { recursive: true });
      chownSync(path.join(home, d), MAIL_UID, MAIL_UID);
    }
  }
  let port = await freePort();
  const conf = (p: number): string => `
instance_name = rapport-test-${process.pid}-${++counter}
base_dir = ${path.join(root, 'run')}
state_dir = ${path.join(root, 'state')}
log_path = ${path.join(root, 'dovecot.log')}
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
first_valid_uid = ${MAIL_UID}
mail_location = maildir:~/Maildir
mail_fsync = never
mail_max_userip_connections = 200
mail_plugins =
mailbox_list_index = yes
namespace inbox {
  inbox = yes
  separator = /
${options.plainFolders ? '' : SPECIAL_USE_FOLDERS}
}
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u ${path.join(root, 'passwd')}
}
userdb {
  driver = passwd-file
  args = username_format=%u ${path.join(root, 'passwd')}
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = ${p}
  }
  inet_listener imaps {
    port = 0
  }
  process_min_avail = 0
}
service stats {
  unix_listener stats-reader {
    mode = 0666
  }
  unix_listener stats-writer {
    mode = 0666
  }
}
protocol imap {
  imap_capability = ${options.capability ?? '+CONDSTORE QRESYNC'}
}
`;
  const confFile = path.join(root, 'dovecot.conf');
  let child: ChildProcess | null = null;

  const launch = async (): Promise<void> => {
    writeFileSync(confFile, conf(port));
    // its own process group: kill() takes the IMAP session processes down with the master
    child = spawn(DOVECOT_BIN as string, ['-F', '-c', confFile], { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    // detached, it would outlive a test process stopped by Ctrl-C or a crash: take it down on exit
    const pid = child.pid;
    const reap = (): void => {
      try {
        if (pid) process.kill(-pid, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    process.once('exit', reap);
    child.once('exit', () => process.off('exit', reap));
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const up = await waitForGreeting(port, 10_000);
    if (!up) {
      child.kill('SIGKILL');
      const log = existsSync(path.join(root, 'dovecot.log')) ? readFileSync(path.join(root, 'dovecot.log'), 'utf8').slice(-2000) : '';
      throw new Error(`dovecot did not start on port ${port}: ${stderr.slice(-1000)} ${log}`);
    }
  };
  const kill = async (): Promise<void> => {
    const c = child;
    child = null;
    if (!c || c.exitCode !== null) return;
    const group = (signal: NodeJS.Signals): void => {
      try {
        if (c.pid) process.kill(-c.pid, signal);
      } catch {
        // the group is gone already
      }
    };
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => group('SIGKILL'), 5000);
      c.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
      c.kill('SIGTERM');
    });
    // the master leaves running sessions alive: a stopped server drops them, as a crash or a reboot would
    group('SIGKILL');
    // wait until the port is closed
    for (let i = 0; i < 100; i++) {
      const open = await new Promise<boolean>((resolve) => {
        const s = net.connect(port, '127.0.0.1');
        s.once('connect', () => {
          s.destroy();
          resolve(true);
        });
        s.once('error', () => resolve(false));
      });
      if (!open) break;
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  for (let attempt = 0; ; attempt++) {
    try {
      await launch();
      break;
    } catch (e) {
      if (attempt >= 2) throw e;
      port = await freePort();
    }
  }

  let seq = 0;
  const maildir = (user: string): string => path.join(mailRoot, user, 'Maildir');
  return {
    host: '127.0.0.1',
    get port() {
      return port;
    },
    maildir,
    deliver(user, folder, raw, opts = {}) {
      const base = folder === 'INBOX' ? maildir(user) : path.join(maildir(user), `.${folder.replace(/\//g, '.')}`);
      if (!existsSync(base)) {
        for (const d of ['', 'cur', 'new', 'tmp']) {
          mkdirSync(path.join(base, d), { recursive: true });
          chownSync(path.join(base, d), MAIL_UID, MAIL_UID);
        }
        if (folder !== 'INBOX') {
          writeFileSync(path.join(base, 'maildirfolder'), '');
          chownSync(path.join(base, 'maildirfolder'), MAIL_UID, MAIL_UID);
        }
      }
      const buf = typeof raw === 'string' ? Buffer.from(raw) : raw;
      const t = Math.floor((opts.time ?? new Date()).getTime() / 1000);
      const name = `${t}.M${++seq}P${process.pid}.rapport,S=${buf.length}${opts.seen ? ':2,S' : ':2,'}`;
      const file = path.join(base, 'cur', name);
      writeFileSync(file, buf);
      chownSync(file, MAIL_UID, MAIL_UID);
    },
    kill,
    async restart() {
      await kill();
      await launch();
    },
    async stop() {
      await kill();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** Runs a quick check that this machine can start Dovecot (root or not). */
export function dovecotUsable(): boolean {
  if (!DOVECOT_BIN) return false;
  return spawnSync(DOVECOT_BIN, ['--version']).status === 0;
}
