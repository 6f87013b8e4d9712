/** Django's password hashers (`django.contrib.auth.hashers`) for 3.2, 4.2 and 5.2. */
export {
  checkPassword,
  identifyHasher,
  isPasswordUsable,
  makePassword,
  runDummyHash,
  verifyPassword,
  type MakePasswordOptions,
  type VerifyResult,
} from './passwords.ts';
export {
  DEFAULT_ARGON2_HASH_LENGTH,
  DEFAULT_PASSWORD_HASHERS,
  DJANGO_VERSIONS,
  PBKDF2_ITERATIONS,
  SCRYPT_PARALLELISM,
  getHasher,
  getHashers,
  hasherForPath,
  type DjangoVersion,
  type PasswordHasherConfig,
} from './registry.ts';
export { BasePasswordHasher, type DecodedPassword, type PasswordHasher } from './base.ts';
export { PBKDF2PasswordHasher, PBKDF2SHA1PasswordHasher, type DecodedPBKDF2, type PBKDF2Options } from './pbkdf2.ts';
export {
  Argon2PasswordHasher,
  Argon2Type,
  extractArgon2Parameters,
  type Argon2Options,
  type Argon2Parameters,
  type DecodedArgon2,
} from './argon2.ts';
export { BCryptPasswordHasher, BCryptSHA256PasswordHasher, type BCryptOptions, type DecodedBCrypt } from './bcrypt.ts';
export { ScryptPasswordHasher, type DecodedScrypt, type ScryptOptions } from './scrypt.ts';
export { MD5PasswordHasher, UnsaltedMD5PasswordHasher, type DecodedSaltedDigest } from './md5.ts';
export { SHA1PasswordHasher, UnsaltedSHA1PasswordHasher } from './sha1.ts';
export {
  RANDOM_STRING_CHARS,
  UNUSABLE_PASSWORD_PREFIX,
  UNUSABLE_PASSWORD_SUFFIX_LENGTH,
  constantTimeCompare,
  getRandomString,
  mustUpdateSalt,
} from './common.ts';
export {
  HasherConfigError,
  InvalidPasswordError,
  InvalidSaltError,
  MalformedHashError,
  PasswordHasherError,
  UnknownHasherError,
} from './errors.ts';
