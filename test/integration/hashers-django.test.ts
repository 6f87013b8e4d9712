/**
 * Our password hashers against Django's own `django.contrib.auth.hashers`, for Django 3.2, 4.2
 * and 5.2 (real Django, one test/python/hashers_oracle.py process per version, requests batched
 * as JSON lines).
 *
 * Both directions, with every hasher the version has listed in PASSWORD_HASHERS:
 *  - hashes Django makes (at its default work factors, and at other, cheaper ones) verify here,
 *    wrong passwords do not, and our re-hash decision (the setter call) equals Django's;
 *  - hashes we make verify in Django, with the same re-hash decision;
 *  - for malformed and legacy strings both sides agree on True / False / raise, on
 *    `must_update` and on `identify_hasher`.
 * A version that is not set up fails its tests (scripts/setup-django.sh sets them up).
 *
 * Replay a failure with HASHERS_DIFF_SEED=<seed> (printed in every failure message).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';

import {
  Argon2PasswordHasher,
  BCryptPasswordHasher,
  BCryptSHA256PasswordHasher,
  checkPassword,
  getHasher,
  identifyHasher,
  isPasswordUsable,
  makePassword,
  MD5PasswordHasher,
  PasswordHasherError,
  PBKDF2PasswordHasher,
  PBKDF2SHA1PasswordHasher,
  ScryptPasswordHasher,
  type DjangoVersion,
  type PasswordHasher,
  type PasswordHasherConfig,
} from '../../src/auth/hashers/index.ts';
import { availableDjangoVersions, DjangoNotSetUpError, djangoSitePackages, SYSTEM_PYTHON } from '../support/django-oracle.ts';
import { mulberry32 } from '../support/prng.ts';

const SEED = process.env.HASHERS_DIFF_SEED ? Number(process.env.HASHERS_DIFF_SEED) : randomInt(2 ** 31);
const ORACLE_SCRIPT = fileURLToPath(new URL('../python/hashers_oracle.py', import.meta.url));
const PREFIX = 'django.contrib.auth.hashers.';
const tag = (what: string): string => `[seed ${SEED}] ${what}`;

/** Every hasher class each version has (crypt aside), the default first, as PASSWORD_HASHERS. */
const HASHER_CLASSES: Readonly<Record<DjangoVersion, readonly string[]>> = {
  '3.2': [
    'PBKDF2PasswordHasher',
    'PBKDF2SHA1PasswordHasher',
    'Argon2PasswordHasher',
    'BCryptSHA256PasswordHasher',
    'BCryptPasswordHasher',
    'MD5PasswordHasher',
    'SHA1PasswordHasher',
    'UnsaltedMD5PasswordHasher',
    'UnsaltedSHA1PasswordHasher',
  ],
  '4.2': [
    'PBKDF2PasswordHasher',
    'PBKDF2SHA1PasswordHasher',
    'Argon2PasswordHasher',
    'BCryptSHA256PasswordHasher',
    'BCryptPasswordHasher',
    'ScryptPasswordHasher',
    'MD5PasswordHasher',
    'SHA1PasswordHasher',
    'UnsaltedMD5PasswordHasher',
    'UnsaltedSHA1PasswordHasher',
  ],
  '5.2': [
    'PBKDF2PasswordHasher',
    'PBKDF2SHA1PasswordHasher',
    'Argon2PasswordHasher',
    'BCryptSHA256PasswordHasher',
    'BCryptPasswordHasher',
    'ScryptPasswordHasher',
    'MD5PasswordHasher',
  ],
};

// --- The oracle process ----------------------------------------------------------------------

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Request = { op: string } & Record<string, Json>;
type Answer = { ok: Json } | { error: { type: string; message: string } };

interface OracleInfo {
  django: string;
  argon2_cffi: string;
  argon2_hash_len: number;
  bcrypt: string;
}

class HasherOracle {
  private readonly pending: Array<(answer: Answer) => void> = [];
  private failure: Error | undefined;

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => this.pending.shift()?.(JSON.parse(line) as Answer));
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('exit', (code) => {
      this.failure = new Error(`hashers oracle exited (${code}): ${stderr.slice(-2000)}`);
      for (const resolve of this.pending.splice(0)) resolve({ error: { type: 'OracleExited', message: stderr } });
    });
  }

  static start(version: DjangoVersion): HasherOracle {
    if (!availableDjangoVersions().includes(version)) throw new DjangoNotSetUpError(version);
    const env: NodeJS.ProcessEnv = { ...process.env, PYTHONPATH: version === '3.2' ? '' : djangoSitePackages(version) };
    delete env.PYTHONHOME; // pyenv's would point Debian's interpreter at the wrong stdlib
    env.PYTHONIOENCODING = 'utf-8';
    const args = ['-u', ORACLE_SCRIPT, ...HASHER_CLASSES[version].map((name) => PREFIX + name)];
    return new HasherOracle(spawn(SYSTEM_PYTHON, args, { env, stdio: ['pipe', 'pipe', 'pipe'] }));
  }

  /** Send all requests in one write; answers come back in order. */
  batch(requests: readonly Request[]): Promise<Answer[]> {
    if (this.failure) return Promise.reject(this.failure);
    const answers = requests.map(() => new Promise<Answer>((resolve) => this.pending.push(resolve)));
    this.child.stdin.write(requests.map((request) => JSON.stringify(request) + '\n').join(''));
    return Promise.all(answers);
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.stdin.end();
    await exited;
  }
}

