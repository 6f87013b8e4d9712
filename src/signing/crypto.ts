/**
 * `django.utils.crypto`: salted_hmac and constant_time_compare.
 *
 * salted_hmac derives the HMAC key as `H(key_salt ‖ secret)` on every call in Django. That hash is the
 * same for every request of a process, so it is cached here (keyed by algorithm and the concatenated
 * inputs, which is exactly what the derived key depends on).
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { InvalidAlgorithm } from './errors.ts';
import { pyStrRepr } from './py-repr.ts';

export { InvalidAlgorithm };

/** hashlib attribute names (what Django settings and callers use) → OpenSSL names. */
const HASHLIB_TO_NODE: Readonly<Record<string, string>> = {
  md5: 'md5',
  sha1: 'sha1',
  sha224: 'sha224',
  sha256: 'sha256',
  sha384: 'sha384',
  sha512: 'sha512',
  sha3_224: 'sha3-224',
  sha3_256: 'sha3-256',
  sha3_384: 'sha3-384',
  sha3_512: 'sha3-512',
  blake2b: 'blake2b512',
  blake2s: 'blake2s256',
  // shake_128/shake_256 are hashlib attributes too, but their digest() needs a length, so Django fails on
  // them with a TypeError; we refuse them up front with InvalidAlgorithm.
};

export type HashAlgorithm = 'sha256' | 'sha1' | (string & {});

export type BytesLike = string | Uint8Array;

/** Resolve a hashlib name to the Node name, or throw Django's InvalidAlgorithm. */
export function nodeAlgorithm(algorithm: string): string {
  const name = Object.hasOwn(HASHLIB_TO_NODE, algorithm) ? HASHLIB_TO_NODE[algorithm] : undefined;
  if (name === undefined) {
    throw new InvalidAlgorithm(
      `${pyStrRepr(algorithm)} is not an algorithm accepted by the hashlib module.`,
      algorithm,
    );
  }
  return name;
}

function toBuffer(v: BytesLike): Buffer {
  if (typeof v === 'string') return Buffer.from(v, 'utf8');
  return Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

const DERIVED_KEY_CACHE_LIMIT = 256;
const derivedKeys = new Map<string, Buffer>();

/**
 * The HMAC key salted_hmac uses: `H(force_bytes(key_salt) + force_bytes(secret))`, cached.
 * A full cache is simply cleared: real processes use a handful of (salt, secret) pairs.
 */
export function deriveHmacKey(keySalt: BytesLike, secret: BytesLike, algorithm: HashAlgorithm): Buffer {
  const nodeName = nodeAlgorithm(algorithm);
  const cacheKey =
    typeof keySalt === 'string' && typeof secret === 'string'
      ? `${nodeName}\u0000s${keySalt}${secret}`
      : `${nodeName}\u0000b${Buffer.concat([toBuffer(keySalt), toBuffer(secret)]).toString('latin1')}`;
  let key = derivedKeys.get(cacheKey);
  if (key === undefined) {
    key = createHash(nodeName).update(toBuffer(keySalt)).update(toBuffer(secret)).digest();
    if (derivedKeys.size >= DERIVED_KEY_CACHE_LIMIT) derivedKeys.clear();
    derivedKeys.set(cacheKey, key);
  }
  return key;
}

/**
 * Django's `salted_hmac(key_salt, value, secret, algorithm=...)`, returning the raw digest
 * (`.digest()`; use `.toString('hex')` for `.hexdigest()`). Django's default algorithm is sha1, and so
 * is this one's; every caller in the session machinery passes its own.
 */
export function saltedHmac(
  keySalt: BytesLike,
  value: BytesLike,
  secret: BytesLike,
  algorithm: HashAlgorithm = 'sha1',
): Buffer {
  const key = deriveHmacKey(keySalt, secret, algorithm);
  return createHmac(nodeAlgorithm(algorithm), key).update(toBuffer(value)).digest();
}

/**
 * Django's `constant_time_compare`: `secrets.compare_digest` over the UTF-8 bytes. Unequal lengths are
 * false (the length of a MAC is public), still after a full-length comparison so timing does not depend
 * on where the strings differ.
 */
export function constantTimeCompare(a: BytesLike, b: BytesLike): boolean {
  const x = toBuffer(a);
  const y = toBuffer(b);
  if (x.length !== y.length) {
    timingSafeEqual(x, x);
    return false;
  }
  return timingSafeEqual(x, y);
}
