/**
 * Django's `SessionMiddleware` (django/contrib/sessions/middleware.py) for Koa, spec 4.1-4.2.
 *
 * Before the handler: `ctx.session = createStore(<session cookie>)`; nothing is loaded.
 * After it, Django's `process_response`, step for step:
 *
 *   1. read `accessed`, `modified`, `isEmpty()` (no `ctx.session` any more: leave the response alone);
 *   2. the request carried the cookie and the session is empty → delete the cookie, `Vary: Cookie`;
 *   3. otherwise `Vary: Cookie` if accessed, and when (modified or SESSION_SAVE_EVERY_REQUEST) and not
 *      empty: compute Max-Age/expires (this may load the session), then unless the status says
 *      "skip" (3.2: exactly 500; 4.2/5.2: >= 500) save, set the cookie, and (5.2.14+) `Vary: Cookie`.
 *      An UpdateError from the save becomes SessionInterrupted: HTTP 400 with Django's message.
 *
 * A handler that throws: Django turns a view's exception into a response first (Http404 → 404,
 * anything else → 500) and its middleware then runs on that response. Here the status is the one
 * Koa will answer with (`err.status || err.statusCode` when it is a known code, else 500), the same
 * steps run (so a 500 never saves, yet a stale cookie is still deleted and Vary still added), the
 * headers are put both on the response (for an app's own error handler) and on `err.headers` (Koa's
 * default handler clears the response headers and sends only those), and the error is re-thrown.
 *
 * An explicit `await ctx.session.save()` in a handler does not clear `modified`, so the middleware
 * saves again, as Django does.
 */
import { STATUS_CODES } from 'node:http';
import type { DefaultContext, DefaultState, Middleware } from 'koa';
import { getLogger } from '../log.ts';
import type { SessionBase } from '../sessions/base.ts';
import { SESSION_INTERRUPTED_MESSAGE, SessionInterrupted, UpdateError } from '../sessions/errors.ts';
import {
  appendSetCookie,
  compileSetCookie,
  formatDeleteCookie,
  httpDate,
  readRequestCookie,
} from './cookies.ts';
import type { SessionMiddlewareOptions, SessionMiddlewareSettings } from './types.ts';
import { patchVaryHeaders, patchVaryValue } from './vary.ts';

const requestLogger = getLogger('django.request');
const logger = getLogger('django_session_bridge.koa');

const VARY_COOKIE: readonly string[] = ['Cookie'];

/** What process_response decided for the response. */
interface ResponsePatch {
  setCookie: string | null;
  varyCookie: boolean;
}

const NO_PATCH: ResponsePatch = Object.freeze({ setCookie: null, varyCookie: false });
const VARY_ONLY: ResponsePatch = Object.freeze({ setCookie: null, varyCookie: true });

/** Koa's own rule (context.onerror) for the status an error is answered with. */
export function statusOfError(err: unknown): number {
  const isError = err instanceof Error || Object.prototype.toString.call(err) === '[object Error]';
  if (!isError) return 500;
  const e = err as { status?: unknown; statusCode?: unknown };
  const code = e.status || e.statusCode;
  return typeof code === 'number' && STATUS_CODES[code] !== undefined ? code : 500;
}

/** Put the patch into `err.headers`, which Koa's default error handler sends after clearing the rest. */
function addErrorHeaders(err: unknown, cookieName: string, patch: ResponsePatch): void {
  if (!(err instanceof Error)) return; // Koa replaces a non-Error with a new Error: nothing would survive
  const e = err as Error & { headers?: unknown };
  const headers: Record<string, unknown> = typeof e.headers === 'object' && e.headers !== null ? { ...e.headers } : {};
  const keyOf = (lower: string): string => Object.keys(headers).find((k) => k.toLowerCase() === lower) ?? lower;
  if (patch.setCookie !== null) {
    const key = keyOf('set-cookie');
    const prior = headers[key];
    const list = (prior === undefined ? [] : Array.isArray(prior) ? prior : [prior]).map(String);
    headers[key] = [...list.filter((c) => !c.startsWith(`${cookieName}=`)), patch.setCookie];
  }
  if (patch.varyCookie) {
    const key = keyOf('vary');
    const prior = headers[key];
    const text = prior === undefined ? undefined : Array.isArray(prior) ? prior.join(', ') : String(prior);
    headers[key] = patchVaryValue(text, VARY_COOKIE);
  }
  try {
    e.headers = headers;
  } catch {
    // A frozen error object: the response goes out without the session headers.
  }
}

