import { Command } from 'commander';
import { makeRunner, type Runner } from './context.ts';
import { registerDbCommands } from './commands/db.ts';
import { registerClientsCommands } from './commands/clients.ts';
import { registerImportExportCommands } from './commands/import-export.ts';
import { registerMailboxCommands } from './commands/mailbox.ts';
import { registerTriageCommands } from './commands/triage.ts';
import { registerTemplatesCommands } from './commands/templates.ts';
import { registerOutboundCommands } from './commands/outbound.ts';
import { registerCampaignsCommands } from './commands/campaigns.ts';
import { registerDemoCommands } from './commands/demo.ts';
import { registerServeCommands } from './commands/serve.ts';

/** Builds the whole `rapport` command tree. Tests call it with their own runner. */
export function buildProgram(run: Runner = makeRunner()): Command {
  const program = new Command('rapport')
    .description('Rapport keeps B2B clients warm by email: client book, mailbox sync, reply-time targets, templates, sending, campaigns.')
    .option('--debug', 'print stack traces on errors')
    .showHelpAfterError(false)
    .exitOverride();
  registerDbCommands(program, run);
  registerClientsCommands(program, run);
  registerImportExportCommands(program, run);
  registerMailboxCommands(program, run);
  registerTriageCommands(program, run);
  registerTemplatesCommands(program, run);
  registerOutboundCommands(program, run);
  registerCampaignsCommands(program, run);
  registerServeCommands(program, run);
  registerDemoCommands(program, run);
  return program;
}
