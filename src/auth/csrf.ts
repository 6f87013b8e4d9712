/**
 * `rotate_token(request)` (django/middleware/csrf.py, spec §5.8): what `login()` does to the CSRF
 * token, in the form the configured Django version keeps it.
 *
 *   3.2        a new **masked** 64-character token (32-character mask + cipher of a new secret)
 *   4.2 / 5.2  a new **32-character secret** (4.2's CSRF_COOKIE_MASKED=True would mask it; the setting
 *              defaults to False and is gone in 5.0, so it is not offered here)
 *
 * Where it goes: Django puts the value in `request.META["CSRF_COOKIE"]`. Only
 * `CsrfViewMiddleware.process_response` ever writes it out: as the `csrftoken` cookie, or, with
 * `CSRF_USE_SESSIONS=True`, into the session under `_csrftoken`. A site without that middleware (the
 * reference site, a JSON API) sends no `csrftoken` cookie and stores nothing in the session, so
 * `rotate_token` has no visible effect there. We do exactly that: the new token is kept on
 * `ctx.state.csrfToken` (our `request.META`) and nothing is written to the session or the response.
 * An app that runs its own CSRF middleware reads the rotated token from there.
 */
import { getRandomString, RANDOM_STRING_CHARS } from './hashers/common.ts';
import type { AuthRequest } from './context.ts';

/** `CSRF_ALLOWED_CHARS` (ascii_letters + digits), the same alphabet as `get_random_string`'s. */
export const CSRF_ALLOWED_CHARS = RANDOM_STRING_CHARS;
export const CSRF_SECRET_LENGTH = 32;
export const CSRF_TOKEN_LENGTH = 2 * CSRF_SECRET_LENGTH;
/** The session key CsrfViewMiddleware uses with CSRF_USE_SESSIONS. */
export const CSRF_SESSION_KEY = '_csrftoken';

/** `_get_new_csrf_string()`: 32 random characters of the alphabet. */
export function newCsrfSecret(): string {
  return getRandomString(CSRF_SECRET_LENGTH, CSRF_ALLOWED_CHARS);
}

/** `_mask_cipher_secret(secret)`: a random mask, then each secret character shifted by the mask's, mod 62. */
export function maskCipherSecret(secret: string): string {
  const mask = newCsrfSecret();
  const n = CSRF_ALLOWED_CHARS.length;
  let cipher = '';
  for (let i = 0; i < secret.length; i++) {
    const x = CSRF_ALLOWED_CHARS.indexOf(secret[i] as string);
    const y = CSRF_ALLOWED_CHARS.indexOf(mask[i] as string);
    cipher += CSRF_ALLOWED_CHARS[(x + y) % n];
  }
  return mask + cipher;
}

/** `_unmask_cipher_token(token)`: the secret inside a 64-character masked token. */
export function unmaskCipherToken(token: string): string {
  const n = CSRF_ALLOWED_CHARS.length;
  const mask = token.slice(0, CSRF_SECRET_LENGTH);
  const cipher = token.slice(CSRF_SECRET_LENGTH);
  let secret = '';
  for (let i = 0; i < cipher.length; i++) {
    const x = CSRF_ALLOWED_CHARS.indexOf(cipher[i] as string);
    const y = CSRF_ALLOWED_CHARS.indexOf(mask[i] as string);
    secret += CSRF_ALLOWED_CHARS[(((x - y) % n) + n) % n];
  }
  return secret;
}

/** A new CSRF cookie value in the form `rotate_token` of this Django version writes. */
export function newRotatedCsrfToken(djangoVersion: '3.2' | '4.2' | '5.2'): string {
  const secret = newCsrfSecret();
  return djangoVersion === '3.2' ? maskCipherSecret(secret) : secret;
}

/** `rotate_token(request)`: a new token on `request.state.csrfToken` (see the module comment). */
export function rotateToken(request: AuthRequest, djangoVersion: '3.2' | '4.2' | '5.2'): string {
  const token = newRotatedCsrfToken(djangoVersion);
  request.state.csrfToken = token;
  return token;
}
