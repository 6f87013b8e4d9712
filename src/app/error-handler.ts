/**
 * What Django's handler does with an exception (DEBUG=False): `convert_exception_to_response` wraps
 * the view and every middleware, so an exception becomes a response right where it is raised, and
 * the outer middleware (SessionMiddleware included) then process that response as any other.
 *
 *   RequestDataTooBig (a SuspiciousOperation)  → 400, "Bad Request (400)" page; ERROR on
 *                                                `django.security.RequestDataTooBig`
 *   SessionInterrupted (a BadRequest)          → 400, "Bad Request (400)" page (logged by the
 *                                                session middleware, as Django's handler does)
 *   an unreadable body                         → 400 page, a warning on `django.request`
 *   the database unreachable (ours, not Django) → 503 page with Retry-After (database-unavailable.ts)
 *   anything else                              → 500, "Server Error (500)" page; ERROR on `django.request`
 *
 * Hence two mount points: `djangoViewErrors` right around the routes (inside the session and auth
 * middleware, so the session middleware sees the 400/500 response), and `djangoErrorPages` outside
 * everything, for what the session middleware itself raises.
 *
 * One more Django effect is reproduced on purpose. Django's default LOGGING routes ERROR records of
 * the `django` loggers to AdminEmailHandler when DEBUG is False. In 3.2 and 4.2 that handler renders
 * the request's user into its report even when ADMINS is empty (5.x returns early without ADMINS):
 * it evaluates the lazy `request.user`, which loads the session (so the response gets
 * `Vary: Cookie`) and may flush a stale login. So for 3.2/4.2, where Django logs such an ERROR with
 * the request (a too-big body, a 500), we resolve `ctx.state.getUser()` too, and the two servers
 * answer alike.
 */
import type { Context, DefaultContext, DefaultState, Middleware } from 'koa';
import type { AuthState } from '../auth/context.ts';
import { getLogger } from '../log.ts';
import { SessionInterrupted } from '../sessions/errors.ts';
import { RequestDataTooBig, UnreadableBody } from './request-body.ts';
import { isDatabaseUnavailable } from './database-unavailable.ts';
import type { ErrorPages } from './responses.ts';

const requestLog = getLogger('django.request');
const tooBigLog = getLogger('django.security.RequestDataTooBig');

/** AdminEmailHandler's `str(request.user)`; its own failures are swallowed, as the handler's are. */
async function touchRequestUser(ctx: Context): Promise<void> {
  const state = ctx.state as AuthState;
  try {
    await state.getUser?.();
  } catch {
    // The report would carry "[unable to retrieve the current user]".
  }
}

/** Django answers with a new response object: nothing the failed code set survives. */
function clearHeaders(ctx: Context): void {
  for (const name of ctx.res.getHeaderNames()) ctx.res.removeHeader(name);
}

function firstLine(err: unknown): { error: string; detail: string } {
  const e = err instanceof Error ? err : new Error(String(err));
  return { error: e.name, detail: e.message.split('\n', 1)[0] ?? '' };
}

/** Around the routes: an exception from a view becomes Django's error response. */
export function djangoViewErrors(pages: ErrorPages, djangoVersion: '3.2' | '4.2' | '5.2'): Middleware<DefaultState, DefaultContext> {
  // AdminEmailHandler without ADMINS: 3.2/4.2 still build the report (and read request.user).
  const reportReadsUser = djangoVersion !== '5.2';
  const touchRequestUserIfDjangoDoes = (ctx: Context): Promise<void> => (reportReadsUser ? touchRequestUser(ctx) : Promise.resolve());
  return async function viewErrors(ctx, next) {
    try {
      await next();
    } catch (err) {
      if (ctx.headerSent) throw err;
      const c = ctx as Context;
      clearHeaders(c);
      if (err instanceof RequestDataTooBig) {
        tooBigLog.error(err.message, { path: ctx.path, status_code: 400 });
        await touchRequestUserIfDjangoDoes(c);
        pages.badRequest(c);
      } else if (err instanceof UnreadableBody) {
        requestLog.warning(`Bad Request: ${ctx.path}`, { reason: err.message });
        pages.badRequest(c);
      } else if (isDatabaseUnavailable(err)) {
        requestLog.error(`Service Unavailable (database): ${ctx.path}`, firstLine(err));
        pages.serviceUnavailable(c);
      } else {
        requestLog.error(`Internal Server Error: ${ctx.path}`, firstLine(err));
        await touchRequestUserIfDjangoDoes(c);
        pages.serverError(c);
      }
    }
  };
}

/** Outside everything: what the session middleware raises (SessionInterrupted), and anything left. */
export function djangoErrorPages(pages: ErrorPages): Middleware<DefaultState, DefaultContext> {
  return async function errorPages(ctx, next) {
    try {
      await next();
    } catch (err) {
      if (ctx.headerSent) throw err; // too late to answer; let Koa close the connection
      const c = ctx as Context;
      clearHeaders(c);
      if (err instanceof SessionInterrupted) {
        pages.badRequest(c);
      } else if (isDatabaseUnavailable(err)) {
        requestLog.error(`Service Unavailable (database): ${ctx.path}`, firstLine(err));
        pages.serviceUnavailable(c);
      } else {
        requestLog.error(`Internal Server Error: ${ctx.path}`, firstLine(err));
        pages.serverError(c);
      }
    }
  };
}
