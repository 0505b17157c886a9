import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { bodyOf, parseFallback } from './parse-message.ts';
import type { ParsedBody, ParsedMessage } from './parsed-message.ts';
import { workerScript } from './worker-script.ts';

/**
 * Parses messages on worker threads (mailparser is the bottleneck of a sync:
 * ~0.7 ms a message on one core). Jobs go to the least busy worker; a worker
 * that dies is replaced and its jobs fall back to a raw-kept parse error, so
 * a poisonous message can never stop the sync.
 */
export interface ParsePool {
  parse(raw: Buffer, internalDate: Date | null): Promise<ParsedMessage>;
  /** The body alone (parseBody), for a message whose header fields are stored. */
  parseBody(raw: Buffer): Promise<ParsedBody>;
  /** Workers started (none until the first message, or warm()). */
  readonly workers: number;
  /** Starts the workers now, if they are not running yet: a sync calls it when it has found messages to fetch, so their start overlaps the first fetch. */
  warm(): void;
  close(): Promise<void>;
}

interface Pending {
  /** With the worker's answer, or with a raw-kept parse error (fallback). */
  resolve(p: ParsedMessage | ParsedBody): void;
  raw: Buffer;
  internalDate: Date | null;
  /** parseBody rather than parseMessage. */
  body: boolean;
}

/** A job that cannot be parsed by a worker: its raw is kept with the reason. */
function fallback(job: Pending, why: string): ParsedMessage | ParsedBody {
  const p = parseFallback(job.raw, why, { internalDate: job.internalDate });
  return job.body ? bodyOf(p) : p;
}

interface Slot {
  worker: Worker;
  jobs: Map<number, Pending>;
  /** When this worker last finished a job or, idle before, got one: a busy worker silent for longer than the timeout is stuck. */
  progressAt: number;
  retired: boolean;
  /** The worker has loaded the parser (its start-up does not count against the timeout). */
  ready: boolean;
}

export interface ParsePoolOptions {
  /** A worker that finishes nothing for this long is stuck on its oldest job: that job is kept raw with a parse error, the worker is replaced, its other jobs go to the new one. */
  readonly timeoutMs?: number;
  /** The worker entry (tests pass one that hangs on purpose). Without it: parse-worker-main.ts, bundled (workerScript), else through tsx. */
  readonly entry?: URL;
}

export const DEFAULT_PARSE_TIMEOUT_MS = 120_000;

/**
 * A parse worker's young generation: 192 MB, semi-spaces of 64 MB (V8's default is 16). mailparser
 * allocates ~100 KB a message, and a parse spans many small allocations that live until its end:
 * with 16 MB semi-spaces a scavenge comes every ~100 messages and copies the parses in flight.
 * Measured on bench:sync's corpus, one thread parsing bodies: 0.23-0.28 ms of CPU a message against
 * 0.28-0.29. The space is only committed as it is used.
 */
const WORKER_LIMITS = { maxYoungGenerationSizeMb: 192 };

/**
 * One worker a core but one, up to 4 (none on one core: the parse then runs on the sync's thread).
 * The sync's own thread (fetch, headers, threads, store), PostgreSQL and the IMAP server take about
 * a core between them: on 2 cores a second worker only added its warm-up (~0.9 s of CPU a run: a
 * cold worker's first 1,000 bodies cost ~1.0 s, later ones ~0.3 s) and contention. bench:sync (c),
 * six alternating pairs: 1 worker 1,300-1,627 msg/s (mean 1,476), 2 workers 1,309-1,572 (mean 1,419).
 */
export function defaultParseWorkers(): number {
  const n = os.availableParallelism?.() ?? os.cpus().length;
  return n <= 1 ? 0 : Math.min(4, n - 1);
}

