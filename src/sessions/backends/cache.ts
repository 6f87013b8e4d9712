/**
 * Django's `cache` session engine (django/contrib/sessions/backends/cache.py): the session dict lives
 * only in the cache, under `django.contrib.sessions.cache<session key>` (then the cache's key
 * function: `<KEY_PREFIX>:<VERSION>:django.contrib.sessions.cache<key>`), pickled by the cache
 * backend, with timeout `get_expiry_age()`.
 *
 *   load()             cache.get; a miss — or any error, as Django catches every exception there —
 *                      nulls the key and gives {}. Nothing is created.
 *   exists(key)        `key in cache`.
 *   save({mustCreate}) cache.add, false → CreateError. Otherwise the entry must still be there, or
 *                      UpdateError (a logged-out session is never resurrected by a late save).
 *   create()           up to 10000 fresh keys, then Django's RuntimeError message.
 *   deleteSession()    cache.delete.
 *   clearExpired()     nothing to do: the cache expires entries itself.
 *
 * One departure, deliberate: Django's "is it still there?" is a GET followed by a SET, two round trips
 * with a window in which a concurrent logout is undone. When the data is already loaded (every save
 * the middleware makes) we send one `SET … XX` instead: the same outcome without the window. A store
 * that was never loaded keeps Django's order (GET, then load, then SET), because there the GET decides
 * whether the load happens at all.
 */
import { getLogger } from '../../log.ts';
import { pyDictToMap } from '../../pyjson/dict-order.ts';
import { isPyFloat, type PyDict, type PyValue, type SessionDict } from '../../pyjson/types.ts';
import { SessionBase, type SaveOptions, type SessionBaseOptions } from '../base.ts';
import { CreateError, SessionError, UpdateError } from '../errors.ts';
import { CacheValueError, type SessionCache } from './redis-cache.ts';

/** `django.contrib.sessions.backends.cache.KEY_PREFIX`. */
export const CACHE_SESSION_KEY_PREFIX = 'django.contrib.sessions.cache';

/** How many fresh keys `create()` tries before giving up (Django's `range(10000)`). */
export const CACHE_CREATE_ATTEMPTS = 10000;

/** Django's RuntimeError from `create()` when no key could be added: the cache is most likely down. */
export class SessionCacheUnavailable extends SessionError {
  constructor(options?: ErrorOptions) {
    super('Unable to create a new session key. It is likely that the cache is unavailable.', options);
  }
}

const log = getLogger('django_session_bridge.sessions');

function isDict(value: PyValue): value is PyDict {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !isPyFloat(value) && !(value instanceof Map);
}

/** `cache.get(cache_key)` for a session: the dict in Python order, null on a miss; throws for anything else. */
export async function getCachedSession(cache: SessionCache, cacheKey: string): Promise<SessionDict | null> {
  const value = await cache.get(cacheKey);
  if (value === null) return null;
  if (!isDict(value)) throw new CacheValueError('the cached session is not a dict', cacheKey);
  return pyDictToMap(value);
}

/**
 * The engines' `try: cache.get(...) except Exception: None`. Django is silent there; we log the
 * values we refused (never the key: it is the session credential), since a pickle outside the subset
 * is either another app's entry or an attack on the unpickler.
 */
export async function readCachedSession(cache: SessionCache, cacheKey: string): Promise<SessionDict | null> {
  try {
    return await getCachedSession(cache, cacheKey);
  } catch (err) {
    if (err instanceof CacheValueError) {
      log.warning('Session cache entry refused; treated as a miss', { reason: err.message, cache: cache.description });
    }
    return null;
  }
}

export interface CacheSessionStoreOptions extends SessionBaseOptions {
  /** The cache (`caches[SESSION_CACHE_ALIAS]`). */
  cache: SessionCache;
}

export class CacheSessionStore extends SessionBase {
  readonly cache: SessionCache;
  /** `cache_key_prefix` (a subclass may change it, as in Django). */
  protected readonly cacheKeyPrefix: string = CACHE_SESSION_KEY_PREFIX;

  constructor(sessionKey: string | null | undefined, options: CacheSessionStoreOptions) {
    super(sessionKey, options);
    this.cache = options.cache;
  }

  /** `self.cache_key`: the prefix plus the current key, creating one if there is none. */
  protected async cacheKey(): Promise<string> {
    return this.cacheKeyPrefix + (await this._getOrCreateSessionKey());
  }

  async load(): Promise<SessionDict> {
    const data = await readCachedSession(this.cache, await this.cacheKey());
    if (data !== null) return data;
    this._sessionKey = null;
    return new Map();
  }

  async exists(sessionKey: string): Promise<boolean> {
    return Boolean(sessionKey) && (await this.cache.hasKey(this.cacheKeyPrefix + sessionKey));
  }

  async create(): Promise<void> {
    // A cache may fail silently, so a failing add() cannot tell a taken key from a dead cache:
    // Django tries a (large) number of times, then gives up.
    for (let i = 0; i < CACHE_CREATE_ATTEMPTS; i++) {
      this._sessionKey = await this._getNewSessionKey();
      try {
        await this.save({ mustCreate: true });
      } catch (e) {
        if (e instanceof CreateError) continue;
        throw e;
      }
      this.modified = true;
      return;
    }
    throw new SessionCacheUnavailable();
  }

  async save({ mustCreate = false }: SaveOptions = {}): Promise<void> {
    if (this.sessionKey === null) return this.create();
    if (mustCreate) {
      const cacheKey = await this.cacheKey();
      const added = await this.cache.add(cacheKey, await this._getSession(true), await this.getExpiryAge());
      if (!added) throw new CreateError(this.sessionKey);
      return;
    }
    if (this._sessionCache === undefined) {
      // Django's order: look first; only a present entry leads to loading (and then saving) the data.
      if ((await this.cache.get(await this.cacheKey())) === null) {
        throw new UpdateError(this.sessionKey, 'The session is no longer in the cache.');
      }
      const data = await this._getSession();
      await this.cache.set(await this.cacheKey(), data, await this.getExpiryAge());
      return;
    }
    const data = await this._getSession();
    const age = await this.getExpiryAge();
    const key = this.sessionKey;
    if (!(await this.cache.setIfPresent(await this.cacheKey(), data, age))) {
      throw new UpdateError(key, 'The session is no longer in the cache.');
    }
  }

  async deleteSession(sessionKey: string | null = null): Promise<void> {
    const key = sessionKey ?? this.sessionKey;
    if (key === null) return;
    await this.cache.delete(this.cacheKeyPrefix + key);
  }

  /** Nothing to do: cache entries expire by themselves (Django: `pass`). */
  override async clearExpired(): Promise<void> {}
}
