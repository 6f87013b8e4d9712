/**
 * Settings, under Django's own names, read once at start-up from an environment-like record.
 *
 * One zod schema validates every value; a wrong value throws a `ConfigError` that names the setting
 * and says what it expected, so a misconfigured process stops before it serves a request. Defaults are
 * Django's `global_settings` defaults for the chosen `DJANGO_VERSION` (spec 4.6), not
 * `startproject`'s: mirror the live Django site's settings.py rather than relying on them.
 *
 * Spellings accepted in the environment:
 * - booleans: `True`/`False`, `true`/`false`, `1`/`0`;
 * - `SECRET_KEY_FALLBACKS`: a JSON list of strings (`["old1","old2"]`), or a comma-separated list
 *   (`old1,old2`; blanks around commas are trimmed, empty items dropped). A key that contains a comma
 *   must use the JSON form;
 * - `SESSION_COOKIE_SAMESITE`: `Lax`, `Strict` or `None` in any case (kept as written, as Django
 *   writes the value it was given into the cookie); empty or `False` for no SameSite attribute;
 * - `DJANGO_VERSION`: `3.2`, `4.2` or `5.2`, optionally with a patch level (`4.2.28`);
 * - an empty value means "not set" (Django's default applies), except for `SESSION_COOKIE_SAMESITE`;
 * - `SESSION_ENGINE`: Django's dotted names (`django.contrib.sessions.backends.db`, `.cache`,
 *   `.cached_db`, `.signed_cookies`);
 * - the cache the `cache` / `cached_db` engines share with Django (`CACHES[SESSION_CACHE_ALIAS]` there):
 *   `CACHE_URL` (its `LOCATION`: `redis://…`, `rediss://…`, `unix://…`), `CACHE_BACKEND` (its `BACKEND`:
 *   `django_redis.cache.RedisCache` or `django.core.cache.backends.redis.RedisCache`; `django_redis` and
 *   `django` are accepted as short names), `CACHE_KEY_PREFIX`, `CACHE_VERSION`, and
 *   `CACHE_PICKLE_PROTOCOL` (django-redis's `PICKLE_VERSION` option). See docs/engines.md.
 *
 * `USE_TZ` defaults to False for 3.2 and 4.2 and True for 5.x, as `global_settings` does; note that
 * `startproject` has always written `USE_TZ = True`, so most sites run with True.
 */
import { z } from 'zod';

export const DJANGO_VERSIONS = ['3.2', '4.2', '5.2'] as const;
export type DjangoVersion = (typeof DJANGO_VERSIONS)[number];

export const DB_SESSION_ENGINE = 'django.contrib.sessions.backends.db';
export const CACHE_SESSION_ENGINE = 'django.contrib.sessions.backends.cache';
export const CACHED_DB_SESSION_ENGINE = 'django.contrib.sessions.backends.cached_db';
export const SIGNED_COOKIES_SESSION_ENGINE = 'django.contrib.sessions.backends.signed_cookies';
export const SESSION_ENGINES = [
  DB_SESSION_ENGINE,
  CACHE_SESSION_ENGINE,
  CACHED_DB_SESSION_ENGINE,
  SIGNED_COOKIES_SESSION_ENGINE,
] as const;
export type SessionEngineName = (typeof SESSION_ENGINES)[number];

/** `CACHES[...]["BACKEND"]` values we can share a cache with. */
export const CACHE_BACKENDS = ['django_redis.cache.RedisCache', 'django.core.cache.backends.redis.RedisCache'] as const;
export type CacheBackendName = (typeof CACHE_BACKENDS)[number];
const CACHE_BACKEND_ALIASES: Readonly<Record<string, CacheBackendName>> = {
  django_redis: 'django_redis.cache.RedisCache',
  'django_redis.cache.RedisCache': 'django_redis.cache.RedisCache',
  django: 'django.core.cache.backends.redis.RedisCache',
  'django.core.cache.backends.redis.RedisCache': 'django.core.cache.backends.redis.RedisCache',
};