export function createParsePool(size: number, options: ParsePoolOptions = {}): ParsePool {
  // The default worker starts from a bundle of its sources (no TypeScript loader in the worker), made
  // with the first worker; through tsx (parse-worker.mjs) if esbuild cannot bundle here.
  const source = (): { target: URL | string; eval: boolean } => {
    if (options.entry) return { target: options.entry, eval: false };
    const script = workerScript(new URL('./parse-worker-main.ts', import.meta.url));
    return script ? { target: script, eval: true } : { target: new URL('./parse-worker.mjs', import.meta.url), eval: false };
  };
  let from: ReturnType<typeof source> | null = null;
  const startWorker = (): Worker => {
    from ??= source();
    return new Worker(from.target, { eval: from.eval, resourceLimits: WORKER_LIMITS });
  };
  const timeoutMs = options.timeoutMs ?? DEFAULT_PARSE_TIMEOUT_MS;
  const slots: Slot[] = [];
  let nextId = 0;
  let closed = false;
  const post = (slot: Slot, id: number, job: Pending): void => {
    if (slot.jobs.size === 0) slot.progressAt = Date.now();
    slot.jobs.set(id, job);
    slot.worker.postMessage({ id, raw: new Uint8Array(job.raw.buffer, job.raw.byteOffset, job.raw.byteLength), internalDate: job.internalDate, body: job.body });
  };
  const replace = (slot: Slot): Slot | null => {
    slot.retired = true;
    const i = slots.indexOf(slot);
    if (i < 0 || closed) return null;
    const fresh = spawn();
    slots[i] = fresh;
    return fresh;
  };
  const spawn = (): Slot => {
    const slot: Slot = { worker: startWorker(), jobs: new Map(), progressAt: Date.now(), retired: false, ready: false };
    slot.worker.unref();
    slot.worker.on('message', (msg: { id: number; parsed?: ParsedMessage | ParsedBody; newestPrefix?: number; error?: string; ready?: boolean }) => {
      if (msg.ready) {
        slot.ready = true;
        slot.progressAt = Date.now();
        return;
      }
      const job = slot.jobs.get(msg.id);
      if (!job) return;
      slot.jobs.delete(msg.id);
      slot.progressAt = Date.now();
      if (msg.parsed && msg.newestPrefix !== undefined) job.resolve({ ...msg.parsed, newestPart: (msg.parsed.textBody ?? '').slice(0, msg.newestPrefix) });
      else job.resolve(msg.parsed ?? fallback(job, `parser: ${msg.error ?? 'unknown error'}`));
    });
    const fail = (why: string): void => {
      if (slot.retired) return;
      for (const job of slot.jobs.values()) job.resolve(fallback(job, `parser worker ${why}`));
      slot.jobs.clear();
      replace(slot);
    };
    slot.worker.on('error', (e) => fail(`failed: ${e.message}`));
    slot.worker.on('exit', (code) => {
      if (!closed) fail(`exited (${code})`);
    });
    return slot;
  };
  const watchdog = setInterval(() => {
    const now = Date.now();
    for (const slot of [...slots]) {
      if (!slot.ready || slot.jobs.size === 0 || now - slot.progressAt < timeoutMs) continue;
      // the oldest job is the one it is stuck on: keep it raw; the others start again on a new worker
      const [first, ...rest] = [...slot.jobs.entries()];
      if (!first) continue;
      const [stuckId, stuck] = first;
      slot.jobs.clear();
      stuck.resolve(fallback(stuck, `parser: no result after ${Math.round(timeoutMs / 1000)} s (message ${stuckId} kept raw)`));
      const fresh = replace(slot);
      void slot.worker.terminate();
      for (const [id, job] of rest) {
        if (fresh) post(fresh, id, job);
        else job.resolve(fallback(job, 'parser pool closed'));
      }
    }
  }, Math.max(10, Math.min(1000, Math.floor(timeoutMs / 4))));
  watchdog.unref();
  // the workers start with the first message (or warm()): a sync that finds nothing new (most runs) pays
  // nothing for them (two cost ~0.8 s of CPU to start here: mailparser and its decoders; ~1.6 s through tsx)
  const warm = (): void => {
    if (slots.length === 0 && !closed) for (let i = 0; i < size; i++) slots.push(spawn());
  };
  const submit = (raw: Buffer, internalDate: Date | null, body: boolean): Promise<ParsedMessage | ParsedBody> => {
    warm();
    const slot = slots.reduce((a, b) => (b.jobs.size < a.jobs.size ? b : a));
    const id = ++nextId;
    return new Promise((resolve) => post(slot, id, { resolve, raw, internalDate, body }));
  };
  return {
    get workers() {
      return slots.length;
    },
    warm,
    parse: (raw, internalDate) => submit(raw, internalDate, false) as Promise<ParsedMessage>,
    parseBody: (raw) => submit(raw, null, true) as Promise<ParsedBody>,
    async close() {
      closed = true;
      clearInterval(watchdog);
      await Promise.all(slots.map((s) => s.worker.terminate()));
    },
  };
}
