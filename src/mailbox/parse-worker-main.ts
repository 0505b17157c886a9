import { parentPort } from 'node:worker_threads';
import { parseBody, parseMessage } from './parse-message.ts';

interface Job {
  readonly id: number;
  readonly raw: Uint8Array;
  readonly internalDate: Date | null;
  /** The body alone (the sync's body pass: the header fields are stored). */
  readonly body?: boolean;
}

// One parse at a time, in the order sent. The pool posts a whole batch at once, and started
// together (mailparser yields between chunks) hundreds of parses would all be alive at every
// minor GC: each one copied, promoted, then collected by a full GC. Measured: ~12 ms a
// scavenge in each worker with a batch in flight. One at a time also keeps the pool's
// watchdog right: the job a stuck worker is working on is its oldest.
const queue: Job[] = [];

// No stack traces on this thread. mailparser ends each part's decoder stream twice, and Node makes
// an ERR_STREAM_ALREADY_FINISHED error (unused) for the second end(): capturing its stack took 0.03 ms
// a message, 0.57 s of this thread's ~12 s in bench:sync's 20,000 (a CPU profile of the worker). A
// parse failure reaches the sync as its message alone (describeError), never with its stack.
Error.stackTraceLimit = 0;
let busy = false;

function next(): void {
  const job = queue.shift();
  if (!job) {
    busy = false;
    return;
  }
  busy = true;
  const raw = Buffer.from(job.raw.buffer, job.raw.byteOffset, job.raw.byteLength);
  (job.body ? parseBody(raw) : parseMessage(raw, { internalDate: job.internalDate }))
    .then(
      // most messages have no quoted history: their newest part is the start of the text, sent as a length (the pool cuts it)
      (parsed) =>
        parsed.newestPart !== null && parsed.textBody !== null && parsed.textBody.startsWith(parsed.newestPart)
          ? parentPort?.postMessage({ id: job.id, parsed: { ...parsed, newestPart: null }, newestPrefix: parsed.newestPart.length })
          : parentPort?.postMessage({ id: job.id, parsed }),
      (err: unknown) => parentPort?.postMessage({ id: job.id, error: err instanceof Error ? err.message : String(err) }),
    )
    .finally(next);
}

parentPort?.on('message', (job: Job) => {
  queue.push(job);
  if (!busy) next();
});

// loaded: from now on the pool's watchdog counts
parentPort?.postMessage({ ready: true });
