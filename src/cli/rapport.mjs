#!/usr/bin/env -S node --max-semi-space-size=64
// The `rapport` command. Registers tsx so the TypeScript sources run as they are.
// V8 flag: semi-spaces of 64 MB (the default is 16). A sync keeps its batches in flight on this thread
// (sources, parsed headers, rows to write) while it allocates ~140 KB a message: with 16 MB semi-spaces
// a scavenge came every ~100 messages and copied them, 1.7-2.0 s of pauses in bench:sync (c), 1.0-1.2 s now.
// npm run rapport / demo and bench:sync pass the same flag.
import { register } from 'tsx/esm/api';

register();
await import('./main.ts');