/** Validate the options up front and return the middleware. */
export function sessionMiddleware(options: SessionMiddlewareOptions): Middleware<DefaultState, DefaultContext> {
  const { settings, createStore } = options;
  const name = settings.SESSION_COOKIE_NAME;
  // Constant for the life of the app; building it also checks the name and attributes at start-up.
  const deleteCookie = formatDeleteCookie(name, {
    path: settings.SESSION_COOKIE_PATH,
    domain: settings.SESSION_COOKIE_DOMAIN,
    sameSite: settings.SESSION_COOKIE_SAMESITE,
  });
  const writeCookie = compileSetCookie(name, {
    domain: settings.SESSION_COOKIE_DOMAIN,
    path: settings.SESSION_COOKIE_PATH,
    secure: settings.SESSION_COOKIE_SECURE,
    httpOnly: settings.SESSION_COOKIE_HTTPONLY,
    sameSite: settings.SESSION_COOKIE_SAMESITE,
  });
  const skipSave: (status: number) => boolean =
    settings.DJANGO_VERSION === '3.2' ? (status) => status === 500 : (status) => status >= 500;
  // CVE-2026-35192 (5.2.14): Vary: Cookie whenever the session cookie is set.
  const varyWhenSet = settings.DJANGO_VERSION === '5.2';

  /**
   * Steps 1-3 up to the save. Synchronous (no promise) when nothing is to be saved, which is most
   * requests: a read-only request costs no extra promise or microtask here.
   */
  function processResponse(session: SessionBase | null | undefined, carried: boolean, status: number): ResponsePatch | Promise<ResponsePatch> {
    if (!session) return NO_PATCH; // Django: AttributeError on request.session → response untouched
    const { accessed, modified } = session;
    const empty = session.isEmpty();
    if (carried && empty) return { setCookie: deleteCookie, varyCookie: true };
    if ((modified || settings.SESSION_SAVE_EVERY_REQUEST) && !empty) return saveAndPatch(session, accessed, status);
    return accessed ? VARY_ONLY : NO_PATCH;
  }

  async function saveAndPatch(session: SessionBase, accessed: boolean, status: number): Promise<ResponsePatch> {
    let varyCookie = accessed;
    let setCookie: string | null = null;
    let maxAge: number | null = null;
    let expires: string | null = null;
    if (!(await session.getExpireAtBrowserClose())) {
      maxAge = await session.getExpiryAge();
      expires = httpDate(session.timezone.clock() / 1e6 + maxAge);
    }
    if (!skipSave(status)) {
      try {
        await session.save();
      } catch (e) {
        if (e instanceof UpdateError) throw sessionInterrupted(e);
        throw e;
      }
      setCookie = writeCookie(session.sessionKey ?? '', maxAge, expires);
      if (varyWhenSet) varyCookie = true;
    }
    return setCookie === null && !varyCookie ? NO_PATCH : { setCookie, varyCookie };
  }

  return async function session(ctx, next) {
    const sessionKey = readRequestCookie(ctx.req.headers.cookie, name);
    ctx.session = createStore(sessionKey);

    let failed = false;
    let error: unknown;
    try {
      await next();
    } catch (e) {
      failed = true;
      error = e;
    }

    let patch: ResponsePatch;
    try {
      const decided = processResponse(ctx.session, sessionKey !== undefined, failed ? statusOfError(error) : ctx.status);
      patch = decided instanceof Promise ? await decided : decided;
    } catch (e) {
      if (e instanceof SessionInterrupted) {
        requestLogger.warning(`${e.message}: ${ctx.path}`, { status_code: e.status, method: ctx.method });
      }
      // The handler's own error would be lost behind ours: report it the way Koa reports errors.
      if (failed) ctx.app.emit('error', error, ctx);
      throw e;
    }

    if (patch !== NO_PATCH) {
      if (ctx.headerSent) {
        // The handler wrote to ctx.res itself (Django cannot get here): the save stands, the headers cannot.
        logger.warning('Session headers not sent: the response headers were already sent', {
          path: ctx.path,
          setCookie: patch.setCookie !== null,
          varyCookie: patch.varyCookie,
        });
      } else {
        if (patch.setCookie !== null) appendSetCookie(ctx.res, name, patch.setCookie);
        if (patch.varyCookie) patchVaryHeaders(ctx.res, VARY_COOKIE);
      }
    }
    if (failed) {
      if (patch !== NO_PATCH) addErrorHeaders(error, name, patch);
      throw error;
    }
  };
}

/** Django's `SessionInterrupted` for an UpdateError, marked for Koa to answer 400 with the message. */
function sessionInterrupted(cause: UpdateError): SessionInterrupted {
  // `expose`: Koa's default error handler sends the message as the text/plain body (else "Bad Request").
  return Object.assign(new SessionInterrupted(SESSION_INTERRUPTED_MESSAGE, { cause }), { expose: true });
}

export type { SessionMiddlewareOptions, SessionMiddlewareSettings };
