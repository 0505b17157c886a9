export * from './database.ts';
export * from './migrator.ts';
export type { Database } from './schema.ts';
