/**
 * Client for test/django/oracle.py: real Django (3.2, 4.2 or 5.2) answering JSON-line requests,
 * so tests compare our output with what Django's own code produces.
 *
 * One long-lived Python process per Django version. Requests are answered strictly in order;
 * `batch` sends many in one round trip (thousands of cases take well under a second).
 * Session dicts and signed objects travel as Python json *text*, never as JS values, so
 * `1.0`, big integers, NaN and key order reach Django exactly as written.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { JsonLinesOracle, type Outcome, type PythonError } from './json-lines-oracle.ts';

export type DjangoSeries = '3.2' | '4.2' | '5.2';
export const DJANGO_SERIES: readonly DjangoSeries[] = ['3.2', '4.2', '5.2'];

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ORACLE_SCRIPT = join(REPO_ROOT, 'test/django/oracle.py');
/** Debian's interpreter: the one the system Django 3.2 and the unpacked .debs are built for. */
export const SYSTEM_PYTHON = '/usr/bin/python3';
const SYSTEM_SITE = '/usr/lib/python3/dist-packages';

/** Where a series' `django` package lives (the directory to put on PYTHONPATH). */
export function djangoSitePackages(series: DjangoSeries): string {
  return series === '3.2' ? SYSTEM_SITE : join(REPO_ROOT, '.cache/django', series, 'usr/lib/python3/dist-packages');
}

function isSetUp(series: DjangoSeries): boolean {
  if (!existsSync(SYSTEM_PYTHON)) return false;
  const site = djangoSitePackages(series);
  if (!existsSync(join(site, 'django/__init__.py'))) return false;
  // setup-django.sh writes .complete only after a whole unpack, so a half-unpacked tree is "missing".
  return series === '3.2' || existsSync(join(REPO_ROOT, '.cache/django', series, '.complete'));
}

/** The Django series that are set up on this machine (see scripts/setup-django.sh). */
export function availableDjangoVersions(): DjangoSeries[] {
  return DJANGO_SERIES.filter(isSetUp);
}

/**
 * `/usr/bin/python3 -u script ...args` with `series`' Django on its path and `env` on top of ours,
 * pipes for all three streams (the JSON-lines oracles talk over stdin/stdout).
 */
export function spawnDjangoPython(
  series: DjangoSeries,
  script: string,
  env: NodeJS.ProcessEnv = {},
  args: readonly string[] = [],
): ChildProcessWithoutNullStreams {
  const childEnv: NodeJS.ProcessEnv = {
    ...process.env,
    PYTHONPATH: series === '3.2' ? '' : djangoSitePackages(series),
    PYTHONIOENCODING: 'utf-8',
    ...env,
  };
  // A stray PYTHONHOME (e.g. from pyenv) would point Debian's interpreter at the wrong stdlib.
  delete childEnv.PYTHONHOME;
  return spawn(SYSTEM_PYTHON, ['-u', script, ...args], { env: childEnv, stdio: ['pipe', 'pipe', 'pipe'] });
}

export class DjangoOracleError extends Error {
  constructor(
    message: string,
    readonly series: DjangoSeries,
    readonly pythonType?: string,
  ) {
    super(message);
    this.name = 'DjangoOracleError';
  }
}

/** Raised when a requested Django series is not set up. In CI this is always a failure. */
export class DjangoNotSetUpError extends DjangoOracleError {
  constructor(series: DjangoSeries) {
    const where = series === '3.2' ? `${SYSTEM_PYTHON} with python3-django` : djangoSitePackages(series);
    super(
      `Django ${series} is not set up (looked for ${where}). Run scripts/setup-django.sh` +
        (process.env.CI ? ' (CI: it must run before the tests, see .ci/run).' : '.'),
      series,
    );
    this.name = 'DjangoNotSetUpError';
  }
}

// --- Wire types ----------------------------------------------------------------------------------

/** Settings a request may set for its own duration (Django's SECRET_KEY etc.). */
export interface SettingsParams {
  /** SECRET_KEY; the oracle's fixed default when omitted. */
  secretKey?: string;
  /** SECRET_KEY_FALLBACKS (4.1+ only; the oracle refuses it on 3.2). */
  fallbackKeys?: readonly string[];
  /** DEFAULT_HASHING_ALGORITHM (3.2 only). */
  hashingAlgorithm?: 'sha256' | 'sha1';
  /** Freeze `time.time()` at this value (seconds, may be fractional). */
  timestamp?: number;
}

