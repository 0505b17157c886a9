export * from './client-book.ts';
export * from './client-input.ts';
export * from './segments.ts';
export * from './segment-settings.ts';
export * from './freemail.ts';
export * from './country.ts';