function okValue(answer: Answer, what: string): Json {
  if ('error' in answer) assert.fail(tag(`Django raised ${answer.error.type} for ${what}: ${answer.error.message}`));
  return answer.ok;
}

/** An answer or an outcome of ours, reduced to what both sides can be compared on. */
function djangoOutcome(answer: Answer): string {
  return 'error' in answer ? 'raises' : JSON.stringify(answer.ok);
}

async function ourOutcome(run: () => Promise<Json> | Json): Promise<string> {
  try {
    return JSON.stringify(await run());
  } catch (error) {
    // Only our own error family stands for "Django raises"; anything else is a bug of ours.
    if (error instanceof PasswordHasherError) return 'raises';
    return `unexpected ${(error as Error).name}: ${(error as Error).message}`;
  }
}

// --- Passwords -------------------------------------------------------------------------------

const random = mulberry32(SEED);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
const between = (low: number, high: number): number => low + Math.floor(random() * (high - low + 1));
const NON_ASCII = ['é', 'ß', 'ø', 'Ж', 'λ', '中', '文', 'ア', '€', '‽', '\u0301', '\u00a0', 'ﬁ', '😀', '🔑', '𝔘'];

function asciiText(length: number): string {
  let text = '';
  for (let i = 0; i < length; i++) text += String.fromCharCode(between(0x20, 0x7e));
  return text;
}

function unicodeText(length: number): string {
  let text = '';
  for (let i = 0; i < length; i++) text += random() < 0.6 ? pick(NON_ASCII) : asciiText(1);
  return text;
}

type PasswordKind = 'ascii' | 'unicode' | 'empty' | 'long';
const KINDS: readonly PasswordKind[] = ['ascii', 'unicode', 'empty', 'long'];

function password(kind: PasswordKind): string {
  switch (kind) {
    case 'ascii':
      return asciiText(between(1, 24));
    case 'unicode':
      return unicodeText(between(1, 16));
    case 'empty':
      return '';
    case 'long':
      // Past bcrypt's 72 bytes, so truncation (plain bcrypt) and pre-hashing (bcrypt_sha256) matter.
      return unicodeText(between(60, 140));
  }
}

/** A wrong password that differs in its first character: wrong for every hasher. */
const wrongAtStart = (text: string): string => (text.startsWith('x') ? 'y' : 'x') + text;
/** A wrong password that differs only at its end: plain bcrypt cannot tell past 72 bytes. */
const wrongAtEnd = (text: string): string => text + '!';

/** An algorithm configured in this version other than `algorithm` (no re-hash hardening then). */
const otherThan = (algorithm: string): string => (algorithm === 'md5' ? 'pbkdf2_sha256' : 'md5');

// --- Per-version run -------------------------------------------------------------------------

interface Run {
  readonly version: DjangoVersion;
  readonly oracle: HasherOracle;
  /** PASSWORD_HASHERS = every hasher of the version, Django's default (PBKDF2) first. */
  readonly config: PasswordHasherConfig;
  readonly algorithms: readonly string[];
  /**
   * The same hashers with MD5 first, for the tests whose subject is parsing, not work factors:
   * their many unknown-hasher cases then pay for a fake MD5 run instead of a fake PBKDF2 run.
   */
  readonly cheapDefault: { readonly config: PasswordHasherConfig; readonly hashers: Json[] };
}

async function startRun(version: DjangoVersion): Promise<Run> {
  const oracle = HasherOracle.start(version);
  const [infoAnswer] = await oracle.batch([{ op: 'info' }]);
  const info = okValue(infoAnswer as Answer, 'info') as unknown as OracleInfo;
  assert.ok(info.django.startsWith(`${version}.`), `asked for Django ${version}, the oracle runs ${info.django}`);
  const config: PasswordHasherConfig = {
    djangoVersion: version,
    passwordHashers: HASHER_CLASSES[version].map((name) => PREFIX + name),
    // The length Django writes depends on the argon2-cffi next to it (spec gotcha 14).
    argon2HashLength: info.argon2_hash_len,
  };
  const algorithms = HASHER_CLASSES[version].map((name) => algorithmOf(PREFIX + name, config));
  const md5First = [PREFIX + 'MD5PasswordHasher', ...(config.passwordHashers as string[]).filter((p) => !p.endsWith('.MD5PasswordHasher'))];
  const cheapDefault = { config: { ...config, passwordHashers: md5First }, hashers: md5First };
  return { version, oracle, config, algorithms, cheapDefault };
}

