/**
 * `django.core.signing.Signer`: `value + sep + b64(HMAC(H(salt + "signer" + key), value))`.
 *
 * Differences from Django are only in how defaults arrive: there is no settings object, so `key` is
 * required and `fallbackKeys` defaults to none. Django 3.2's transitional behaviour (also accepting a
 * sha1 signature, `Signer.legacy_algorithm`) is opt-in with `acceptLegacySha1`.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { constantTimeCompare, deriveHmacKey, nodeAlgorithm, type BytesLike, type HashAlgorithm } from './crypto.ts';
import { BadSignature, UnsafeSeparator } from './errors.ts';
import { pyStrRepr } from './py-repr.ts';

// Django's `_SEP_UNSAFE = re.compile(r'^[A-z0-9-_=]*$')`, used with re.match. Python's `$` also matches
// before a final newline, so '\n' and 'a\n' are unsafe while '\n\n' is not; the `\n?` reproduces that.
// `A-z` deliberately spans the punctuation between 'Z' and 'a' ([ \ ] ^ _ `), as in Django.
const SEP_UNSAFE = /^[A-z0-9\-_=]*\n?$/;

/** Scratch space for sameMac (base64 MACs are at most 88 characters, sha512), with views per MAC length. */
const SCRATCH_SIZE = 128;
const presentedScratch = Buffer.alloc(SCRATCH_SIZE);
const expectedScratch = Buffer.alloc(SCRATCH_SIZE);
const scratchViews: [Buffer, Buffer][] = [];

function viewsOfLength(n: number): [Buffer, Buffer] {
  return (scratchViews[n] ??= [presentedScratch.subarray(0, n), expectedScratch.subarray(0, n)]);
}

/**
 * Django's `constant_time_compare(presented, expected)` (over UTF-8 bytes) for an `expected` that is
 * a base64 MAC (ASCII), without allocating: this runs on every signed value a request presents.
 * Lengths are public, as in constantTimeCompare; the bytes are compared with timingSafeEqual.
 */
function sameMac(presented: string, expected: string): boolean {
  const n = expected.length;
  if (n > SCRATCH_SIZE) return constantTimeCompare(presented, expected);
  const [a, b] = viewsOfLength(n);
  expectedScratch.write(expected, 0, n, 'latin1');
  // write() stops before a character that does not fit. With any non-ASCII character `presented` has
  // more than n UTF-8 bytes when it has n characters; then either fewer than n bytes are written, or
  // one of them is >= 0x80 and cannot equal the ASCII MAC: the answer stays exact.
  const written = presented.length === n ? presentedScratch.write(presented, 0, n, 'utf8') : -1;
  if (written !== n) {
    timingSafeEqual(b, b); // unequal lengths: false, after the same amount of work
    return false;
  }
  return timingSafeEqual(a, b);
}

export interface SignerOptions {
  /** The secret (Django: `key`, default SECRET_KEY). Strings are used as UTF-8 bytes. */
  key: BytesLike;
  /** Default `:`. */
  sep?: string;
  /** Default `django.core.signing.Signer` (the class's module and name, as in Django). */
  salt?: string;
  /** hashlib name; default `sha256` (Django 4.0+; 3.2's DEFAULT_HASHING_ALGORITHM default). */
  algorithm?: HashAlgorithm;
  /** Verification-only secrets, tried in order after `key` (Django 4.1+ SECRET_KEY_FALLBACKS). */
  fallbackKeys?: readonly BytesLike[];
  /** Django 3.2 only: also accept a sha1 signature made with `key` (3.2's `legacy_algorithm`). */
  acceptLegacySha1?: boolean;
}

export class Signer {
  static readonly defaultSalt: string = 'django.core.signing.Signer';

  readonly sep: string;
  readonly salt: string;
  readonly algorithm: HashAlgorithm;
  readonly acceptLegacySha1: boolean;
  private readonly nodeAlgorithm: string;
  /** Derived HMAC keys for [key, ...fallbackKeys], computed once: every unsign uses them. */
  private readonly verifyKeys: readonly Buffer[];
  private readonly legacySha1Key: Buffer | null;

  constructor(options: SignerOptions) {
    const { key, sep = ':', salt, algorithm = 'sha256', fallbackKeys = [], acceptLegacySha1 = false } = options;
    if (key === undefined || key === null || key.length === 0) {
      throw new TypeError('Signer needs a non-empty key (Django falls back to SECRET_KEY; pass it explicitly)');
    }
    if (SEP_UNSAFE.test(sep)) {
      throw new UnsafeSeparator(
        `Unsafe Signer separator: ${pyStrRepr(sep)} (cannot be empty or consist of only A-z0-9-_=)`,
        sep,
      );
    }
    this.sep = sep;
    // `salt or default`: an empty salt also means the default.
    this.salt = salt || (new.target as typeof Signer).defaultSalt;
    this.algorithm = algorithm;
    this.nodeAlgorithm = nodeAlgorithm(algorithm);
    this.acceptLegacySha1 = acceptLegacySha1;
    const hmacSalt = this.salt + 'signer';
    this.verifyKeys = [key, ...fallbackKeys].map((k) => deriveHmacKey(hmacSalt, k, algorithm));
    this.legacySha1Key = acceptLegacySha1 ? deriveHmacKey(hmacSalt, key, 'sha1') : null;
  }

  /** `b64_encode(salted_hmac(salt + "signer", value, key, algorithm).digest())`; `key` defaults to the signing key. */
  signature(value: string, key?: BytesLike): string {
    const hmacKey =
      key === undefined ? this.verifyKeys[0]! : deriveHmacKey(this.salt + 'signer', key, this.algorithm);
    return createHmac(this.nodeAlgorithm, hmacKey).update(value, 'utf8').digest('base64url');
  }

  /** `value + sep + signature(value)`, always with the current key. */
  sign(value: string): string {
    return value + this.sep + this.signature(value);
  }

  /** Return the value if the signature after the last separator matches; otherwise throw BadSignature. */
  unsign(signedValue: string): string {
    const at = signedValue.lastIndexOf(this.sep);
    if (at < 0) throw new BadSignature(`No "${this.sep}" found in value`, signedValue);
    const value = signedValue.slice(0, at);
    const sig = signedValue.slice(at + this.sep.length);
    for (const hmacKey of this.verifyKeys) {
      if (sameMac(sig, createHmac(this.nodeAlgorithm, hmacKey).update(value, 'utf8').digest('base64url'))) {
        return value;
      }
    }
    if (this.legacySha1Key && sameMac(sig, createHmac('sha1', this.legacySha1Key).update(value, 'utf8').digest('base64url'))) {
      return value;
    }
    throw new BadSignature(`Signature "${signedValue.slice(at + this.sep.length)}" does not match`, signedValue);
  }
}