/**
 * The key `loadSettings(env, { allowDevelopmentDefaults: true })` uses when SECRET_KEY is unset.
 * Public on purpose and prefixed like startproject's keys, so Django's own check (security.W009) and
 * anyone reading a config dump can tell it is not a real secret.
 */
export const DEVELOPMENT_SECRET_KEY = 'django-insecure-django-session-bridge-development-only-never-deploy';

/** Django's startproject database, so a development Django project in the same folder shares it. */
export const DEVELOPMENT_DATABASE_URL = 'sqlite:db.sqlite3';

export interface Settings {
  readonly SECRET_KEY: string;
  readonly SECRET_KEY_FALLBACKS: readonly string[];
  readonly SESSION_COOKIE_AGE: number;
  readonly SESSION_COOKIE_NAME: string;
  readonly SESSION_COOKIE_DOMAIN: string | null;
  readonly SESSION_COOKIE_PATH: string;
  readonly SESSION_COOKIE_SECURE: boolean;
  readonly SESSION_COOKIE_HTTPONLY: boolean;
  /** The SameSite attribute as written (`Lax`, `strict`, `None`…), or null for none. */
  readonly SESSION_COOKIE_SAMESITE: string | null;
  readonly SESSION_EXPIRE_AT_BROWSER_CLOSE: boolean;
  readonly SESSION_SAVE_EVERY_REQUEST: boolean;
  readonly SESSION_ENGINE: SessionEngineName;
  /** The Redis `LOCATION` of the cache the cache/cached_db engines use; null when unset. */
  readonly CACHE_URL: string | null;
  /** The Django cache backend that writes that cache (its key, pickle and timeout rules). */
  readonly CACHE_BACKEND: CacheBackendName;
  readonly CACHE_KEY_PREFIX: string;
  readonly CACHE_VERSION: number;
  /** Pickle protocol written; null: the backend's own (django-redis 4, Django's RedisCache 5). */
  readonly CACHE_PICKLE_PROTOCOL: 2 | 3 | 4 | 5 | null;
  readonly USE_TZ: boolean;
  readonly TIME_ZONE: string;
  /** Null when unset (and development defaults were not asked for). */
  readonly DATABASE_URL: string | null;
  readonly DJANGO_VERSION: DjangoVersion;
  /** Django 3.2's transitional setting; 4.0+ always behaves as `sha256`, which is what it reads there. */
  readonly DEFAULT_HASHING_ALGORITHM: 'sha256' | 'sha1';
  readonly PORT: number;
  readonly HOST: string;
}

export type SettingName = keyof Settings;

export interface LoadSettingsOptions {
  /** Use DEVELOPMENT_SECRET_KEY and DEVELOPMENT_DATABASE_URL when those are unset. Never in production. */
  allowDevelopmentDefaults?: boolean;
}

export type Environment = Readonly<Record<string, string | undefined>>;

/** A setting with a wrong value. `setting` is its Django name; `expected` says what would be accepted. */
export class ConfigError extends Error {
  constructor(
    readonly setting: string,
    readonly expected: string,
    received?: string,
  ) {
    super(`${setting}: expected ${expected}${received === undefined ? '' : `, got ${JSON.stringify(received)}`}`);
    this.name = 'ConfigError';
  }
}

/** Values that must never appear in an error message or a log line. */
const SECRET_SETTINGS: ReadonlySet<string> = new Set(['SECRET_KEY', 'SECRET_KEY_FALLBACKS', 'DATABASE_URL', 'CACHE_URL']);

// ---- per-value parsers: return the value, or INVALID -------------------------------------------

const INVALID = Symbol('invalid');
type Parsed<T> = T | typeof INVALID;

const TRUE_SPELLINGS = new Set(['True', 'true', '1']);
const FALSE_SPELLINGS = new Set(['False', 'false', '0']);

