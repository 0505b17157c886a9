import type { RegisterCommands } from '../context.ts';

/** The mailbox commands. Owned by the mailbox domain. */
export const registerMailboxCommands: RegisterCommands = (_program, _run) => {
  // filled in by the mailbox issue
};
