/**
 * `MD5PasswordHasher` (`md5$<salt>$<hex md5(salt + password)>`) and `UnsaltedMD5PasswordHasher`
 * (32 bare hex digits, or `md5$$` + those). Legacy formats: Django reads them only when they are
 * listed in PASSWORD_HASHERS (unsalted MD5 exists up to 5.0; salted MD5 in every version).
 */
import { createHash } from 'node:crypto';
import { BasePasswordHasher, type DecodedPassword } from './base.ts';
import { mustUpdateSalt } from './common.ts';
import { InvalidSaltError } from './errors.ts';
import { pySplit } from './python.ts';

export interface DecodedSaltedDigest extends DecodedPassword {
  readonly salt: string;
}

/** `md5$…` and `sha1$…`: `<algorithm>$<salt>$<hex digest(salt + password)>`. */
export abstract class SaltedDigestPasswordHasher extends BasePasswordHasher {
  protected abstract readonly digest: 'md5' | 'sha1';

  async encode(password: string, salt: string): Promise<string> {
    this.checkEncodeArgs(salt);
    // Python encodes `salt + password` as one string, so that is what must be valid Unicode.
    const hex = createHash(this.digest).update(this.utf8(salt + password, 'password')).digest('hex');
    return `${this.algorithm}$${salt}$${hex}`;
  }

  decode(encoded: string): DecodedSaltedDigest {
    const parts = pySplit(encoded, '$', 2);
    if (parts.length !== 3) throw this.malformed('expected algorithm$salt$hash');
    const [algorithm, salt, hash] = parts as [string, string, string];
    this.checkAlgorithm(algorithm);
    return { algorithm, hash, salt };
  }

  async verify(password: string, encoded: string): Promise<boolean> {
    const decoded = this.decode(encoded);
    return this.compareEncoded(encoded, await this.encode(password, decoded.salt));
  }

  override mustUpdate(encoded: string): boolean {
    return mustUpdateSalt(this.decode(encoded).salt, this.saltEntropy);
  }
}

export class MD5PasswordHasher extends SaltedDigestPasswordHasher {
  readonly algorithm: string = 'md5';
  protected readonly digest = 'md5' as const;
}

const UNSALTED_MD5_PREFIX = 'md5$$';

export class UnsaltedMD5PasswordHasher extends BasePasswordHasher {
  readonly algorithm: string = 'unsalted_md5';

  override salt(): string {
    return '';
  }

  async encode(password: string, salt: string): Promise<string> {
    if (salt !== '') throw new InvalidSaltError(this.algorithm, 'salt must be empty.');
    return createHash('md5').update(this.utf8(password, 'password')).digest('hex');
  }

  decode(encoded: string): DecodedPassword {
    return { algorithm: this.algorithm, hash: encoded, salt: null };
  }

  async verify(password: string, encoded: string): Promise<boolean> {
    const bare = encoded.length === 37 && encoded.startsWith(UNSALTED_MD5_PREFIX) ? encoded.slice(5) : encoded;
    return this.compareEncoded(bare, await this.encode(password, ''));
  }
}