function algorithmOf(path: string, config: PasswordHasherConfig): string {
  const byName: Record<string, string> = {
    PBKDF2PasswordHasher: 'pbkdf2_sha256',
    PBKDF2SHA1PasswordHasher: 'pbkdf2_sha1',
    Argon2PasswordHasher: 'argon2',
    BCryptSHA256PasswordHasher: 'bcrypt_sha256',
    BCryptPasswordHasher: 'bcrypt',
    ScryptPasswordHasher: 'scrypt',
    MD5PasswordHasher: 'md5',
    SHA1PasswordHasher: 'sha1',
    UnsaltedMD5PasswordHasher: 'unsalted_md5',
    UnsaltedSHA1PasswordHasher: 'unsalted_sha1',
  };
  const algorithm = byName[path.slice(PREFIX.length)];
  assert.ok(algorithm, path);
  assert.equal(getHasher(algorithm, config).algorithm, algorithm);
  return algorithm;
}

/** Run `jobs` with at most `width` in flight (our hashing shares two cores with Django's). */
async function pool<T>(jobs: ReadonlyArray<() => Promise<T>>, width = 2): Promise<T[]> {
  const results = new Array<T>(jobs.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const index = next++;
      results[index] = await (jobs[index] as () => Promise<T>)();
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, jobs.length) }, worker));
  return results;
}

/** Our check_password with a recording setter: `{correct, setter}` as the oracle reports it. */
async function ourCheck(
  config: PasswordHasherConfig,
  passwordText: string | null,
  encoded: string,
  preferred: string = 'default',
): Promise<{ correct: boolean; setter: boolean }> {
  let setter = false;
  const correct = await checkPassword(passwordText, encoded, config, async () => void (setter = true), preferred);
  return { correct, setter };
}

function mismatchReport(mismatches: readonly string[]): string {
  return tag(`${mismatches.length} mismatch(es):\n${mismatches.slice(0, 20).join('\n')}`);
}

// --- Cheap, non-default parameters Django and we can both write --------------------------------

interface CheapSpec {
  readonly algorithm: string;
  readonly params: Record<string, Json>;
  readonly salt?: string;
}

function cheapSpecs(run: Run): CheapSpec[] {
  const specs: CheapSpec[] = [
    { algorithm: 'pbkdf2_sha256', params: { iterations: 1000 } },
    { algorithm: 'pbkdf2_sha256', params: { iterations: between(1001, 3000) }, salt: 'iodizedsalt' },
    { algorithm: 'pbkdf2_sha256', params: { iterations: 1500 }, salt: 'sälté-0123456789abcdefg' },
    { algorithm: 'pbkdf2_sha1', params: { iterations: between(1000, 2000) } },
    { algorithm: 'bcrypt_sha256', params: { rounds: 4, prefix: '2b' } },
    { algorithm: 'bcrypt_sha256', params: { rounds: 5, prefix: '2a' } },
    { algorithm: 'bcrypt', params: { rounds: 4, prefix: '2y' } },
    { algorithm: 'bcrypt', params: { rounds: 4, prefix: '2b' } },
  ];
  const argon2Base = { version: 19, time_cost: 1, memory_cost: 64, parallelism: 1, hash_len: 16 };
  specs.push(
    { algorithm: 'argon2', params: { ...argon2Base, type: 'ID' } },
    { algorithm: 'argon2', params: { ...argon2Base, type: 'I', version: 16 }, salt: 'saltsalt' },
    { algorithm: 'argon2', params: { ...argon2Base, type: 'D', time_cost: 2, parallelism: 2 } },
    { algorithm: 'argon2', params: { ...argon2Base, type: 'ID', hash_len: 32, memory_cost: 128, parallelism: 4 } },
    { algorithm: 'argon2', params: { ...argon2Base, type: 'ID', hash_len: between(4, 64) } },
  );
  if (run.algorithms.includes('scrypt')) {
    specs.push(
      { algorithm: 'scrypt', params: { n: 1024, r: 8, p: 1 } },
      { algorithm: 'scrypt', params: { n: 2048, r: 4, p: 2 } },
      { algorithm: 'scrypt', params: { n: 256, r: 1, p: 5 }, salt: 'short' },
    );
  }
  return specs;
}

/** Salts for the digest hashers: Django's own, a pre-3.2 12-character one, a unicode one. */
const DIGEST_SALTS: readonly (string | null)[] = [null, 'abcdefghijkl', 'sëasält€0123456789ABCDEF'];

// --- Malformed and edge-case hashes ----------------------------------------------------------

/** Whether a damaged hash still costs little to check (a '1' can turn bcrypt's 04 into 14). */
function affordable(encoded: string): boolean {
  const bcryptRounds = /\$2[a-z]?\$(\d+)\$/.exec(encoded);
  if (bcryptRounds && Number(bcryptRounds[1]) > 7) return false;
  const pbkdf2Iterations = /^pbkdf2_sha(?:256|1)\$(\d+)\$/.exec(encoded);
  if (pbkdf2Iterations && Number(pbkdf2Iterations[1]) > 100_000) return false;
  return !/[mt]=\d{5,}/.test(encoded);
}

