import { CommanderError } from 'commander';
import { isAppError } from '../shared/app-error.ts';
import { buildProgram } from './program.ts';

/** Runs the CLI; bad input and expected faults end in one line on stderr and a non-zero exit. */
export async function main(argv: string[]): Promise<number> {
  const debug = argv.includes('--debug');
  try {
    await buildProgram().parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // commander already printed help or its own one-line message
      return error.exitCode === 0 || error.code === 'commander.helpDisplayed' || error.code === 'commander.version' ? 0 : 2;
    }
    if (isAppError(error)) {
      process.stderr.write(`rapport: ${error.message}\n`);
      if (debug && error.cause instanceof Error && error.cause.stack) process.stderr.write(`${error.cause.stack}\n`);
      return 1;
    }
    const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
    process.stderr.write(`rapport: internal error: ${message}${debug ? '' : ' (run with --debug for details)'}\n`);
    if (debug && error instanceof Error) process.stderr.write(`${error.stack ?? ''}\n`);
    return 70;
  }
}

process.exitCode = await main(process.argv.slice(2));
