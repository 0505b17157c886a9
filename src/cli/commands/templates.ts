import type { RegisterCommands } from '../context.ts';

/** The templates commands. Owned by the templates domain. */
export const registerTemplatesCommands: RegisterCommands = (_program, _run) => {
  // filled in by the templates issue
};
