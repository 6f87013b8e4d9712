/**
 * Client for test/python/store_oracle.py: Django's own `db` SessionStore (3.2, 4.2 or 5.2) running
 * against a real database, answering JSON-line requests. Tests point it at the database our store
 * uses and check that both sides read and write the same `django_session` rows the same way; the
 * store benchmark times Django's load+save loop through it.
 *
 * One long-lived Python process per (Django series, database, USE_TZ/TIME_ZONE): those are fixed at
 * start-up, as in a Django process. Requests are answered in order; `callMany`/`tryMany` send a
 * batch in one round trip. Session dicts travel as Python json text, never as JS values.
 *
 *   const django = await startStoreOracle({ series: '5.2', databaseUrl, useTz: true, timeZone: 'UTC', secretKey });
 *   const key = await django.create('{"a":1.0}', 300);
 *   const state = await django.load({ sessionKey: key });   // state.json === '{"a":1.0,"_session_expiry":300}'
 *   await django.close();
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import {
  availableDjangoVersions,
  DjangoNotSetUpError,
  djangoSitePackages,
  SYSTEM_PYTHON,
  type DjangoSeries,
  type Outcome,
  type PythonError,
} from './django-oracle.ts';

export type { DjangoSeries, Outcome, PythonError };

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ORACLE_SCRIPT = join(REPO_ROOT, 'test/python/store_oracle.py');

export interface StoreOracleOptions {
  series: DjangoSeries;
  /** The database, as our DATABASE_URL spells it (the oracle parses it like test/django_migrate). */
  databaseUrl: string;
  useTz: boolean;
  timeZone: string;
  secretKey: string;
  sessionCookieAge?: number;
  expireAtBrowserClose?: boolean;
}

/** Django's error for a failed Python call; `pythonType` is the exception class name. */
export class StoreOracleError extends Error {
  constructor(
    message: string,
    readonly series: DjangoSeries,
    readonly pythonType?: string,
  ) {
    super(message);
    this.name = 'StoreOracleError';
  }
}

// --- Wire types ----------------------------------------------------------------------------------

/** Which store a command acts on: a handle from `open` (one SessionStore object kept across calls, as
 * one request's `request.session`), or a session key (a new `SessionStore(key)` for that call only). */
export type StoreTarget = { handle: number } | { sessionKey: string | null };

/** What `set_expiry` gets: seconds (0: at browser close), null, a datetime (ISO text for
 * `datetime.fromisoformat`) or a timedelta in seconds. */
export type DjangoExpiry = number | null | { datetime: string } | { timedelta: number };

/** An accessor's outcome in Django: its value, or the exception it raised. */
export type Attempt<T> = { ok: T } | { error: PythonError };

export interface StoreState {
  /** The key after loading: null when the row was missing or expired. */
  sessionKey: string | null;
  /** The session dict as Python json text. */
  json: string;
  expiryAge: Attempt<number>;
  /** `get_expiry_date().isoformat()`. */
  expiryDate: Attempt<string>;
  expireAtBrowserClose: Attempt<boolean>;
}

export interface DjangoRow {
  sessionKey: string;
  sessionData: string;
  /** `expire_date.isoformat()` as Django's model reads it. */
  expireDate: string;
}

export interface StoreOracleInfo {
  django: string;
  python: string;
  /** `connection.vendor`: mysql, sqlite or postgresql. */
  vendor: string;
  useTz: boolean;
  timeZone: string;
}

/** A timed loop in the Python process: wall seconds and CPU seconds of that process. */
export interface BenchTiming {
  seconds: number;
  cpuSeconds: number;
}

type WithTarget<P> = StoreTarget & P;

