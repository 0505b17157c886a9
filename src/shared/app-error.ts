import type { ErrorCode } from './error-codes.ts';

export interface AppErrorOptions {
  readonly cause?: unknown;
  /** Structured, secret-free details for --json output and logs. */
  readonly details?: Readonly<Record<string, unknown>>;
}

/**
 * The one error type Rapport throws. `message` is a single line meant for a
 * person: it names the input and the problem, and never contains a secret.
 */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, options: AppErrorOptions = {}) {
    super(message.replace(/[\r\n]+/g, ' '), options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.details = options.details ?? {};
  }
}

export function isAppError(value: unknown): value is AppError {
  return value instanceof AppError;
}

/** Expected failures are results, not exceptions (house rule 4). */
export type Result<T, E = AppError> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: E };

export const ok = <T>(value: T): Result<T, never> => ({ ok: true, value });
export const fail = <E>(error: E): Result<never, E> => ({ ok: false, error });

/** A one-line description of any thrown value, for wrapping library errors. */
export function describeError(value: unknown): string {
  if (value instanceof Error) return value.message.split('\n')[0] ?? value.name;
  return String(value).split('\n')[0] ?? 'unknown error';
}
