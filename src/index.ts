/**
 * django-session-bridge: Django's sessions and logins for Koa, reading and writing the very
 * `django_session` rows (and `auth_user` users) a Django site does.
 *
 * The everyday API is exported flat below. The lower layers, which most apps never touch directly,
 * are exported as namespaces so their many names do not crowd this one:
 *   pyjson   Python's json.dumps/json.loads as Django uses them (`pyjson.pyLoads`, `pyjson.PyFloat`…)
 *   signing  django.core.signing (`signing.dumps`, `signing.TimestampSigner`, `signing.saltedHmac`…)
 *   hashers  django.contrib.auth.hashers (`hashers.makePassword`, `hashers.checkPassword`…)
 *
 *   import Koa from 'koa';
 *   import { createBridgeMiddleware, loadSettings, openDatabase, login, authenticate } from 'django-session-bridge';
 *   const settings = loadSettings();
 *   const bridge = createBridgeMiddleware({ settings, db: openDatabase(settings.DATABASE_URL!, settings) });
 *   app.use(bridge.session).use(bridge.auth);
 */

// Settings and the database
export {
  ConfigError,
  DEVELOPMENT_SECRET_KEY,
  DJANGO_VERSIONS,
  loadSettings,
  type DjangoVersion,
  type Environment,
  type Settings,
} from './config.ts';
export { openDatabase, parseDatabaseUrl, redactDatabaseUrl, type Database, type Dialect } from './db/connection.ts';
export { DatabaseConfigError } from './db/errors.ts';
export { DjangoTimezone, PyDateTime, Timedelta, type Clock } from './db/datetime.ts';

// Sessions
export { SessionBase, type SessionSettings, type SessionBaseOptions } from './sessions/base.ts';
export { SessionCodec, DEFAULT_SESSION_KEY_SALT, type SessionCodecOptions } from './sessions/codec.ts';
export {
  CreateError,
  KeyError,
  SessionError,
  SessionExpiryError,
  SessionInterrupted,
  SuspiciousSession,
  UpdateError,
} from './sessions/errors.ts';
export {
  createSessionStoreFactory,
  DatabaseSessionStore,
  SessionManager,
  type SessionStoreFactory,
  type SessionStoreFactoryOptions,
} from './sessions/backends/db.ts';

export {
  createSessionEngine,
  CacheSessionStore,
  CachedDatabaseSessionStore,
  SignedCookieSessionStore,
  type SessionEngine,
  type SessionEngineName,
  type SessionEngineOptions,
} from './sessions/backends/index.ts';

// clearsessions as a library: batched, paced deletion of expired rows (what `clearsessions` runs)
export {
  ClearExpiredError,
  DEFAULT_BATCH_SIZE,
  DEFAULT_CHUNK_TIME_MS,
  DEFAULT_NICE_RATIO,
  ExpiredSessionCleaner,
  MAX_BATCH_SIZE,
  type CleanupStatement,
  type ClearExpiredOptions,
  type ClearExpiredResult,
  type ClearProgress,
  type ClearStrategy,
  type ExpiredSessionCleanerOptions,
  type StatementKind,
} from './sessions/clear-expired.ts';
export { SessionTable } from './sessions/backends/db-table.ts';

// Koa middleware
export { sessionMiddleware, type SessionMiddlewareOptions } from './koa/index.ts';
export { authMiddleware } from './koa/auth-middleware.ts';
export { requireLogin, type RequireLoginOptions } from './koa/require-login.ts';

// Auth
export * from './auth/index.ts';

// The app
export {
  createApp,
  createBridgeMiddleware,
  type BridgeMiddleware,
  type BridgeOptions,
  type CreateAppOptions,
} from './app/create-app.ts';

// Lower layers, as namespaces
export * as pyjson from './pyjson/index.ts';
export * as signing from './signing/index.ts';
export * as hashers from './auth/hashers/index.ts';
