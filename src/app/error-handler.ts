/**
 * What Django's handler does with an exception that leaves a view or a middleware (DEBUG=False):
 *
 *   SessionInterrupted (a BadRequest), RequestDataTooBig (a SuspiciousOperation), an unreadable body
 *        → 400 with Django's "Bad Request (400)" page, a warning on `django.request` (or
 *          `django.security.RequestDataTooBig`)
 *   anything else
 *        → 500 with Django's "Server Error (500)" page, an error on `django.request`
 *
 * Mount it outside the session middleware, which has already put its Set-Cookie/Vary on the
 * response for the error's status by the time the error gets here.
 */
import type { Context, DefaultContext, DefaultState, Middleware } from 'koa';
import { getLogger } from '../log.ts';
import { SessionInterrupted } from '../sessions/errors.ts';
import { RequestDataTooBig, UnreadableBody } from './request-body.ts';
import { badRequestPage, serverErrorPage } from './responses.ts';

const requestLog = getLogger('django.request');
const tooBigLog = getLogger('django.security.RequestDataTooBig');

export function djangoErrorPages(): Middleware<DefaultState, DefaultContext> {
  return async function errorPages(ctx, next) {
    try {
      await next();
    } catch (err) {
      if (ctx.headerSent) throw err; // too late to answer; let Koa close the connection
      const c = ctx as Context;
      if (err instanceof RequestDataTooBig) {
        tooBigLog.warning(err.message, { path: ctx.path });
        badRequestPage(c);
      } else if (err instanceof SessionInterrupted) {
        badRequestPage(c); // the session middleware has logged it, as Django does
      } else if (err instanceof UnreadableBody) {
        requestLog.warning(`Bad Request: ${ctx.path}`, { reason: err.message });
        badRequestPage(c);
      } else {
        const e = err instanceof Error ? err : new Error(String(err));
        requestLog.error(`Internal Server Error: ${ctx.path}`, { error: e.name, detail: e.message.split('\n', 1)[0] });
        serverErrorPage(c);
      }
    }
  };
}
