import type { RegisterCommands } from '../context.ts';

/** The outbound commands. Owned by the outbound domain. */
export const registerOutboundCommands: RegisterCommands = (_program, _run) => {
  // filled in by the outbound issue
};
