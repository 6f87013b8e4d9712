/**
 * An in-memory session backend for unit tests of SessionBase: the five storage hooks done the way
 * Django's `db` engine does them (load filters on expiry and nulls the key; save with mustCreate
 * inserts or throws CreateError; save without only updates or throws UpdateError), over a Map.
 * It counts storage calls so tests can assert what loaded and what did not.
 */
import { DjangoTimezone, type PyDateTime } from '../../src/db/datetime.ts';
import { PY_KEY_ORDER, PyFloat, type PyDict, type PyValue, type SessionDict } from '../../src/pyjson/types.ts';
import { SessionBase, type SaveOptions, type SessionSettings } from '../../src/sessions/base.ts';
import { CreateError, UpdateError } from '../../src/sessions/errors.ts';

export interface MemoryRow {
  data: SessionDict;
  expireDate: PyDateTime;
}

/** Deep copy of a session value, keeping PyFloat instances and dict key order. */
export function clonePyValue(v: PyValue): PyValue {
  if (v === null || typeof v !== 'object' || v instanceof PyFloat) return v;
  if (Array.isArray(v)) return v.map(clonePyValue);
  if (v instanceof Map) return cloneSessionDict(v);
  const out: PyDict = {};
  for (const k of Object.keys(v)) out[k] = clonePyValue(v[k] as PyValue);
  const order = (v as { [PY_KEY_ORDER]?: string[] })[PY_KEY_ORDER];
  if (order) Object.defineProperty(out, PY_KEY_ORDER, { value: [...order], enumerable: false });
  return out;
}

export function cloneSessionDict(d: SessionDict): SessionDict {
  const out: SessionDict = new Map();
  for (const [k, v] of d) out.set(k, clonePyValue(v));
  return out;
}

export class MemoryStorage {
  readonly rows = new Map<string, MemoryRow>();
  readonly calls = { load: 0, exists: 0, insert: 0, update: 0, delete: 0 };
}

export interface MemorySessionStoreOptions {
  settings: SessionSettings;
  storage: MemoryStorage;
  timezone?: DjangoTimezone;
}

export class MemorySessionStore extends SessionBase {
  readonly storage: MemoryStorage;

  constructor(sessionKey: string | null | undefined, options: MemorySessionStoreOptions) {
    super(sessionKey, options);
    this.storage = options.storage;
  }

  async load(): Promise<SessionDict> {
    this.storage.calls.load++;
    const key = this.sessionKey;
    const row = key === null ? undefined : this.storage.rows.get(key);
    if (row === undefined || row.expireDate.compare(this.timezone.now()) <= 0) {
      this._sessionKey = null;
      return new Map();
    }
    return cloneSessionDict(row.data);
  }

  async exists(sessionKey: string): Promise<boolean> {
    this.storage.calls.exists++;
    return this.storage.rows.has(sessionKey);
  }

  async create(): Promise<void> {
    for (;;) {
      this._sessionKey = await this._getNewSessionKey();
      try {
        await this.save({ mustCreate: true });
      } catch (e) {
        if (e instanceof CreateError) continue;
        throw e;
      }
      this.modified = true;
      return;
    }
  }

  async save({ mustCreate = false }: SaveOptions = {}): Promise<void> {
    if (this.sessionKey === null) return this.create();
    const data = await this._getSession(mustCreate);
    const key = await this._getOrCreateSessionKey();
    const row: MemoryRow = { data: cloneSessionDict(data), expireDate: await this.getExpiryDate() };
    if (mustCreate) {
      this.storage.calls.insert++;
      if (this.storage.rows.has(key)) throw new CreateError(key);
    } else {
      this.storage.calls.update++;
      if (!this.storage.rows.has(key)) throw new UpdateError(key);
    }
    this.storage.rows.set(key, row);
  }

  async deleteSession(sessionKey: string | null = null): Promise<void> {
    const key = sessionKey ?? this.sessionKey;
    if (key === null) return;
    this.storage.calls.delete++;
    this.storage.rows.delete(key);
  }

  override async clearExpired(): Promise<void> {
    const now = this.timezone.now();
    for (const [key, row] of this.storage.rows) if (row.expireDate.compare(now) < 0) this.storage.rows.delete(key);
  }
}
