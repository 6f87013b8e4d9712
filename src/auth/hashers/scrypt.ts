/**
 * `ScryptPasswordHasher` (`scrypt`, Django 4.0+):
 * `scrypt$<N>$<salt>$<r>$<p>$<base64(scrypt(password, salt, N, r, p, dklen=64))>`.
 * Node's async `crypto.scrypt` is OpenSSL's `EVP_PBE_scrypt` on the thread pool, the function
 * Python's `hashlib.scrypt` calls, with the same memory ceiling.
 */
import { scrypt, type ScryptOptions as NodeScryptOptions } from 'node:crypto';
import { BasePasswordHasher, type DecodedPassword } from './base.ts';
import { parsePythonInt, pySplit } from './python.ts';

/**
 * Django's `maxmem = 0` hands 0 to OpenSSL, which then uses its own default, `SCRYPT_MAX_MEM`
 * (32 MiB). Node would otherwise use its own default, which happens to be the same number; say it.
 */
const OPENSSL_SCRYPT_MAX_MEM = 32 * 1024 * 1024;
const KEY_LENGTH = 64;

function scryptAsync(password: Buffer, salt: Buffer, options: NodeScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, KEY_LENGTH, options, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

export interface ScryptOptions {
  /** `parallelism` (p): 1 in Django 4.0–5.0, 5 from 5.1. */
  readonly parallelism: number;
  readonly workFactor?: number;
  readonly blockSize?: number;
  /** `maxmem` in bytes; 0 means OpenSSL's default, as in Django. */
  readonly maxmem?: number;
}

export interface DecodedScrypt extends DecodedPassword {
  readonly salt: string;
  readonly workFactor: number;
  readonly blockSize: number;
  readonly parallelism: number;
}

export class ScryptPasswordHasher extends BasePasswordHasher {
  readonly algorithm: string = 'scrypt';
  readonly workFactor: number;
  readonly blockSize: number;
  readonly parallelism: number;
  readonly maxmem: number;

  constructor(options: ScryptOptions) {
    super();
    this.workFactor = options.workFactor ?? 2 ** 14;
    this.blockSize = options.blockSize ?? 8;
    this.parallelism = options.parallelism;
    this.maxmem = options.maxmem ?? 0;
  }

  /** `encode(password, salt, n=None, r=None, p=None)`; a falsy factor means the class default. */
  async encode(password: string, salt: string, n?: number, r?: number, p?: number): Promise<string> {
    this.checkEncodeArgs(salt);
    const N = n || this.workFactor;
    const blockSize = r || this.blockSize;
    const parallelism = p || this.parallelism;
    let key: Buffer;
    try {
      key = await scryptAsync(this.utf8(password, 'password'), this.utf8(salt, 'salt'), {
        N,
        r: blockSize,
        p: parallelism,
        maxmem: this.maxmem || OPENSSL_SCRYPT_MAX_MEM,
      });
    } catch (error) {
      // hashlib raises ValueError/OverflowError for the same parameters OpenSSL refuses here.
      throw this.malformed(`invalid scrypt parameters N=${N}, r=${blockSize}, p=${parallelism}`, error);
    }
    return `${this.algorithm}$${N}$${salt}$${blockSize}$${parallelism}$${key.toString('base64')}`;
  }

  decode(encoded: string): DecodedScrypt {
    // Django unpacks `split("$", 6)` into six names: a seventh part (a `$` in the hash) raises.
    const parts = pySplit(encoded, '$', 6);
    if (parts.length !== 6) throw this.malformed('expected scrypt$N$salt$r$p$hash');
    const [algorithm, nText, salt, rText, pText, hash] = parts as [string, string, string, string, string, string];
    this.checkAlgorithm(algorithm);
    const workFactor = parsePythonInt(nText);
    const blockSize = parsePythonInt(rText);
    const parallelism = parsePythonInt(pText);
    if (workFactor === null || blockSize === null || parallelism === null) {
      throw this.malformed('a work factor is not an integer');
    }
    return { algorithm, hash, salt, workFactor, blockSize, parallelism };
  }

  async verify(password: string, encoded: string): Promise<boolean> {
    const decoded = this.decode(encoded);
    const recomputed = await this.encode(password, decoded.salt, decoded.workFactor, decoded.blockSize, decoded.parallelism);
    return this.compareEncoded(encoded, recomputed);
  }

  override mustUpdate(encoded: string): boolean {
    const decoded = this.decode(encoded);
    return (
      decoded.workFactor !== this.workFactor ||
      decoded.blockSize !== this.blockSize ||
      decoded.parallelism !== this.parallelism
    );
  }
}
