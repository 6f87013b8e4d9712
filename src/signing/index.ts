/** `django.core.signing` and the parts of `django.utils.crypto` it uses. */
export { b64Decode, b64Encode, pythonB64Decode, standardB64Encode } from './base64.ts';
export { BASE62_ALPHABET, b62Decode, b62Encode } from './base62.ts';
export { constantTimeCompare, deriveHmacKey, saltedHmac, type BytesLike, type HashAlgorithm } from './crypto.ts';
export {
  DEFAULT_DUMPS_SALT,
  decodePayload,
  deserializePayload,
  dumps,
  encodePayload,
  loads,
  payloadBytes,
  signObject,
  unsignObject,
  type DumpsOptions,
  type LoadsOptions,
  type SignObjectOptions,
} from './dumps.ts';
export {
  Base62DecodeError,
  Base64DecodeError,
  BadSignature,
  InvalidAlgorithm,
  PayloadError,
  SignatureExpired,
  SigningError,
  UnsafeSeparator,
  type PayloadStage,
} from './errors.ts';
export { JSONSerializer, type Serializer } from './serializer.ts';
export { Signer, type SignerOptions } from './signer.ts';
export { TimestampSigner, type TimestampSignerOptions, type TimestampedValue } from './timestamp-signer.ts';
