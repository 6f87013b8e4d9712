/**
 * The registration body, validated as the reference site's `reg` view does (zod schemas with the
 * site's exact messages; checks in the order name, email, password, the first failure wins):
 *
 *   not a JSON object                 "request body must be a JSON object"
 *   name: 1-48 characters             "name must be a non-empty string of at most 48 characters"
 *   email: 1-64 characters            "email must be a non-empty string of at most 64 characters"
 *   password: 1-72 bytes of UTF-8     "password must be a non-empty string of at most 72 bytes in UTF-8"
 *
 * Characters are code points, as Python's `len()` and MySQL's varchar count them. A string holding
 * a lone surrogate (JSON allows `"\ud800"`) has no UTF-8 form and is refused like a non-string.
 *
 * One addition: a password containing NUL is refused with its own message. bcrypt cannot hash it
 * (pyca/bcrypt raises ValueError, which the reference site lets through as a 500).
 */
import { z } from 'zod';
import type { PyDict, PyValue } from '../../pyjson/types.ts';

export const NAME_MAX_CHARS = 48;
export const EMAIL_MAX_CHARS = 64;
export const PASSWORD_MAX_BYTES = 72;

export const NOT_AN_OBJECT = 'request body must be a JSON object';
export const PASSWORD_NUL = 'password must not contain NUL characters';

const LONE_SURROGATE = /\p{Surrogate}/u;

/** `len(value.encode())`, or null when Python's `_utf8_length` gives None (not a str, or unencodable). */
export function utf8Length(value: unknown): number | null {
  if (typeof value !== 'string') return null;
  if (LONE_SURROGATE.test(value)) return null;
  return Buffer.byteLength(value, 'utf8');
}

function codePoints(value: string): number {
  let n = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0xd800 || c > 0xdbff) n++;
  }
  return n;
}

const boundedText = (field: string, limit: number) =>
  z.custom<string>((v) => !!utf8Length(v) && codePoints(v as string) <= limit, {
    error: `${field} must be a non-empty string of at most ${limit} characters`,
  });

const password = z
  .custom<string>(
    (v) => {
      const n = utf8Length(v) ?? 0;
      return n > 0 && n <= PASSWORD_MAX_BYTES;
    },
    { error: `password must be a non-empty string of at most ${PASSWORD_MAX_BYTES} bytes in UTF-8` },
  )
  .refine((v) => !v.includes('\0'), { error: PASSWORD_NUL });

export const registrationSchema = z.object(
  { name: boundedText('name', NAME_MAX_CHARS), email: boundedText('email', EMAIL_MAX_CHARS), password },
  { error: NOT_AN_OBJECT },
);

export type Registration = z.output<typeof registrationSchema>;

/** Python's `isinstance(payload, dict)` for a parsed body. */
export function isPyDict(value: PyValue | undefined): value is PyDict {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.getPrototypeOf(value) === Object.prototype;
}

/** The registration, or the first problem's message. */
export function parseRegistration(payload: PyValue | undefined): { ok: true; value: Registration } | { ok: false; error: string } {
  // A JSON object only: zod's object check would also take a Map or a PyFloat.
  if (!isPyDict(payload)) return { ok: false, error: NOT_AN_OBJECT };
  const result = registrationSchema.safeParse(payload);
  if (result.success) return { ok: true, value: result.data };
  return { ok: false, error: result.error.issues[0]?.message ?? NOT_AN_OBJECT };
}
