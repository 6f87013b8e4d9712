/**
 * The session engines `npm run bench:http` measures (issue 7), and what each one needs: Django's
 * SESSION_ENGINE name, whether it keeps sessions in Redis, and which ceiling process stands for its
 * floor of work (bench/lib/ceiling-sessions.ts).
 *
 * `cached_db` has no ceiling process of its own when `cache` is measured too: a cached_db read that
 * hits the cache does exactly the cache engine's I/O (one Redis GET of a pickle the same size), so
 * one run of the Redis ceiling serves both rows and the time goes to measuring the servers instead.
 */
import {
  CACHE_SESSION_ENGINE,
  CACHED_DB_SESSION_ENGINE,
  DB_SESSION_ENGINE,
  SIGNED_COOKIES_SESSION_ENGINE,
  type SessionEngineName,
} from '../../src/config.ts';
import { CEILING_ENGINES, type CeilingEngine } from './ceiling-sessions.ts';

export type EngineName = CeilingEngine;
export const ENGINE_NAMES: readonly EngineName[] = CEILING_ENGINES;

export interface BenchEngine {
  readonly name: EngineName;
  /** SESSION_ENGINE for both servers. */
  readonly setting: SessionEngineName;
  /** Sessions (or a copy of them) live in Redis: the CACHE_* settings apply. */
  readonly usesRedis: boolean;
  /** What its ceiling does per request, for the report. */
  readonly ceilingWork: string;
}

const ENGINES: Readonly<Record<EngineName, BenchEngine>> = {
  db: { name: 'db', setting: DB_SESSION_ENGINE, usesRedis: false, ceilingWork: 'a django_session point query (mysql2)' },
  cache: { name: 'cache', setting: CACHE_SESSION_ENGINE, usesRedis: true, ceilingWork: 'a Redis GET (ioredis)' },
  cached_db: { name: 'cached_db', setting: CACHED_DB_SESSION_ENGINE, usesRedis: true, ceilingWork: 'a Redis GET (ioredis); the cache hit is all a read does' },
  signed_cookies: {
    name: 'signed_cookies',
    setting: SIGNED_COOKIES_SESSION_ENGINE,
    usesRedis: false,
    ceilingWork: 'no I/O: the cookie payload base64-decoded and inflated, signature unchecked',
  },
};

/** `DSB_BENCH_ENGINES=db,cache,…` (default: all four, in the order above). */
export function selectedEngines(raw: string | undefined): readonly BenchEngine[] {
  if (raw === undefined || raw.trim() === '') return ENGINE_NAMES.map((n) => ENGINES[n]);
  const names = raw.split(',').map((n) => n.trim());
  for (const n of names) {
    if (!(ENGINE_NAMES as readonly string[]).includes(n)) {
      throw new Error(`DSB_BENCH_ENGINES: unknown engine "${n}" (${ENGINE_NAMES.join(', ')})`);
    }
  }
  return ENGINE_NAMES.filter((n) => names.includes(n)).map((n) => ENGINES[n]);
}

/**
 * For each selected engine, the engine whose ceiling process is measured for it: itself, except
 * cached_db next to cache (see above).
 */
export function ceilingOwners(engines: readonly BenchEngine[]): Record<EngineName, EngineName> {
  const owners = {} as Record<EngineName, EngineName>;
  const hasCache = engines.some((e) => e.name === 'cache');
  for (const e of engines) owners[e.name] = e.name === 'cached_db' && hasCache ? 'cache' : e.name;
  return owners;
}

/** The Redis cache both servers (and the ceiling) share: one scratch key prefix on one Redis. */
export interface SharedCache {
  readonly url: string;
  /** `CACHE_BACKEND` for both: django_redis or Django's own RedisCache. */
  readonly backend: string;
  readonly keyPrefix: string;
}

/** The settings an engine adds to both sites' environment (and the ceiling's). */
export function engineSettings(engine: BenchEngine, cache: SharedCache | null): Record<string, string> {
  const settings: Record<string, string> = { SESSION_ENGINE: engine.setting };
  if (engine.usesRedis) {
    if (cache === null) throw new Error(`the ${engine.name} engine needs a Redis`);
    Object.assign(settings, { CACHE_URL: cache.url, CACHE_BACKEND: cache.backend, CACHE_KEY_PREFIX: cache.keyPrefix, CACHE_VERSION: '1' });
  }
  return settings;
}
