/**
 * The auth configuration of one app (`Auth`: Django's auth settings, backends and signal receivers),
 * and how the request-level functions (`login`, `logout`, `getUser`, `authenticate`,
 * `updateSessionAuthHash`) find it from a request.
 *
 * `authMiddleware(auth)` binds the `Auth` to each request; the functions then take only the request,
 * as Django's do. A request is anything with Django's `request.session` (a `SessionBase`) and Koa's
 * `state` object, so the functions work on a Koa context and, in tests, on a plain object passed to
 * `bindAuth()`.
 */
import type { SessionBase } from '../sessions/base.ts';
import {
  ImproperlyConfigured,
  MODEL_BACKEND,
  type AuthBackend,
  type Credentials,
} from './backend.ts';
import type { PasswordHasherConfig } from './hashers/index.ts';
import type { SessionHashSettings } from './session-hash.ts';
import type { AuthUser, RequestUser, UserPk } from './users.ts';

/** What the auth functions keep on `ctx.state` (Koa's place for per-request data). */
export interface AuthState {
  /**
   * Django's `request.user`, resolved: set once `getUser()` has run, and by `login()` / `logout()`.
   * Read it through `await ctx.state.getUser()`, which loads it on first use.
   */
  user?: RequestUser;
  /** Django's lazy `request.user` (5.0's `await request.auser()`): loads the session on first call only. */
  getUser?: () => Promise<RequestUser>;
  /**
   * Set by `login()`'s CSRF rotation (`rotate_token`): the new token in the form the configured
   * Django version keeps in `request.META["CSRF_COOKIE"]`. See `csrf.ts`.
   */
  csrfToken?: string;
}

/** The request as the auth functions see it (a Koa context is one). */
export interface AuthRequest {
  session: SessionBase;
  state: AuthState;
}

/** Signal receivers (`user_logged_in`, `user_logged_out`, `user_login_failed`). */
export interface AuthSignals {
  /** After `login()` wrote the session. Django connects `update_last_login` here. */
  userLoggedIn?: (request: AuthRequest, user: AuthUser) => Promise<void> | void;
  /** Before `logout()` flushes; `user` is null when nobody was logged in. */
  userLoggedOut?: (request: AuthRequest, user: AuthUser | null) => Promise<void> | void;
  /** When no backend accepted the credentials; secrets are already masked (`********************`). */
  userLoginFailed?: (request: AuthRequest | null, credentials: Credentials) => Promise<void> | void;
}

export interface AuthOptions {
  /** SECRET_KEY, SECRET_KEY_FALLBACKS, DJANGO_VERSION, DEFAULT_HASHING_ALGORITHM (3.2). */
  settings: SessionHashSettings;
  /**
   * AUTHENTICATION_BACKENDS, in order. Their paths are the allow-list `getUser()` checks the
   * session's `_auth_user_backend` against.
   */
  backends: readonly AuthBackend[];
  /**
   * `get_user_model()._meta.pk.to_python`: the session's `_auth_user_id` (always written as a
   * string) as the user model's key. Throw `InvalidUserId` for what Django's field would refuse.
   */
  pkFromSession: (value: unknown) => UserPk | null;
  signals?: AuthSignals;
  /** The PASSWORD_HASHERS in use, for code that sets passwords (the test hook, a CLI). */
  hashers?: PasswordHasherConfig;
}

/** One app's auth configuration. Immutable; build it once with `createAuth()`. */
export interface Auth {
  readonly settings: SessionHashSettings;
  readonly backends: readonly AuthBackend[];
  /** AUTHENTICATION_BACKENDS as dotted paths. */
  readonly backendPaths: readonly string[];
  readonly pkFromSession: (value: unknown) => UserPk | null;
  readonly signals: Readonly<AuthSignals>;
  readonly hashers: PasswordHasherConfig | undefined;
  /** The configured backend with this path (`load_backend`), or undefined. */
  backend(path: string): AuthBackend | undefined;
}

export function createAuth(options: AuthOptions): Auth {
  if (options.backends.length === 0) {
    throw new ImproperlyConfigured('No authentication backends have been defined. Does AUTHENTICATION_BACKENDS contain anything?');
  }
  const byPath = new Map<string, AuthBackend>();
  for (const b of options.backends) if (!byPath.has(b.path)) byPath.set(b.path, b);
  return Object.freeze({
    settings: options.settings,
    backends: Object.freeze([...options.backends]),
    backendPaths: Object.freeze(options.backends.map((b) => b.path)),
    pkFromSession: options.pkFromSession,
    signals: Object.freeze({ ...options.signals }),
    hashers: options.hashers,
    backend: (path: string) => byPath.get(path),
  });
}

// ---- binding an Auth to a request ---------------------------------------------------------------

const bound = new WeakMap<object, Auth>();

/** Make `auth` the configuration of `request` (what `authMiddleware` does for each request). */
export function bindAuth(request: AuthRequest, auth: Auth): void {
  bound.set(request, auth);
}

/** The `Auth` bound to `request`, or Django's ImproperlyConfigured when no auth middleware ran. */
export function authOf(request: AuthRequest): Auth {
  const auth = bound.get(request);
  if (auth === undefined) {
    throw new ImproperlyConfigured(
      'The auth functions need authMiddleware(auth) in the middleware stack, after sessionMiddleware().',
    );
  }
  return auth;
}

/** Django's `request.user = user`: the resolved user, also what later `getUser()` calls return. */
export function setRequestUser(request: AuthRequest, user: RequestUser): void {
  request.state.user = user;
  const resolved = Promise.resolve(user);
  request.state.getUser = () => resolved;
}

/** Django's default backend path, for configurations that name it. */
export const DEFAULT_AUTHENTICATION_BACKENDS: readonly string[] = [MODEL_BACKEND];
