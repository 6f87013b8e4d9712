/**
 * `PBKDF2PasswordHasher` (`pbkdf2_sha256`, Django's default) and `PBKDF2SHA1PasswordHasher`
 * (`pbkdf2_sha1`): `<algorithm>$<iterations>$<salt>$<base64(PBKDF2-HMAC(password, salt))>`.
 * Node's async `crypto.pbkdf2` is OpenSSL's PBKDF2 run on the thread pool, the same code
 * Python's `hashlib.pbkdf2_hmac` calls.
 */
import { pbkdf2 } from 'node:crypto';
import { promisify } from 'node:util';
import { BasePasswordHasher, type DecodedPassword } from './base.ts';
import { mustUpdateSalt } from './common.ts';
import { parsePythonInt, pySplit } from './python.ts';

const pbkdf2Async = promisify(pbkdf2);

export interface PBKDF2Options {
  /** The class's `iterations` (Django's default differs per version: see `registry.ts`). */
  readonly iterations: number;
}

export interface DecodedPBKDF2 extends DecodedPassword {
  readonly salt: string;
  readonly iterations: number;
}

export class PBKDF2PasswordHasher extends BasePasswordHasher {
  readonly algorithm: string = 'pbkdf2_sha256';
  readonly iterations: number;
  protected readonly digest: 'sha256' | 'sha1' = 'sha256';
  /** `dklen=None` in Django means the digest size. */
  protected readonly keyLength: number = 32;

  constructor(options: PBKDF2Options) {
    super();
    this.iterations = options.iterations;
  }

  /** `encode(password, salt, iterations=None)`; a falsy `iterations` means the class default. */
  async encode(password: string, salt: string, iterations?: number): Promise<string> {
    this.checkEncodeArgs(salt);
    const rounds = iterations || this.iterations;
    const passwordBytes = this.utf8(password, 'password');
    const saltBytes = this.utf8(salt, 'salt');
    let key: Buffer;
    try {
      key = await pbkdf2Async(passwordBytes, saltBytes, rounds, this.keyLength, this.digest);
    } catch (error) {
      // hashlib raises too (ValueError / OverflowError) for iterations outside 1..2^31-1.
      throw this.malformed(`iteration count ${rounds} is out of range`, error);
    }
    return `${this.algorithm}$${rounds}$${salt}$${key.toString('base64')}`;
  }

  decode(encoded: string): DecodedPBKDF2 {
    const parts = pySplit(encoded, '$', 3);
    if (parts.length !== 4) throw this.malformed('expected algorithm$iterations$salt$hash');
    const [algorithm, iterationsText, salt, hash] = parts as [string, string, string, string];
    this.checkAlgorithm(algorithm);
    const iterations = parsePythonInt(iterationsText);
    if (iterations === null) throw this.malformed('iterations is not an integer');
    return { algorithm, hash, iterations, salt };
  }

  async verify(password: string, encoded: string): Promise<boolean> {
    const decoded = this.decode(encoded);
    const recomputed = await this.encode(password, decoded.salt, decoded.iterations);
    return this.compareEncoded(encoded, recomputed);
  }

  override mustUpdate(encoded: string): boolean {
    const decoded = this.decode(encoded);
    return decoded.iterations !== this.iterations || mustUpdateSalt(decoded.salt, this.saltEntropy);
  }

  /** Run the missing iterations, so a wrong password costs what the default count costs. */
  override async hardenRuntime(password: string, encoded: string): Promise<void> {
    const decoded = this.decode(encoded);
    const extraIterations = this.iterations - decoded.iterations;
    if (extraIterations > 0) await this.encode(password, decoded.salt, extraIterations);
  }
}

export class PBKDF2SHA1PasswordHasher extends PBKDF2PasswordHasher {
  override readonly algorithm: string = 'pbkdf2_sha1';
  protected override readonly digest = 'sha1' as const;
  protected override readonly keyLength: number = 20;
}
