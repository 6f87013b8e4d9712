/**
 * `SHA1PasswordHasher` (`sha1$<salt>$<hex sha1(salt + password)>`) and
 * `UnsaltedSHA1PasswordHasher` (`sha1$$<hex sha1(password)>`). Legacy formats that Django 3.2 and
 * 4.2 read when listed in PASSWORD_HASHERS; both were removed in Django 5.1.
 */
import { createHash } from 'node:crypto';
import { BasePasswordHasher, type DecodedPassword } from './base.ts';
import { InvalidSaltError } from './errors.ts';
import { SaltedDigestPasswordHasher } from './md5.ts';

export class SHA1PasswordHasher extends SaltedDigestPasswordHasher {
  readonly algorithm: string = 'sha1';
  protected readonly digest = 'sha1' as const;
}

const UNSALTED_SHA1_PREFIX = 'sha1$$';

export class UnsaltedSHA1PasswordHasher extends BasePasswordHasher {
  readonly algorithm: string = 'unsalted_sha1';

  override salt(): string {
    return '';
  }

  async encode(password: string, salt: string): Promise<string> {
    if (salt !== '') throw new InvalidSaltError(this.algorithm, 'salt must be empty.');
    return UNSALTED_SHA1_PREFIX + createHash('sha1').update(this.utf8(password, 'password')).digest('hex');
  }

  decode(encoded: string): DecodedPassword {
    if (!encoded.startsWith(UNSALTED_SHA1_PREFIX)) throw this.malformed("expected 'sha1$$' and a hex digest");
    return { algorithm: this.algorithm, hash: encoded.slice(UNSALTED_SHA1_PREFIX.length), salt: null };
  }

  async verify(password: string, encoded: string): Promise<boolean> {
    return this.compareEncoded(encoded, await this.encode(password, ''));
  }
}
