export * from './app-error.ts';
export * from './error-codes.ts';
export * from './logger.ts';
export * from './clock.ts';
