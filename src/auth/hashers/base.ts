/**
 * The hasher contract (Django's `BasePasswordHasher`) and the behaviour every hasher shares.
 * Work that costs real CPU (`encode`, `verify`, `hardenRuntime`) is async and runs off the event
 * loop (libuv's thread pool, or bcryptjs's chunked loop), so one login never stalls the server.
 */
import { constantTimeCompare, getRandomString, SALT_ENTROPY, SALT_LENGTH } from './common.ts';
import { InvalidPasswordError, InvalidSaltError, MalformedHashError } from './errors.ts';
import { encodeUtf8Strict } from './python.ts';

/** What `decode()` returns: Django's dict, with each hasher adding its own work factors. */
export interface DecodedPassword {
  readonly algorithm: string;
  readonly hash: string;
  /** The salt as Django reports it; `null` for the unsalted hashers. */
  readonly salt: string | null;
}

export interface PasswordHasher {
  /** Django's `algorithm`: the prefix before the first `$` of what `encode` writes. */
  readonly algorithm: string;
  /** A fresh salt as this hasher's Django class makes one. */
  salt(): string;
  /** The encoded database value for `password` with `salt`. */
  encode(password: string, salt: string): Promise<string>;
  /** Take an encoded value apart; throws `MalformedHashError` where Django raises. */
  decode(encoded: string): DecodedPassword;
  /** Whether `password` matches `encoded` (constant-time comparison). */
  verify(password: string, encoded: string): Promise<boolean>;
  /** Whether Django would re-hash `encoded` with this (preferred) hasher's current settings. */
  mustUpdate(encoded: string): boolean;
  /** Extra work that makes a wrong password against a weaker hash cost what the default costs. */
  hardenRuntime(password: string, encoded: string): Promise<void>;
}

export abstract class BasePasswordHasher implements PasswordHasher {
  abstract readonly algorithm: string;
  readonly saltEntropy: number = SALT_ENTROPY;

  salt(): string {
    return getRandomString(SALT_LENGTH);
  }

  abstract encode(password: string, salt: string): Promise<string>;
  abstract decode(encoded: string): DecodedPassword;
  abstract verify(password: string, encoded: string): Promise<boolean>;

  mustUpdate(_encoded: string): boolean {
    return false;
  }

  async hardenRuntime(_password: string, _encoded: string): Promise<void> {
    // Django's cheap hashers define harden_runtime as a no-op.
  }

  /** `_check_encode_args` (an `assert` in 3.2, `ValueError` from 4.0). */
  protected checkEncodeArgs(salt: string): void {
    if (!salt || salt.includes('$')) {
      throw new InvalidSaltError(this.algorithm, 'salt must be provided and cannot contain $.');
    }
  }

  /** `text.encode()`, which raises in Python for text that is not valid Unicode. */
  protected utf8(text: string, what: 'password' | 'salt'): Buffer {
    const bytes = encodeUtf8Strict(text);
    if (bytes !== null) return bytes;
    const message = `the ${what} contains a lone UTF-16 surrogate and cannot be encoded to UTF-8`;
    throw what === 'password'
      ? new InvalidPasswordError(this.algorithm, message)
      : new InvalidSaltError(this.algorithm, message);
  }

  /**
   * Django's `constant_time_compare(encoded, recomputed)`. Python encodes both to UTF-8 first, so a
   * stored value that is not valid Unicode (a lone surrogate) raises there instead of comparing.
   */
  protected compareEncoded(encoded: string, recomputed: string): boolean {
    if (encodeUtf8Strict(encoded) === null) throw this.malformed('the stored hash is not valid Unicode');
    return constantTimeCompare(encoded, recomputed);
  }

  protected malformed(reason: string, cause?: unknown): MalformedHashError {
    return new MalformedHashError(this.algorithm, reason, cause === undefined ? undefined : { cause });
  }

  /** Django's `assert algorithm == self.algorithm` in every `decode`. */
  protected checkAlgorithm(algorithm: string | undefined): void {
    if (algorithm !== this.algorithm) throw this.malformed(`algorithm prefix is not '${this.algorithm}'`);
  }
}
