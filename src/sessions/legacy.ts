/**
 * The pre-Django-3.1 session format, which only Django 3.2 still reads (and writes when
 * DEFAULT_HASHING_ALGORITHM = "sha1"):
 *
 *   base64.b64encode(hex(salted_hmac("django.contrib.sessions" + ClassName, json, SECRET_KEY, sha1)) + b":" + json)
 *
 * Note the salt has no dot before the class name, unlike the signed format's key_salt.
 * Failure handling copies `SessionBase._legacy_decode` exactly, because it decides whether Django logs:
 * the base64 step sits outside Django's try block (its errors reach the caller), everything after it
 * returns {} — silently, except for a hash mismatch, which logs "Session data corrupted".
 */
import { pythonB64Decode, standardB64Encode } from '../signing/base64.ts';
import { constantTimeCompare, saltedHmac } from '../signing/crypto.ts';
import { BadSignature } from '../signing/errors.ts';
import { serializedBytes, type Serializer } from '../signing/serializer.ts';
import { CorruptSessionData } from './codec-errors.ts';

const LEGACY_SALT_PREFIX = 'django.contrib.sessions';
const SIGNED_SALT_PREFIX = 'django.contrib.sessions.';

/**
 * The legacy hash salt for a signed-format key salt. Both come from the class: key_salt uses
 * `__qualname__` (`django.contrib.sessions.Outer.Inner` for a nested class), the legacy hash `__name__`
 * with no dot (`django.contrib.sessionsInner`), so the class name is the last dotted component.
 * A key salt not under `django.contrib.sessions.` (a subclass overriding key_salt) says nothing about the
 * class; it gets the built-in engines' `django.contrib.sessionsSessionStore` (override with legacyKeySalt).
 */
export function legacySaltFor(keySalt: string): string {
  const className = keySalt.startsWith(SIGNED_SALT_PREFIX) ? keySalt.slice(keySalt.lastIndexOf('.') + 1) : 'SessionStore';
  return LEGACY_SALT_PREFIX + className;
}

function legacyHash(serialized: Uint8Array, secretKey: string, legacySalt: string): string {
  return saltedHmac(legacySalt, serialized, secretKey, 'sha1').toString('hex');
}

/** Django 3.2's `_legacy_encode`. */
export function legacyEncode<T>(value: T, serializer: Serializer<T>, secretKey: string, legacySalt: string): string {
  const serialized = serializedBytes(serializer.dumps(value));
  const hash = legacyHash(serialized, secretKey, legacySalt);
  return standardB64Encode(Buffer.concat([Buffer.from(hash + ':', 'latin1'), serialized]));
}

export type LegacyDecodeResult<T> =
  | { ok: true; value: T }
  /** Django returns {}; `warned` says whether it logged "Session data corrupted". */
  | { ok: false; warned: boolean; error: Error };

const NON_ASCII = /[^\x00-\x7f]/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Django 3.2's `_legacy_decode`. Throws (as Django does) when the text is not ASCII or not base64;
 * every later failure is a result with `ok: false`.
 */
export function legacyDecode<T>(
  sessionData: string,
  serializer: Serializer<T>,
  secretKey: string,
  legacySalt: string,
): LegacyDecodeResult<T> {
  if (NON_ASCII.test(sessionData)) {
    // session_data.encode('ascii') → UnicodeEncodeError
    throw new CorruptSessionData('Legacy session data is not ASCII', sessionData);
  }
  const decoded = pythonB64Decode(Buffer.from(sessionData, 'latin1'), 'standard');
  const colon = decoded.indexOf(0x3a);
  if (colon < 0) {
    return { ok: false, warned: false, error: new CorruptSessionData('Legacy session data has no ":"', sessionData) };
  }
  const hash = decoded.subarray(0, colon);
  const serialized = decoded.subarray(colon + 1);
  try {
    utf8.decode(hash); // hash.decode() must succeed before the comparison
  } catch (err) {
    return {
      ok: false,
      warned: false,
      error: new CorruptSessionData('Legacy session hash is not UTF-8', sessionData, { cause: err }),
    };
  }
  if (!constantTimeCompare(hash, legacyHash(serialized, secretKey, legacySalt))) {
    return { ok: false, warned: true, error: new BadSignature('Legacy session hash does not match', sessionData) };
  }
  try {
    return { ok: true, value: serializer.loads(serialized) };
  } catch (err) {
    return {
      ok: false,
      warned: false,
      error: new CorruptSessionData('Legacy session data could not be deserialized', sessionData, { cause: err }),
    };
  }
}