function mutations(encoded: string, count: number): string[] {
  const palette = ['$', '=', '0', '1', 'a', ',', ' ', 'é', '+', '_', '-', 'v', '/', '\0'];
  const out: string[] = [];
  while (out.length < count) {
    const at = between(0, encoded.length - 1);
    const action = between(0, 2);
    let damaged: string;
    if (action === 0) damaged = encoded.slice(0, at) + encoded.slice(at + 1);
    else if (action === 1) damaged = encoded.slice(0, at) + pick(palette) + encoded.slice(at + 1);
    else damaged = encoded.slice(0, at) + pick(palette) + encoded.slice(at);
    if (affordable(damaged)) out.push(damaged);
  }
  return out;
}

/** Hand-made edge cases around a base hash of each format (where Django's parsers disagree). */
function edgeCases(algorithm: string, encoded: string): string[] {
  const parts = encoded.split('$');
  const withPart = (index: number, value: string): string => parts.map((p, i) => (i === index ? value : p)).join('$');
  switch (algorithm) {
    case 'pbkdf2_sha256':
    case 'pbkdf2_sha1':
      return [
        ...['+1000', ' 1000 ', '1_000', '01000', '１０００', '0', '-5', 'abc', '', '99999999999', '1__000'].map((it) => withPart(1, it)),
        withPart(2, ''),
        encoded + '$extra',
        parts.slice(0, 3).join('$'),
        encoded.replace(/=$/, ''),
      ];
    case 'argon2': {
      const phc = encoded.slice('argon2'.length);
      return [
        encoded.replace('$v=19', ''),
        encoded.replace('$v=19', '$v=16'),
        encoded.replace('$v=19', '$v=019'),
        encoded.replace('$v=19', '$v=+19'),
        encoded.replace(/m=(\d+),t=(\d+),p=(\d+)/, 't=$2,m=$1,p=$3'),
        encoded.replace(/m=(\d+)/, 'm=$1,m=$1'),
        encoded.replace(/p=(\d+)/, 'p= $1'),
        encoded.replace('argon2id', 'argon2x'),
        encoded.replace('argon2$argon2id', 'argon2$argon2i'),
        encoded + '=',
        encoded + '==',
        withPart(parts.length - 2, parts[parts.length - 2] + '='),
        withPart(parts.length - 2, 'c2FsdA'),
        withPart(parts.length - 2, 'a!bc'),
        withPart(parts.length - 1, 'abc'),
        'argon2',
        'argon2$',
        'argon2' + phc.toUpperCase(),
        encoded + '$',
      ];
    }
    case 'bcrypt':
    case 'bcrypt_sha256':
      return [
        encoded.replace('$2b$', '$2x$'),
        encoded.replace('$2b$', '$2$'),
        encoded.replace('$2b$', '$2y$'),
        encoded.replace('$2b$04$', '$2b$03$'),
        encoded.replace('$2b$04$', '$2b$4$'),
        encoded.replace('$2b$04$', '$2b$32$'),
        encoded.replace('$2b$04$', '$2b$+4$'),
        encoded.slice(0, `${algorithm}$$2b$04$`.length + 21),
        encoded.slice(0, `${algorithm}$$2b$04$`.length + 22),
        encoded.replace(/\$04\$(.)/, '$04$*'),
        encoded.replace(/(.{21})(.)(.{31})$/, '$1e$3'),
        `${algorithm}$`,
        `${algorithm}$$2b$04`,
      ];
    case 'scrypt':
      return [
        withPart(1, '1000'),
        withPart(1, '0'),
        withPart(1, '32768'),
        withPart(3, '0'),
        withPart(3, '-1'),
        withPart(4, '0'),
        encoded + '$x',
        withPart(2, ''),
      ];
    case 'md5':
    case 'sha1':
      return [withPart(1, ''), encoded + '$', parts.slice(0, 2).join('$'), encoded.toUpperCase()];
    default:
      return [];
  }
}

/**
 * Argon2 strings assembled from spellings the three argon2 readers disagree on (argon2-cffi's
 * lenient `extract_parameters`, its 9-character header check, libargon2's strict decoder).
 */