function parseBoolean(raw: string): Parsed<boolean> {
  if (TRUE_SPELLINGS.has(raw)) return true;
  if (FALSE_SPELLINGS.has(raw)) return false;
  return INVALID;
}

function parseWholeNumber(max: number): (raw: string) => Parsed<number> {
  return (raw) => {
    if (!/^\d+$/.test(raw)) return INVALID;
    const n = Number(raw);
    return n <= max ? n : INVALID;
  };
}

function parseKeyList(raw: string): Parsed<string[]> {
  const text = raw.trim();
  if (text.startsWith('[')) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return INVALID;
    }
    if (!Array.isArray(value) || !value.every((k): k is string => typeof k === 'string' && k !== '')) return INVALID;
    return value;
  }
  return text
    .split(',')
    .map((k) => k.trim())
    .filter((k) => k !== '');
}

// RFC 6265 cookie-name token characters (what Python's http.cookies accepts as a key).
const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// Printable ASCII without ';' so an attribute value cannot add attributes of its own.
const COOKIE_ATTRIBUTE_VALUE = /^[\x20-\x3a\x3c-\x7e]+$/;

function parseSameSite(raw: string): Parsed<string | null> {
  if (raw === '' || raw === 'False' || raw === 'false') return null;
  return ['lax', 'strict', 'none'].includes(raw.toLowerCase()) ? raw : INVALID;
}

function parseDjangoVersion(raw: string): Parsed<DjangoVersion> {
  const m = /^(\d+\.\d+)(?:\.\d+)?$/.exec(raw.trim());
  const version = m?.[1];
  return (DJANGO_VERSIONS as readonly string[]).includes(version ?? '') ? (version as DjangoVersion) : INVALID;
}

function parseTimeZone(raw: string): Parsed<string> {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: raw });
    return raw;
  } catch {
    return INVALID;
  }
}

function oneOf<T extends string>(values: readonly T[]): (raw: string) => Parsed<T> {
  return (raw) => ((values as readonly string[]).includes(raw) ? (raw as T) : INVALID);
}

function parseInteger(raw: string): Parsed<number> {
  if (!/^-?\d+$/.test(raw)) return INVALID;
  const n = Number(raw);
  return Number.isSafeInteger(n) ? n : INVALID;
}

function parseCacheBackend(raw: string): Parsed<CacheBackendName> {
  return CACHE_BACKEND_ALIASES[raw] ?? INVALID;
}

function parsePickleProtocol(raw: string): Parsed<2 | 3 | 4 | 5> {
  return raw === '2' || raw === '3' || raw === '4' || raw === '5' ? (Number(raw) as 2 | 3 | 4 | 5) : INVALID;
}

function matching(pattern: RegExp): (raw: string) => Parsed<string> {
  return (raw) => (pattern.test(raw) ? raw : INVALID);
}

/**
 * One environment variable: unset (or empty, unless `emptyIsAValue`) gives undefined, so the
 * default is chosen later with the other settings in view; a value is parsed or reported.
 */
function env<T>(expected: string, parse: (raw: string) => Parsed<T>, emptyIsAValue = false) {
  return z
    .string()
    .optional()
    .transform((raw, ctx): T | undefined => {
      if (raw === undefined || (raw === '' && !emptyIsAValue)) return undefined;
      const value = parse(raw);
      if (value === INVALID) {
        ctx.addIssue({ code: 'custom', message: expected, input: raw });
        return z.NEVER;
      }
      return value;
    });
}

const BOOLEAN = 'True or False (also true/false, 1/0)';

