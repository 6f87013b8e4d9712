/**
 * The session auth hash (`AbstractBaseUser.get_session_auth_hash()`, spec §5.2): an HMAC of the
 * user's **encoded password string**, stored in the session under `_auth_user_hash`. Any change of
 * that string (a new password, Django's re-hash on login, a new SECRET_KEY) makes every session of
 * the user stale.
 *
 *   4.2 / 5.2  salted_hmac(KEY_SALT, password, SECRET_KEY, sha256).hexdigest(); fallback hashes use
 *              each SECRET_KEY_FALLBACKS entry as the secret, in order.
 *   3.2        the algorithm is DEFAULT_HASHING_ALGORITHM (sha256, or sha1 → 40 hex); reading also
 *              accepts the sha1 "legacy" hash (`_legacy_get_session_auth_hash`), and there are no
 *              fallback secrets.
 *
 * The derived HMAC keys are cached by `saltedHmac`, and the hashes themselves below, so a repeated
 * check costs a map lookup and a constant-time compare per candidate.
 */
import { constantTimeCompare, saltedHmac } from '../signing/crypto.ts';

export const SESSION_AUTH_HASH_KEY_SALT = 'django.contrib.auth.models.AbstractBaseUser.get_session_auth_hash';

export type SessionHashAlgorithm = 'sha256' | 'sha1';

/** The settings the hash depends on (a subset of `Settings`). */
export interface SessionHashSettings {
  readonly SECRET_KEY: string;
  readonly SECRET_KEY_FALLBACKS: readonly string[];
  readonly DJANGO_VERSION: '3.2' | '4.2' | '5.2';
  /** Read on 3.2 only; 4.0+ always uses sha256. */
  readonly DEFAULT_HASHING_ALGORITHM?: SessionHashAlgorithm;
}

/**
 * Hashes already computed, per (algorithm, secret), then per password string. `get_user()` checks
 * the hash on every request of a logged-in user, and it depends on nothing else, so a repeat costs a
 * map lookup instead of an HMAC (~5 µs, a tenth of a whoami request's CPU). The keys are password
 * hashes the server read from its own database, never request input; the comparison with the
 * session's value stays constant-time. Bounded: the oldest entry goes when a table is full.
 */
const HASH_CACHE_LIMIT = 4096;
const hashCache = new Map<string, Map<string, string>>();

/** `salted_hmac(KEY_SALT, password, secret, algorithm).hexdigest()`. */
export function getSessionAuthHash(password: string, secret: string, algorithm: SessionHashAlgorithm = 'sha256'): string {
  const tableKey = `${algorithm}:${secret}`;
  let table = hashCache.get(tableKey);
  if (table === undefined) hashCache.set(tableKey, (table = new Map()));
  let hash = table.get(password);
  if (hash === undefined) {
    hash = saltedHmac(SESSION_AUTH_HASH_KEY_SALT, password, secret, algorithm).toString('hex');
    if (table.size >= HASH_CACHE_LIMIT) table.delete(table.keys().next().value as string);
    table.set(password, hash);
  }
  return hash;
}

/** The algorithm `get_session_auth_hash()` uses under these settings. */
export function sessionHashAlgorithm(settings: SessionHashSettings): SessionHashAlgorithm {
  return settings.DJANGO_VERSION === '3.2' ? (settings.DEFAULT_HASHING_ALGORITHM ?? 'sha256') : 'sha256';
}

/** `user.get_session_auth_hash()` for a user whose password field is `password`. */
export function currentSessionAuthHash(password: string, settings: SessionHashSettings): string {
  return getSessionAuthHash(password, settings.SECRET_KEY, sessionHashAlgorithm(settings));
}

/** `user.get_session_auth_fallback_hash()` (4.1+): one hash per fallback secret, in order; none on 3.2. */
export function fallbackSessionAuthHashes(password: string, settings: SessionHashSettings): string[] {
  if (settings.DJANGO_VERSION === '3.2') return [];
  return settings.SECRET_KEY_FALLBACKS.map((secret) => getSessionAuthHash(password, secret, 'sha256'));
}

/** 3.2's `_legacy_get_session_auth_hash()`: the sha1 hash with SECRET_KEY; null on 4.0+. */
export function legacySessionAuthHash(password: string, settings: SessionHashSettings): string | null {
  return settings.DJANGO_VERSION === '3.2' ? getSessionAuthHash(password, settings.SECRET_KEY, 'sha1') : null;
}

/**
 * How a stored `_auth_user_hash` relates to a user's password, in `get_user()`'s order:
 * - `current`: equal to `get_session_auth_hash()`;
 * - `fallback` (4.2/5.2): equal to a fallback-secret hash, so Django cycles the key and re-hashes;
 * - `legacy` (3.2): equal to the sha1 legacy hash, accepted as is;
 * - `none`: missing, empty, or matching nothing, so Django flushes the session.
 * Every comparison is constant-time.
 */
export type SessionHashMatch = 'current' | 'fallback' | 'legacy' | 'none';

export function matchSessionAuthHash(sessionHash: unknown, password: string, settings: SessionHashSettings): SessionHashMatch {
  // Django's `if not session_hash`: None, "" (and other falsy values) never verify.
  if (typeof sessionHash !== 'string' || sessionHash === '') return 'none';
  if (constantTimeCompare(sessionHash, currentSessionAuthHash(password, settings))) return 'current';
  if (settings.DJANGO_VERSION === '3.2') {
    const legacy = legacySessionAuthHash(password, settings) as string;
    return constantTimeCompare(sessionHash, legacy) ? 'legacy' : 'none';
  }
  // Django's any(...) stops at the first match; the comparisons themselves are constant-time.
  for (const candidate of fallbackSessionAuthHashes(password, settings)) {
    if (constantTimeCompare(sessionHash, candidate)) return 'fallback';
  }
  return 'none';
}