function argon2Variants(encoded: string, count: number): string[] {
  const parts = encoded.split('$');
  const salt = parts[parts.length - 2] as string;
  const hash = parts[parts.length - 1] as string;
  const number = (n: number): string => pick([`${n}`, `${n}`, `0${n}`, ` ${n}`, `+${n}`, `${n}_0`, `${n}x`, '', `-${n}`]);
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const variant = pick(['argon2id', 'argon2id', 'argon2i', 'argon2d', 'argon2x', 'argon2', 'Argon2id']);
    const version = pick(['$v=19', '$v=19', '$v=16', '', '$v=019', '$v=+19', '$v=', '$v=4294967296', '$v=18']);
    const params = [`m=${number(pick([64, 8, 16, 128]))}`, `t=${number(pick([1, 2]))}`, `p=${number(pick([1, 2, 4]))}`];
    if (random() < 0.2) params.reverse();
    if (random() < 0.1) params.push('m=64');
    if (random() < 0.1) params.pop();
    const saltText = pick([salt, salt, salt + '=', 'c2FsdA', salt.slice(0, -1), salt + 'A', 'a!bc' + salt, '']);
    const hashText = pick([hash, hash, hash + '=', hash.slice(0, -1), 'AAAAAA', '', hash + 'A', hash.toLowerCase()]);
    out.push(`argon2$${variant}${version}$${params.join(',')}$${saltText}$${hashText}`);
  }
  return out;
}

const GENERIC_CASES: readonly string[] = [
  '',
  '!',
  '$',
  'nothing',
  'foo$bar$baz',
  '5f4dcc3b5aa765d61d8327deb882cf99',
  'md5$$5f4dcc3b5aa765d61d8327deb882cf99',
  'md5$$5f4dcc3b5aa765d61d8327deb882cf9',
  '5F4DCC3B5AA765D61D8327DEB882CF99',
  '5f4dcc3b5aa765d61d8327deb882cf9é',
  'sha1$$5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8',
  'sha1$$5baa61e4c9b93f3f0682250b6cf8331b7ee68fd',
  'sha1$5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8',
  'crypt$$ab1234567890a',
  'pbkdf2_sha256',
  'unsalted_md5$x',
  'unsalted_sha1$x',
  'sha1$$',
];

// --- Hashes at the default work factors, made on both sides at once --------------------------

interface MadeHashes {
  readonly cases: ReadonlyArray<{ algorithm: string; password: string }>;
  readonly encoded: readonly string[];
}

/**
 * The full-cost part of a version's run. Django's make_password and our makePassword start
 * together (two cores, two processes), and Django's checks of our hashes are started by whichever
 * test needs them first, so they overlap with our verification of Django's hashes.
 */
interface DefaultCostRound {
  /** Two passwords per hasher, the kinds (ASCII, unicode, empty, long) rotating over hashers. */
  readonly djangoMade: Promise<MadeHashes>;
  /** One password per hasher. */
  readonly ourMade: Promise<MadeHashes>;
  /** Django's check_password (right password) and identify_hasher of `ourMade`, two answers each. */
  djangoChecksOfOurs(): Promise<Answer[]>;
  /** Resolves when everything started here has finished (so the oracle can be closed). */
  readonly settled: Promise<unknown>;
}

function startDefaultCostRound(run: Run): DefaultCostRound {
  const djangoCases = run.algorithms.flatMap((algorithm, i) =>
    [0, 1].map((k) => ({ algorithm, password: password(KINDS[(i * 2 + k) % KINDS.length] as PasswordKind) })),
  );
  const djangoMade = run.oracle
    .batch(djangoCases.map((c) => ({ op: 'make', password: c.password, salt: null, hasher: c.algorithm })))
    .then((answers) => ({ cases: djangoCases, encoded: answers.map((a, i) => okValue(a, `make_password(${djangoCases[i]!.algorithm})`) as string) }));
  const ourCases = run.algorithms.map((algorithm, i) => ({ algorithm, password: password(KINDS[(i + 1) % KINDS.length] as PasswordKind) }));
  const ourMade = pool(ourCases.map((c) => () => makePassword(c.password, run.config, { hasher: c.algorithm }))).then((encoded) => ({
    cases: ourCases,
    encoded,
  }));
  let checks: Promise<Answer[]> | undefined;
  const djangoChecksOfOurs = (): Promise<Answer[]> =>
    (checks ??= ourMade.then(({ cases, encoded }) =>
      run.oracle.batch(
        encoded.flatMap((e, i): Request[] => [
          { op: 'check', password: cases[i]!.password, encoded: e },
          { op: 'identify', encoded: e },
        ]),
      ),
    ));
  const settled = Promise.allSettled([djangoMade, ourMade]).then(() => (checks ? checks.catch(() => undefined) : undefined));
  return { djangoMade, ourMade, djangoChecksOfOurs, settled };
}

// --- The tests -------------------------------------------------------------------------------