/** Command name -> [params, result]. */
interface Commands {
  version: [Record<string, never>, StoreOracleInfo];
  open: [{ sessionKey: string | null }, number];
  close: [{ handle: number }, null];
  create: [{ data?: string; expiry?: DjangoExpiry }, string];
  load: [WithTarget<{ modification?: string }>, StoreState];
  set: [WithTarget<{ items: string; save?: boolean }>, string | null];
  pop: [WithTarget<{ name: string; default?: string; save?: boolean }>, string];
  set_expiry: [WithTarget<{ value: DjangoExpiry; save?: boolean }>, string | null];
  cycle_key: [StoreTarget, string];
  flush: [StoreTarget, string | null];
  save: [WithTarget<{ mustCreate?: boolean }>, string | null];
  delete: [StoreTarget, null];
  exists: [{ sessionKey: string }, boolean];
  clear_expired: [Record<string, never>, null];
  row: [{ sessionKey: string }, DjangoRow | null];
  keys: [Record<string, never>, string[]];
  bench_load_save: [{ sessionKey: string; iterations: number }, BenchTiming];
  bench_load: [{ sessionKey: string; iterations: number }, BenchTiming];
}
export type StoreCommand = keyof Commands;
export type StoreParams<C extends StoreCommand> = Commands[C][0];
export type StoreResult<C extends StoreCommand> = Commands[C][1];

type WireResponse = { id: number | null } & Outcome<unknown>;

// --- The client ----------------------------------------------------------------------------------

export class StoreOracle {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: WireResponse) => void; reject: (e: Error) => void }>();
  private stderrTail = '';
  private exited: Error | undefined;
  /** Filled in by startStoreOracle(). */
  info!: StoreOracleInfo;

  /** Use startStoreOracle(). */
  constructor(
    readonly series: DjangoSeries,
    private readonly child: ChildProcessWithoutNullStreams,
  ) {
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      this.stderrTail = (this.stderrTail + chunk).slice(-4000);
    });
    createInterface({ input: child.stdout }).on('line', (line) => this.onLine(line));
    child.on('error', (err) => this.fail(new StoreOracleError(`store oracle process error: ${err.message}`, series)));
    child.on('exit', (code, signal) =>
      this.fail(
        new StoreOracleError(
          `store oracle exited (code ${code}, signal ${signal})${this.stderrTail ? `: ${this.stderrTail}` : ''}`,
          series,
        ),
      ),
    );
  }

  private onLine(line: string): void {
    let msg: WireResponse;
    try {
      msg = JSON.parse(line) as WireResponse;
    } catch {
      this.fail(new StoreOracleError(`store oracle wrote a non-JSON line: ${line.slice(0, 200)}`, this.series));
      return;
    }
    const waiter = msg.id === null ? undefined : this.pending.get(msg.id);
    if (!waiter) {
      this.fail(new StoreOracleError(`store oracle answered an unknown request: ${line.slice(0, 200)}`, this.series));
      return;
    }
    this.pending.delete(msg.id as number);
    waiter.resolve(msg);
  }

  private fail(err: Error): void {
    this.exited ??= err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  private send(request: Record<string, unknown>): Promise<WireResponse> {
    if (this.exited) return Promise.reject(this.exited);
    const id = this.nextId++;
    return new Promise<WireResponse>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.child.stdin.write(JSON.stringify({ ...request, id }) + '\n');
    });
  }

  /** Run one command; a Python exception becomes `{ ok: false, error }`. */
  async try<C extends StoreCommand>(cmd: C, params: StoreParams<C>): Promise<Outcome<StoreResult<C>>> {
    const { id: _id, ...outcome } = await this.send({ ...params, cmd });
    return outcome as Outcome<StoreResult<C>>;
  }

  /** Run one command; a Python exception rejects with StoreOracleError. */
  async call<C extends StoreCommand>(cmd: C, params: StoreParams<C>): Promise<StoreResult<C>> {
    return this.unwrap(cmd, await this.try(cmd, params));
  }

  /** The same command for many parameter sets, in one round trip. */
  async tryMany<C extends StoreCommand>(cmd: C, paramsList: readonly StoreParams<C>[]): Promise<Outcome<StoreResult<C>>[]> {
    const resp = await this.send({ cmd: 'batch', requests: paramsList.map((p) => ({ ...p, cmd })) });
    const outcomes = this.unwrap('batch', resp as Outcome<unknown>) as Outcome<StoreResult<C>>[];
    if (outcomes.length !== paramsList.length) {
      throw new StoreOracleError(`batch answered ${outcomes.length} of ${paramsList.length}`, this.series);
    }
    return outcomes;
  }

  /** Like tryMany, but rejects on the first Python exception. */
  async callMany<C extends StoreCommand>(cmd: C, paramsList: readonly StoreParams<C>[]): Promise<StoreResult<C>[]> {
    const outcomes = await this.tryMany(cmd, paramsList);
    return outcomes.map((o, i) => this.unwrap(`${cmd} #${i}`, o));
  }

  private unwrap<T>(what: string, outcome: Outcome<T>): T {
    if (outcome.ok) return outcome.result;
    throw new StoreOracleError(
      `Django ${this.series} ${what}: ${outcome.error.type}: ${outcome.error.message}`,
      this.series,
      outcome.error.type,
    );
  }

  // Typed shorthands.

  /** A new session with `data` (json text) and, if given, `set_expiry(expiry)`; its key. */
  create(data: string, expiry?: DjangoExpiry): Promise<string> {
    return this.call('create', expiry === undefined ? { data } : { data, expiry });
  }
  /** Load (unless already loaded) and report data, key and expiry as Django sees them. */
  load(target: StoreTarget, modification?: string): Promise<StoreState> {
    return this.call('load', modification === undefined ? target : { ...target, modification });
  }
  /** A SessionStore kept across calls (one request's session); release it with `release`. */
  open(sessionKey: string | null): Promise<number> {
    return this.call('open', { sessionKey });
  }
  release(handle: number): Promise<null> {
    return this.call('close', { handle });
  }
  /** `store[k] = v` for each item of `items` (json text of a dict), then save() unless `save` is false. */
  set(target: StoreTarget, items: string, save = true): Promise<string | null> {
    return this.call('set', { ...target, items, save });
  }
  setExpiry(target: StoreTarget, value: DjangoExpiry, save = true): Promise<string | null> {
    return this.call('set_expiry', { ...target, value, save });
  }
  cycleKey(target: StoreTarget): Promise<string> {
    return this.call('cycle_key', target);
  }
  flush(target: StoreTarget): Promise<string | null> {
    return this.call('flush', target);
  }
  exists(sessionKey: string): Promise<boolean> {
    return this.call('exists', { sessionKey });
  }
  clearExpired(): Promise<null> {
    return this.call('clear_expired', {});
  }
  row(sessionKey: string): Promise<DjangoRow | null> {
    return this.call('row', { sessionKey });
  }
  /** Every session_key in the table, sorted. */
  keys(): Promise<string[]> {
    return this.call('keys', {});
  }

  /** End the process (closes stdin; the oracle exits at EOF). */
  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const done = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.exited ??= new StoreOracleError('store oracle closed', this.series);
    this.child.stdin.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await done;
    clearTimeout(timer);
  }
}

