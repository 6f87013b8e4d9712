/**
 * `SESSION_ENGINE`: one factory per app that makes the configured engine's store for each request
 * (Django's `import_module(settings.SESSION_ENGINE).SessionStore`).
 *
 *   const sessions = createSessionEngine(settings, db);          // db: needed by db / cached_db
 *   app.use(sessionMiddleware({ settings, createStore: sessions }));
 *   await sessions.clearExpired();                                // clearsessions
 *   await sessions.close();                                       // at shutdown: the Redis connection
 *
 * | SESSION_ENGINE                                  | store                      | storage                 |
 * | ----------------------------------------------- | -------------------------- | ----------------------- |
 * | django.contrib.sessions.backends.db             | DatabaseSessionStore       | django_session          |
 * | django.contrib.sessions.backends.cached_db      | CachedDatabaseSessionStore | django_session + Redis  |
 * | django.contrib.sessions.backends.cache          | CacheSessionStore          | Redis                   |
 * | django.contrib.sessions.backends.signed_cookies | SignedCookieSessionStore   | the cookie itself       |
 *
 * The Redis cache follows CACHE_URL / CACHE_BACKEND / CACHE_KEY_PREFIX / CACHE_VERSION /
 * CACHE_PICKLE_PROTOCOL (see redis-cache.ts and docs/engines.md).
 */
import type { Settings } from '../../config.ts';
import type { Database } from '../../db/connection.ts';
import { DjangoTimezone } from '../../db/datetime.ts';
import type { SessionBase } from '../base.ts';
import { CacheSessionStore } from './cache.ts';
import { CachedDatabaseSessionStore } from './cached-db.ts';
import { createSessionStoreFactory, type SessionDataCodec } from './db.ts';
import { RedisCache, type KeyFunction, type SessionCache } from './redis-cache.ts';
import { SessionCookieSigner, SignedCookieSessionStore } from './signed-cookies.ts';

export type SessionEngineName = Settings['SESSION_ENGINE'];

/** The settings the engines read (`loadSettings()` returns a superset). */
export type SessionEngineSettings = Pick<
  Settings,
  | 'SECRET_KEY'
  | 'SECRET_KEY_FALLBACKS'
  | 'DEFAULT_HASHING_ALGORITHM'
  | 'SESSION_COOKIE_AGE'
  | 'SESSION_COOKIE_NAME'
  | 'SESSION_EXPIRE_AT_BROWSER_CLOSE'
  | 'SESSION_ENGINE'
  | 'USE_TZ'
  | 'TIME_ZONE'
  | 'DJANGO_VERSION'
  | 'CACHE_URL'
  | 'CACHE_BACKEND'
  | 'CACHE_KEY_PREFIX'
  | 'CACHE_VERSION'
  | 'CACHE_PICKLE_PROTOCOL'
>;

export interface SessionEngineOptions {
  /** Default: from USE_TZ / TIME_ZONE with the system clock. Tests pass a frozen clock. */
  timezone?: DjangoTimezone;
  /** Use this cache instead of opening one from CACHE_URL (it is not closed by `close()`). */
  cache?: SessionCache;
  /** The cache's `KEY_FUNCTION`, when the Django app sets one. */
  keyFunction?: KeyFunction;
  /** db / cached_db: the session data codec (default: from SECRET_KEY and friends). */
  codec?: SessionDataCodec;
}

/** `SessionStore(session_key)` for the configured engine, plus what the app and the CLI need around it. */
export interface SessionEngine {
  (sessionKey: string | null | undefined): SessionBase;
  readonly engine: SessionEngineName;
  readonly settings: SessionEngineSettings;
  readonly timezone: DjangoTimezone;
  /** The Redis cache of the cache / cached_db engines; null for the others. */
  readonly cache: SessionCache | null;
  /**
   * `SessionStore.clear_expired()`: db / cached_db delete the expired rows and return how many;
   * cache / signed_cookies have nothing to clear (null).
   */
  clearExpired(): Promise<number | null>;
  /** Close the Redis connection this engine opened (the database is the caller's). */
  close(): Promise<void>;
}

function needDatabase(engine: SessionEngineName, db: Database | null | undefined): Database {
  if (!db) throw new TypeError(`the ${engine} session engine needs a database (DATABASE_URL)`);
  return db;
}

