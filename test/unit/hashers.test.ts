/**
 * Password hashers: the spec's Appendix A vectors (Django 3.2.25, 4.2.28 and 5.2.18 output) for
 * every hasher and version, and the behaviours of spec §9.5 taken from Django's own tests.
 * The differential suite (test/integration/hashers-django.test.ts) compares with live Django.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import {
  Argon2PasswordHasher,
  BCryptPasswordHasher,
  BCryptSHA256PasswordHasher,
  checkPassword,
  constantTimeCompare,
  DEFAULT_PASSWORD_HASHERS,
  extractArgon2Parameters,
  getHasher,
  getHashers,
  HasherConfigError,
  identifyHasher,
  InvalidPasswordError,
  InvalidSaltError,
  isPasswordUsable,
  makePassword,
  MalformedHashError,
  MD5PasswordHasher,
  PBKDF2PasswordHasher,
  PBKDF2SHA1PasswordHasher,
  runDummyHash,
  ScryptPasswordHasher,
  SHA1PasswordHasher,
  UnknownHasherError,
  UnsaltedMD5PasswordHasher,
  UnsaltedSHA1PasswordHasher,
  verifyPassword,
  type DjangoVersion,
  type PasswordHasher,
  type PasswordHasherConfig,
} from '../../src/auth/hashers/index.ts';
import { parsePythonInt, pySplit, pythonB64DecodedLength } from '../../src/auth/hashers/python.ts';

const P = 'django.contrib.auth.hashers.';
const LEGACY = ['MD5PasswordHasher', 'SHA1PasswordHasher', 'UnsaltedMD5PasswordHasher', 'UnsaltedSHA1PasswordHasher'];

/** The version's defaults plus the other hashers it has, as Django's tests configure them. */
function allHashers(version: DjangoVersion): PasswordHasherConfig {
  const extra = version === '5.2' ? ['BCryptPasswordHasher', 'MD5PasswordHasher'] : ['BCryptPasswordHasher', ...LEGACY];
  return { djangoVersion: version, passwordHashers: [...DEFAULT_PASSWORD_HASHERS[version], ...extra.map((n) => P + n)] };
}

const C32 = allHashers('3.2');
const C42 = allHashers('4.2');
const C52 = allHashers('5.2');
const BY_VERSION: Record<DjangoVersion, PasswordHasherConfig> = { '3.2': C32, '4.2': C42, '5.2': C52 };
const SALT = 'seasalt0123456789ABCDE';

async function rejectsWith<E extends Error>(promise: Promise<unknown>, type: new (...args: never[]) => E, message?: RegExp): Promise<E> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof type, `expected ${type.name}, got ${String(caught)}`);
  if (message) assert.match(caught.message, message);
  return caught;
}

