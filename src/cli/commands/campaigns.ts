import type { RegisterCommands } from '../context.ts';

/** The campaigns commands. Owned by the campaigns domain. */
export const registerCampaignsCommands: RegisterCommands = (_program, _run) => {
  // filled in by the campaigns issue
};
