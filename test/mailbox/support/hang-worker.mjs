// A parse worker that never answers for a message whose subject is HANG (a
// stand-in for a parser caught in a loop); every other message goes to the
// real worker code. The real listener is attached first (messages that come
// before any listener wait for one); the hang listener then blocks the thread
// before the real parse of a HANG message can finish.
import { parentPort } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import('../../../src/mailbox/parse-worker-main.ts');
parentPort.on('message', (job) => {
  if (Buffer.from(job.raw).toString('latin1').includes('\nSubject: HANG')) for (;;);
});
