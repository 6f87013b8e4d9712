/**
 * `BCryptSHA256PasswordHasher` (`bcrypt_sha256$<bcrypt string>`, the password pre-hashed to the
 * hex SHA-256 so nothing is truncated) and `BCryptPasswordHasher` (`bcrypt$<bcrypt string>`,
 * truncated at 72 bytes). The bcrypt maths is bcryptjs (async, in chunks, so the event loop keeps
 * turning); the salt rules around it are pyca/bcrypt 3.2's `hashpw`, which Django calls.
 */
import { createHash, randomBytes } from 'node:crypto';
import bcryptjs from 'bcryptjs';
import { BasePasswordHasher, type DecodedPassword } from './base.ts';
import { InvalidPasswordError } from './errors.ts';
import { parsePythonInt, pySplit } from './python.ts';

const BCRYPT_ALPHABET = './ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const BCRYPT_SALT_BYTES = 16;
/** `$2b$12$` + 22 salt characters: the part of a bcrypt string that is the salt. */
const BCRYPT_SALT_PREFIX_LENGTH = 29;
const BCRYPT_SALT_CHARS = 22;
const NON_ASCII = /[^\x00-\x7f]/;

export interface BCryptOptions {
  /** The class's `rounds` (12 in every supported Django version). */
  readonly rounds?: number;
}

export interface DecodedBCrypt extends DecodedPassword {
  readonly salt: string;
  readonly algostr: string;
  readonly checksum: string;
  readonly workFactor: number;
}

/** Why pyca/bcrypt's C `bcrypt_hashpass` would refuse `salt` (it raises "Invalid salt"), or null. */
function bcryptSaltProblem(salt: string): string | null {
  if (salt[0] !== '$' || salt[1] !== '2') return 'not a $2 bcrypt string';
  if ((salt[2] !== 'a' && salt[2] !== 'b') || salt[3] !== '$') return 'unsupported bcrypt minor version';
  const tens = salt[4];
  const units = salt[5];
  if (tens === undefined || units === undefined || !/[0-9]/.test(tens) || !/[0-9]/.test(units) || salt[6] !== '$') {
    return 'missing work factor';
  }
  const logRounds = Number(tens + units);
  if (logRounds < 4 || logRounds > 31) return 'work factor outside 4..31';
  const encodedSalt = salt.slice(7);
  if (encodedSalt.length < BCRYPT_SALT_CHARS) return 'salt shorter than 22 characters';
  for (let i = 0; i < BCRYPT_SALT_CHARS; i++) {
    if (!BCRYPT_ALPHABET.includes(encodedSalt[i] as string)) return 'salt is not bcrypt base64';
  }
  return null;
}

export class BCryptSHA256PasswordHasher extends BasePasswordHasher {
  readonly algorithm: string = 'bcrypt_sha256';
  readonly rounds: number;
  /** Django's `digest`: SHA-256 before bcrypt, or none (plain `bcrypt`). */
  protected readonly prehash: boolean = true;

  constructor(options: BCryptOptions = {}) {
    super();
    this.rounds = options.rounds ?? 12;
  }

  /** `bcrypt.gensalt(rounds)`: `$2b$NN$` and 16 random bytes in bcrypt's base64. */
  override salt(): string {
    const encoded = bcryptjs.encodeBase64(randomBytes(BCRYPT_SALT_BYTES), BCRYPT_SALT_BYTES);
    return `$2b$${String(this.rounds).padStart(2, '0')}$${encoded}`;
  }

  async encode(password: string, salt: string): Promise<string> {
    let secret = this.utf8(password, 'password');
    if (this.prehash) secret = Buffer.from(createHash('sha256').update(secret).digest('hex'), 'ascii');
    return `${this.algorithm}$${await this.hashpw(secret, password, salt)}`;
  }

  /**
   * pyca/bcrypt's `hashpw(password, salt)`. `secret` is the byte string Python hashes; `password`
   * is its text, handed to bcryptjs when no pre-hash applies (bcryptjs takes text; bcrypt only
   * ever reads the first 72 bytes, which is exactly Python's truncation).
   */
  private async hashpw(secret: Buffer, password: string, salt: string): Promise<string> {
    if (secret.includes(0)) throw new InvalidPasswordError(this.algorithm, 'password may not contain NUL bytes');
    if (NON_ASCII.test(salt)) throw this.malformed('the bcrypt string is not ASCII');
    // The C code sees a NUL-terminated string; $2y$ is hashed as $2b$ and handed back as $2y$.
    const nul = salt.indexOf('\0');
    const cSalt = (nul >= 0 ? salt.slice(0, nul) : salt).replace(/^\$2y\$/, '$2b$');
    const problem = bcryptSaltProblem(cSalt);
    if (problem !== null) throw this.malformed(`Invalid salt: ${problem}`);
    const input = this.prehash ? secret.toString('ascii') : password;
    let hashed: string;
    try {
      hashed = await bcryptjs.hash(input, cSalt.slice(0, BCRYPT_SALT_PREFIX_LENGTH));
    } catch (error) {
      throw this.malformed('Invalid salt', error);
    }
    return salt.slice(0, 4) + hashed.slice(4);
  }

  decode(encoded: string): DecodedBCrypt {
    const parts = pySplit(encoded, '$', 4);
    if (parts.length !== 5) throw this.malformed('expected algorithm$$2b$rounds$salthash');
    const [algorithm, , algostr, workFactorText, data] = parts as [string, string, string, string, string];
    this.checkAlgorithm(algorithm);
    const workFactor = parsePythonInt(workFactorText);
    if (workFactor === null) throw this.malformed('work factor is not an integer');
    const checksum = data.slice(BCRYPT_SALT_CHARS);
    return { algorithm, algostr, checksum, hash: checksum, salt: data.slice(0, BCRYPT_SALT_CHARS), workFactor };
  }

  async verify(password: string, encoded: string): Promise<boolean> {
    const parts = pySplit(encoded, '$', 1);
    if (parts.length !== 2) throw this.malformed('expected algorithm$bcrypt-string');
    const [algorithm, data] = parts as [string, string];
    this.checkAlgorithm(algorithm);
    return this.compareEncoded(encoded, await this.encode(password, data));
  }

  override mustUpdate(encoded: string): boolean {
    return this.decode(encoded).workFactor !== this.rounds;
  }

  /** Hash `2^(rounds - stored) - 1` more times: each round of bcrypt doubles the work. */
  override async hardenRuntime(password: string, encoded: string): Promise<void> {
    const parts = pySplit(encoded, '$', 1);
    if (parts.length !== 2) throw this.malformed('expected algorithm$bcrypt-string');
    const data = parts[1] as string;
    const salt = data.slice(0, BCRYPT_SALT_PREFIX_LENGTH);
    const roundsText = data.split('$')[2];
    const storedRounds = roundsText === undefined ? null : parsePythonInt(roundsText);
    if (storedRounds === null) throw this.malformed('work factor is not an integer');
    for (let extra = 2 ** (this.rounds - storedRounds) - 1; extra > 0; extra--) {
      await this.encode(password, salt);
    }
  }
}

export class BCryptPasswordHasher extends BCryptSHA256PasswordHasher {
  override readonly algorithm: string = 'bcrypt';
  protected override readonly prehash: boolean = false;
}