describe('Appendix A: make_password("password", "seasalt0123456789ABCDE", <hasher>)', () => {
  const vectors: Array<[DjangoVersion, string, string]> = [
    ['3.2', 'pbkdf2_sha256', 'pbkdf2_sha256$260000$seasalt0123456789ABCDE$8x2GGGg8q+6Bd+dLkS8PAQqL1tFc1U5W/AjGdtlredw='],
    ['4.2', 'pbkdf2_sha256', 'pbkdf2_sha256$600000$seasalt0123456789ABCDE$tz4KdGXqSDlIYhgJF7ajWbtpQVIFRZjpgIIJye+lauU='],
    ['5.2', 'pbkdf2_sha256', 'pbkdf2_sha256$1000000$seasalt0123456789ABCDE$xTWbbC2K3wR1oUV8hNthpF96+y3djA7swFapQOSQFUA='],
    ['3.2', 'pbkdf2_sha1', 'pbkdf2_sha1$260000$seasalt0123456789ABCDE$3bF1hZ3VnO/bMnc1V4d1osMq2sg='],
    ['4.2', 'pbkdf2_sha1', 'pbkdf2_sha1$600000$seasalt0123456789ABCDE$qBbW2a/cVbDK+nJy+hcEIpg2WGY='],
    ['5.2', 'pbkdf2_sha1', 'pbkdf2_sha1$1000000$seasalt0123456789ABCDE$rOeLxZQKUHi8g/z6fbVOwn0sIU8='],
    [
      '4.2',
      'scrypt',
      'scrypt$16384$seasalt0123456789ABCDE$8$1$GalyjBDFhAlztoztamtTwPxRLeK3OwDQZn0AAkX1AbGt36Ne1E835W53SpTIa/VNhH0aTBEWNMDcwU5yCTL/Eg==',
    ],
    [
      '5.2',
      'scrypt',
      'scrypt$16384$seasalt0123456789ABCDE$8$5$1gr0x6j/4cO7txsMd+nB0SwMccYSII5pI7DBCZimoEsPGv9JjW4RYywBlaFqJeXf+EsYe31vVishbYDP2BfdEg==',
    ],
    ['3.2', 'md5', 'md5$seasalt0123456789ABCDE$2095c5d0468138dfd765d7ffcdd5aece'],
    ['4.2', 'md5', 'md5$seasalt0123456789ABCDE$2095c5d0468138dfd765d7ffcdd5aece'],
    ['5.2', 'md5', 'md5$seasalt0123456789ABCDE$2095c5d0468138dfd765d7ffcdd5aece'],
    ['3.2', 'sha1', 'sha1$seasalt0123456789ABCDE$c1ffad6ab338f1cc530a8e51521dccaca086581b'],
    ['4.2', 'sha1', 'sha1$seasalt0123456789ABCDE$c1ffad6ab338f1cc530a8e51521dccaca086581b'],
    ['3.2', 'argon2', 'argon2$argon2id$v=19$m=102400,t=2,p=8$c2Vhc2FsdDAxMjM0NTY3ODlBQkNERQ$yfGNeSsEuVTGgkBy8hyNew'],
  ];
  for (const [version, hasher, expected] of vectors) {
    test(`${version} ${hasher}`, async () => {
      const config = BY_VERSION[version];
      assert.equal(await makePassword('password', config, { salt: SALT, hasher }), expected);
      // A wrong password at full cost adds nothing here: §9.5 below and the differential suite do that.
      assert.equal(await checkPassword('password', expected, config, undefined, hasher), true);
    });
  }

  test('argon2 with the same salt is the same in 4.2 and 5.2 (the class parameters never changed)', async () => {
    const expected = 'argon2$argon2id$v=19$m=102400,t=2,p=8$c2Vhc2FsdDAxMjM0NTY3ODlBQkNERQ$yfGNeSsEuVTGgkBy8hyNew';
    assert.equal(await makePassword('password', C52, { salt: SALT, hasher: 'argon2' }), expected);
    // argon2-cffi >= 21.2.0 writes 32 bytes: the same inputs, a longer hash.
    const long = await makePassword('password', { ...C42, argon2HashLength: 32 }, { salt: SALT, hasher: 'argon2' });
    assert.match(long, /^argon2\$argon2id\$v=19\$m=102400,t=2,p=8\$c2Vhc2FsdDAxMjM0NTY3ODlBQkNERQ\$[A-Za-z0-9+/]{43}$/);
  });

  test('bcrypt_sha256 and bcrypt with the bcrypt salt $2b$12$abcdefghijklmnopqrstuu', async () => {
    const salt = '$2b$12$abcdefghijklmnopqrstuu';
    const sha = 'bcrypt_sha256$$2b$12$abcdefghijklmnopqrstuugkQA0GCBGUEqAtJsvVqqVkMMm/ez2qi';
    const plain = 'bcrypt$$2b$12$abcdefghijklmnopqrstuutwZ1IOTtu3SsEBT5lI/LFncP31tIybm';
    const [madeSha, madePlain] = await Promise.all([
      makePassword('password', C32, { salt, hasher: 'bcrypt_sha256' }),
      makePassword('password', C32, { salt, hasher: 'bcrypt' }),
    ]);
    assert.equal(madeSha, sha);
    assert.equal(madePlain, plain);
  });

  test('unsalted md5 and sha1 (3.2, 4.2), gone in 5.2', async () => {
    for (const config of [C32, C42]) {
      assert.equal(await makePassword('password', config, { hasher: 'unsalted_md5' }), '5f4dcc3b5aa765d61d8327deb882cf99');
      assert.equal(await makePassword('password', config, { hasher: 'unsalted_sha1' }), 'sha1$$5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8');
      assert.equal(await checkPassword('password', '5f4dcc3b5aa765d61d8327deb882cf99', config), true);
      assert.equal(await checkPassword('password', 'md5$$5f4dcc3b5aa765d61d8327deb882cf99', config), true);
      assert.equal(await checkPassword('password', 'sha1$$5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8', config), true);
    }
    const md5First: PasswordHasherConfig = { djangoVersion: '5.2', passwordHashers: [P + 'MD5PasswordHasher'] };
    assert.equal(await checkPassword('password', '5f4dcc3b5aa765d61d8327deb882cf99', md5First), false);
    assert.throws(() => getHashers({ djangoVersion: '5.2', passwordHashers: [P + 'UnsaltedMD5PasswordHasher'] }), HasherConfigError);
  });
});

