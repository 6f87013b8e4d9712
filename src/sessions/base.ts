/**
 * `SessionBase`: Django's session API (django/contrib/sessions/backends/base.py) with its exact
 * semantics, for backends to extend.
 *
 * Design choice: **async accessors, lazy loading, exact flags.**
 * Django loads the session on the first touch of `_session` by *any* data method (`get`, `in`,
 * `[]=`, `pop`, `set_expiry`, `get_expiry_age`, …) and a handler that never touches the session costs
 * no query. In Node a database read cannot be synchronous, so every method that may touch `_session`
 * returns a Promise (`await session.get('cart')`), and the ones that never load in Django stay
 * synchronous (`clear()`, `isEmpty()`, `sessionKey`, `accessed`, `modified`).
 * The alternative, `await session.load()` once and then synchronous accessors, was rejected: the load
 * would either be eager (a query on every request that carries a cookie, even for handlers that never
 * read the session, and a changed `accessed` flag, hence a changed `Vary: Cookie`), or every accessor
 * would need a "not loaded yet" error that users would meet at run time. With async accessors there is
 * no such state: the first call loads, concurrent first calls share one load, and once loaded an
 * accessor costs one microtask and no I/O. `load()` keeps Django's meaning (the backend hook that
 * reads storage and returns the data), so tests can drive it exactly like Django's tests do.
 *
 * Flags follow spec §2.3 to the letter (the `_session` accessor sets `accessed` even when the data is
 * cached; `update()` always sets `modified`; `pop()` sets it only if the key existed; `clear()` does
 * not load). Data is a `Map` (insertion order, like a Python dict), and values are kept exactly as the
 * codec decoded them, so the ones a handler does not replace are re-encoded byte for byte.
 *
 * Naming: Django's `del session[key]` is `delete(key)` (as on a Map), so Django's storage hook
 * `delete(session_key=None)` is `deleteSession(sessionKey?)`.
 */
import { DjangoTimezone, type PyDateTime, type TimeSettings } from '../db/datetime.ts';
import type { PyValue, SessionDict } from '../pyjson/types.ts';
import { KeyError, NotImplementedError } from './errors.ts';
import {
  EXPIRY_KEY,
  expireAtBrowserClose,
  expiryAge,
  expiryDate,
  expiryToStore,
  type DjangoVersion,
  type ExpiryInput,
  type ExpiryValue,
} from './expiry.ts';
import { isValidSessionKey, randomSessionKey } from './keys.ts';

/** The settings a session store reads, under Django's names (a subset of `Settings`). */
export interface SessionSettings extends TimeSettings {
  SESSION_COOKIE_AGE: number;
  SESSION_EXPIRE_AT_BROWSER_CLOSE: boolean;
  DJANGO_VERSION: DjangoVersion;
}

export interface SessionBaseOptions {
  settings: SessionSettings;
  /** `django.utils.timezone` for these settings; built from them when omitted. Tests pass one with a frozen clock. */
  timezone?: DjangoTimezone;
}

/** `modification` and `expiry` of `get_expiry_age(**kwargs)` / `get_expiry_date(**kwargs)`. */
export interface ExpiryOptions {
  /** Defaults to `timezone.now()`. */
  modification?: PyDateTime;
  /** When the property is present (even `undefined`/`null`), the stored value is not read: no load. */
  expiry?: ExpiryValue | undefined;
}

export interface SaveOptions {
  /** Insert a new record or raise CreateError (never update). */
  mustCreate?: boolean;
}

/** Entries accepted by `update()`: a Map/iterable of pairs keeps its order; a plain object uses JS key order. */
export type SessionEntries = Iterable<readonly [string, PyValue]> | Readonly<Record<string, PyValue>>;

export abstract class SessionBase {
  static readonly TEST_COOKIE_NAME = 'testcookie';
  static readonly TEST_COOKIE_VALUE = 'worked';

  /** Set whenever the session data was looked at (drives `Vary: Cookie`). */
  accessed = false;
  /** Set whenever the session data changed (drives the save). */
  modified = false;

  protected readonly settings: SessionSettings;
  readonly timezone: DjangoTimezone;

  #sessionKey: string | null = null;
  /** `_session_cache`: undefined until loaded (Python's AttributeError). */
  #cache: SessionDict | undefined = undefined;
  #pendingLoad: Promise<SessionDict> | undefined = undefined;

  constructor(sessionKey: string | null | undefined, options: SessionBaseOptions) {
    this.settings = options.settings;
    this.timezone = options.timezone ?? new DjangoTimezone(options.settings);
    this._sessionKey = sessionKey;
  }

  // ------------------------------------------------------------------------------------------
  // Session key

  /** The current key, or null. Read-only: assigning throws a TypeError (Django: AttributeError). */
  get sessionKey(): string | null {
    return this.#sessionKey;
  }

