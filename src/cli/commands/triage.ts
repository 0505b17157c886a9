import type { RegisterCommands } from '../context.ts';

/** The triage commands. Owned by the triage domain. */
export const registerTriageCommands: RegisterCommands = (_program, _run) => {
  // filled in by the triage issue
};
