import { mkdirSync } from 'node:fs';
import { Kysely, PGliteDialect, PostgresDialect } from 'kysely';
import pg from 'pg';
import { PGlite } from '@electric-sql/pglite';
import { AppError, describeError } from '../shared/app-error.ts';
import type { Database } from './schema.ts';

export type Backend = 'pglite' | 'postgres';

/** An open database: the Kysely handle plus what kind it is. */
export interface Db {
  readonly kysely: Kysely<Database>;
  readonly backend: Backend;
  /** The schema the tables live in (public unless a test or the config chose another). */
  readonly schema: string;
  /** Connections the handle can hold at once (PostgreSQL's pool size; PGlite has one). */
  readonly connections?: number;
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  /** postgres://... ; when absent, PGlite in dataDir. */
  readonly databaseUrl?: string | undefined;
  /** PGlite data folder; 'memory://' for an in-memory database. */
  readonly dataDir?: string;
  /** Schema for the tables (default public). Created if missing. */
  readonly schema?: string;
  /** An already-open PGlite instance to share (tests). */
  readonly pglite?: PGlite;
  /** pg pool size (default 10). */
  readonly poolSize?: number;
  /** Seconds to wait for a connection before reporting the server unreachable (default 5). */
  readonly connectTimeoutSeconds?: number;
}

// OIDs: int8, numeric, date. Ids and counts fit in a JS number; dates stay 'YYYY-MM-DD'.
const INT8 = 20;
const NUMERIC = 1700;
const DATE = 1082;

const pgTypes = {
  getTypeParser(oid: number, format?: 'text' | 'binary'): (value: string) => unknown {
    if (oid === INT8 || oid === NUMERIC) return (v: string) => (v === null ? null : Number(v));
    if (oid === DATE) return (v: string) => v;
    return pg.types.getTypeParser(oid, format as 'text');
  },
};

export const pgliteParsers = {
  [INT8]: (v: string) => Number(v),
  [NUMERIC]: (v: string) => Number(v),
  [DATE]: (v: string) => v,
};

function quoteIdent(name: string): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new AppError('CONFIG_INVALID', `schema name "${name}": use lower-case letters, digits and _`);
  return `"${name}"`;
}

/** Opens (and for PGlite creates) the database. Does not migrate: see migrateToLatest. */
export async function openDatabase(options: OpenDatabaseOptions): Promise<Db> {
  const schema = options.schema ?? 'public';
  const searchPath = `SET search_path TO ${quoteIdent(schema)}, public`;
  if (options.databaseUrl) return openPostgres(options.databaseUrl, schema, options);

  let instance = options.pglite;
  const owned = !instance;
  if (!instance) {
    const dir = options.dataDir ?? '.rapport/db';
    try {
      if (!dir.startsWith('memory://')) mkdirSync(dir, { recursive: true });
      instance = await PGlite.create(dir.startsWith('memory://') ? undefined : dir, { parsers: pgliteParsers });
    } catch (cause) {
      throw new AppError('DB_UNREACHABLE', `data folder ${dir}: cannot open the embedded database (${describeError(cause)})`, { cause });
    }
  }
  const pglite = instance;
  if (schema !== 'public') await pglite.exec(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
  await pglite.exec(searchPath);
  const kysely = new Kysely<Database>({ dialect: new PGliteDialect({ pglite }) });
  return {
    kysely,
    backend: 'pglite',
    schema,
    async close() {
      // The PGlite dialect closes its instance on destroy: only destroy what we opened.
      if (owned) {
        await kysely.destroy().catch(() => undefined);
        if (!pglite.closed) await pglite.close();
      }
    },
  };
}

async function openPostgres(url: string, schema: string, options: OpenDatabaseOptions): Promise<Db> {
  const timeout = (options.connectTimeoutSeconds ?? 5) * 1000;
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize ?? 10,
    connectionTimeoutMillis: timeout,
    types: pgTypes,
    // JIT off: Rapport's statements are short, and the planner's estimates lag behind a sync that fills
    // a table (statistics come with autovacuum, a minute or more later), so a probe per thread
    // estimated as a scan could pass jit_above_cost and spend 10-150 ms compiling a 2 ms query.
    options: ['-c jit=off', ...(schema === 'public' ? [] : [`-c search_path=${schema},public`])].join(' '),
  });
  pool.on('error', () => undefined); // idle-client errors surface on the next query instead
  // A checked-out client whose connection dies (a database restart) emits 'error' with no listener,
  // which would end the process; its query fails with the same error, so the listener only swallows the event.
  pool.on('connect', (client) => client.on('error', () => undefined));
  let target = url;
  try {
    const u = new URL(url);
    target = `${u.hostname}:${u.port || '5432'}${u.pathname}`;
  } catch {
    /* keep the (redacted below) url */
  }
  try {
    const client = await pool.connect();
    try {
      if (schema !== 'public') await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
    } finally {
      client.release();
    }
  } catch (cause) {
    await pool.end().catch(() => undefined);
    throw new AppError('DB_UNREACHABLE', `DATABASE_URL ${target.replace(/\/\/[^@]*@/, '//')}: cannot connect (${describeError(cause) || (cause as { code?: string }).code || 'no answer'})`, { cause });
  }
  const kysely = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return {
    kysely,
    backend: 'postgres',
    schema,
    connections: options.poolSize ?? 10,
    async close() {
      await kysely.destroy().catch(() => undefined);
    },
  };
}
