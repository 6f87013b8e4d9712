/**
 * The part of Django's cache framework the `cache` and `cached_db` session engines use, over Redis,
 * written the way the Django app's own cache backend writes it, so both sides share the entries:
 *
 *   key     `KEY_FUNCTION(key, KEY_PREFIX, VERSION)`; Django's default is `"%s:%s:%s" % (prefix,
 *           version, key)`, e.g. `:1:django.contrib.sessions.cache<session key>`.
 *   value   an int as its decimal digits (both backends keep ints raw for INCR), anything else
 *           pickled (see pickle.ts): django-redis with `pickle.DEFAULT_PROTOCOL` (4, or its
 *           `PICKLE_VERSION` option), Django's RedisCache with `pickle.HIGHEST_PROTOCOL` (5).
 *           Both read any protocol, so the two backends also read each other's entries.
 *   timeout the backends differ, and we follow the configured one:
 *           - django-redis (`django_redis.cache.RedisCache`): `SET … PX int(timeout * 1000)`; a
 *             timeout <= 0 deletes on `set`, and `add` then only answers "was it absent?" (EXISTS)
 *             without storing anything.
 *           - Django's own (`django.core.cache.backends.redis.RedisCache`, 4.0+):
 *             `SET … EX max(0, int(timeout))`; 0 deletes on `set`, and `add` does SET NX then DEL.
 *           `null` means no expiry in both.
 *
 * Reading a value Django would have to unpickle outside the subset throws CacheValueError; the
 * session engines treat that like Django treats any exception from `cache.get`: a miss.
 *
 * Not supported (a Django app configured so would not share sessions with us): django-redis
 * compressors and non-pickle serializers, custom KEY_FUNCTION (pass `keyFunction` in code instead),
 * several LOCATIONs (replicas/sharding), Redis Cluster and Sentinel clients.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { getLogger } from '../../log.ts';
import { PY_INT_MAX_STR_DIGITS } from '../../pyjson/limits.ts';
import type { PyValue } from '../../pyjson/types.ts';
import { DEFAULT_PROTOCOL, HIGHEST_PROTOCOL, pickleDumps, pickleLoads, UnpicklingError, type PickleProtocol } from './pickle.ts';

/** `CACHES[...]["BACKEND"]` of django-redis. */
export const DJANGO_REDIS_BACKEND = 'django_redis.cache.RedisCache';
/** `CACHES[...]["BACKEND"]` of Django's own Redis cache (Django 4.0+). */
export const DJANGO_REDIS_CACHE_BACKEND = 'django.core.cache.backends.redis.RedisCache';
export type CacheBackend = typeof DJANGO_REDIS_BACKEND | typeof DJANGO_REDIS_CACHE_BACKEND;

/** Django's `KEY_FUNCTION` signature: `(key, key_prefix, version) -> str`. */
export type KeyFunction = (key: string, keyPrefix: string, version: number) => string;

/** `django.core.cache.backends.base.default_key_func`. */
export const defaultKeyFunction: KeyFunction = (key, keyPrefix, version) => `${keyPrefix}:${version}:${key}`;

/** A cache value that is not in the session subset (or not readable at all). */
export class CacheValueError extends Error {
  constructor(
    message: string,
    /** The full Redis key. */
    readonly cacheKey: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'CacheValueError';
  }
}

/** Timeouts as Django passes them: seconds (fractions allowed), or null for "never expires". */
export type CacheTimeout = number | null;

/**
 * What the session engines need from Django's cache API (`caches[SESSION_CACHE_ALIAS]`), plus
 * `setIfPresent`, an atomic form of the `cache` engine's "get, and set if it was there".
 */
