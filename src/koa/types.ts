/**
 * The types the session middleware adds to Koa, and what it needs from its caller.
 *
 * Importing anything from `src/koa/` brings in the `declare module 'koa'` augmentation below, so
 * `ctx.session` is typed in every handler of an app that mounts `sessionMiddleware()`.
 */
import type { Settings } from '../config.ts';
import type { SessionBase } from '../sessions/base.ts';

/** The settings the middleware reads (Django's names; `loadSettings()` returns a superset). */
export type SessionMiddlewareSettings = Pick<
  Settings,
  | 'SESSION_COOKIE_NAME'
  | 'SESSION_COOKIE_DOMAIN'
  | 'SESSION_COOKIE_PATH'
  | 'SESSION_COOKIE_SECURE'
  | 'SESSION_COOKIE_HTTPONLY'
  | 'SESSION_COOKIE_SAMESITE'
  | 'SESSION_SAVE_EVERY_REQUEST'
  | 'DJANGO_VERSION'
>;

/**
 * Builds the (lazy) session store for one request from the session cookie's value: Django's
 * `SessionStore(session_key)`. It must not load anything; `createSessionStoreFactory()` of the db
 * backend is one.
 */
export type CreateSessionStore = (sessionKey: string | undefined) => SessionBase;

export interface SessionMiddlewareOptions {
  settings: SessionMiddlewareSettings;
  createStore: CreateSessionStore;
}

declare module 'koa' {
  interface DefaultContext {
    /**
     * Django's `request.session`: loaded on first use (every data method is async), saved by the
     * session middleware after the handler, following Django's rules.
     */
    session: SessionBase;
  }
}
