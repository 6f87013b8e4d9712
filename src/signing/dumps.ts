/**
 * `django.core.signing.dumps` / `loads`, and the object layer under them (`Signer.sign_object` /
 * `unsign_object`): serialize → (maybe) zlib → URL-safe base64 → sign.
 *
 * Compression follows Django exactly: the zlib stream (CPython-identical bytes, see src/zlib) is used only
 * when `len(compressed) < len(data) - 1`, and is flagged by a leading `.` that the signature covers.
 */
import type { PyValue } from '../pyjson/types.ts';
import { zlibCompress, zlibDecompress } from '../zlib/index.ts';
import { b64Decode, b64Encode } from './base64.ts';
import type { BytesLike, HashAlgorithm } from './crypto.ts';
import { PayloadError } from './errors.ts';
import { JSONSerializer, serializedBytes, type Serializer } from './serializer.ts';
import type { Signer } from './signer.ts';
import { TimestampSigner } from './timestamp-signer.ts';

export const DEFAULT_DUMPS_SALT = 'django.core.signing';

function serializerOrJson<T>(serializer: Serializer<T> | undefined): Serializer<T> {
  // Without a serializer the values are PyValues (Django's JSONSerializer); T defaults to PyValue.
  return serializer ?? (JSONSerializer as unknown as Serializer<T>);
}

/**
 * The text that gets signed: `[.]b64(data)`. Exposed so long-lived signers (the session codec) can reuse
 * their derived keys instead of building a signer per call as `dumps` does.
 */
export function encodePayload<T>(value: T, serializer: Serializer<T>, compress: boolean): string {
  const data = serializedBytes(serializer.dumps(value));
  if (compress) {
    const compressed = zlibCompress(data);
    if (compressed.length < data.length - 1) return '.' + b64Encode(compressed);
  }
  return b64Encode(data);
}

/**
 * The serialized bytes inside a verified payload: strip the `.` flag, base64-decode, inflate if flagged.
 * Failures are PayloadError (stage base64 / decompress) carrying the original error as `cause`.
 */
export function payloadBytes(payload: string, signedValue: string = payload): Uint8Array {
  const compressed = payload.charCodeAt(0) === 0x2e; // '.'
  let data: Uint8Array;
  try {
    data = b64Decode(compressed ? payload.slice(1) : payload);
  } catch (err) {
    throw new PayloadError('Payload is not valid base64', signedValue, 'base64', { cause: err });
  }
  if (!compressed) return data;
  try {
    // No output limit, as in Django: the stream is authenticated, so only a key holder can make a bomb.
    return zlibDecompress(data);
  } catch (err) {
    throw new PayloadError('Payload is not a valid zlib stream', signedValue, 'decompress', { cause: err });
  }
}

/** Run the serializer over verified bytes; its failure is a PayloadError (stage deserialize). */
export function deserializePayload<T>(data: Uint8Array, serializer: Serializer<T>, signedValue: string): T {
  try {
    return serializer.loads(data);
  } catch (err) {
    throw new PayloadError('Payload could not be deserialized', signedValue, 'deserialize', { cause: err });
  }
}

/** Reverse of encodePayload, for text whose signature was already checked. Throws PayloadError. */
export function decodePayload<T>(payload: string, serializer: Serializer<T>, signedValue: string = payload): T {
  return deserializePayload(payloadBytes(payload, signedValue), serializer, signedValue);
}

export interface SignObjectOptions<T> {
  serializer?: Serializer<T>;
  compress?: boolean;
}

/** `signer.sign_object(obj, serializer, compress)`. With a TimestampSigner the timestamp is "now". */
export function signObject<T = PyValue>(signer: Signer, value: T, options: SignObjectOptions<T> = {}): string {
  const serializer = serializerOrJson(options.serializer);
  return signer.sign(encodePayload(value, serializer, options.compress ?? false));
}

/** `signer.unsign_object(signed, serializer)`; throws BadSignature or PayloadError. */
export function unsignObject<T = PyValue>(signer: Signer, signed: string, serializer?: Serializer<T>): T {
  return decodePayload(signer.unsign(signed), serializerOrJson(serializer), signed);
}

export interface DumpsOptions<T> {
  /** The secret (Django: SECRET_KEY). */
  key: BytesLike;
  /** Default `django.core.signing`. */
  salt?: string;
  serializer?: Serializer<T>;
  compress?: boolean;
  /** Default sha256. 'sha1' reproduces Django 3.2 with DEFAULT_HASHING_ALGORITHM = "sha1". */
  algorithm?: HashAlgorithm;
  /** Whole Unix seconds to sign with; default now. */
  timestamp?: number;
}

/** Django's `signing.dumps(obj, key, salt, serializer, compress)`. */
export function dumps<T = PyValue>(value: T, options: DumpsOptions<T>): string {
  const signer = new TimestampSigner({ key: options.key, salt: options.salt ?? DEFAULT_DUMPS_SALT, algorithm: options.algorithm });
  const serializer = serializerOrJson(options.serializer);
  const payload = encodePayload(value, serializer, options.compress ?? false);
  return options.timestamp === undefined ? signer.sign(payload) : signer.signAt(payload, options.timestamp);
}

export interface LoadsOptions<T> {
  key: BytesLike;
  salt?: string;
  serializer?: Serializer<T>;
  /** Seconds; when given, older values raise SignatureExpired. */
  maxAge?: number | null;
  /** Verification-only secrets (Django 4.1+). */
  fallbackKeys?: readonly BytesLike[];
  algorithm?: HashAlgorithm;
  /** Django 3.2: also accept sha1 signatures. */
  acceptLegacySha1?: boolean;
  /** Clock for the maxAge check (seconds). */
  now?: () => number;
}

/** Django's `signing.loads(s, key, salt, serializer, max_age, fallback_keys)`. */
export function loads<T = PyValue>(signed: string, options: LoadsOptions<T>): T {
  const signer = new TimestampSigner({
    key: options.key,
    salt: options.salt ?? DEFAULT_DUMPS_SALT,
    algorithm: options.algorithm,
    fallbackKeys: options.fallbackKeys,
    acceptLegacySha1: options.acceptLegacySha1,
    now: options.now,
  });
  const serializer = serializerOrJson(options.serializer);
  return decodePayload(signer.unsign(signed, options.maxAge), serializer, signed);
}