  /** Django's validated internal setter: a key shorter than 8 characters (or empty) becomes null. */
  protected get _sessionKey(): string | null {
    return this.#sessionKey;
  }

  protected set _sessionKey(value: string | null | undefined) {
    this.#sessionKey = isValidSessionKey(value) ? value : null;
  }

  /** A key that `exists()` says is unused. */
  protected async _getNewSessionKey(): Promise<string> {
    for (;;) {
      const key = randomSessionKey();
      if (!(await this.exists(key))) return key;
    }
  }

  protected async _getOrCreateSessionKey(): Promise<string> {
    if (this.#sessionKey === null) this.#sessionKey = await this._getNewSessionKey();
    return this.#sessionKey;
  }

  // ------------------------------------------------------------------------------------------
  // The lazily loaded data (`_session`)

  /**
   * Django's `_get_session(no_load)`: always sets `accessed`; returns the cache, else `{}` when there
   * is no key (or `noLoad`), else `load()`. Concurrent first calls share one load.
   */
  protected _getSession(noLoad = false): SessionDict | Promise<SessionDict> {
    this.accessed = true;
    if (this.#cache !== undefined) return this.#cache;
    if (this.#sessionKey === null || noLoad) return (this.#cache = new Map());
    return (this.#pendingLoad ??= this.#loadIntoCache());
  }

  async #loadIntoCache(): Promise<SessionDict> {
    try {
      const data = await this.load();
      // clear()/cycleKey() may have replaced the cache while the query ran; theirs wins, as it would
      // have in Django's synchronous order.
      if (this.#cache === undefined) this.#cache = data;
      return this.#cache;
    } finally {
      this.#pendingLoad = undefined;
    }
  }

  /** The cached data if it was loaded (or set), without loading or touching the flags. For backends and tests. */
  protected get _sessionCache(): SessionDict | undefined {
    return this.#cache;
  }

  protected set _sessionCache(data: SessionDict | undefined) {
    this.#cache = data;
  }

  // ------------------------------------------------------------------------------------------
  // Dict API

  /** `session.get(key, default=None)`. */
  async get(key: string): Promise<PyValue>;
  async get<D>(key: string, defaultValue: D): Promise<PyValue | D>;
  async get<D>(key: string, ...rest: [D?]): Promise<PyValue | D | null> {
    const data = await this._getSession();
    const value = data.get(key);
    if (value !== undefined || data.has(key)) return value as PyValue;
    return rest.length === 0 ? null : (rest[0] as D);
  }

  /** `session[key]`: the value, or KeyError. */
  async getItem(key: string): Promise<PyValue> {
    const data = await this._getSession();
    if (!data.has(key)) throw new KeyError(key);
    return data.get(key) as PyValue;
  }

  /** `session[key] = value`. */
  async set(key: string, value: PyValue): Promise<void> {
    const data = await this._getSession();
    data.set(key, value);
    this.modified = true;
  }

  /** `del session[key]`: KeyError (and no flag change) when missing. */
  async delete(key: string): Promise<void> {
    const data = await this._getSession();
    if (!data.delete(key)) throw new KeyError(key);
    this.modified = true;
  }

  /** `key in session` / `has_key(key)`. */
  async has(key: string): Promise<boolean> {
    return (await this._getSession()).has(key);
  }

  /** `session.pop(key[, default])`: `modified` becomes true only if the key existed. */
  async pop(key: string): Promise<PyValue>;
  async pop<D>(key: string, defaultValue: D): Promise<PyValue | D>;
  async pop<D>(key: string, ...rest: [D?]): Promise<PyValue | D> {
    const data = await this._getSession();
    const present = data.has(key);
    this.modified = this.modified || present;
    if (present) {
      const value = data.get(key) as PyValue;
      data.delete(key);
      return value;
    }
    if (rest.length === 0) throw new KeyError(key);
    return rest[0] as D;
  }

  /** `session.setdefault(key, value)`: `modified` only when the key was absent. */
  async setdefault(key: string, value: PyValue): Promise<PyValue> {
    const data = await this._getSession();
    if (data.has(key)) return data.get(key) as PyValue;
    this.modified = true;
    data.set(key, value);
    return value;
  }

  /** `session.update(d)`: always sets `modified`, even for no entries. */
  async update(entries: SessionEntries): Promise<void> {
    const data = await this._getSession();
    const pairs: Iterable<readonly [string, PyValue]> =
      Symbol.iterator in entries ? (entries as Iterable<readonly [string, PyValue]>) : Object.entries(entries);
    for (const [k, v] of pairs) data.set(k, v);
    this.modified = true;
  }

  async keys(): Promise<string[]> {
    return [...(await this._getSession()).keys()];
  }

  async values(): Promise<PyValue[]> {
    return [...(await this._getSession()).values()];
  }

  async items(): Promise<[string, PyValue][]> {
    return [...(await this._getSession()).entries()];
  }

  /** Empty the data without loading it; sets both flags. */
  clear(): void {
    this.#cache = new Map();
    this.accessed = true;
    this.modified = true;
  }

  /** True when there is no session key and the data is empty or was never loaded. Touches no flag. */
  isEmpty(): boolean {
    return this.#sessionKey === null && (this.#cache === undefined || this.#cache.size === 0);
  }

  // ------------------------------------------------------------------------------------------
  // Test cookie

  async setTestCookie(): Promise<void> {
    await this.set(SessionBase.TEST_COOKIE_NAME, SessionBase.TEST_COOKIE_VALUE);
  }

  async testCookieWorked(): Promise<boolean> {
    return (await this.get(SessionBase.TEST_COOKIE_NAME)) === SessionBase.TEST_COOKIE_VALUE;
  }

  async deleteTestCookie(): Promise<void> {
    await this.delete(SessionBase.TEST_COOKIE_NAME);
  }

  // ------------------------------------------------------------------------------------------
  // Expiry

  /** `SESSION_COOKIE_AGE`; override for a per-store default, as Django allows. */
  getSessionCookieAge(): number {
    return this.settings.SESSION_COOKIE_AGE;
  }

  async #expiryArgs(options: ExpiryOptions): Promise<[ExpiryValue | undefined, PyDateTime]> {
    const modification = options.modification ?? this.timezone.now();
    // "expiry=None passed" differs from "expiry not passed": only the latter reads (and loads) the session.
    const expiry = 'expiry' in options ? options.expiry : await this.get(EXPIRY_KEY);
    return [expiry, modification];
  }

  /** Seconds until the session expires (spec §2.5). Loads unless `expiry` is given. */
  async getExpiryAge(options: ExpiryOptions = {}): Promise<number> {
    const [expiry, modification] = await this.#expiryArgs(options);
    return expiryAge(expiry, modification, this.getSessionCookieAge(), this.settings.DJANGO_VERSION);
  }

  /** The expiry datetime (aware UTC with USE_TZ, naive local otherwise). Loads unless `expiry` is given. */
  async getExpiryDate(options: ExpiryOptions = {}): Promise<PyDateTime> {
    const [expiry, modification] = await this.#expiryArgs(options);
    return expiryDate(expiry, modification, this.getSessionCookieAge(), this.settings.DJANGO_VERSION);
  }

  /**
   * `set_expiry(value)`: a number of seconds of inactivity (0: at browser close), a fixed Date /
   * PyDateTime, a Timedelta from now, or null for the global policy. Under DJANGO_VERSION 3.2 a
   * datetime or Timedelta throws SessionExpiryError before anything changes (see expiry.ts).
   */
  async setExpiry(value: ExpiryInput): Promise<void> {
    if (value === null) {
      try {
        await this.delete(EXPIRY_KEY);
      } catch (e) {
        if (!(e instanceof KeyError)) throw e;
      }
      return;
    }
    await this.set(EXPIRY_KEY, expiryToStore(value, this.timezone, this.settings.DJANGO_VERSION));
  }

  /** True if the session expires when the browser closes (no fixed expiry). */
  async getExpireAtBrowserClose(): Promise<boolean> {
    return expireAtBrowserClose(await this.get(EXPIRY_KEY), this.settings.SESSION_EXPIRE_AT_BROWSER_CLOSE);
  }

  // ------------------------------------------------------------------------------------------
  // Key rotation

  /** Remove the data from storage and forget the key; the next save creates a new one. */
  async flush(): Promise<void> {
    this.clear();
    await this.deleteSession();
    this._sessionKey = null;
  }

  /** A new key for the same data (inserted now), then the old row deleted. */
  async cycleKey(): Promise<void> {
    const data = await this._getSession();
    const key = this.#sessionKey;
    await this.create();
    this.#cache = data;
    if (key) await this.deleteSession(key);
  }

  // ------------------------------------------------------------------------------------------
  // Storage: what each backend implements

  /** True if a record exists under `sessionKey` (ignoring expiry). */
  abstract exists(sessionKey: string): Promise<boolean>;

  /** Save a new record under a fresh unique key (with the current data, or `{}`); sets `modified`. */
  abstract create(): Promise<void>;

  /**
   * Save the data. `mustCreate`: insert a new record or throw CreateError. Otherwise only update an
   * existing record, or throw UpdateError.
   */
  abstract save(options?: SaveOptions): Promise<void>;

  /** Delete the record under `sessionKey` (default: the current key; nothing when that is null). */
  abstract deleteSession(sessionKey?: string | null): Promise<void>;

  /** Read the data from storage (Django's `load()`): `{}` and a null key when it is missing or expired. */
  abstract load(): Promise<SessionDict>;

  /** Remove expired records. Backends that cannot do it throw NotImplementedError, as Django's do. */
  async clearExpired(): Promise<void> {
    throw new NotImplementedError('This backend does not support clear_expired().');
  }
}