for (const version of ['3.2', '4.2', '5.2'] as const) {
  describe(`password hashers against Django ${version}`, () => {
    let run: Run;
    let round: DefaultCostRound;

    before(async () => {
      run = await startRun(version);
      round = startDefaultCostRound(run);
    });
    after(async () => {
      await round?.settled;
      await run?.oracle.close();
    });

    test("Django's make_password at the default work factors verifies here, wrong passwords do not, and we re-hash exactly when Django would", async () => {
      const { cases, encoded } = await round.djangoMade;
      // Django's checks of our hashes run in Python while we verify Django's here.
      round.djangoChecksOfOurs();
      // Django re-hashes when the hasher is not the preferred one, or the preferred one's
      // must_update says so (asked of Django: hashing each password again in Python would only
      // double the cost of the work factors).
      const preferred = run.algorithms[0] as string;
      const ofPreferred = cases.flatMap((c, i) => (c.algorithm === preferred ? [i] : []));
      const mustUpdate = run.oracle.batch(ofPreferred.map((i) => ({ op: 'must_update', hasher: preferred, encoded: encoded[i]! })));
      const ours = await pool(
        encoded.map((e, i) => async () => ({
          right: await ourCheck(run.config, cases[i]!.password, e),
          // Wrong passwords at every parameter set are the next test's; one at full cost here.
          wrong: i === 0 ? await ourCheck(run.config, wrongAtStart(cases[i]!.password), e) : undefined,
          identified: identifyHasher(e, run.config).algorithm,
        })),
      );
      const djangoMustUpdate = new Map((await mustUpdate).map((answer, k) => [ofPreferred[k]!, okValue(answer, 'must_update') as boolean]));
      const mismatches: string[] = [];
      cases.forEach((c, i) => {
        const expected = JSON.stringify({ correct: true, setter: djangoMustUpdate.get(i) ?? true });
        const got = ours[i]!;
        if (JSON.stringify(got.right) !== expected) mismatches.push(`${encoded[i]} right password: ours ${JSON.stringify(got.right)}, Django ${expected}`);
        if (got.wrong && (got.wrong.correct || got.wrong.setter)) mismatches.push(`${encoded[i]} wrong password accepted or re-hashed`);
        if (got.identified !== c.algorithm) mismatches.push(`${encoded[i]} identified as ${got.identified}`);
      });
      assert.ok(mismatches.length === 0, mismatchReport(mismatches));
    });

    test('our makePassword at the default work factors verifies in Django, with the same re-hash decision', async () => {
      const { cases, encoded } = await round.ourMade;
      const theirs = await round.djangoChecksOfOurs();
      // Our re-hash decision needs no hashing: it is the hasher change or the preferred hasher's mustUpdate.
      const preferred = getHasher('default', run.config);
      const mismatches: string[] = [];
      cases.forEach((c, i) => {
        const [right, identified] = theirs.slice(i * 2, i * 2 + 2) as [Answer, Answer];
        const e = encoded[i]!;
        const ourSetter = c.algorithm !== preferred.algorithm || preferred.mustUpdate(e);
        if (djangoOutcome(right) !== JSON.stringify({ correct: true, setter: ourSetter })) {
          mismatches.push(`${e} (${JSON.stringify(c.password)}): Django ${djangoOutcome(right)}, ours re-hash=${ourSetter}`);
        }
        if (djangoOutcome(identified) !== JSON.stringify(c.algorithm)) mismatches.push(`${e} Django identifies ${djangoOutcome(identified)}`);
      });
      assert.ok(mismatches.length === 0, mismatchReport(mismatches));
    });

    test('other work factors and parameters, both directions: verification, must_update and the setter agree', async () => {
      // Django -> us: Django encodes with non-default parameters (and weak salts).
      const djangoCases: Array<{ algorithm: string; password: string; request: Request }> = [];
      for (const spec of cheapSpecs(run)) {
        for (const kind of KINDS) {
          const text = password(kind);
          djangoCases.push({
            algorithm: spec.algorithm,
            password: text,
            request: { op: 'encode', hasher: spec.algorithm, password: text, salt: spec.salt ?? null, params: spec.params },
          });
        }
      }
      for (const algorithm of run.algorithms.filter((a) => ['md5', 'sha1', 'unsalted_md5', 'unsalted_sha1'].includes(a))) {
        for (const salt of algorithm.startsWith('unsalted') ? [null] : DIGEST_SALTS) {
          for (const kind of KINDS) {
            const text = password(kind);
            djangoCases.push({ algorithm, password: text, request: { op: 'make', password: text, salt, hasher: algorithm } });
          }
        }
      }
      const { config, hashers } = run.cheapDefault;
      const made = await run.oracle.batch(djangoCases.map((c) => ({ ...c.request, hashers })));
      const djangoEncoded = made.map((answer, i) => okValue(answer, JSON.stringify(djangoCases[i]!.request)) as string);

      // Us -> Django: our hashers with non-default parameters.
      const ourHashers: PasswordHasher[] = [
        new PBKDF2PasswordHasher({ iterations: between(1000, 3000) }),
        new PBKDF2SHA1PasswordHasher({ iterations: 1100 }),
        new Argon2PasswordHasher({ hashLength: 32, timeCost: 1, memoryCost: 256, parallelism: 2 }),
        new Argon2PasswordHasher({ hashLength: config.argon2HashLength ?? 16, timeCost: 1, memoryCost: 64, parallelism: 1 }),
        new BCryptSHA256PasswordHasher({ rounds: 4 }),
        new BCryptPasswordHasher({ rounds: 5 }),
        new MD5PasswordHasher(),
      ];
      if (run.algorithms.includes('scrypt')) ourHashers.push(new ScryptPasswordHasher({ workFactor: 1024, blockSize: 4, parallelism: 2 }));
      const ourCases = ourHashers.flatMap((hasher) => KINDS.map((kind) => ({ hasher, password: password(kind) })));
      const ourEncoded = await pool(ourCases.map((c) => () => makePassword(c.password, config, { hasher: c.hasher })));

      const all = [
        ...djangoCases.map((c, i) => ({ algorithm: c.algorithm, password: c.password, encoded: djangoEncoded[i]! })),
        ...ourCases.map((c, i) => ({ algorithm: c.hasher.algorithm, password: c.password, encoded: ourEncoded[i]! })),
      ];
      // Right password with the hash's own algorithm preferred: the setter is then must_update.
      // Wrong passwords with another algorithm preferred, so that no hardening work is done.
      const django = run.oracle.batch(
        all.flatMap((c): Request[] => [
          { op: 'check', password: c.password, encoded: c.encoded, preferred: c.algorithm, hashers },
          { op: 'check', password: wrongAtEnd(c.password), encoded: c.encoded, preferred: otherThan(c.algorithm), hashers },
          { op: 'must_update', hasher: c.algorithm, encoded: c.encoded, hashers },
        ]),
      );
      const ours = await pool(
        all.map((c) => async () => [
          await ourOutcome(() => ourCheck(config, c.password, c.encoded, c.algorithm) as unknown as Promise<Json>),
          await ourOutcome(() => ourCheck(config, wrongAtEnd(c.password), c.encoded, otherThan(c.algorithm)) as unknown as Promise<Json>),
          await ourOutcome(() => getHasher(c.algorithm, config).mustUpdate(c.encoded)),
        ]),
      );
      const theirs = await django;
      const mismatches: string[] = [];
      all.forEach((c, i) => {
        const expected = theirs.slice(i * 3, i * 3 + 3).map(djangoOutcome);
        const got = ours[i]!;
        ['right password', 'wrong password', 'must_update'].forEach((what, k) => {
          if (got[k] !== expected[k]) {
            mismatches.push(`${c.encoded} (${JSON.stringify(c.password)}) ${what}: ours ${got[k]}, Django ${expected[k]}`);
          }
        });
        if (expected[0] !== JSON.stringify({ correct: true, setter: expected[2] === 'true' })) {
          mismatches.push(`${c.encoded}: Django itself did not verify its right password (${expected[0]})`);
        }
      });
      assert.ok(mismatches.length === 0, mismatchReport(mismatches));
      // The weak salts, other parameters and the other argon2 hash length all demand re-hashing.
      assert.ok(theirs.filter((a, i) => i % 3 === 2 && djangoOutcome(a) === 'true').length >= 10, tag('must_update was exercised'));
    });

    test('malformed and legacy hashes: the same True / False / raise, must_update and identify_hasher', async () => {
      // Cheap, valid bases of every format, made by Django; then edge cases and random damage.
      const baseSpecs: Array<{ algorithm: string; request: Request }> = [
        { algorithm: 'pbkdf2_sha256', request: { op: 'encode', hasher: 'pbkdf2_sha256', params: { iterations: 1000 } } },
        { algorithm: 'pbkdf2_sha1', request: { op: 'encode', hasher: 'pbkdf2_sha1', params: { iterations: 1000 } } },
        {
          algorithm: 'argon2',
          request: {
            op: 'encode',
            hasher: 'argon2',
            params: { type: 'ID', version: 19, time_cost: 1, memory_cost: 64, parallelism: 1, hash_len: 16 },
          },
        },
        { algorithm: 'bcrypt_sha256', request: { op: 'encode', hasher: 'bcrypt_sha256', params: { rounds: 4 } } },
        { algorithm: 'bcrypt', request: { op: 'encode', hasher: 'bcrypt', params: { rounds: 4 } } },
        { algorithm: 'md5', request: { op: 'make', hasher: 'md5', salt: null } },
      ];
      if (run.algorithms.includes('scrypt')) {
        baseSpecs.push({ algorithm: 'scrypt', request: { op: 'encode', hasher: 'scrypt', params: { n: 1024, r: 4, p: 2 } } });
      }
      if (run.algorithms.includes('sha1')) baseSpecs.push({ algorithm: 'sha1', request: { op: 'make', hasher: 'sha1', salt: null } });
      const { config, hashers } = run.cheapDefault;
      const basePassword = 'pässword-1';
      const bases = await run.oracle.batch(baseSpecs.map((s) => ({ ...s.request, password: basePassword, salt: s.request.salt ?? null })));
      const corpus: Array<{ encoded: string; password: string }> = [];
      baseSpecs.forEach((spec, i) => {
        const encoded = okValue(bases[i]!, spec.algorithm) as string;
        const variants = spec.algorithm === 'argon2' ? argon2Variants(encoded, 150) : [];
        for (const e of [encoded, ...edgeCases(spec.algorithm, encoded), ...mutations(encoded, 40), ...variants]) {
          corpus.push({ encoded: e, password: basePassword });
        }
      });
      for (const e of GENERIC_CASES) corpus.push({ encoded: e, password: 'password' });
      // plain bcrypt refuses a NUL in the password (pyca/bcrypt raises); bcrypt_sha256 does not care.
      corpus.push({ encoded: corpus.find((c) => c.encoded.startsWith('bcrypt$'))!.encoded, password: 'nul\0byte' });
      corpus.push({ encoded: corpus.find((c) => c.encoded.startsWith('bcrypt_sha256$'))!.encoded, password: 'nul\0byte' });

      const algorithmOfEncoded = (encoded: string): string | null => {
        try {
          return identifyHasher(encoded, config).algorithm;
        } catch {
          return null;
        }
      };
      const requests: Request[] = corpus.flatMap((c): Request[] => {
        const algorithm = algorithmOfEncoded(c.encoded);
        return [
          { op: 'identify', encoded: c.encoded, hashers },
          { op: 'check', password: c.password, encoded: c.encoded, preferred: otherThan(algorithm ?? ''), hashers },
          { op: 'must_update', hasher: algorithm ?? 'md5', encoded: c.encoded, hashers },
        ];
      });
      const django = run.oracle.batch(requests);
      const ours = await pool(
        corpus.map((c) => async () => {
          const algorithm = algorithmOfEncoded(c.encoded);
          return [
            await ourOutcome(() => identifyHasher(c.encoded, config).algorithm),
            await ourOutcome(() => ourCheck(config, c.password, c.encoded, otherThan(algorithm ?? '')) as unknown as Promise<Json>),
            await ourOutcome(() => getHasher(algorithm ?? 'md5', config).mustUpdate(c.encoded)),
          ];
        }),
      );
      const theirs = await django;
      const mismatches: string[] = [];
      corpus.forEach((c, i) => {
        const expected = theirs.slice(i * 3, i * 3 + 3).map(djangoOutcome);
        ['identify_hasher', 'check_password', 'must_update'].forEach((what, k) => {
          if (ours[i]![k] !== expected[k]) {
            mismatches.push(`${JSON.stringify(c.encoded)} ${what}: ours ${ours[i]![k]}, Django ${expected[k]}`);
          }
        });
      });
      assert.ok(mismatches.length === 0, mismatchReport(mismatches));
      const outcomes = new Set(theirs.filter((_, i) => i % 3 === 1).map(djangoOutcome));
      assert.ok(outcomes.has('raises') && outcomes.has(JSON.stringify({ correct: false, setter: false })), tag('the corpus reaches raise and False'));
    });

    test('unusable passwords, unknown hashers and missing passwords never verify, in either direction', async () => {
      const ourUnusable = await makePassword(null, run.config);
      const [djangoUnusableAnswer] = await run.oracle.batch([{ op: 'make', password: null, salt: null, hasher: 'default' }]);
      const djangoUnusable = okValue(djangoUnusableAnswer!, 'make_password(None)') as string;
      assert.match(ourUnusable, /^![a-zA-Z0-9]{40}$/);
      assert.match(djangoUnusable, /^![a-zA-Z0-9]{40}$/);
      const validHash = await makePassword('letmein', run.config, { hasher: 'md5' });
      // Each costs a fake run of the default hasher on both sides: MD5 first keeps that cheap.
      const { config, hashers } = run.cheapDefault;
      const cases: Array<{ password: string | null; encoded: string }> = [
        { password: 'x', encoded: ourUnusable },
        { password: djangoUnusable, encoded: djangoUnusable },
        { password: 'x', encoded: 'unknown$algorithm$hash' },
        { password: null, encoded: validHash },
      ];
      const usable = ['', 'lètmein_badencoded', '!', '!x', ' !', ourUnusable];
      const theirs = await run.oracle.batch([
        ...cases.map((c) => ({ op: 'check', password: c.password, encoded: c.encoded, hashers })),
        ...usable.map((e) => ({ op: 'usable', encoded: e })),
        { op: 'usable', encoded: null },
        { op: 'identify', encoded: ourUnusable, hashers },
      ]);
      const ours = [
        ...(await pool(cases.map((c) => () => ourCheck(config, c.password, c.encoded)))).map((o) => JSON.stringify(o)),
        ...usable.map((e) => JSON.stringify(isPasswordUsable(e))),
        JSON.stringify(isPasswordUsable(null)),
        await ourOutcome(() => identifyHasher(ourUnusable, config).algorithm),
      ];
      assert.deepEqual(ours, theirs.map(djangoOutcome), tag('unusable/unknown outcomes'));
      assert.equal(ours[0], JSON.stringify({ correct: false, setter: false }));
    });
  });
}
