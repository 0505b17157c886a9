import type { RegisterCommands } from '../context.ts';

/** `rapport import clients|contacts|orders FILE` and `rapport export clients`. Owned by the client book. */
export const registerImportExportCommands: RegisterCommands = (_program, _run) => {
  // filled in by the import/export work
};
