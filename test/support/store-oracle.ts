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
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { availableDjangoVersions, DjangoNotSetUpError, spawnDjangoPython, type DjangoSeries } from './django-oracle.ts';
import { JsonLinesOracle, type Outcome, type PythonError } from './json-lines-oracle.ts';

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

// --- The client ----------------------------------------------------------------------------------

export class StoreOracle extends JsonLinesOracle<Commands> {
  /** Filled in by startStoreOracle(). */
  info!: StoreOracleInfo;

  /** Use startStoreOracle(). */
  constructor(
    readonly series: DjangoSeries,
    child: ChildProcessWithoutNullStreams,
  ) {
    super(child, {
      label: 'store oracle',
      owner: `Django ${series}`,
      error: (message, pythonType) => new StoreOracleError(message, series, pythonType),
    });
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
}

/**
 * Start Django's SessionStore for `options.series` on `options.databaseUrl`. Rejects with
 * DjangoNotSetUpError when the series is not set up (tests fail, never skip), and when the process
 * does not come up with the requested Django and settings.
 */
export async function startStoreOracle(options: StoreOracleOptions): Promise<StoreOracle> {
  const { series } = options;
  if (!availableDjangoVersions().includes(series)) throw new DjangoNotSetUpError(series);
  const child = spawnDjangoPython(series, ORACLE_SCRIPT, {
    DATABASE_URL: options.databaseUrl,
    USE_TZ: options.useTz ? 'True' : 'False',
    TIME_ZONE: options.timeZone,
    // settings.configure() leaves the process zone alone; USE_TZ=False Django reads the local clock.
    TZ: options.timeZone,
    SECRET_KEY: options.secretKey,
    SESSION_COOKIE_AGE: String(options.sessionCookieAge ?? 1_209_600),
    SESSION_EXPIRE_AT_BROWSER_CLOSE: options.expireAtBrowserClose ? 'True' : 'False',
    DJANGO_VERSION: series,
  });
  const oracle = new StoreOracle(series, child);
  oracle.info = await oracle.closeOnFailure(async () => {
    const info = await oracle.call('version', {});
    if (!info.django.startsWith(`${series}.`) || info.useTz !== options.useTz || info.timeZone !== options.timeZone) {
      const wanted = `Django ${series} (USE_TZ=${options.useTz}, ${options.timeZone})`;
      throw new StoreOracleError(`asked for ${wanted}, got ${JSON.stringify(info)}`, series);
    }
    return info;
  });
  return oracle;
}