const environmentSchema = z.object({
  SECRET_KEY: env('a non-empty string', (raw) => raw),
  SECRET_KEY_FALLBACKS: env('a JSON list of non-empty strings, or comma-separated keys', parseKeyList, true),
  SESSION_COOKIE_AGE: env('a whole number of seconds (Django default 1209600)', parseWholeNumber(Number.MAX_SAFE_INTEGER)),
  SESSION_COOKIE_NAME: env('a cookie name (letters, digits and !#$%&\'*+-.^_`|~)', matching(COOKIE_NAME)),
  SESSION_COOKIE_DOMAIN: env('a domain such as .example.com (printable ASCII, no ";")', matching(COOKIE_ATTRIBUTE_VALUE)),
  SESSION_COOKIE_PATH: env('a path such as / (printable ASCII, no ";")', matching(COOKIE_ATTRIBUTE_VALUE)),
  SESSION_COOKIE_SECURE: env(BOOLEAN, parseBoolean),
  SESSION_COOKIE_HTTPONLY: env(BOOLEAN, parseBoolean),
  SESSION_COOKIE_SAMESITE: env('Lax, Strict or None (any case), or empty/False for no SameSite attribute', parseSameSite, true),
  SESSION_EXPIRE_AT_BROWSER_CLOSE: env(BOOLEAN, parseBoolean),
  SESSION_SAVE_EVERY_REQUEST: env(BOOLEAN, parseBoolean),
  SESSION_ENGINE: env(`one of ${SESSION_ENGINES.join(', ')}`, oneOf(SESSION_ENGINES)),
  CACHE_URL: env('a Redis URL (redis://host:port/db, rediss://…, unix:///path?db=N)', matching(/^(?:rediss?|unix):\/\/\S*$/)),
  CACHE_BACKEND: env(`${CACHE_BACKENDS.join(' or ')} (or django_redis / django)`, parseCacheBackend),
  CACHE_KEY_PREFIX: env('a string', (raw) => raw),
  CACHE_VERSION: env('an integer (Django default 1)', parseInteger),
  CACHE_PICKLE_PROTOCOL: env('a pickle protocol, 2 to 5', parsePickleProtocol),
  USE_TZ: env(BOOLEAN, parseBoolean),
  TIME_ZONE: env('an IANA time zone name such as UTC or Europe/Paris', parseTimeZone),
  DATABASE_URL: env('a database URL', (raw) => raw),
  DJANGO_VERSION: env(`one of ${DJANGO_VERSIONS.join(', ')}`, parseDjangoVersion),
  DEFAULT_HASHING_ALGORITHM: env('sha256 or sha1', oneOf(['sha256', 'sha1'] as const)),
  PORT: env('a TCP port number 0-65535', parseWholeNumber(65535)),
  HOST: env('a host name or address to listen on', (raw) => raw),
});

type EnvironmentValues = z.output<typeof environmentSchema>;