export interface SessionCache {
  /** What Django's `str(cache)` stands for in its log lines (no credentials). */
  readonly description: string;
  /** `cache.get(key)`: the value, or null when absent (Django's None). Throws CacheValueError. */
  get(key: string): Promise<PyValue | null>;
  /** `cache.set(key, value, timeout)`. */
  set(key: string, value: PyValue, timeout: CacheTimeout): Promise<void>;
  /** `cache.add(key, value, timeout)`: true when the key was absent (see the backend notes). */
  add(key: string, value: PyValue, timeout: CacheTimeout): Promise<boolean>;
  /** Set only if the key exists; false when it did not. Same timeout rules as `set`. */
  setIfPresent(key: string, value: PyValue, timeout: CacheTimeout): Promise<boolean>;
  /** `cache.delete(key)`: true when something was deleted. */
  delete(key: string): Promise<boolean>;
  /** `key in cache` (`has_key`). */
  hasKey(key: string): Promise<boolean>;
  /** Close the connection this cache opened (a client passed in by the caller is left open). */
  close(): Promise<void>;
}

export interface RedisCacheOptions {
  /** `BACKEND`: which backend's timeout and pickle rules to follow. */
  backend: CacheBackend;
  /** `LOCATION`: `redis://[:password@]host:port/db`, `rediss://…` (TLS) or `unix:///path?db=N`. */
  url?: string;
  /** Or an ioredis client to use (and not close). */
  client?: Redis;
  /** `KEY_PREFIX`, default ''. */
  keyPrefix?: string;
  /** `VERSION`, default 1. */
  version?: number;
  /** `KEY_FUNCTION`, default Django's `default_key_func`. */
  keyFunction?: KeyFunction;
  /** Pickle protocol written; default 4 for django-redis (its `PICKLE_VERSION`), 5 for Django's. */
  pickleProtocol?: PickleProtocol;
  /** Extra ioredis options for the connection opened from `url`. */
  redisOptions?: RedisOptions;
}

const log = getLogger('django_session_bridge.cache');

