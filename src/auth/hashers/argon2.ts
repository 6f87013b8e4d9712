/**
 * `Argon2PasswordHasher` (`argon2`): `argon2` + the PHC string argon2-cffi writes,
 * `argon2$argon2id$v=19$m=102400,t=2,p=8$<b64 salt>$<b64 hash>` (unpadded standard base64).
 *
 * Hashing uses the `argon2` npm package, which binds the same reference C library argon2-cffi
 * binds, on libuv's thread pool. Three readers of the string are reproduced, because Django uses
 * all three and they do not agree on what is well formed:
 *  - argon2-cffi's `extract_parameters` (lenient, Python `int()`s) for `decode`/`must_update`;
 *  - argon2-cffi's header check in `PasswordHasher.verify` (which raises, not returns False);
 *  - libargon2's `decode_string` (strict) for verification, whose failures are a plain False.
 */
import { timingSafeEqual } from 'node:crypto';
import * as argon2 from 'argon2';
import { BasePasswordHasher, type DecodedPassword } from './base.ts';
import { saltLengthNeedsUpdate } from './common.ts';
import { InvalidSaltError } from './errors.ts';
import { parsePythonInt, pyLen, pySplit, pythonB64DecodedLength } from './python.ts';

/** argon2 `Type` values (libargon2's numbering, shared by argon2-cffi and the npm package). */
export const Argon2Type = { D: 0, I: 1, ID: 2 } as const;
export type Argon2TypeValue = (typeof Argon2Type)[keyof typeof Argon2Type];
const TYPE_NAMES: Readonly<Record<Argon2TypeValue, string>> = { 0: 'argon2d', 1: 'argon2i', 2: 'argon2id' };
const NAME_TO_TYPE: ReadonlyMap<string, Argon2TypeValue> = new Map([
  ['argon2d', Argon2Type.D],
  ['argon2i', Argon2Type.I],
  ['argon2id', Argon2Type.ID],
]);
/** `PasswordHasher._header_to_type`: the first 9 characters decide the variant. */
const HEADER_TO_TYPE: ReadonlyMap<string, Argon2TypeValue> = new Map([
  ['$argon2i$', Argon2Type.I],
  ['$argon2d$', Argon2Type.D],
  ['$argon2id', Argon2Type.ID],
]);
const ARGON2_VERSION_10 = 0x10;
const ARGON2_VERSION_13 = 0x13;
const UINT32_MAX = 0xffffffff;
const NON_ASCII = /[^\x00-\x7f]/;

export interface Argon2Options {
  /**
   * argon2-cffi's `DEFAULT_HASH_LENGTH` on the Django side: 16 up to 21.1.0 (what Debian bookworm
   * and trixie ship), 32 from 21.2.0 (pip). Django writes it and `must_update` compares it.
   */
  readonly hashLength: number;
  readonly timeCost?: number;
  readonly memoryCost?: number;
  readonly parallelism?: number;
}

/** argon2-cffi's `Parameters`, as `extract_parameters` reads them. */
export interface Argon2Parameters {
  readonly type: Argon2TypeValue;
  readonly version: number;
  readonly saltLength: number;
  readonly hashLength: number;
  readonly timeCost: number;
  readonly memoryCost: number;
  readonly parallelism: number;
}

export interface DecodedArgon2 extends DecodedPassword {
  readonly salt: string;
  /** Byte length of the salt, as Django's `len(salt)` counts it for `must_update_salt`. */
  readonly saltLength: number;
  readonly variety: string;
  readonly version: number;
  readonly timeCost: number;
  readonly memoryCost: number;
  readonly parallelism: number;
  readonly params: Argon2Parameters;
}

/** argon2-cffi's `_decoded_str_len`. */
function decodedStrLength(length: number): number {
  const rest = length % 4;
  return Math.floor(length / 4) * 3 + (rest === 3 ? 2 : rest === 2 ? 1 : 0);
}

/** argon2-cffi 21.1's `extract_parameters(hash)`; `null` where it raises `InvalidHash`. */
export function extractArgon2Parameters(hash: string): Argon2Parameters | null {
  const parts = hash.split('$');
  // Argon2 v1.2 hashes carry no version field; argon2-cffi calls them v=18.
  if (parts.length === 5) parts.splice(2, 0, 'v=18');
  if (parts.length !== 6 || parts[0] !== '') return null;
  const type = NAME_TO_TYPE.get(parts[1] as string);
  if (type === undefined) return null;
  const values = new Map<string, number>();
  for (const item of [parts[2] as string, ...(parts[3] as string).split(',')]) {
    const pair = item.split('=');
    if (pair.length !== 2) return null;
    const value = parsePythonInt(pair[1] as string);
    if (value === null) return null;
    values.set(pair[0] as string, value);
  }
  if (values.size !== 4 || !['v', 'm', 't', 'p'].every((key) => values.has(key))) return null;
  return {
    type,
    version: values.get('v') as number,
    saltLength: decodedStrLength(pyLen(parts[4] as string)),
    hashLength: decodedStrLength(pyLen(parts[5] as string)),
    timeCost: values.get('t') as number,
    memoryCost: values.get('m') as number,
    parallelism: values.get('p') as number,
  };
}