describe('§9.5 behaviours from Django’s own hasher tests', () => {
  test('70: make_password("lètmein") is pbkdf2_sha256 and verifies; a wrong one and " " for "" do not', async () => {
    const encoded = await makePassword('lètmein', C32);
    assert.match(encoded, /^pbkdf2_sha256\$260000\$[a-zA-Z0-9]{22}\$/);
    assert.equal(isPasswordUsable(encoded), true);
    assert.equal(await checkPassword('lètmein', encoded, C32), true);
    assert.equal(await checkPassword('lètmeinz', encoded, C32), false);
    const empty = await makePassword('', C32);
    assert.equal(await checkPassword('', empty, C32), true);
    assert.equal(await checkPassword(' ', empty, C32), false);
  });

  test('71: a password that is not a string is refused (Django: TypeError)', async () => {
    await rejectsWith(makePassword(1 as unknown as string, C32), InvalidPasswordError, /Password must be a string, got number\./);
  });

  test('72: fixed vectors for "lètmein" and "seasalt"', async () => {
    const cheap = { salt: 'seasalt' };
    assert.equal(
      await makePassword('lètmein', C32, cheap),
      'pbkdf2_sha256$260000$seasalt$YlZ2Vggtqdc61YjArZuoApoBh9JNGYoDRBUGu6tcJQo=',
    );
    assert.equal(
      await makePassword('lètmein', C42, cheap),
      'pbkdf2_sha256$600000$seasalt$OAXyhAQ/4ZDA9V5RMExt3C1OwQdUpLZ99vm1McFlLRA=',
    );
    assert.equal(
      await makePassword('lètmein', C52, cheap),
      'pbkdf2_sha256$1000000$seasalt$r1uLUxoxpP2Ued/qxvmje7UH9PUJBkRrvf9gGPL7Cps=',
    );
    assert.equal(await makePassword('lètmein', C32, { ...cheap, hasher: 'md5' }), 'md5$seasalt$3f86d0d3d465b7b458c231bf3555c0e3');
    assert.equal(await makePassword('lètmein', C42, { ...cheap, hasher: 'sha1' }), 'sha1$seasalt$cff36ea83f5706ce9aa7454e63e431fc726b2dc8');
    assert.equal(await makePassword('lètmein', C32, { hasher: 'unsalted_md5' }), '88a434c88cca4e900f7874cd98123f43');
    assert.equal(await checkPassword('lètmein', 'md5$$88a434c88cca4e900f7874cd98123f43', C32), true);
    assert.equal(
      await makePassword('lètmein', C42, { ...cheap, hasher: 'scrypt' }),
      'scrypt$16384$seasalt$8$1$Qj3+9PPyRjSJIebHnG81TMjsqtaIGxNQG/aEB/NYafTJ7tibgfYz71m0ldQESkXFRkdVCBhhY8mx7rQwite/Pw==',
    );
  });

  test('73: low-level PBKDF2 vectors with the salt "seasalt2"', async () => {
    const sha256 = new PBKDF2PasswordHasher({ iterations: 600000 });
    const sha1 = new PBKDF2SHA1PasswordHasher({ iterations: 600000 });
    assert.equal(await sha256.encode('lètmein', 'seasalt2'), 'pbkdf2_sha256$600000$seasalt2$OSllgFdJjYQjb0RfMzrx8u0XYl4Fkt+wKpI1yq4lZlo=');
    assert.equal(await sha1.encode('lètmein', 'seasalt2'), 'pbkdf2_sha1$600000$seasalt2$2CLsaL1MZhq6JOG6QOHtVbiopHE=');
    assert.equal(await sha256.encode('lètmein', 'seasalt2', 260000), 'pbkdf2_sha256$260000$seasalt2$UCGMhrOoaq1ghQPArIBK5RkI6IZLRxlIwHWA1dMy7y8=');
    assert.equal(await sha1.encode('lètmein', 'seasalt2', 260000), 'pbkdf2_sha1$260000$seasalt2$wAibXvW6jgvatCdONi6SMJ6q7mI=');
  });

  test('74: a weak (pre-3.2, 11-character) salt must be updated; a generated salt need not', async () => {
    const cases: Array<[PasswordHasher, (salt: string) => Promise<string>]> = [
      [new PBKDF2PasswordHasher({ iterations: 1000 }), (salt) => new PBKDF2PasswordHasher({ iterations: 1000 }).encode('lètmein', salt)],
      [new MD5PasswordHasher(), (salt) => new MD5PasswordHasher().encode('lètmein', salt)],
      [new SHA1PasswordHasher(), (salt) => new SHA1PasswordHasher().encode('lètmein', salt)],
    ];
    const argon2 = new Argon2PasswordHasher({ hashLength: 16, timeCost: 1, memoryCost: 64, parallelism: 1 });
    cases.push([argon2, (salt) => argon2.encode('lètmein', salt)]);
    for (const [hasher, encode] of cases) {
      assert.equal(hasher.mustUpdate(await encode('iodizedsalt')), true, `${hasher.algorithm} weak salt`);
      assert.equal(hasher.mustUpdate(await encode(hasher.salt())), false, `${hasher.algorithm} generated salt`);
    }
  });

  test('75: bcrypt_sha256 is not truncated at 72 bytes; plain bcrypt is', async () => {
    const sha = new BCryptSHA256PasswordHasher({ rounds: 4 });
    const plain = new BCryptPasswordHasher({ rounds: 4 });
    const long = 'x'.repeat(100);
    const encodedSha = await sha.encode(long, sha.salt());
    assert.equal(await sha.verify(long, encodedSha), true);
    assert.equal(await sha.verify(long.slice(0, 72), encodedSha), false);
    const encodedPlain = await plain.encode(long, plain.salt());
    assert.equal(await plain.verify(long.slice(0, 72), encodedPlain), true);
    assert.equal(await plain.verify(long.slice(0, 71), encodedPlain), false);
    // Multi-byte characters: the cut is at 72 UTF-8 bytes, not characters.
    const euros = '€'.repeat(30); // 90 bytes
    const encodedEuros = await plain.encode(euros, plain.salt());
    assert.equal(await plain.verify('€'.repeat(24) + 'zzz', encodedEuros), true);
    assert.equal(await plain.verify('€'.repeat(23), encodedEuros), false);
  });

  test('75b: plain bcrypt refuses a NUL byte like pyca/bcrypt; bcrypt_sha256 hashes it', async () => {
    const plain = new BCryptPasswordHasher({ rounds: 4 });
    await rejectsWith(plain.encode('a\0b', plain.salt()), InvalidPasswordError, /NUL/);
    const sha = new BCryptSHA256PasswordHasher({ rounds: 4 });
    assert.equal(await sha.verify('a\0b', await sha.encode('a\0b', sha.salt())), true);
  });

  test('76: unusable passwords', async () => {
    const first = await makePassword(null, C32);
    const second = await makePassword(null, C32);
    assert.equal(first.length, 41);
    assert.match(first, /^![a-zA-Z0-9]{40}$/);
    assert.notEqual(first, second);
    assert.equal(isPasswordUsable(first), false);
    for (const candidate of [null, first, '!', '', 'lètmein']) {
      assert.equal(await checkPassword(candidate, first, C32), false, String(candidate));
    }
    assert.throws(() => identifyHasher(first, C32), (error: unknown) => {
      assert.ok(error instanceof UnknownHasherError);
      assert.match(error.message, /^Unknown password hashing algorith/);
      return true;
    });
  });

  test('77: is_password_usable is true for junk, "" and None', () => {
    assert.equal(isPasswordUsable('lètmein_badencoded'), true);
    assert.equal(isPasswordUsable(''), true);
    assert.equal(isPasswordUsable(null), true);
  });

  test('78: check_password(None, valid_hash) is false', async () => {
    const encoded = await makePassword('lètmein', C32, { hasher: 'md5' });
    assert.equal(await checkPassword(null, encoded, C32), false);
  });

  test('79: an unknown algorithm in make_password or identify_hasher names itself and PASSWORD_HASHERS', async () => {
    const message =
      "Unknown password hashing algorithm 'lolcat'. Did you specify it in the PASSWORD_HASHERS setting?";
    await rejectsWith(makePassword('lètmein', C32, { hasher: 'lolcat' }), UnknownHasherError, new RegExp(`^${message.replace(/[.?()]/g, '\\$&')}$`));
    assert.throws(() => identifyHasher('lolcat$salt$hash', C32), { name: 'UnknownHasherError', message });
    // A format this version has, but that is not configured, is unknown too.
    assert.throws(() => identifyHasher('md5$salt$hash', { djangoVersion: '3.2' }), UnknownHasherError);
  });

  describe('80: re-hashing on login', () => {
    /** A PBKDF2 hasher that counts its hardening runs (cheap iterations keep the test fast). */
    class CountingPBKDF2 extends PBKDF2PasswordHasher {
      hardened = 0;
      override async hardenRuntime(password: string, encoded: string): Promise<void> {
        this.hardened++;
        await super.hardenRuntime(password, encoded);
      }
    }
    const setup = (): { preferred: CountingPBKDF2; config: PasswordHasherConfig } => {
      const preferred = new CountingPBKDF2({ iterations: 2000 });
      return { preferred, config: { djangoVersion: '4.2', passwordHashers: [preferred, new MD5PasswordHasher()] } };
    };

    test('a correct password under another hasher or iteration count calls the setter; a wrong one does not', async () => {
      const { config } = setup();
      const calls: string[] = [];
      const setter = async (raw: string): Promise<void> => void calls.push(raw);
      const md5 = await makePassword('lètmein', config, { hasher: 'md5' });
      const fewer = await new PBKDF2PasswordHasher({ iterations: 1000 }).encode('lètmein', 'a'.repeat(22));
      const current = await makePassword('lètmein', config);
      assert.equal(await checkPassword('lètmein', md5, config, setter), true);
      assert.equal(await checkPassword('lètmein', fewer, config, setter), true);
      assert.equal(await checkPassword('lètmein', current, config, setter), true);
      assert.equal(await checkPassword('wrong', md5, config, setter), false);
      assert.equal(await checkPassword('wrong', fewer, config, setter), false);
      assert.deepEqual(calls, ['lètmein', 'lètmein']);
      // More iterations than the default is "different" too (Django compares with !=).
      const more = await new PBKDF2PasswordHasher({ iterations: 3000 }).encode('lètmein', 'a'.repeat(22));
      assert.deepEqual(await verifyPassword('lètmein', more, config), { isCorrect: true, mustUpdate: true });
    });

    test('a wrong password against fewer iterations hardens once; other cases never', async () => {
      const { preferred, config } = setup();
      const fewer = await new PBKDF2PasswordHasher({ iterations: 1000 }).encode('lètmein', 'a'.repeat(22));
      assert.equal(await checkPassword('wrong', fewer, config), false);
      assert.equal(preferred.hardened, 1);
      assert.equal(await checkPassword('lètmein', fewer, config), true);
      assert.equal(await checkPassword('wrong', await makePassword('lètmein', config, { hasher: 'md5' }), config), false);
      assert.equal(await checkPassword('wrong', await makePassword('lètmein', config), config), false);
      assert.equal(preferred.hardened, 1);
    });

    test('bcrypt hardening runs 2^(12 - stored) - 1 extra hashes', async () => {
      let encodes = 0;
      class CountingBCrypt extends BCryptSHA256PasswordHasher {
        override async encode(password: string, salt: string): Promise<string> {
          encodes++;
          return super.encode(password, salt);
        }
      }
      const hasher = new CountingBCrypt({ rounds: 6 });
      const stored = await new BCryptSHA256PasswordHasher({ rounds: 4 }).encode('lètmein', new BCryptSHA256PasswordHasher({ rounds: 4 }).salt());
      const config: PasswordHasherConfig = { djangoVersion: '4.2', passwordHashers: [hasher] };
      assert.equal(await checkPassword('wrong', stored, config), false);
      assert.equal(encodes, 1 + (2 ** (6 - 4) - 1));
    });
  });

  test('81: no usable password or no known hasher: the default hasher runs once, nothing is verified', async () => {
    let encodes = 0;
    let verifies = 0;
    class Spy extends MD5PasswordHasher {
      override async encode(password: string, salt: string): Promise<string> {
        encodes++;
        return super.encode(password, salt);
      }
      override async verify(password: string, encoded: string): Promise<boolean> {
        verifies++;
        return super.verify(password, encoded);
      }
    }
    const config: PasswordHasherConfig = { djangoVersion: '4.2', passwordHashers: [new Spy()] };
    const valid = await new MD5PasswordHasher().encode('lètmein', 'a'.repeat(22));
    for (const [password, encoded] of [
      [null, valid],
      ['lètmein', '!unusable'],
      ['lètmein', 'lolcat$salt$hash'],
      ['lètmein', null],
    ] as const) {
      encodes = 0;
      verifies = 0;
      assert.equal(await checkPassword(password, encoded, config), false);
      assert.deepEqual([encodes, verifies], [1, 0], `${password} / ${encoded}`);
    }
  });

  test('81b: runDummyHash is one run of the default hasher (ModelBackend for an unknown user)', async () => {
    let encodes = 0;
    class Spy extends MD5PasswordHasher {
      override async encode(password: string, salt: string): Promise<string> {
        encodes++;
        return super.encode(password, salt);
      }
    }
    await runDummyHash('lètmein', { djangoVersion: '3.2', passwordHashers: [new Spy()] });
    assert.equal(encodes, 1);
  });

  test('82: encode checks its arguments (salt missing or with $)', async () => {
    const hashers: PasswordHasher[] = [
      new PBKDF2PasswordHasher({ iterations: 1000 }),
      new MD5PasswordHasher(),
      new SHA1PasswordHasher(),
      new ScryptPasswordHasher({ parallelism: 1, workFactor: 16 }),
    ];
    for (const hasher of hashers) {
      for (const salt of ['', 'sea$salt']) {
        await rejectsWith(hasher.encode('lètmein', salt), InvalidSaltError, /^salt must be provided and cannot contain \$\.$/);
      }
    }
    await rejectsWith(new UnsaltedMD5PasswordHasher().encode('x', 'salt'), InvalidSaltError, /^salt must be empty\.$/);
    await rejectsWith(new UnsaltedSHA1PasswordHasher().encode('x', 'salt'), InvalidSaltError, /^salt must be empty\.$/);
  });

  describe('83: argon2', () => {
    const config: PasswordHasherConfig = { djangoVersion: '3.2', passwordHashers: [P + 'Argon2PasswordHasher'] };
    const hasher = getHasher('argon2', config);

    test('a legacy argon2i hash without v= verifies and must be updated', async () => {
      const legacy =
        'argon2$argon2i$m=8,t=1,p=1$c29tZXNhbHQ$gwQOXSNhxiOxPOA0+PY10P9QFO4NAYysnqRt1GSQLE55m+2GYDt9FEjPMHhP2Cuf0nOEXXMocVrsJAtNSsKyfg';
      assert.deepEqual(await verifyPassword('secret', legacy, config), { isCorrect: true, mustUpdate: true });
      assert.equal(await checkPassword('wrong', legacy, config), false);
      assert.equal(extractArgon2Parameters(legacy.slice(6))?.version, 18); // argon2-cffi's reading
    });

    test('argon2i v=19 verifies; argon2id at the defaults with a 12-byte salt verifies and must be updated', async () => {
      assert.equal(await checkPassword('secret', 'argon2$argon2i$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$YC9+jJCrQhs5R6db7LlN8Q', config), true);
      const id = 'argon2$argon2id$v=19$m=102400,t=2,p=8$Y041dExhNkljRUUy$TMa6A8fPJhCAUXRhJXCXdw';
      assert.deepEqual(await verifyPassword('secret', id, config), { isCorrect: true, mustUpdate: true });
    });

    test('changing t, m, p, the variant, the version or the hash length triggers an upgrade', async () => {
      const salt = 'c2Vhc2FsdDAxMjM0NTY3ODlBQkNERQ'; // 22 characters: no salt upgrade
      const hash16 = 'yfGNeSsEuVTGgkBy8hyNew';
      const at = (params: string, hash = hash16, variant = 'argon2id$v=19'): string => `argon2$${variant}$${params}$${salt}$${hash}`;
      assert.equal(hasher.mustUpdate(at('m=102400,t=2,p=8')), false);
      assert.equal(hasher.mustUpdate(at('m=102400,t=3,p=8')), true);
      assert.equal(hasher.mustUpdate(at('m=51200,t=2,p=8')), true);
      assert.equal(hasher.mustUpdate(at('m=102400,t=2,p=4')), true);
      assert.equal(hasher.mustUpdate(at('m=102400,t=2,p=8', hash16, 'argon2i$v=19')), true);
      assert.equal(hasher.mustUpdate(at('m=102400,t=2,p=8', hash16, 'argon2id$v=16')), true);
      assert.equal(hasher.mustUpdate(at('m=102400,t=2,p=8', 'A'.repeat(43))), true); // 32 bytes vs 16
      const pip = getHasher('argon2', { ...config, argon2HashLength: 32 });
      assert.equal(pip.mustUpdate(at('m=102400,t=2,p=8', 'A'.repeat(43))), false);
    });

    test('garbage argon2 strings: libargon2 failures are False, argon2-cffi parse failures raise', async () => {
      const good = await new Argon2PasswordHasher({ hashLength: 16, timeCost: 1, memoryCost: 64, parallelism: 1 }).encode('secret', 'saltsaltsalt');
      const low = new Argon2PasswordHasher({ hashLength: 16 });
      assert.equal(await low.verify('secret', good), true);
      assert.equal(await low.verify('secret', good.replace('m=64', 'm=064')), false); // C decoder: no leading zeros
      assert.equal(await low.verify('secret', good + 'A'), false);
      await rejectsWith(low.verify('secret', good.replace('argon2id', 'argon2x')), MalformedHashError);
      assert.throws(() => low.mustUpdate(good.replace('$v=19', '$v=19$x=1')), MalformedHashError);
    });
  });

  test('84: scrypt decode, and an upgrade when N, r or p change', async () => {
    const hasher = getHasher('scrypt', C42) as ScryptPasswordHasher;
    const encoded = 'scrypt$16384$seasalt$8$1$Qj3+9PPyRjSJIebHnG81TMjsqtaIGxNQG/aEB/NYafTJ7tibgfYz71m0ldQESkXFRkdVCBhhY8mx7rQwite/Pw==';
    const decoded = hasher.decode(encoded);
    assert.deepEqual(
      { blockSize: decoded.blockSize, parallelism: decoded.parallelism, salt: decoded.salt, workFactor: decoded.workFactor },
      { blockSize: 8, parallelism: 1, salt: 'seasalt', workFactor: 16384 },
    );
    assert.equal(hasher.mustUpdate(encoded), false);
    assert.equal(getHasher('scrypt', C52).mustUpdate(encoded), true); // 5.2 wants p=5
    for (const changed of [{ workFactor: 2 ** 11 }, { blockSize: 10 }, { parallelism: 2 }]) {
      const other = new ScryptPasswordHasher({ parallelism: 1, ...changed });
      const made = await other.encode('lètmein', 'seasalt');
      assert.equal(await hasher.verify('lètmein', made), true);
      assert.equal(hasher.mustUpdate(made), true, JSON.stringify(changed));
    }
    // Past OpenSSL's 32 MiB default memory limit Django raises, and so do we.
    await rejectsWith(hasher.verify('x', 'scrypt$32768$seasalt$8$1$AAAA'), MalformedHashError);
  });
});

