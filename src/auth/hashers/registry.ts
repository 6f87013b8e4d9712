/**
 * PASSWORD_HASHERS: which hasher classes a Django version has, their work factors in that version,
 * Django's default list, and the lookups Django does over the configured list (`get_hashers`,
 * `get_hashers_by_algorithm`, `get_hasher`). Only configured hashers can be found, exactly as in
 * Django: a hash whose algorithm is not listed is unknown, however well formed.
 */
import { Argon2PasswordHasher } from './argon2.ts';
import type { PasswordHasher } from './base.ts';
import { BCryptPasswordHasher, BCryptSHA256PasswordHasher } from './bcrypt.ts';
import { HasherConfigError, UnknownHasherError } from './errors.ts';
import { MD5PasswordHasher, UnsaltedMD5PasswordHasher } from './md5.ts';
import { PBKDF2PasswordHasher, PBKDF2SHA1PasswordHasher } from './pbkdf2.ts';
import { ScryptPasswordHasher } from './scrypt.ts';
import { SHA1PasswordHasher, UnsaltedSHA1PasswordHasher } from './sha1.ts';

export type DjangoVersion = '3.2' | '4.2' | '5.2';
export const DJANGO_VERSIONS: readonly DjangoVersion[] = ['3.2', '4.2', '5.2'];

export interface PasswordHasherConfig {
  readonly djangoVersion: DjangoVersion;
  /**
   * Django's PASSWORD_HASHERS: dotted class paths (`django.contrib.auth.hashers.…`), or hasher
   * objects for a project's own subclasses (say a PBKDF2 hasher with other iterations). The first
   * entry is the default hasher. Defaults to the version's `global_settings` list.
   */
  readonly passwordHashers?: readonly (string | PasswordHasher)[];
  /**
   * argon2-cffi's DEFAULT_HASH_LENGTH in the Django deployment: 16 bytes with argon2-cffi ≤ 21.1.0
   * (Debian bookworm and trixie, hence the default), 32 with ≥ 21.2.0 (pip).
   */
  readonly argon2HashLength?: number;
}

/** PBKDF2 `iterations` per version (3.2 / 4.2 / 5.2 code). */
export const PBKDF2_ITERATIONS: Readonly<Record<DjangoVersion, number>> = {
  '3.2': 260_000,
  '4.2': 600_000,
  '5.2': 1_000_000,
};
/** Scrypt `parallelism` per version (the hasher exists from 4.0; p went from 1 to 5 in 5.1). */
export const SCRYPT_PARALLELISM: Readonly<Record<Exclude<DjangoVersion, '3.2'>, number>> = { '4.2': 1, '5.2': 5 };
export const DEFAULT_ARGON2_HASH_LENGTH = 16;

const PREFIX = 'django.contrib.auth.hashers.';

/** `global_settings.PASSWORD_HASHERS` of each version. */
export const DEFAULT_PASSWORD_HASHERS: Readonly<Record<DjangoVersion, readonly string[]>> = {
  '3.2': ['PBKDF2PasswordHasher', 'PBKDF2SHA1PasswordHasher', 'Argon2PasswordHasher', 'BCryptSHA256PasswordHasher'].map(
    (name) => PREFIX + name,
  ),
  '4.2': [
    'PBKDF2PasswordHasher',
    'PBKDF2SHA1PasswordHasher',
    'Argon2PasswordHasher',
    'BCryptSHA256PasswordHasher',
    'ScryptPasswordHasher',
  ].map((name) => PREFIX + name),
  '5.2': [
    'PBKDF2PasswordHasher',
    'PBKDF2SHA1PasswordHasher',
    'Argon2PasswordHasher',
    'BCryptSHA256PasswordHasher',
    'ScryptPasswordHasher',
  ].map((name) => PREFIX + name),
};

interface HasherClass {
  readonly versions: readonly DjangoVersion[];
  create(config: PasswordHasherConfig): PasswordHasher;
}

const ALL: readonly DjangoVersion[] = DJANGO_VERSIONS;
const UNTIL_4_2: readonly DjangoVersion[] = ['3.2', '4.2'];

