#!/usr/bin/env -S node --max-semi-space-size=64 --v8-pool-size=2 --single-threaded-gc --max-inlined-bytecode-size-cumulative=300
// The `rapport` command. Registers tsx so the TypeScript sources run as they are.
// V8 flag: semi-spaces of 64 MB (the default is 16). A sync keeps its batches in flight on this thread
// (sources, parsed headers, rows to write) while it allocates ~140 KB a message: with 16 MB semi-spaces
// a scavenge came every ~100 messages and copied them, 1.7-2.0 s of pauses in bench:sync (c), 1.0-1.2 s now.
// V8 flag: two helper threads for V8's background work (GC helpers, concurrent compilation) where Node
// starts four whatever the machine. A sync keeps both cores of this 2-core machine busy with this thread,
// a parse worker and PostgreSQL, and four more runnable threads only cost: bench:sync (c) alone, in runs
// taking turns, 756-927 msg/s with four, 811-1,176 with two; the helpers 5.5-5.8 s of CPU with four,
// 3.9-4.4 s with two, and this thread's own CPU fell too (10.7-11.8 s, 8.6-9.5 s).
// V8 flag: GC on the thread that allocates (--single-threaded-gc), no parallel scavenge or concurrent
// marking on helper threads. With every core busy (a sync: this thread, a parse worker, PostgreSQL)
// the helpers took CPU the others needed: bench:sync (c) alone, in runs taking turns, 1,918-2,128 msg/s
// against 1,691-1,905, and 12.6-13.9 s of node's CPU against 13.9-16.0. Pauses are longer, total work less.
// V8 flag: TurboFan inlines up to 300 bytes of bytecode a function (the default is 920). Optimized code
// is compiled twice here, on this thread's isolate and on each worker's, and recompiled after deopts:
// the compile threads took 2.2-2.8 s of CPU a (c) run, 1.4-1.8 s after, and (c) measured 1,745-2,153
// msg/s against 1,564-2,084 (runs taking turns; 100 and --no-turbo-inlining no better than 300; a larger
// --interrupt-budget, which optimizes less, was slower).
// npm run rapport / demo and bench:sync pass the same flags.
import { register } from 'tsx/esm/api';

register();
await import('./main.ts');