describe('identify_hasher and the registry', () => {
  test('the shapes of legacy hashes', () => {
    assert.equal(identifyHasher('5f4dcc3b5aa765d61d8327deb882cf99', C32).algorithm, 'unsalted_md5');
    assert.equal(identifyHasher('x'.repeat(32), C32).algorithm, 'unsalted_md5'); // no hex check
    assert.equal(identifyHasher('md5$$' + 'x'.repeat(32), C32).algorithm, 'unsalted_md5');
    assert.equal(identifyHasher('sha1$$' + 'x'.repeat(40), C32).algorithm, 'unsalted_sha1');
    assert.equal(identifyHasher('sha1$$' + 'x'.repeat(39), C32).algorithm, 'sha1');
    assert.equal(identifyHasher('md5$$' + 'x'.repeat(31), C32).algorithm, 'md5');
    // Python counts code points: 31 characters and one astral one are 32.
    assert.equal(identifyHasher('x'.repeat(31) + '😀', C32).algorithm, 'unsalted_md5');
    assert.throws(() => identifyHasher('x'.repeat(30) + '😀', C32), UnknownHasherError);
  });

  test('default lists, work factors and availability per version', () => {
    const algorithms = (version: DjangoVersion): string[] => getHashers({ djangoVersion: version }).map((h) => h.algorithm);
    assert.deepEqual(algorithms('3.2'), ['pbkdf2_sha256', 'pbkdf2_sha1', 'argon2', 'bcrypt_sha256']);
    assert.deepEqual(algorithms('4.2'), ['pbkdf2_sha256', 'pbkdf2_sha1', 'argon2', 'bcrypt_sha256', 'scrypt']);
    assert.deepEqual(algorithms('5.2'), ['pbkdf2_sha256', 'pbkdf2_sha1', 'argon2', 'bcrypt_sha256', 'scrypt']);
    const iterations = (version: DjangoVersion): number => (getHasher('default', { djangoVersion: version }) as PBKDF2PasswordHasher).iterations;
    assert.deepEqual([iterations('3.2'), iterations('4.2'), iterations('5.2')], [260000, 600000, 1000000]);
    assert.equal((getHasher('scrypt', { djangoVersion: '4.2' }) as ScryptPasswordHasher).parallelism, 1);
    assert.equal((getHasher('scrypt', { djangoVersion: '5.2' }) as ScryptPasswordHasher).parallelism, 5);
    assert.equal((getHasher('argon2', { djangoVersion: '5.2' }) as Argon2PasswordHasher).hashLength, 16);
    const refused = (version: DjangoVersion, name: string): void =>
      assert.throws(() => getHashers({ djangoVersion: version, passwordHashers: [P + name] }), HasherConfigError, `${version} ${name}`);
    refused('3.2', 'ScryptPasswordHasher');
    refused('5.2', 'SHA1PasswordHasher');
    refused('5.2', 'UnsaltedSHA1PasswordHasher');
    refused('4.2', 'CryptPasswordHasher');
    refused('4.2', 'NoSuchHasher');
    assert.throws(() => getHashers({ djangoVersion: '4.2', passwordHashers: ['myapp.hashers.Custom'] }), HasherConfigError);
    assert.throws(() => getHashers({ djangoVersion: '4.2', passwordHashers: [] }), HasherConfigError);
  });

  test('a later PASSWORD_HASHERS entry with the same algorithm wins, as in Django', () => {
    const first = new PBKDF2PasswordHasher({ iterations: 1000 });
    const second = new PBKDF2PasswordHasher({ iterations: 2000 });
    const config: PasswordHasherConfig = { djangoVersion: '4.2', passwordHashers: [first, second] };
    assert.equal(getHasher('default', config), first);
    assert.equal(getHasher('pbkdf2_sha256', config), second);
  });

  test('a salt of "" means a fresh one', async () => {
    const encoded = await makePassword('x', C32, { hasher: 'md5', salt: '' });
    assert.match(encoded, /^md5\$[a-zA-Z0-9]{22}\$[0-9a-f]{32}$/);
  });

  test('malformed hashes of a known hasher raise where Django raises', async () => {
    const config: PasswordHasherConfig = { djangoVersion: '4.2', passwordHashers: [new PBKDF2PasswordHasher({ iterations: 1000 }), P + 'MD5PasswordHasher'] };
    await rejectsWith(checkPassword('x', 'pbkdf2_sha256$abc$salt$hash', config), MalformedHashError);
    await rejectsWith(checkPassword('x', 'pbkdf2_sha256$1000', config), MalformedHashError);
    await rejectsWith(checkPassword('x', 'pbkdf2_sha256$1000$$hash', config), InvalidSaltError);
    // Python's int() accepts these spellings; the re-encoded string then differs: False, no error.
    for (const spelling of [' 1000', '+1000', '1_000', '01000']) {
      assert.equal(await checkPassword('x', `pbkdf2_sha256$${spelling}$salt$hash`, config), false, spelling);
    }
    await rejectsWith(checkPassword('x', 'md5$salt', config), MalformedHashError);
  });
});