/** Apply Django's defaults for the chosen version, and the rules that tie settings together. */
function resolve(values: EnvironmentValues, options: LoadSettingsOptions): Settings {
  const version = values.DJANGO_VERSION ?? '5.2';

  let secretKey = values.SECRET_KEY;
  if (secretKey === undefined) {
    if (!options.allowDevelopmentDefaults) {
      throw new ConfigError('SECRET_KEY', "a non-empty string (Django's SECRET_KEY of the site that shares the sessions)");
    }
    secretKey = DEVELOPMENT_SECRET_KEY;
  }

  const fallbacks = values.SECRET_KEY_FALLBACKS ?? [];
  if (fallbacks.length > 0 && version === '3.2') {
    throw new ConfigError('SECRET_KEY_FALLBACKS', 'no value with DJANGO_VERSION 3.2 (Django added it in 4.1)');
  }
  if (values.DEFAULT_HASHING_ALGORITHM !== undefined && version !== '3.2') {
    throw new ConfigError('DEFAULT_HASHING_ALGORITHM', `no value with DJANGO_VERSION ${version} (Django removed it in 4.0)`);
  }

  const engine = values.SESSION_ENGINE ?? DB_SESSION_ENGINE;
  const usesCache = engine === CACHE_SESSION_ENGINE || engine === CACHED_DB_SESSION_ENGINE;
  if (usesCache && values.CACHE_URL === undefined) {
    throw new ConfigError('CACHE_URL', `the Redis URL of the Django cache the ${engine} engine shares (its CACHES LOCATION)`);
  }
  // Django 3.2 has no Redis cache of its own; 4.0+ sites use either.
  const cacheBackend = values.CACHE_BACKEND ?? (version === '3.2' ? 'django_redis.cache.RedisCache' : 'django.core.cache.backends.redis.RedisCache');
  if (cacheBackend === 'django.core.cache.backends.redis.RedisCache' && version === '3.2') {
    throw new ConfigError('CACHE_BACKEND', 'django_redis.cache.RedisCache with DJANGO_VERSION 3.2 (Django added its own RedisCache in 4.0)');
  }

  return Object.freeze({
    SECRET_KEY: secretKey,
    SECRET_KEY_FALLBACKS: Object.freeze([...fallbacks]),
    SESSION_COOKIE_AGE: values.SESSION_COOKIE_AGE ?? 1209600,
    SESSION_COOKIE_NAME: values.SESSION_COOKIE_NAME ?? 'sessionid',
    SESSION_COOKIE_DOMAIN: values.SESSION_COOKIE_DOMAIN ?? null,
    SESSION_COOKIE_PATH: values.SESSION_COOKIE_PATH ?? '/',
    SESSION_COOKIE_SECURE: values.SESSION_COOKIE_SECURE ?? false,
    SESSION_COOKIE_HTTPONLY: values.SESSION_COOKIE_HTTPONLY ?? true,
    SESSION_COOKIE_SAMESITE: values.SESSION_COOKIE_SAMESITE === undefined ? 'Lax' : values.SESSION_COOKIE_SAMESITE,
    SESSION_EXPIRE_AT_BROWSER_CLOSE: values.SESSION_EXPIRE_AT_BROWSER_CLOSE ?? false,
    SESSION_SAVE_EVERY_REQUEST: values.SESSION_SAVE_EVERY_REQUEST ?? false,
    SESSION_ENGINE: engine,
    CACHE_URL: values.CACHE_URL ?? null,
    CACHE_BACKEND: cacheBackend,
    CACHE_KEY_PREFIX: values.CACHE_KEY_PREFIX ?? '',
    CACHE_VERSION: values.CACHE_VERSION ?? 1,
    CACHE_PICKLE_PROTOCOL: values.CACHE_PICKLE_PROTOCOL ?? null,
    USE_TZ: values.USE_TZ ?? version === '5.2',
    // global_settings' TIME_ZONE; startproject writes 'UTC'.
    TIME_ZONE: values.TIME_ZONE ?? 'America/Chicago',
    DATABASE_URL: values.DATABASE_URL ?? (options.allowDevelopmentDefaults ? DEVELOPMENT_DATABASE_URL : null),
    DJANGO_VERSION: version,
    DEFAULT_HASHING_ALGORITHM: values.DEFAULT_HASHING_ALGORITHM ?? 'sha256',
    PORT: values.PORT ?? 8000,
    HOST: values.HOST ?? '127.0.0.1',
  });
}

/**
 * Return the validated settings read from `env` (default: `process.env`).
 * Throws `ConfigError` for the first wrong or missing value.
 */
export function loadSettings(envRecord: Environment = process.env, options: LoadSettingsOptions = {}): Settings {
  const picked: Record<string, string | undefined> = {};
  for (const name of Object.keys(environmentSchema.shape)) picked[name] = envRecord[name];
  const result = environmentSchema.safeParse(picked);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const setting = String(issue.path[0]);
    const raw = picked[setting];
    throw new ConfigError(setting, issue.message, SECRET_SETTINGS.has(setting) ? undefined : raw);
  }
  return resolve(result.data, options);
}
