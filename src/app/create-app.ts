/**
 * The Koa application: the tutorial's `/user/*` routes and the `/auth/*` JSON face of
 * django.contrib.auth, answering exactly as the Django reference site (test/django_site/README.md).
 *
 *   accessLog → djangoErrorPages → sessionMiddleware → authMiddleware → djangoViewErrors → routes
 *
 * A team that only wants Django's sessions and logins in its own Koa app takes
 * `createBridgeMiddleware()` (the session and auth middleware over one database) and mounts them
 * itself; `createApp()` is that plus our routes.
 */
import Koa from 'koa';
import type { DefaultContext, DefaultState, Middleware } from 'koa';
import type { Settings } from '../config.ts';
import type { Database } from '../db/connection.ts';
import { DjangoTimezone } from '../db/datetime.ts';
import { createDjangoAuth, type Auth, type AuthSignals } from '../auth/index.ts';
import { AuthUserTable } from '../auth/user-table.ts';
import { authMiddleware } from '../koa/auth-middleware.ts';
import { requireLogin } from '../koa/require-login.ts';
import { sessionMiddleware } from '../koa/session-middleware.ts';
import type { CreateSessionStore } from '../koa/types.ts';
import { createSessionEngine, type SessionEngine } from '../sessions/backends/index.ts';
import { accessLog } from './access-log.ts';
import { authViews } from './auth-views.ts';
import { djangoErrorPages, djangoViewErrors } from './error-handler.ts';
import { errorPages } from './responses.ts';
import { routes, type Route } from './router.ts';
import { TutorialUserTable } from './tutorial/user-table.ts';
import { tutorialViews } from './tutorial/views.ts';

export interface BridgeOptions {
  settings: Settings;
  db: Database;
  /** AUTHENTICATION_BACKENDS (dotted paths). Default: Django's `[ModelBackend]`. */
  authenticationBackends?: readonly string[];
  /** Receivers for user_logged_in / user_logged_out / user_login_failed. */
  signals?: AuthSignals;
  /** Default: from USE_TZ / TIME_ZONE with the system clock. Tests pass a frozen clock. */
  timezone?: DjangoTimezone;
  /** The session engine's `SessionStore(key)`. Default: SESSION_ENGINE's, from `createSessionEngine()`. */
  createStore?: CreateSessionStore;
}

/** The middleware a Koa app needs to share Django's sessions and logins. */
export interface BridgeMiddleware {
  /** Django's SessionMiddleware: `ctx.session`. */
  readonly session: Middleware<DefaultState, DefaultContext>;
  /** Django's AuthenticationMiddleware: `await ctx.state.getUser()`; enables login()/logout(). */
  readonly auth: Middleware<DefaultState, DefaultContext>;
  /** The auth configuration (backends, secrets) the auth middleware binds to each request. */
  readonly authConfig: Auth;
  /** SESSION_ENGINE's store factory (`SessionStore(key)`, `clearExpired()`, `close()` for its Redis connection). */
  readonly sessions: SessionEngine;
  /** The `auth_user` table. */
  readonly users: AuthUserTable;
}

export function createBridgeMiddleware(options: BridgeOptions): BridgeMiddleware {
  const { settings, db } = options;
  const timezone = options.timezone ?? new DjangoTimezone(settings);
  const sessions = createSessionEngine(settings, db, { timezone });
  const authConfig = createDjangoAuth({
    db,
    settings,
    timezone,
    ...(options.authenticationBackends === undefined ? {} : { authenticationBackends: options.authenticationBackends }),
    ...(options.signals === undefined ? {} : { signals: options.signals }),
  });
  return {
    session: sessionMiddleware({ settings, createStore: options.createStore ?? sessions }),
    auth: authMiddleware(authConfig),
    authConfig,
    sessions,
    users: new AuthUserTable(db, timezone),
  };
}

export interface CreateAppOptions extends BridgeOptions {
  /** `DSB_TEST_HOOKS=1`: add `POST /auth/password` (for the end-to-end suite only). */
  testHooks?: boolean;
  /** Log one line per request (default true). */
  accessLog?: boolean;
}

/** The route table of the reference site. */
export function siteRoutes(bridge: BridgeMiddleware, db: Database, testHooks: boolean): Route[] {
  const tutorialUsers = new TutorialUserTable(db);
  const user = tutorialViews(tutorialUsers);
  const auth = authViews(bridge.users);
  const table: Route[] = [
    { path: '/user/reg', handlers: [user.reg] },
    { path: '/user/login', handlers: [user.login] },
    {
      path: '/user/logout',
      handlers: [requireLogin({ findUser: (id) => tutorialUsers.findById(id) }), user.logout],
    },
    { path: '/user/test1', handlers: [user.test1] },
    { path: '/auth/login', methods: ['POST'], handlers: [auth.login] },
    { path: '/auth/whoami', methods: ['GET'], handlers: [auth.whoami] },
    { path: '/auth/logout', methods: ['POST'], handlers: [auth.logout] },
  ];
  if (testHooks) table.push({ path: '/auth/password', methods: ['POST'], handlers: [auth.setPassword] });
  return table;
}

/** The application; `app.bridge` holds the middleware and tables it was built from. */
export function createApp(options: CreateAppOptions): Koa & { bridge: BridgeMiddleware } {
  const bridge = createBridgeMiddleware(options);
  const app = new Koa();
  // Our error pages answer every error; Koa's default logging would print them a second time.
  app.silent = true;
  if (options.accessLog !== false) app.use(accessLog());
  const pages = errorPages(options.settings.DJANGO_VERSION);
  app.use(djangoErrorPages(pages));
  app.use(bridge.session);
  app.use(bridge.auth);
  app.use(djangoViewErrors(pages, options.settings.DJANGO_VERSION));
  app.use(routes(siteRoutes(bridge, options.db, options.testHooks ?? false), pages));
  return Object.assign(app, { bridge });
}