function openCache(settings: SessionEngineSettings, options: SessionEngineOptions): { cache: SessionCache; owned: boolean } {
  if (options.cache) return { cache: options.cache, owned: false };
  if (!settings.CACHE_URL) {
    throw new TypeError(`the ${settings.SESSION_ENGINE} session engine needs CACHE_URL (the Django cache's LOCATION)`);
  }
  const cache = new RedisCache({
    backend: settings.CACHE_BACKEND,
    url: settings.CACHE_URL,
    keyPrefix: settings.CACHE_KEY_PREFIX,
    version: settings.CACHE_VERSION,
    ...(options.keyFunction ? { keyFunction: options.keyFunction } : {}),
    ...(settings.CACHE_PICKLE_PROTOCOL === null ? {} : { pickleProtocol: settings.CACHE_PICKLE_PROTOCOL }),
  });
  return { cache, owned: true };
}

/** Build the engine `settings.SESSION_ENGINE` names. Everything expensive (keys, connections) is made once, here. */
export function createSessionEngine(
  settings: SessionEngineSettings,
  db?: Database | null,
  options: SessionEngineOptions = {},
): SessionEngine {
  const timezone = options.timezone ?? new DjangoTimezone(settings);
  const engine = settings.SESSION_ENGINE;
  const base = { engine, settings, timezone };

  switch (engine) {
    case 'django.contrib.sessions.backends.db': {
      const factory = createSessionStoreFactory({
        db: needDatabase(engine, db),
        settings,
        timezone,
        ...(options.codec ? { codec: options.codec } : {}),
      });
      return Object.assign((key: string | null | undefined) => factory(key), {
        ...base,
        cache: null,
        clearExpired: () => factory.clearExpired(),
        close: async () => {},
      });
    }
    case 'django.contrib.sessions.backends.cached_db': {
      const factory = createSessionStoreFactory({
        db: needDatabase(engine, db),
        settings,
        timezone,
        ...(options.codec ? { codec: options.codec } : {}),
      });
      const { cache, owned } = openCache(settings, options);
      const storeOptions = { settings, timezone, table: factory.table, codec: factory.codec, cache };
      return Object.assign((key: string | null | undefined) => new CachedDatabaseSessionStore(key, storeOptions), {
        ...base,
        cache,
        clearExpired: () => factory.clearExpired(),
        close: () => (owned ? cache.close() : Promise.resolve()),
      });
    }
    case 'django.contrib.sessions.backends.cache': {
      const { cache, owned } = openCache(settings, options);
      const storeOptions = { settings, timezone, cache };
      return Object.assign((key: string | null | undefined) => new CacheSessionStore(key, storeOptions), {
        ...base,
        cache,
        clearExpired: async () => null,
        close: () => (owned ? cache.close() : Promise.resolve()),
      });
    }
    case 'django.contrib.sessions.backends.signed_cookies': {
      const clock = timezone.clock;
      const signer = new SessionCookieSigner(settings, () => clock() / 1e6);
      const storeOptions = { settings, timezone, signer };
      return Object.assign((key: string | null | undefined) => new SignedCookieSessionStore(key, storeOptions), {
        ...base,
        cache: null,
        clearExpired: async () => null,
        close: async () => {},
      });
    }
    default: {
      const unknown: never = engine;
      throw new TypeError(`unknown SESSION_ENGINE ${String(unknown)}`);
    }
  }
}

export { CacheSessionStore, CACHE_SESSION_KEY_PREFIX, SessionCacheUnavailable } from './cache.ts';
export { CachedDatabaseSessionStore, CACHED_DB_SESSION_KEY_PREFIX } from './cached-db.ts';
export { SignedCookieSessionStore, SessionCookieSigner, SIGNED_COOKIES_SALT, BROWSER_COOKIE_LIMIT } from './signed-cookies.ts';
export {
  RedisCache,
  CacheValueError,
  defaultKeyFunction,
  DJANGO_REDIS_BACKEND,
  DJANGO_REDIS_CACHE_BACKEND,
  type CacheBackend,
  type CacheTimeout,
  type KeyFunction,
  type SessionCache,
} from './redis-cache.ts';