/** What libargon2's `decode_string` fills in. */
interface Argon2Context {
  readonly version: number;
  readonly memoryCost: number;
  readonly timeCost: number;
  readonly parallelism: number;
  readonly salt: Buffer;
  readonly hash: Buffer;
}

const B64_STANDARD = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** A cursor over the encoded string, with libargon2's field readers. */
class PhcReader {
  private position = 0;

  constructor(private readonly text: string) {}

  get atEnd(): boolean {
    return this.position === this.text.length;
  }

  literal(prefix: string): boolean {
    if (!this.text.startsWith(prefix, this.position)) return false;
    this.position += prefix.length;
    return true;
  }

  /** `decode_decimal` + the `DECIMAL_U32` bound: digits, no leading zero, at most 2^32-1. */
  uint32(): number | null {
    const start = this.position;
    while (this.position < this.text.length && this.text[this.position]! >= '0' && this.text[this.position]! <= '9') {
      this.position++;
    }
    const digits = this.text.slice(start, this.position);
    if (digits.length === 0 || (digits[0] === '0' && digits.length > 1) || digits.length > 10) return null;
    const value = Number(digits);
    return value > UINT32_MAX ? null : value;
  }

  /** `from_base64`: unpadded standard base64 up to the first other character; zero tail bits. */
  base64(): Buffer | null {
    const start = this.position;
    while (this.position < this.text.length && B64_STANDARD.includes(this.text[this.position]!)) this.position++;
    const chunk = this.text.slice(start, this.position);
    const tailBits = (chunk.length * 6) % 8;
    if (tailBits > 4) return null;
    if (tailBits > 0 && (B64_STANDARD.indexOf(chunk[chunk.length - 1]!) & ((1 << tailBits) - 1)) !== 0) return null;
    return Buffer.from(chunk, 'base64');
  }
}

/**
 * libargon2's `decode_string(ctx, encoded, type)` followed by `validate_inputs`; `null` for any
 * failure (argon2-cffi turns those into `VerificationError`, which Django reports as False).
 */
function decodeArgon2String(encoded: string, type: Argon2TypeValue): Argon2Context | null {
  const reader = new PhcReader(encoded);
  if (!reader.literal('$') || !reader.literal(TYPE_NAMES[type])) return null;
  let version: number | null = ARGON2_VERSION_10;
  if (reader.literal('$v=')) version = reader.uint32();
  if (version === null || !reader.literal('$m=')) return null;
  const memoryCost = reader.uint32();
  if (memoryCost === null || !reader.literal(',t=')) return null;
  const timeCost = reader.uint32();
  if (timeCost === null || !reader.literal(',p=')) return null;
  const parallelism = reader.uint32();
  if (parallelism === null || !reader.literal('$')) return null;
  const salt = reader.base64();
  if (salt === null || !reader.literal('$')) return null;
  const hash = reader.base64();
  if (hash === null) return null;
  const valid =
    hash.length >= 4 &&
    salt.length >= 8 &&
    memoryCost >= 8 &&
    timeCost >= 1 &&
    parallelism >= 1 &&
    parallelism <= 0xffffff &&
    memoryCost >= 8 * parallelism;
  if (!valid || !reader.atEnd) return null;
  return { version, memoryCost, timeCost, parallelism, salt, hash };
}

function base64Unpadded(bytes: Buffer): string {
  return bytes.toString('base64').replace(/=+$/, '');
}

export class Argon2PasswordHasher extends BasePasswordHasher {
  readonly algorithm: string = 'argon2';
  readonly timeCost: number;
  readonly memoryCost: number;
  readonly parallelism: number;
  readonly hashLength: number;

  constructor(options: Argon2Options) {
    super();
    this.timeCost = options.timeCost ?? 2;
    this.memoryCost = options.memoryCost ?? 102400;
    this.parallelism = options.parallelism ?? 8;
    this.hashLength = options.hashLength;
  }