describe('Python semantics the parsers rely on', () => {
  test('int()', () => {
    const cases: Array<[string, number | null]> = [
      [' 1_0 ', 10],
      ['\u0661\u0662', 12],
      ['+7', 7],
      ['\u00a01\u3000', 1],
      ['1__0', null],
      ['', null],
      ['_1', null],
      ['1_', null],
      ['\ufeff1', null],
      ['0x10', null],
      ['1.0', null],
    ];
    for (const [text, expected] of cases) assert.equal(parsePythonInt(text), expected, JSON.stringify(text));
  });

  test('len(base64.b64decode())', () => {
    const cases: Array<[string, number | null]> = [
      ['YWJj', 3],
      ['YWI=', 2],
      ['YW!Jj', 3],
      ['YQ==YWJj', 1],
      ['Y=Q==', 1],
      ['', 0],
      ['YWI', null],
      ['YQ', null],
      ['Y', null],
      ['YWJjé', null],
    ];
    for (const [text, expected] of cases) assert.equal(pythonB64DecodedLength(text), expected, JSON.stringify(text));
  });

  test('str.split(sep, maxsplit)', () => {
    assert.deepEqual(pySplit('a$b$c$d', '$', 2), ['a', 'b', 'c$d']);
    assert.deepEqual(pySplit('abc', '$', 1), ['abc']);
    assert.deepEqual(pySplit('$', '$', 1), ['', '']);
  });
});