/** The classes of `django.contrib.auth.hashers`, by name, with the versions that have them. */
const HASHER_CLASSES: ReadonlyMap<string, HasherClass> = new Map<string, HasherClass>([
  ['PBKDF2PasswordHasher', { versions: ALL, create: (c) => new PBKDF2PasswordHasher({ iterations: PBKDF2_ITERATIONS[c.djangoVersion] }) }],
  ['PBKDF2SHA1PasswordHasher', { versions: ALL, create: (c) => new PBKDF2SHA1PasswordHasher({ iterations: PBKDF2_ITERATIONS[c.djangoVersion] }) }],
  ['Argon2PasswordHasher', { versions: ALL, create: (c) => new Argon2PasswordHasher({ hashLength: c.argon2HashLength ?? DEFAULT_ARGON2_HASH_LENGTH }) }],
  ['BCryptSHA256PasswordHasher', { versions: ALL, create: () => new BCryptSHA256PasswordHasher() }],
  ['BCryptPasswordHasher', { versions: ALL, create: () => new BCryptPasswordHasher() }],
  [
    'ScryptPasswordHasher',
    {
      versions: ['4.2', '5.2'],
      create: (c) => new ScryptPasswordHasher({ parallelism: SCRYPT_PARALLELISM[c.djangoVersion as '4.2' | '5.2'] }),
    },
  ],
  ['MD5PasswordHasher', { versions: ALL, create: () => new MD5PasswordHasher() }],
  ['SHA1PasswordHasher', { versions: UNTIL_4_2, create: () => new SHA1PasswordHasher() }],
  ['UnsaltedSHA1PasswordHasher', { versions: UNTIL_4_2, create: () => new UnsaltedSHA1PasswordHasher() }],
  ['UnsaltedMD5PasswordHasher', { versions: UNTIL_4_2, create: () => new UnsaltedMD5PasswordHasher() }],
]);

/** The hasher a dotted path names in this version (Django's `import_string(path)()`). */
export function hasherForPath(path: string, config: PasswordHasherConfig): PasswordHasher {
  const name = path.startsWith(PREFIX) ? path.slice(PREFIX.length) : undefined;
  if (name === 'CryptPasswordHasher') {
    throw new HasherConfigError(path, `${path} (crypt(3)) is not supported by this port`, {
      djangoVersion: config.djangoVersion,
    });
  }
  const hasherClass = name === undefined ? undefined : HASHER_CLASSES.get(name);
  if (hasherClass === undefined) {
    throw new HasherConfigError(
      path,
      `PASSWORD_HASHERS entry '${path}' is not a Django hasher class; pass a hasher object for a custom one`,
      { djangoVersion: config.djangoVersion },
    );
  }
  if (!hasherClass.versions.includes(config.djangoVersion)) {
    throw new HasherConfigError(path, `${path} does not exist in Django ${config.djangoVersion}`, {
      djangoVersion: config.djangoVersion,
    });
  }
  return hasherClass.create(config);
}

interface ResolvedHashers {
  readonly list: readonly PasswordHasher[];
  readonly byAlgorithm: ReadonlyMap<string, PasswordHasher>;
}

// Hashers are immutable, so each config object is resolved once (Django's lru_cache on
// get_hashers). A config must not be mutated after first use; make a new one instead.
const resolved = new WeakMap<PasswordHasherConfig, ResolvedHashers>();

function resolve(config: PasswordHasherConfig): ResolvedHashers {
  let entry = resolved.get(config);
  if (entry === undefined) {
    const entries = config.passwordHashers ?? DEFAULT_PASSWORD_HASHERS[config.djangoVersion];
    const list = entries.map((item) => (typeof item === 'string' ? hasherForPath(item, config) : item));
    if (list.length === 0) throw new HasherConfigError('PASSWORD_HASHERS', 'PASSWORD_HASHERS is empty');
    // A later entry with the same algorithm wins, as in Django's dict comprehension.
    const byAlgorithm = new Map(list.map((hasher) => [hasher.algorithm, hasher] as const));
    entry = { list, byAlgorithm };
    resolved.set(config, entry);
  }
  return entry;
}

/** `get_hashers()`: the configured hashers, in order. */
export function getHashers(config: PasswordHasherConfig): readonly PasswordHasher[] {
  return resolve(config).list;
}

/** `get_hasher(algorithm)`: `'default'` is the first configured hasher; a hasher object is itself. */
export function getHasher(algorithm: string | PasswordHasher, config: PasswordHasherConfig): PasswordHasher {
  if (typeof algorithm !== 'string') return algorithm;
  const { list, byAlgorithm } = resolve(config);
  if (algorithm === 'default') return list[0] as PasswordHasher;
  const hasher = byAlgorithm.get(algorithm);
  if (hasher === undefined) throw new UnknownHasherError(algorithm);
  return hasher;
}
