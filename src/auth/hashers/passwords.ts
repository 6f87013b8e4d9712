/**
 * Django's module-level password API (`make_password`, `check_password`, `verify_password`,
 * `identify_hasher`, `is_password_usable`) over the configured hashers. The rules are identical in
 * 3.2 (Debian's, with the CVE-2024-39329 backport), 4.2 and 5.2; what differs per version is only
 * which hashers exist and their work factors (see `registry.ts`).
 */
import type { PasswordHasher } from './base.ts';
import { getRandomString, UNUSABLE_PASSWORD_PREFIX, UNUSABLE_PASSWORD_SUFFIX_LENGTH } from './common.ts';
import { InvalidPasswordError, UnknownHasherError } from './errors.ts';
import { pyLen } from './python.ts';
import { getHasher, type PasswordHasherConfig } from './registry.ts';

/** False only for the values `make_password(None)` writes (a leading `!`); `null` is usable. */
export function isPasswordUsable(encoded: string | null): boolean {
  return encoded === null || !encoded.startsWith(UNUSABLE_PASSWORD_PREFIX);
}

export interface MakePasswordOptions {
  /** A salt to use instead of a fresh one; `''` means a fresh one, as in Django. */
  readonly salt?: string;
  /** An algorithm name among the configured hashers, `'default'` (the first), or a hasher. */
  readonly hasher?: string | PasswordHasher;
}

/**
 * `make_password(password, salt=None, hasher="default")`. `null` gives an unusable password:
 * `!` and 40 random characters.
 */
export async function makePassword(
  password: string | null,
  config: PasswordHasherConfig,
  options: MakePasswordOptions = {},
): Promise<string> {
  if (password === null) return UNUSABLE_PASSWORD_PREFIX + getRandomString(UNUSABLE_PASSWORD_SUFFIX_LENGTH);
  // A guard for JavaScript callers (Django's TypeError): hashing String(1) would succeed silently.
  if (typeof password !== 'string') {
    throw new InvalidPasswordError('default', `Password must be a string, got ${typeof password}.`);
  }
  const hasher = getHasher(options.hasher ?? 'default', config);
  return hasher.encode(password, options.salt || hasher.salt());
}

/**
 * `identify_hasher(encoded)`: 32 hex-ish characters without `$` (or `md5$$` + 32) are unsalted
 * MD5, `sha1$$` + 40 is unsalted SHA-1, anything else is named by the text before the first `$`.
 * Throws `UnknownHasherError` when that hasher is not configured.
 */
export function identifyHasher(encoded: string, config: PasswordHasherConfig): PasswordHasher {
  // Python's len() counts code points; an astral character changes the length it sees.
  const length = pyLen(encoded);
  let algorithm: string;
  if ((length === 32 && !encoded.includes('$')) || (length === 37 && encoded.startsWith('md5$$'))) {
    algorithm = 'unsalted_md5';
  } else if (length === 46 && encoded.startsWith('sha1$$')) {
    algorithm = 'unsalted_sha1';
  } else {
    const end = encoded.indexOf('$');
    algorithm = end < 0 ? encoded : encoded.slice(0, end);
  }
  return getHasher(algorithm, config);
}

export interface VerifyResult {
  readonly isCorrect: boolean;
  /** Whether Django would re-hash the password with the preferred hasher after this login. */
  readonly mustUpdate: boolean;
}

/**
 * `verify_password(password, encoded, preferred="default")` (4.2+; 3.2 has the same steps inside
 * `check_password`).
 *
 * Without a usable password or a known hasher, the default hasher still runs once on a random
 * string, so that such an account costs as much time as a real one (CVE-2024-39329), and the
 * answer is False. A malformed hash of a known hasher throws, as it raises in Django.
 *
 * `encoded === null` takes the same constant-time False path. (Django raises `TypeError` on
 * `len(None)` there; `auth_user.password` is NOT NULL, so Django itself never gets that far.)
 */
export async function verifyPassword(
  password: string | null,
  encoded: string | null,
  config: PasswordHasherConfig,
  preferred: string | PasswordHasher = 'default',
): Promise<VerifyResult> {
  let fakeRuntime = password === null || encoded === null || !isPasswordUsable(encoded);
  const preferredHasher = getHasher(preferred, config);
  let hasher: PasswordHasher | undefined;
  if (encoded !== null) {
    try {
      hasher = identifyHasher(encoded, config);
    } catch (error) {
      if (!(error instanceof UnknownHasherError)) throw error;
      fakeRuntime = true;
    }
  }
  if (fakeRuntime || hasher === undefined || password === null || encoded === null) {
    await makePassword(getRandomString(UNUSABLE_PASSWORD_SUFFIX_LENGTH), config);
    return { isCorrect: false, mustUpdate: false };
  }

  const hasherChanged = hasher.algorithm !== preferredHasher.algorithm;
  const mustUpdate = hasherChanged || preferredHasher.mustUpdate(encoded);
  const isCorrect = await hasher.verify(password, encoded);
  // Close the timing gap between a weaker stored work factor and the default one, unless the
  // hasher changed (Django does not protect against enumeration in that case).
  if (!isCorrect && !hasherChanged && mustUpdate) await hasher.hardenRuntime(password, encoded);
  return { isCorrect, mustUpdate };
}

/**
 * `check_password(password, encoded, setter=None, preferred="default")`. The setter runs only
 * when the password is correct and Django would re-hash it (another hasher than the preferred
 * one, or other work factors, or a weak salt); it receives the raw password.
 */
export async function checkPassword(
  password: string | null,
  encoded: string | null,
  config: PasswordHasherConfig,
  setter?: (rawPassword: string) => Promise<void> | void,
  preferred: string | PasswordHasher = 'default',
): Promise<boolean> {
  const { isCorrect, mustUpdate } = await verifyPassword(password, encoded, config, preferred);
  if (setter && isCorrect && mustUpdate && password !== null) await setter(password);
  return isCorrect;
}

/**
 * What `ModelBackend.authenticate` does for a username that does not exist:
 * `UserModel().set_password(password)`, i.e. one run of the default hasher, so that an unknown
 * user costs the same time as a wrong password.
 */
export async function runDummyHash(password: string, config: PasswordHasherConfig): Promise<void> {
  await makePassword(password, config);
}