/** `LOCATION` without its password, for logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '<unparsable cache URL>';
  }
}

/** ioredis options for a Django `LOCATION` (redis-py's URL forms). */
export function redisOptionsFromUrl(url: string): RedisOptions {
  if (/[;,]/.test(url)) {
    throw new TypeError('several cache LOCATIONs (replicas or sharding) are not supported: give one Redis URL');
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError(`not a Redis URL: ${redactUrl(url)}`);
  }
  const db = (from: string | null): number => {
    if (from === null || from === '') return 0;
    if (!/^\d+$/.test(from)) throw new TypeError(`Redis database number must be a whole number, got ${JSON.stringify(from)}`);
    return Number(from);
  };
  const auth: RedisOptions = {};
  if (parsed.username) auth.username = decodeURIComponent(parsed.username);
  if (parsed.password) auth.password = decodeURIComponent(parsed.password);
  switch (parsed.protocol) {
    case 'redis:':
    case 'rediss:': {
      const fromPath = parsed.pathname.replace(/^\//, '');
      return {
        ...auth,
        host: parsed.hostname || '127.0.0.1',
        port: parsed.port === '' ? 6379 : Number(parsed.port),
        db: db(parsed.searchParams.get('db') ?? fromPath),
        ...(parsed.protocol === 'rediss:' ? { tls: {} } : {}),
      };
    }
    case 'unix:':
      return { ...auth, path: decodeURIComponent(parsed.pathname), db: db(parsed.searchParams.get('db')) };
    default:
      throw new TypeError(`unsupported Redis URL scheme ${parsed.protocol} (redis://, rediss:// or unix://)`);
  }
}

/** Python's `int(bytes)`: optional ASCII whitespace and sign, digits with single underscores between. */
const PY_INT_BYTES = /^[ \t\n\r\x0b\x0c]*([+-]?)(\d+(?:_\d+)*)[ \t\n\r\x0b\x0c]*$/;

/** Well-formed UTF-16: a key with a lone surrogate has no UTF-8 form (redis-py refuses to encode it). */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

interface TimeoutRule {
  /** The argument pair for SET, or 'delete' for a timeout that removes the entry. */
  expiry(timeout: CacheTimeout): ['PX' | 'EX', number] | null | 'delete';
}

function checkedNumber(timeout: number): number {
  // Python's int() raises on these (ValueError / OverflowError) before Redis is asked.
  if (!Number.isFinite(timeout)) throw new RangeError(`cache timeout must be finite, got ${timeout}`);
  return timeout;
}

/** django-redis 5.x DefaultClient.set: `int(timeout * 1000)` milliseconds; <= 0 deletes. */
const DJANGO_REDIS_TIMEOUTS: TimeoutRule = {
  expiry(timeout) {
    if (timeout === null) return null;
    const ms = Math.trunc(checkedNumber(timeout) * 1000);
    return ms <= 0 ? 'delete' : ['PX', ms];
  },
};

/** Django's RedisCache.get_backend_timeout: `max(0, int(timeout))` seconds; 0 deletes. */
const DJANGO_TIMEOUTS: TimeoutRule = {
  expiry(timeout) {
    if (timeout === null) return null;
    const s = Math.max(0, Math.trunc(checkedNumber(timeout)));
    return s === 0 ? 'delete' : ['EX', s];
  },
};

/** Django's cache API on one Redis connection, following `backend`'s rules. */
export class RedisCache implements SessionCache {
  readonly backend: CacheBackend;
  readonly description: string;
  readonly client: Redis;
  readonly keyPrefix: string;
  readonly version: number;
  private readonly keyFunction: KeyFunction;
  private readonly protocol: PickleProtocol;
  private readonly timeouts: TimeoutRule;
  private readonly ownsClient: boolean;

  constructor(options: RedisCacheOptions) {
    const { backend } = options;
    if (backend !== DJANGO_REDIS_BACKEND && backend !== DJANGO_REDIS_CACHE_BACKEND) {
      throw new TypeError(`unsupported cache backend ${String(backend)}: ${DJANGO_REDIS_BACKEND} or ${DJANGO_REDIS_CACHE_BACKEND}`);
    }
    this.backend = backend;
    this.keyPrefix = options.keyPrefix ?? '';
    this.version = options.version ?? 1;
    this.keyFunction = options.keyFunction ?? defaultKeyFunction;
    this.protocol = options.pickleProtocol ?? (backend === DJANGO_REDIS_BACKEND ? DEFAULT_PROTOCOL : HIGHEST_PROTOCOL);
    this.timeouts = backend === DJANGO_REDIS_BACKEND ? DJANGO_REDIS_TIMEOUTS : DJANGO_TIMEOUTS;
    if (options.client) {
      this.client = options.client;
      this.ownsClient = false;
      this.description = `<${backend}>`;
    } else {
      if (!options.url) throw new TypeError('RedisCache needs a url (LOCATION) or a client');
      this.client = new Redis({
        ...redisOptionsFromUrl(options.url),
        // Connect on first use, so building the app (or a CLI command that never touches the cache)
        // does not need Redis up.
        lazyConnect: true,
        // No enableAutoPipelining: it defers every command to a later tick, which made one session
        // GET ~4x slower here; commands from concurrent requests still share the connection.
        // Fail a request quickly when Redis is down, instead of queueing it for 20 reconnects.
        maxRetriesPerRequest: 1,
        ...options.redisOptions,
      });
      this.ownsClient = true;
      this.description = `<${backend} ${redactUrl(options.url)}>`;
      // Without a listener ioredis prints every connection error itself; commands still fail.
      this.client.on('error', (err: Error) => log.warning(`Redis connection error: ${err.message}`, { cache: this.description }));
    }
  }

  /** `make_key(key)`: the Redis key, or null for a key that cannot be encoded (nothing is stored under it). */
  makeKey(key: string): string | null {
    const full = this.keyFunction(key, this.keyPrefix, this.version);
    return LONE_SURROGATE.test(full) ? null : full;
  }

  /** The value as stored: an int as digits, anything else pickled. */
  encode(value: PyValue): Buffer | string {
    // django-redis: `isinstance(value, bool) or not isinstance(value, int)` → pickle; Django's
    // RedisSerializer: `type(obj) is int` → raw. Both: ints (not bools) raw.
    if (typeof value === 'bigint') return value.toString();
    if (typeof value === 'number' && Number.isInteger(value) && !Object.is(value, -0)) return BigInt(value).toString();
    return pickleDumps(value, this.protocol);
  }

  /** `int(value)` when the bytes are an int literal, else `pickle.loads(value)` (the subset only). */
  decode(raw: Buffer, cacheKey: string): PyValue {
    if (raw.length > 0 && raw[0] !== 0x80 && raw.length < 2 * PY_INT_MAX_STR_DIGITS) {
      const m = PY_INT_BYTES.exec(raw.toString('latin1'));
      // Past 4300 digits Python's int() raises ValueError, and the backend tries pickle instead.
      if (m && m[2]!.replace(/_/g, '').length <= PY_INT_MAX_STR_DIGITS) {
        const n = BigInt(m[1]! + m[2]!.replace(/_/g, ''));
        return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
      }
    }
    try {
      return pickleLoads(raw);
    } catch (err) {
      if (err instanceof UnpicklingError) {
        throw new CacheValueError(`cache value refused: ${err.message}`, cacheKey, { cause: err });
      }
      throw err;
    }
  }

  async get(key: string): Promise<PyValue | null> {
    const full = this.makeKey(key);
    if (full === null) return null;
    const raw = await this.client.getBuffer(full);
    return raw === null ? null : this.decode(raw, full);
  }

  async set(key: string, value: PyValue, timeout: CacheTimeout): Promise<void> {
    const full = this.makeKey(key);
    if (full === null) return;
    const expiry = this.timeouts.expiry(timeout);
    if (expiry === 'delete') {
      await this.client.del(full);
      return;
    }
    const encoded = this.encode(value);
    if (expiry === null) await this.client.set(full, encoded);
    else if (expiry[0] === 'PX') await this.client.set(full, encoded, 'PX', expiry[1]);
    else await this.client.set(full, encoded, 'EX', expiry[1]);
  }

  async add(key: string, value: PyValue, timeout: CacheTimeout): Promise<boolean> {
    const full = this.makeKey(key);
    if (full === null) return false;
    const expiry = this.timeouts.expiry(timeout);
    if (expiry === 'delete') {
      if (this.backend === DJANGO_REDIS_BACKEND) {
        // django-redis: "negative timeouts when nx is True should not expire the value": only EXISTS.
        return (await this.client.exists(full)) === 0;
      }
      // Django's RedisCacheClient.add with timeout 0: SET NX, then DEL what it set.
      const stored = (await this.client.set(full, this.encode(value), 'NX')) === 'OK';
      if (stored) await this.client.del(full);
      return stored;
    }
    const encoded = this.encode(value);
    let reply: string | null;
    if (expiry === null) reply = await this.client.set(full, encoded, 'NX');
    else if (expiry[0] === 'PX') reply = await this.client.set(full, encoded, 'PX', expiry[1], 'NX');
    else reply = await this.client.set(full, encoded, 'EX', expiry[1], 'NX');
    return reply === 'OK';
  }

  async setIfPresent(key: string, value: PyValue, timeout: CacheTimeout): Promise<boolean> {
    const full = this.makeKey(key);
    if (full === null) return false;
    const expiry = this.timeouts.expiry(timeout);
    // A timeout that deletes: Django would find the entry, then delete it with its set().
    if (expiry === 'delete') return (await this.client.del(full)) > 0;
    const encoded = this.encode(value);
    let reply: string | null;
    if (expiry === null) reply = await this.client.set(full, encoded, 'XX');
    else if (expiry[0] === 'PX') reply = await this.client.set(full, encoded, 'PX', expiry[1], 'XX');
    else reply = await this.client.set(full, encoded, 'EX', expiry[1], 'XX');
    return reply === 'OK';
  }

  async delete(key: string): Promise<boolean> {
    const full = this.makeKey(key);
    if (full === null) return false;
    return (await this.client.del(full)) > 0;
  }

  async hasKey(key: string): Promise<boolean> {
    const full = this.makeKey(key);
    if (full === null) return false;
    return (await this.client.exists(full)) > 0;
  }

  async close(): Promise<void> {
    if (!this.ownsClient) return;
    if (this.client.status === 'wait' || this.client.status === 'end') {
      this.client.disconnect();
      return;
    }
    try {
      await this.client.quit();
    } catch {
      this.client.disconnect();
    }
  }
}
