import type { RegisterCommands } from '../context.ts';
import { AppError } from '../../shared/app-error.ts';
import { buildApp } from '../../http/index.ts';
import { unsubscribeKey } from '../../outbound/index.ts';

/**
 * `rapport serve`: the HTTP side, i.e. the one-click unsubscribe pages that
 * promotional mail links to (outbound.publicUrl should point here, behind TLS).
 * Runs until SIGINT or SIGTERM.
 */
export const registerServeCommands: RegisterCommands = (program, run) => {
  program
    .command('serve')
    .description('serve the unsubscribe pages (GET confirm, POST one-click) until stopped')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port (0: any free port)', '8080')
    .action((opts: { host: string; port: string }) =>
      run(async (ctx) => {
        const port = Number(opts.port);
        if (!Number.isInteger(port) || port < 0 || port > 65535) throw new AppError('INPUT_INVALID', `--port "${opts.port}": not a port number`);
        if (!ctx.config.secretKey) throw new AppError('SECRET_KEY_MISSING', 'RAPPORT_SECRET_KEY: needed to check unsubscribe links');
        const app = await buildApp({ db: ctx.db, unsubscribeKey: unsubscribeKey(ctx.config.secretKey), clock: ctx.clock, logger: ctx.logger });
        const address = await app.listen({ host: opts.host, port });
        ctx.out(`listening on ${address}`);
        await new Promise<void>((resolve) => {
          const stop = (): void => {
            process.off('SIGINT', stop);
            process.off('SIGTERM', stop);
            resolve();
          };
          process.on('SIGINT', stop);
          process.on('SIGTERM', stop);
        });
        await app.close();
        ctx.out('stopped');
      }),
    );
};
