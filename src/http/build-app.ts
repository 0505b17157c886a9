import Fastify, { type FastifyInstance } from 'fastify';
import type { Db } from '../db/database.ts';
import { checkUnsubscribeToken, maskAddress, unsubscribeByToken } from '../outbound/index.ts';
import { systemClock, type Clock } from '../shared/clock.ts';
import type { Logger } from '../shared/logger.ts';

export interface AppDeps {
  readonly db: Db;
  /** unsubscribeKey(RAPPORT_SECRET_KEY) */
  readonly unsubscribeKey: Buffer;
  readonly clock?: Clock;
  readonly logger?: Logger;
}

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(title: string, body: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><meta name="robots" content="noindex">
<title>${escapeHtml(title)}</title><style>body{font-family:Arial,Verdana,sans-serif;font-size:16px;max-width:32em;margin:3em auto;padding:0 1em;color:#222}button{font-size:16px;padding:.5em 1.2em}</style></head>
<body><h1>${escapeHtml(title)}</h1>${body}</body></html>`;
}

/**
 * Rapport's HTTP app. It never listens: the caller does (`app.listen`), tests
 * use `app.inject`. Unsubscribe (RFC 8058): GET shows a confirmation page
 * (link scanners open links; a GET changes nothing), POST unsubscribes.
 */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({ logger: false, bodyLimit: 16 * 1024 });
  const clock = deps.clock ?? systemClock;
  // One-click POSTs come as form-urlencoded or multipart bodies: accept any body, read none of it.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));

  app.get<{ Params: { token: string } }>('/unsubscribe/:token', async (req, reply) => {
    const target = await checkUnsubscribeToken(deps.db, deps.unsubscribeKey, req.params.token);
    reply.header('cache-control', 'no-store').type('text/html; charset=utf-8');
    if (!target) return reply.code(400).send(page('This link is not valid', '<p>This unsubscribe link is not valid or has been altered. Nothing was changed.</p>'));
    const action = `/unsubscribe/${encodeURIComponent(req.params.token)}`;
    return reply.send(
      page('Unsubscribe', `<p>Stop sending news and greetings to <b>${escapeHtml(maskAddress(target.address))}</b>?</p>
<form method="post" action="${escapeHtml(action)}"><input type="hidden" name="confirm" value="yes"><button type="submit">Unsubscribe</button></form>`),
    );
  });

  app.post<{ Params: { token: string } }>('/unsubscribe/:token', async (req, reply) => {
    const target = await unsubscribeByToken(deps.db, deps.unsubscribeKey, req.params.token, typeof req.body === 'string' && /(^|&)List-Unsubscribe=One-Click/i.test(req.body) ? 'one-click' : 'confirm-page', clock);
    reply.header('cache-control', 'no-store').type('text/html; charset=utf-8');
    if (!target) return reply.code(400).send(page('This link is not valid', '<p>This unsubscribe link is not valid or has been altered. Nothing was changed.</p>'));
    deps.logger?.info({ outboxId: target.outboxId }, 'unsubscribed');
    return reply.send(page('You are unsubscribed', `<p>${escapeHtml(maskAddress(target.address))} will receive no more news or greetings from us.</p>`));
  });

  app.get('/health', async () => ({ ok: true }));
  return app;
}