describe('security properties', () => {
  test('constant_time_compare compares UTF-8 bytes and is false for different lengths', () => {
    assert.equal(constantTimeCompare('é', 'é'), true);
    assert.equal(constantTimeCompare('é', 'e'), false);
    assert.equal(constantTimeCompare('abc', 'abcd'), false);
  });

  test('a password that is not valid Unicode is refused, as Python cannot encode it', async () => {
    await rejectsWith(new MD5PasswordHasher().encode('\ud800', 'salt'), InvalidPasswordError);
    await rejectsWith(new PBKDF2PasswordHasher({ iterations: 1 }).encode('a\udc00', 'salt'), InvalidPasswordError);
  });

  test('a stored hash that is not valid Unicode raises, as force_bytes does in constant_time_compare', async () => {
    const md5 = new MD5PasswordHasher();
    const encoded = await md5.encode('x', 'a'.repeat(22));
    await rejectsWith(md5.verify('x', encoded.slice(0, -1) + '\ud83d'), MalformedHashError);
  });

  test('errors carry context but never the password', async () => {
    const error = await rejectsWith(new BCryptPasswordHasher({ rounds: 4 }).encode('secret\0pw', '$2b$04$abcdefghijklmnopqrstuu'), InvalidPasswordError);
    assert.equal(error.context.algorithm, 'bcrypt');
    assert.ok(!error.message.includes('secret') && !JSON.stringify(error.context).includes('secret'));
  });

  test('hashing at the default work factors leaves the event loop free', async () => {
    const config: PasswordHasherConfig = { ...C42, passwordHashers: [...(C42.passwordHashers ?? [])] };
    for (const hasher of ['pbkdf2_sha256', 'argon2', 'bcrypt_sha256', 'scrypt']) {
      let ticks = 0;
      const timer = setInterval(() => ticks++, 1);
      await makePassword('lètmein', config, { hasher });
      clearInterval(timer);
      // A synchronous hash lets no timer run before the await resumes (0 turns). bcryptjs yields
      // about every 100 ms, so on a loaded 2-core CI machine a cost-12 hash may yield only once
      // or twice: count "at least once", which still fails for any blocking implementation.
      assert.ok(ticks >= 1, `${hasher}: the loop never turned during a hash (it blocked the event loop)`);
    }
  });
});
