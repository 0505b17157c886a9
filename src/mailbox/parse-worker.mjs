// Worker thread entry: registers tsx (the sources are TypeScript) and parses messages sent by parse-pool.ts.
import { register } from 'tsx/esm/api';

register();
await import('./parse-worker-main.ts');