/**
 * Start Django's SessionStore for `options.series` on `options.databaseUrl`. Rejects with
 * DjangoNotSetUpError when the series is not set up (tests fail, never skip), and when the process
 * does not come up with the requested Django and settings.
 */
export async function startStoreOracle(options: StoreOracleOptions): Promise<StoreOracle> {
  const { series } = options;
  if (!availableDjangoVersions().includes(series)) throw new DjangoNotSetUpError(series);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PYTHONPATH: series === '3.2' ? '' : djangoSitePackages(series),
    PYTHONIOENCODING: 'utf-8',
    DATABASE_URL: options.databaseUrl,
    USE_TZ: options.useTz ? 'True' : 'False',
    TIME_ZONE: options.timeZone,
    // settings.configure() leaves the process zone alone; USE_TZ=False Django reads the local clock.
    TZ: options.timeZone,
    SECRET_KEY: options.secretKey,
    SESSION_COOKIE_AGE: String(options.sessionCookieAge ?? 1_209_600),
    SESSION_EXPIRE_AT_BROWSER_CLOSE: options.expireAtBrowserClose ? 'True' : 'False',
    DJANGO_VERSION: series,
  };
  // A stray PYTHONHOME (e.g. from pyenv) would point Debian's interpreter at the wrong stdlib.
  delete env.PYTHONHOME;
  const child = spawn(SYSTEM_PYTHON, ['-u', ORACLE_SCRIPT], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  const oracle = new StoreOracle(series, child);
  try {
    oracle.info = await oracle.call('version', {});
  } catch (err) {
    await oracle.close();
    throw err;
  }
  const { info } = oracle;
  if (!info.django.startsWith(`${series}.`) || info.useTz !== options.useTz || info.timeZone !== options.timeZone) {
    await oracle.close();
    throw new StoreOracleError(`asked for Django ${series} (USE_TZ=${options.useTz}, ${options.timeZone}), got ${JSON.stringify(info)}`, series);
  }
  return oracle;
}
