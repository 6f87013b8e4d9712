/**
 * The shared rules of `django.contrib.auth.hashers` and `django.utils.crypto` that every hasher
 * uses: random salts, the salt-strength test, and constant-time comparison.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { pyLen } from './python.ts';

/** `django.utils.crypto.RANDOM_STRING_CHARS`. */
export const RANDOM_STRING_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
export const UNUSABLE_PASSWORD_PREFIX = '!';
export const UNUSABLE_PASSWORD_SUFFIX_LENGTH = 40;
/** `BasePasswordHasher.salt_entropy`. */
export const SALT_ENTROPY = 128;
const BITS_PER_SALT_CHAR = Math.log2(RANDOM_STRING_CHARS.length);
/** `math.ceil(salt_entropy / log2(62))` = 22 characters. */
export const SALT_LENGTH = Math.ceil(SALT_ENTROPY / BITS_PER_SALT_CHAR);

/**
 * `get_random_string(length, allowed_chars)`: uniform characters from a CSPRNG (Django uses
 * `secrets.choice`). Bytes are drawn in batches and the ones that would bias the modulo are
 * rejected, so every character is equally likely.
 */
export function getRandomString(length: number, allowedChars: string = RANDOM_STRING_CHARS): string {
  const alphabetSize = allowedChars.length;
  const limit = 256 - (256 % alphabetSize);
  let out = '';
  while (out.length < length) {
    const bytes = randomBytes(Math.max(16, (length - out.length) * 2));
    for (let i = 0; i < bytes.length && out.length < length; i++) {
      const byte = bytes[i] as number;
      if (byte < limit) out += allowedChars[byte % alphabetSize];
    }
  }
  return out;
}

/** `must_update_salt(salt, expected_entropy)`: each character counts log2(62) bits. */
export function mustUpdateSalt(salt: string, expectedEntropy: number = SALT_ENTROPY): boolean {
  return saltLengthNeedsUpdate(pyLen(salt), expectedEntropy);
}

/** The same rule for a salt known only by its length (in Python characters). */
export function saltLengthNeedsUpdate(length: number, expectedEntropy: number = SALT_ENTROPY): boolean {
  return length * BITS_PER_SALT_CHAR < expectedEntropy;
}

/**
 * `constant_time_compare(a, b)`: `hmac.compare_digest` of the UTF-8 bytes. Different lengths are
 * unequal (only the length leaks, as in Python); equal lengths are compared in constant time.
 */
export function constantTimeCompare(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  if (left.length !== right.length) {
    // Keep the work proportional to the input even on the early exit.
    timingSafeEqual(left, left);
    return false;
  }
  return timingSafeEqual(left, right);
}
