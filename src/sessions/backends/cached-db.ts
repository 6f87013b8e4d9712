/**
 * Django's `cached_db` session engine (django/contrib/sessions/backends/cached_db.py): the `db` engine
 * (the same `django_session` rows, byte for byte) with a write-through cache in front of it, under
 * `django.contrib.sessions.cached_db<session key>` (then `<KEY_PREFIX>:<VERSION>:…`).
 *
 *   load()           the cache first (a miss or any cache error falls through, as in Django); then
 *                    the row, if `expire_date > now`, which is put back in the cache with timeout
 *                    `get_expiry_age(expiry=expire_date)`. No row: the key becomes null, data {}.
 *                    A cache hit is trusted without looking at the row, exactly as in Django.
 *   exists(key)      the cache, then the table.
 *   save()           the row first (INSERT or UPDATE, with the db engine's CreateError/UpdateError),
 *                    then the cache with timeout `get_expiry_age()`. A failing cache write raises in
 *                    3.2/4.2; 5.2 logs `Error saving to cache (<cache>)` on `django.contrib.sessions`
 *                    and carries on (DJANGO_VERSION picks).
 *   deleteSession()  the row, then the cache entry.
 *   clearExpired()   the db engine's (`DELETE … WHERE expire_date < now`); cache entries expire alone.
 *
 * Because every write goes through both, and a delete removes both, a session logged out on either
 * side is not served again from a stale cache entry. (A Node service on the plain `db` engine next to
 * a Django on `cached_db` would leave Django's cache stale: configure the same engine on both sides.)
 */
import { getLogger } from '../../log.ts';
import type { SessionDict } from '../../pyjson/types.ts';
import type { SaveOptions } from '../base.ts';
import { readCachedSession } from './cache.ts';
import { DatabaseSessionStore, type DatabaseSessionStoreOptions } from './db.ts';
import type { SessionRow } from './db-table.ts';
import type { SessionCache } from './redis-cache.ts';

/** `django.contrib.sessions.backends.cached_db.KEY_PREFIX`. */
export const CACHED_DB_SESSION_KEY_PREFIX = 'django.contrib.sessions.cached_db';

const sessionsLogger = getLogger('django.contrib.sessions');

export type CachedDatabaseSessionStoreOptions = DatabaseSessionStoreOptions & {
  /** The cache (`caches[SESSION_CACHE_ALIAS]`). */
  cache: SessionCache;
};

export class CachedDatabaseSessionStore extends DatabaseSessionStore {
  readonly cache: SessionCache;
  protected readonly cacheKeyPrefix: string = CACHED_DB_SESSION_KEY_PREFIX;

  constructor(sessionKey: string | null | undefined, options: CachedDatabaseSessionStoreOptions) {
    super(sessionKey, options);
    this.cache = options.cache;
  }

  /** `self.cache_key`: the prefix plus the current key, creating one if there is none. */
  protected async cacheKey(): Promise<string> {
    return this.cacheKeyPrefix + (await this._getOrCreateSessionKey());
  }

  override async load(): Promise<SessionDict> {
    const cached = await readCachedSession(this.cache, await this.cacheKey());
    if (cached !== null) return cached;
    const row = await this.liveRow();
    if (row === null) return new Map();
    const data = this.decode(row.sessionData);
    await this.cache.set(await this.cacheKey(), data, await this.getExpiryAge({ expiry: row.expireDate }));
    return data;
  }

  /**
   * `_get_session_from_db()`: the row if it expires after now; otherwise the key becomes null.
   * (The row's expire_date is needed for the cache timeout, so the whole row is read and the
   * `expire_date > now` test made here, on the values Django's model would hold.)
   */
  private async liveRow(): Promise<SessionRow | null> {
    const key = this.sessionKey;
    const row = key === null ? null : await this.table.getRow(key);
    if (row === null || row.expireDate.compare(this.timezone.now()) <= 0) {
      this._sessionKey = null;
      return null;
    }
    return row;
  }

  override async exists(sessionKey: string): Promise<boolean> {
    return (Boolean(sessionKey) && (await this.cache.hasKey(this.cacheKeyPrefix + sessionKey))) || super.exists(sessionKey);
  }

  override async save(options: SaveOptions = {}): Promise<void> {
    // Django: super().save() → create() → save(must_create=True) (row + cache), then the outer save
    // sets the same cache entry once more. The second write changes nothing; it is skipped.
    if (this.sessionKey === null) return this.create();
    await super.save(options);
    try {
      await this.cache.set(await this.cacheKey(), await this._getSession(), await this.getExpiryAge());
    } catch (err) {
      if (this.settings.DJANGO_VERSION !== '5.2') throw err;
      sessionsLogger.error(`Error saving to cache (${this.cache.description})`, {
        error: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
      });
    }
  }

  override async deleteSession(sessionKey: string | null = null): Promise<void> {
    await super.deleteSession(sessionKey);
    const key = sessionKey ?? this.sessionKey;
    if (key === null) return;
    await this.cache.delete(this.cacheKeyPrefix + key);
  }
}
