import { z } from 'zod';
import { AppError } from '../shared/app-error.ts';
import { DEFAULT_PARSE_TIMEOUT_MS, defaultParseWorkers } from './parse-pool.ts';

/** The `mailbox` section of the config file, with defaults and floors. */
export interface SyncSettings {
  /** Messages per body batch of the sync (fetch, parse, fill: one transaction); its header pass takes three times as many a batch (one transaction each). */
  readonly batchSize: number;
  /** Messages larger than this are stored with headers only. */
  readonly maxMessageBytes: number;
  /** Seconds between polls in `rapport sync` without --once. */
  readonly pollSeconds: number;
  /** Minutes between full expunge sweeps of a folder. */
  readonly sweepMinutes: number;
  /** Subject fallback window (days). */
  readonly subjectWindowDays: number;
  /** Reconnect attempts per run before a folder is reported failed. */
  readonly reconnectAttempts: number;
  /** Base of the jittered exponential backoff (ms). */
  readonly backoffMs: number;
  /** Parser worker threads (0 = parse on the main thread; default: the cores, at most 4). */
  readonly parseWorkers: number;
  /** A parser worker that finishes nothing for this long is stuck: its message is kept raw with a parse error. */
  readonly parseTimeoutMs: number;
  readonly connectTimeoutMs: number;
}

const schema = z.object({
  batchSize: z.number().int().min(1).max(5000).default(250),
  maxMessageBytes: z.number().int().min(1024 * 1024).default(50 * 1024 * 1024),
  pollSeconds: z.number().int().min(10).default(60),
  sweepMinutes: z.number().int().min(1).default(60),
  subjectWindowDays: z.number().int().min(1).max(3650).default(60),
  reconnectAttempts: z.number().int().min(0).max(20).default(3),
  backoffMs: z.number().int().min(10).default(500),
  parseWorkers: z.number().int().min(0).max(16).default(defaultParseWorkers()),
  parseTimeoutMs: z.number().int().min(1000).default(DEFAULT_PARSE_TIMEOUT_MS),
  connectTimeoutMs: z.number().int().min(1000).default(15_000),
});

export function parseSyncSettings(raw: unknown): SyncSettings {
  const res = schema.safeParse(raw ?? {});
  if (!res.success) {
    const issue = res.error.issues[0];
    throw new AppError('CONFIG_INVALID', `config mailbox.${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`);
  }
  return res.data;
}

/** Full-jitter exponential backoff: a random delay in [0, base * 2^attempt], capped at 5 minutes. */
export function backoffDelay(attempt: number, baseMs: number, random: () => number = Math.random): number {
  return Math.floor(random() * Math.min(300_000, baseMs * 2 ** attempt));
}
