import type { RegisterCommands } from '../context.ts';

/** The clients commands. Owned by the clients domain. */
export const registerClientsCommands: RegisterCommands = (_program, _run) => {
  // filled in by the clients issue
};
