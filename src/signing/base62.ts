/**
 * Base62 for signing timestamps: Django 4.0+'s `b62_encode`/`b62_decode` (3.2's `baseconv.base62` gives
 * the same results, including for the edge cases below).
 */
import { Base62DecodeError } from './errors.ts';

export const BASE62_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

const DIGIT_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < BASE62_ALPHABET.length; i++) DIGIT_VALUE[BASE62_ALPHABET.charCodeAt(i)] = i;

/** Encode an integer; negative numbers get a leading `-`. */
export function b62Encode(n: number): string {
  if (!Number.isSafeInteger(n)) throw new RangeError(`b62Encode needs a safe integer, got ${n}`);
  if (n === 0) return '0';
  const sign = n < 0 ? '-' : '';
  let rest = Math.abs(n);
  let out = '';
  while (rest > 0) {
    out = BASE62_ALPHABET[rest % 62]! + out;
    rest = Math.floor(rest / 62);
  }
  return sign + out;
}

/**
 * Decode; throws Base62DecodeError (Django: ValueError/IndexError, never BadSignature) for an empty string
 * or a character outside the alphabet. `-` alone decodes to 0, as in Django.
 * Values beyond 2^53 lose precision; they only feed the max_age comparison.
 */
export function b62Decode(s: string): number {
  if (s === '') throw new Base62DecodeError('empty base62 string', s);
  let i = 0;
  let sign = 1;
  if (s.charCodeAt(0) === 0x2d) {
    sign = -1;
    i = 1;
  }
  let value = 0;
  for (; i < s.length; i++) {
    const code = s.charCodeAt(i);
    const digit = code < 128 ? DIGIT_VALUE[code]! : -1;
    if (digit < 0) throw new Base62DecodeError(`invalid base62 digit ${JSON.stringify(s[i])}`, s);
    value = value * 62 + digit;
  }
  return value === 0 ? 0 : sign * value; // never -0: Python has no negative zero int
}
