/**
 * The errors of `django.core.signing` (and the few `ValueError`s it raises), as one small hierarchy.
 *
 *   SigningError                 root: anything that went wrong turning a signed string back into a value
 *   ├── BadSignature             the signature is missing or does not match (Django's BadSignature)
 *   │   └── SignatureExpired     valid signature, but older than max_age (Django's SignatureExpired)
 *   └── PayloadError             valid signature, but the payload could not be decoded: bad base62
 *                                timestamp, bad base64, bad zlib stream, or the serializer failed.
 *                                Django lets the library's own exception escape here (ValueError,
 *                                binascii.Error, zlib.error, JSONDecodeError); we wrap it as `cause`
 *                                so callers can still tell "tampered" from "garbled".
 *
 * Configuration mistakes (an unknown hash algorithm, an unsafe separator) are not signing failures:
 * they are thrown at construction time as InvalidAlgorithm / UnsafeSeparator.
 * Low-level codec failures (Base64DecodeError, Base62DecodeError) are what b64/b62 decoding throws on
 * its own, mirroring Python's binascii.Error / ValueError.
 */

export class SigningError extends Error {
  /** The signed (or partially unsigned) string that failed. Never a secret. */
  readonly value: string;
  constructor(message: string, value: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.value = value;
  }
}

/** Signature does not match (Django: `django.core.signing.BadSignature`). */
export class BadSignature extends SigningError {}

/** Signature timestamp is older than the required max_age (Django: `SignatureExpired`). */
export class SignatureExpired extends BadSignature {
  constructor(
    message: string,
    value: string,
    /** Seconds between signing and now, as Django computes it (`time.time() - timestamp`). */
    readonly age: number,
    readonly maxAge: number,
  ) {
    super(message, value);
  }
}

export type PayloadStage = 'timestamp' | 'base64' | 'decompress' | 'deserialize';

/** The signature was valid but what it protects could not be decoded; `cause` is the underlying error. */
export class PayloadError extends SigningError {
  constructor(
    message: string,
    value: string,
    readonly stage: PayloadStage,
    options?: ErrorOptions,
  ) {
    super(message, value, options);
  }
}

/** Django's `django.utils.crypto.InvalidAlgorithm` (a ValueError): the name is not a hashlib algorithm. */
export class InvalidAlgorithm extends Error {
  constructor(
    message: string,
    readonly algorithm: string,
  ) {
    super(message);
    this.name = 'InvalidAlgorithm';
  }
}

/** Django's `ValueError('Unsafe Signer separator: ...')`. */
export class UnsafeSeparator extends Error {
  constructor(
    message: string,
    readonly separator: string,
  ) {
    super(message);
    this.name = 'UnsafeSeparator';
  }
}

/** Python's `binascii.Error` from base64 decoding (impossible length, bad padding, non-ASCII input). */
export class Base64DecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Base64DecodeError';
  }
}

/** The `ValueError` Django's base62 decoder raises for a character outside the alphabet (or empty input). */
export class Base62DecodeError extends Error {
  constructor(
    message: string,
    readonly input: string,
  ) {
    super(message);
    this.name = 'Base62DecodeError';
  }
}