/** Which SessionStore subclass Django uses: the class name sets the key salt. */
export interface StoreParams {
  /** Class name (default `SessionStore`): salt `django.contrib.sessions.<className>`. */
  className?: string;
  /** Override `key_salt` outright, as a subclass overriding the property would. */
  keySalt?: string;
}

export interface EncodeParams extends SettingsParams, StoreParams {
  /** The session dict as Python json text. */
  session: string;
}

export interface DecodeParams extends SettingsParams, StoreParams {
  sessionData: string;
}

export interface DecodeResult {
  /** `json.dumps(result, separators=(",", ":"))` of what `SessionStore().decode()` returned. */
  json: string;
  /** Messages logged on `django.security.SuspiciousSession` during the decode. */
  warnings: string[];
}

export interface SigningDumpsParams extends SettingsParams {
  /** The object as Python json text. */
  obj: string;
  key?: string;
  salt?: string;
  compress?: boolean;
}

export interface SigningLoadsParams extends SettingsParams {
  s: string;
  key?: string;
  salt?: string;
  maxAge?: number;
}

export interface SignParams extends SettingsParams {
  value: string;
  key?: string;
  salt?: string;
  sep?: string;
  algorithm?: string;
  /** TimestampSigner instead of Signer. */
  timestamped?: boolean;
}

export interface UnsignParams extends SignParams {
  /** Only for TimestampSigner. */
  maxAge?: number;
}

export interface RandomSessionsParams {
  seed: number;
  n: number;
}

export interface VersionInfo {
  django: string;
  python: string;
  hasFallbacks: boolean;
}

/** Command name -> [params, result]. */
interface Commands {
  version: [Record<string, never>, VersionInfo];
  encode: [EncodeParams, string];
  decode: [DecodeParams, DecodeResult];
  signing_dumps: [SigningDumpsParams, string];
  /** Result: json text of the loaded object. */
  signing_loads: [SigningLoadsParams, string];
  sign: [SignParams, string];
  unsign: [UnsignParams, string];
  random_sessions: [RandomSessionsParams, Array<{ json: string }>];
}
export type OracleCommand = keyof Commands;
export type ParamsOf<C extends OracleCommand> = Commands[C][0];
export type ResultOf<C extends OracleCommand> = Commands[C][1];

export type { Outcome, PythonError };

// --- The client ----------------------------------------------------------------------------------

export class DjangoOracle extends JsonLinesOracle<Commands> {
  /** Django version and Python version of this process. Filled in by startDjangoOracle(). */
  info!: VersionInfo;

  /** Use startDjangoOracle(). */
  constructor(
    readonly series: DjangoSeries,
    child: ChildProcessWithoutNullStreams,
  ) {
    super(child, {
      label: 'oracle',
      owner: `Django ${series}`,
      error: (message, pythonType) => new DjangoOracleError(message, series, pythonType),
    });
  }

  // Typed shorthands for the common commands.
  version(): Promise<VersionInfo> {
    return this.call('version', {});
  }
  encode(params: EncodeParams): Promise<string> {
    return this.call('encode', params);
  }
  decode(params: DecodeParams): Promise<DecodeResult> {
    return this.call('decode', params);
  }
  signingDumps(params: SigningDumpsParams): Promise<string> {
    return this.call('signing_dumps', params);
  }
  signingLoads(params: SigningLoadsParams): Promise<Outcome<string>> {
    return this.try('signing_loads', params);
  }
  sign(params: SignParams): Promise<string> {
    return this.call('sign', params);
  }
  unsign(params: UnsignParams): Promise<Outcome<string>> {
    return this.try('unsign', params);
  }
  /** `n` random session dicts (seeded, reproducible), as Python json text. */
  async randomSessions(seed: number, n: number): Promise<string[]> {
    const rows = await this.call('random_sessions', { seed, n });
    return rows.map((r) => r.json);
  }
}

/**
 * Start a Django oracle for `series`. Rejects with DjangoNotSetUpError when that series is not
 * set up (tests then fail, never skip), and if the process reports another Django version.
 */
export async function startDjangoOracle(series: DjangoSeries): Promise<DjangoOracle> {
  if (!isSetUp(series)) throw new DjangoNotSetUpError(series);
  const oracle = new DjangoOracle(series, spawnDjangoPython(series, ORACLE_SCRIPT));
  oracle.info = await oracle.closeOnFailure(async () => {
    const info = await oracle.version();
    if (!info.django.startsWith(`${series}.`)) {
      throw new DjangoOracleError(`asked for Django ${series}, the oracle runs ${info.django}`, series);
    }
    return info;
  });
  return oracle;
}