  /** Django's `params()`: what `encode` writes and `must_update` compares against. */
  params(saltLength: number): Argon2Parameters {
    return {
      type: Argon2Type.ID,
      version: ARGON2_VERSION_13,
      saltLength,
      hashLength: this.hashLength,
      timeCost: this.timeCost,
      memoryCost: this.memoryCost,
      parallelism: this.parallelism,
    };
  }

  async encode(password: string, salt: string): Promise<string> {
    const saltBytes = this.utf8(salt, 'salt');
    // Django does no salt check for argon2; libargon2 refuses fewer than 8 bytes (HashingError).
    if (saltBytes.length < 8) throw new InvalidSaltError(this.algorithm, 'Salt is too short');
    const hash = await argon2.hash(this.utf8(password, 'password'), {
      raw: true,
      salt: saltBytes,
      type: Argon2Type.ID,
      version: ARGON2_VERSION_13,
      timeCost: this.timeCost,
      memoryCost: this.memoryCost,
      parallelism: this.parallelism,
      hashLength: this.hashLength,
    });
    return (
      `${this.algorithm}$argon2id$v=${ARGON2_VERSION_13}$m=${this.memoryCost},t=${this.timeCost},p=${this.parallelism}` +
      `$${base64Unpadded(saltBytes)}$${base64Unpadded(hash)}`
    );
  }

  decode(encoded: string): DecodedArgon2 {
    const split = pySplit(encoded, '$', 1);
    if (split.length !== 2) throw this.malformed("expected 'argon2$' and a PHC string");
    const [algorithm, rest] = split as [string, string];
    this.checkAlgorithm(algorithm);
    const params = extractArgon2Parameters('$' + rest);
    if (params === null) throw this.malformed('argon2-cffi cannot extract the parameters (InvalidHash)');
    const fields = rest.split('$');
    const b64Salt = fields[fields.length - 2] as string;
    const saltLength = pythonB64DecodedLength(b64Salt + '='.repeat((4 - (b64Salt.length % 4)) % 4));
    if (saltLength === null) throw this.malformed('the salt is not valid base64');
    return {
      algorithm,
      hash: fields[fields.length - 1] as string,
      salt: Buffer.from(b64Salt, 'base64').toString('latin1'),
      saltLength,
      variety: fields[0] as string,
      version: params.version,
      timeCost: params.timeCost,
      memoryCost: params.memoryCost,
      parallelism: params.parallelism,
      params,
    };
  }

  async verify(password: string, encoded: string): Promise<boolean> {
    const split = pySplit(encoded, '$', 1);
    if (split.length !== 2) throw this.malformed("expected 'argon2$' and a PHC string");
    const [algorithm, rest] = split as [string, string];
    this.checkAlgorithm(algorithm);
    let phc = '$' + rest;
    // argon2-cffi encodes the hash as ASCII (raising otherwise) and picks the variant from its
    // first 9 characters, raising InvalidHash (a ValueError Django does not catch) when unknown.
    if (NON_ASCII.test(phc)) throw this.malformed('the hash is not ASCII');
    const type = HEADER_TO_TYPE.get(phc.slice(0, 9));
    if (type === undefined) throw this.malformed('unknown argon2 variant (InvalidHash)');
    const passwordBytes = this.utf8(password, 'password');
    // The C library sees a NUL-terminated string.
    const nul = phc.indexOf('\0');
    if (nul >= 0) phc = phc.slice(0, nul);
    const context = decodeArgon2String(phc, type);
    if (context === null) return false;
    let recomputed: Buffer;
    try {
      recomputed = await argon2.hash(passwordBytes, {
        raw: true,
        salt: context.salt,
        type,
        version: context.version,
        timeCost: context.timeCost,
        memoryCost: context.memoryCost,
        parallelism: context.parallelism,
        hashLength: context.hash.length,
      });
    } catch {
      // libargon2 errors (e.g. memory it cannot allocate) are VerificationError: False in Django.
      return false;
    }
    return recomputed.length === context.hash.length && timingSafeEqual(recomputed, context.hash);
  }

  override mustUpdate(encoded: string): boolean {
    const decoded = this.decode(encoded);
    const current = decoded.params;
    const wanted = this.params(current.saltLength);
    const sameParams =
      current.type === wanted.type &&
      current.version === wanted.version &&
      current.hashLength === wanted.hashLength &&
      current.timeCost === wanted.timeCost &&
      current.memoryCost === wanted.memoryCost &&
      current.parallelism === wanted.parallelism;
    // must_update_salt counts the characters of the latin-1 decoded salt, i.e. its bytes.
    return !sameParams || saltLengthNeedsUpdate(decoded.saltLength, this.saltEntropy);
  }
}
