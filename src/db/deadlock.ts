/**
 * Runs a transaction again (up to `attempts` times in all) when PostgreSQL
 * aborted it to break a deadlock (SQLSTATE 40P01). Only for transactions
 * that are safe to run twice (idempotent writes); any other error, or the
 * last deadlock, is thrown.
 */
export async function retryOnDeadlock<T>(run: () => Promise<T>, attempts = 5): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (e) {
      if (attempt >= attempts || (e as { code?: unknown }).code !== '40P01') throw e;
    }
  }
}
