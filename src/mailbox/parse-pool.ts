import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { parseFallback } from './parse-message.ts';
import type { ParsedMessage } from './parsed-message.ts';

/**
 * Parses messages on worker threads (mailparser is the bottleneck of a sync:
 * ~0.7 ms a message on one core). Jobs go to the least busy worker; a worker
 * that dies is replaced and its jobs fall back to a raw-kept parse error, so
 * a poisonous message can never stop the sync.
 */
export interface ParsePool {
  parse(raw: Buffer, internalDate: Date | null): Promise<ParsedMessage>;
  close(): Promise<void>;
}

interface Pending {
  resolve(p: ParsedMessage): void;
  raw: Buffer;
  internalDate: Date | null;
}

interface Slot {
  worker: Worker;
  jobs: Map<number, Pending>;
}

export function defaultParseWorkers(): number {
  const n = os.availableParallelism?.() ?? os.cpus().length;
  return n <= 1 ? 0 : Math.min(4, n);
}

export function createParsePool(size: number): ParsePool {
  const entry = new URL('./parse-worker.mjs', import.meta.url);
  const slots: Slot[] = [];
  let nextId = 0;
  let closed = false;
  const spawn = (): Slot => {
    const slot: Slot = { worker: new Worker(entry), jobs: new Map() };
    slot.worker.unref();
    slot.worker.on('message', (msg: { id: number; parsed?: ParsedMessage; error?: string }) => {
      const job = slot.jobs.get(msg.id);
      if (!job) return;
      slot.jobs.delete(msg.id);
      job.resolve(msg.parsed ?? parseFallback(job.raw, `parser: ${msg.error ?? 'unknown error'}`, { internalDate: job.internalDate }));
    });
    const fail = (why: string): void => {
      for (const job of slot.jobs.values()) job.resolve(parseFallback(job.raw, `parser worker ${why}`, { internalDate: job.internalDate }));
      slot.jobs.clear();
      const i = slots.indexOf(slot);
      if (i >= 0 && !closed) slots[i] = spawn();
    };
    slot.worker.on('error', (e) => fail(`failed: ${e.message}`));
    slot.worker.on('exit', (code) => {
      if (!closed) fail(`exited (${code})`);
    });
    return slot;
  };
  for (let i = 0; i < size; i++) slots.push(spawn());
  return {
    parse(raw, internalDate) {
      const slot = slots.reduce((a, b) => (b.jobs.size < a.jobs.size ? b : a));
      const id = ++nextId;
      return new Promise<ParsedMessage>((resolve) => {
        slot.jobs.set(id, { resolve, raw, internalDate });
        slot.worker.postMessage({ id, raw: new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength), internalDate });
      });
    },
    async close() {
      closed = true;
      await Promise.all(slots.map((s) => s.worker.terminate()));
    },
  };
}
