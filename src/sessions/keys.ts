/**
 * Session keys as Django makes and accepts them (spec §2.2).
 */
import { randomInt } from 'node:crypto';

/** Lower-case letters and digits only, so keys also work as file names on case-insensitive file systems. */
export const VALID_KEY_CHARS = 'abcdefghijklmnopqrstuvwxyz0123456789';

export const SESSION_KEY_LENGTH = 32;

/** 32 characters from VALID_KEY_CHARS, each drawn uniformly with the CSPRNG (Django's `get_random_string`). */
export function randomSessionKey(): string {
  let key = '';
  for (let i = 0; i < SESSION_KEY_LENGTH; i++) key += VALID_KEY_CHARS[randomInt(VALID_KEY_CHARS.length)];
  return key;
}

/**
 * Django's `_validate_session_key`: truthy and at least 8 characters (Python counts code points).
 * There is deliberately no character check: that is the file engine's business, and the db engine
 * only ever binds the key as a query parameter.
 */
export function isValidSessionKey(key: string | null | undefined): key is string {
  if (!key || key.length < 8) return false;
  if (key.length >= 16) return true; // at least 8 code points even if every one is a surrogate pair
  let codePoints = 0;
  for (const _ of key) codePoints++;
  return codePoints >= 8;
}
