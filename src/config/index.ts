export * from './config.ts';
export { parseConfigSection } from './section.ts';
