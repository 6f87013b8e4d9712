/**
 * Where the ceiling server (bench/ceiling-server.ts) finds a session, per session engine: only the
 * I/O that engine's read cannot avoid, and no more decoding than it takes to answer.
 *
 *   db              one point query on django_session (the row being there is the session)
 *   cache           one Redis GET of the entry Django's cache engine keeps
 *   cached_db       the same GET (a cached_db read that hits the cache does nothing else)
 *   signed_cookies  no I/O: the cookie's payload, base64-decoded (and inflated) without checking
 *                   its signature
 *
 * `_auth_user_id` is read out of the payload unverified in every case: JSON for db and
 * signed_cookies, a scan of the pickle for the cache engines. Nothing here checks a signature, an
 * expiry beyond the query's own, or the session auth hash: a floor of the work, not a correct server.
 */
import { inflateSync } from 'node:zlib';
import { Redis } from 'ioredis';
import { redisOptionsFromUrl } from '../../src/sessions/backends/redis-cache.ts';

export const CEILING_ENGINES = ['db', 'cache', 'cached_db', 'signed_cookies'] as const;
export type CeilingEngine = (typeof CEILING_ENGINES)[number];

export type Row = Record<string, unknown>;
export type Query = (sql: string, params: readonly (string | number)[]) => Promise<Row[]>;

export interface CeilingSessions {
  /** GET /user/test1: whether the cookie names a live session whose `user_id` the route may see. */
  hasSession(cookie: string): Promise<boolean>;
  /** GET /auth/whoami: the session's `_auth_user_id`, unverified; null when there is none. */
  authUserId(cookie: string): Promise<string | null>;
  close(): Promise<void>;
}

const SESSION_SQL = 'SELECT session_data, expire_date FROM django_session WHERE session_key = ? AND expire_date > ?';

/** Django's naive UTC datetime text, as our session table sends the "now" parameter. */
function nowParam(): string {
  const iso = new Date().toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}000`;
}

/** The object inside `signing.dumps` output, unverified: base64url JSON, zlib when it starts with ".". */
function unverifiedPayload(signed: string): Record<string, unknown> | null {
  const payloadEnd = signed.indexOf(':');
  if (payloadEnd < 0) return null;
  const compressed = signed.startsWith('.');
  let raw = Buffer.from(signed.slice(compressed ? 1 : 0, payloadEnd), 'base64url');
  try {
    if (compressed) raw = inflateSync(raw);
    const value: unknown = JSON.parse(raw.toString('utf8'));
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function idOf(payload: Record<string, unknown> | null): string | null {
  const id = payload?._auth_user_id;
  return typeof id === 'string' || typeof id === 'number' ? String(id) : null;
}

const AUTH_USER_ID_KEY = Buffer.from('_auth_user_id', 'latin1');

/**
 * `_auth_user_id` out of a pickled session dict without unpickling it: the key's string opcode, an
 * optional memo opcode, then the value's string opcode (SHORT_BINUNICODE or BINUNICODE). Protocol
 * 2–5 sessions as both Django Redis backends write them; anything else reads as null.
 */
export function pickledAuthUserId(pickle: Buffer): string | null {
  const at = pickle.indexOf(AUTH_USER_ID_KEY);
  if (at < 0) return null;
  let i = at + AUTH_USER_ID_KEY.length;
  const op = pickle[i];
  if (op === 0x94) i += 1; // MEMOIZE
  else if (op === 0x71) i += 2; // BINPUT n
  else if (op === 0x72) i += 5; // LONG_BINPUT n
  let length: number;
  if (pickle[i] === 0x8c) {
    // SHORT_BINUNICODE
    length = pickle[i + 1] ?? 0;
    i += 2;
  } else if (pickle[i] === 0x58 && i + 5 <= pickle.length) {
    // BINUNICODE
    length = pickle.readUInt32LE(i + 1);
    i += 5;
  } else {
    return null;
  }
  return i + length <= pickle.length ? pickle.toString('utf8', i, i + length) : null;
}

function databaseSessions(query: Query): CeilingSessions {
  const load = async (key: string): Promise<string | null> => {
    const rows = await query(SESSION_SQL, [key, nowParam()]);
    return rows.length === 0 ? null : String(rows[0]!.session_data);
  };
  return {
    hasSession: async (key) => (await load(key)) !== null,
    authUserId: async (key) => {
      const data = await load(key);
      return data === null ? null : idOf(unverifiedPayload(data));
    },
    close: async () => {},
  };
}

export interface RedisSessionsOptions {
  /** The cache's LOCATION. */
  url: string;
  /** Everything before the session key: `KEY_PREFIX:VERSION:django.contrib.sessions.<engine>`. */
  keyPrefix: string;
}

function redisSessions(options: RedisSessionsOptions): CeilingSessions {
  // The client options our RedisCache uses (src/sessions/backends/redis-cache.ts), minus lazyConnect.
  const redis = new Redis({ ...redisOptionsFromUrl(options.url), maxRetriesPerRequest: 1 });
  const load = (key: string): Promise<Buffer | null> => redis.getBuffer(options.keyPrefix + key);
  return {
    hasSession: async (key) => (await load(key)) !== null,
    authUserId: async (key) => {
      const pickle = await load(key);
      return pickle === null ? null : pickledAuthUserId(pickle);
    },
    close: async () => void (await redis.quit()),
  };
}

function cookieSessions(): CeilingSessions {
  return {
    // The tutorial's test1 answers 200 only for a truthy user_id: with no store to ask, the payload is all there is.
    hasSession: async (cookie) => Boolean(unverifiedPayload(cookie)?.user_id),
    authUserId: async (cookie) => idOf(unverifiedPayload(cookie)),
    close: async () => {},
  };
}

export function ceilingSessions(engine: CeilingEngine, query: Query, redis: RedisSessionsOptions | null): CeilingSessions {
  switch (engine) {
    case 'db':
      return databaseSessions(query);
    case 'cache':
    case 'cached_db':
      if (redis === null) throw new Error(`the ${engine} ceiling needs a Redis URL and key prefix`);
      return redisSessions(redis);
    case 'signed_cookies':
      return cookieSessions();
  }
}
