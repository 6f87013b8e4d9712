/**
 * Django's `db` session engine (django/contrib/sessions/backends/db.py) over knex: the same rows,
 * the same statements, the same errors.
 *
 *   load()            one indexed point query: session_key = ? AND expire_date > now.
 *                     Missing or expired: the key becomes null and the data {} (nothing is created).
 *   exists(key)       ignores expiry.
 *   save()            UPDATE … WHERE session_key = ? (no expiry filter); 0 rows or any database error
 *                     → UpdateError. save({mustCreate}) INSERTs; a duplicate key → CreateError.
 *   create()          fresh key until the INSERT succeeds.
 *   deleteSession()   DELETE by key; a missing row is fine.
 *   clearExpired()    DELETE … WHERE expire_date < now.
 *
 * Use a factory per app (`createSessionStoreFactory`), then one cheap store per request:
 *
 *   const sessions = createSessionStoreFactory({ db, settings });
 *   const session = sessions(ctx.cookies.get('sessionid'));
 *   await session.set('cart', [1, 2]);
 *   await session.save();
 */
import type { Database } from '../../db/connection.ts';
import { DjangoTimezone, type PyDateTime } from '../../db/datetime.ts';
import type { SessionDict } from '../../pyjson/types.ts';
import { SessionBase, type SaveOptions, type SessionBaseOptions, type SessionSettings } from '../base.ts';
import { SessionCodec } from '../codec.ts';
import { CreateError, UpdateError } from '../errors.ts';
import { isIntegrityError, SessionTable, type SessionRow, type SessionTableOptions } from './db-table.ts';

/** What the store needs from a codec (`SessionCodec` is one). */
export interface SessionDataCodec {
  encode(data: SessionDict): string;
  /** Never throws: {} (and Django's warning) for anything it cannot read. */
  decode(sessionData: string): SessionDict;
}

/** Settings for the db engine; the secret ones are only read when no codec is given. */
export interface DatabaseSessionSettings extends SessionSettings {
  SECRET_KEY?: string;
  SECRET_KEY_FALLBACKS?: readonly string[];
  DEFAULT_HASHING_ALGORITHM?: 'sha256' | 'sha1';
}

export type DatabaseSessionStoreOptions = SessionBaseOptions & { codec: SessionDataCodec } & (
    | {
        /** The session table, shared by every store (what createSessionStoreFactory passes). */
        table: SessionTable;
      }
    | {
        /** Or the database: the table is then looked up in a per-database cache. */
        db: Database;
      }
  );

const tableCache = new WeakMap<Database, Map<string, SessionTable>>();

/** One SessionTable per database and time settings, with the system clock (for stores built from `db`). */
function cachedTable(db: Database, settings: SessionSettings): SessionTable {
  let byTz = tableCache.get(db);
  if (byTz === undefined) tableCache.set(db, (byTz = new Map()));
  const id = `${settings.USE_TZ}|${settings.TIME_ZONE}`;
  let table = byTz.get(id);
  if (table === undefined) byTz.set(id, (table = new SessionTable(db, new DjangoTimezone(settings))));
  return table;
}

export class DatabaseSessionStore extends SessionBase {
  readonly table: SessionTable;
  readonly codec: SessionDataCodec;

  constructor(sessionKey: string | null | undefined, options: DatabaseSessionStoreOptions) {
    const table = 'table' in options ? options.table : cachedTable(options.db, options.settings);
    super(sessionKey, { settings: options.settings, timezone: options.timezone ?? table.timezone });
    this.table = table;
    this.codec = options.codec;
  }

  /** `SessionStore.clear_expired()` as a class method: delete every expired row; the number deleted. */
  static clearExpired(options: { db: Database; settings: SessionSettings; timezone?: DjangoTimezone }): Promise<number> {
    const timezone = options.timezone ?? new DjangoTimezone(options.settings);
    return new SessionTable(options.db, timezone).deleteExpired(timezone.now());
  }

  /** `SessionBase.encode`: the session serialized and signed. */
  encode(data: SessionDict): string {
    return this.codec.encode(data);
  }

  /** `SessionBase.decode`: never throws ({} and Django's warning for bad data). */
  decode(sessionData: string): SessionDict {
    return this.codec.decode(sessionData);
  }

  async load(): Promise<SessionDict> {
    const key = this.sessionKey;
    const data = key === null ? null : await this.table.loadData(key, this.timezone.now());
    if (data === null) {
      this._sessionKey = null;
      return new Map();
    }
    return this.codec.decode(data);
  }

  exists(sessionKey: string): Promise<boolean> {
    return this.table.exists(sessionKey);
  }

  async create(): Promise<void> {
    for (;;) {
      this._sessionKey = await this._getNewSessionKey();
      try {
        // Save at once, so the key is taken in the database.
        await this.save({ mustCreate: true });
      } catch (e) {
        if (e instanceof CreateError) continue; // the key was taken in between: draw another
        throw e;
      }
      this.modified = true;
      return;
    }
  }

  async save({ mustCreate = false }: SaveOptions = {}): Promise<void> {
    if (this.sessionKey === null) return this.create();
    const data = await this._getSession(mustCreate);
    // Django's create_model_instance(): key, then session_data, then expire_date, in that order.
    const key = await this._getOrCreateSessionKey();
    const sessionData = this.codec.encode(data);
    const expireDate = this.table.expireDateParam(await this.getExpiryDate());
    if (mustCreate) {
      try {
        await this.table.insert(key, sessionData, expireDate);
      } catch (e) {
        if (isIntegrityError(this.table.dialect, e)) throw new CreateError(key, { cause: e });
        throw e;
      }
      return;
    }
    let matched: number;
    try {
      matched = await this.table.update(key, sessionData, expireDate);
    } catch (e) {
      // Django: any DatabaseError on a forced update is an UpdateError.
      throw new UpdateError(key, `Could not update the session: ${(e as Error).message}`, { cause: e });
    }
    if (matched === 0) throw new UpdateError(key);
  }

  async deleteSession(sessionKey: string | null = null): Promise<void> {
    const key = sessionKey ?? this.sessionKey;
    if (key === null) return;
    await this.table.delete(key);
  }

  /** Delete every expired row (`clearsessions`). */
  override async clearExpired(): Promise<void> {
    await this.table.deleteExpired(this.timezone.now());
  }
}

/**
 * Django's `Session.objects` for this table: read a row with its decoded data, encode, and
 * `save(key, dict, expireDate)` (which deletes the row when the dict is empty).
 */
export class SessionManager {
  constructor(
    readonly table: SessionTable,
    readonly codec: SessionDataCodec,
  ) {}

  encode(data: SessionDict): string {
    return this.codec.encode(data);
  }

  /** The row under `sessionKey` (expired or not) with `getDecoded()`, or null. */
  async get(sessionKey: string): Promise<(SessionRow & { getDecoded(): SessionDict }) | null> {
    const row = await this.table.getRow(sessionKey);
    if (row === null) return null;
    const codec = this.codec;
    return { ...row, getDecoded: () => codec.decode(row.sessionData) };
  }

  /** `SessionManager.save`: an empty dict deletes the row; otherwise UPDATE, or INSERT when nothing matched. */
  async save(sessionKey: string, data: SessionDict, expireDate: PyDateTime): Promise<void> {
    if (data.size === 0) {
      await this.table.delete(sessionKey);
      return;
    }
    const encoded = this.codec.encode(data);
    const expire = this.table.expireDateParam(expireDate);
    if ((await this.table.update(sessionKey, encoded, expire)) === 0) {
      await this.table.insert(sessionKey, encoded, expire);
    }
  }
}

export interface SessionStoreFactoryOptions {
  db: Database;
  settings: DatabaseSessionSettings;
  /** Default: a SessionCodec from SECRET_KEY, SECRET_KEY_FALLBACKS, DJANGO_VERSION, DEFAULT_HASHING_ALGORITHM. */
  codec?: SessionDataCodec;
  /** Default: from USE_TZ / TIME_ZONE with the system clock. Tests pass a frozen clock. */
  timezone?: DjangoTimezone;
  table?: SessionTableOptions;
}

/** Makes one `DatabaseSessionStore` per request; everything expensive is built once, here. */
export interface SessionStoreFactory {
  (sessionKey: string | null | undefined): DatabaseSessionStore;
  readonly table: SessionTable;
  readonly codec: SessionDataCodec;
  readonly timezone: DjangoTimezone;
  readonly settings: DatabaseSessionSettings;
  /** `Session.objects`. */
  readonly objects: SessionManager;
  /** `SessionStore.clear_expired()`: delete expired rows; the number deleted. */
  clearExpired(): Promise<number>;
}

function defaultCodec(settings: DatabaseSessionSettings): SessionDataCodec {
  if (!settings.SECRET_KEY) {
    throw new TypeError('createSessionStoreFactory: pass a codec, or settings with SECRET_KEY');
  }
  return new SessionCodec({
    secretKey: settings.SECRET_KEY,
    secretKeyFallbacks: settings.SECRET_KEY_FALLBACKS ?? [],
    djangoVersion: settings.DJANGO_VERSION,
    hashingAlgorithm: settings.DEFAULT_HASHING_ALGORITHM ?? 'sha256',
  });
}

export function createSessionStoreFactory(options: SessionStoreFactoryOptions): SessionStoreFactory {
  const { db, settings } = options;
  const timezone = options.timezone ?? new DjangoTimezone(settings);
  const table = new SessionTable(db, timezone, options.table);
  const codec = options.codec ?? defaultCodec(settings);
  const storeOptions: DatabaseSessionStoreOptions = { settings, timezone, table, codec };
  const factory = (sessionKey: string | null | undefined): DatabaseSessionStore => new DatabaseSessionStore(sessionKey, storeOptions);
  return Object.assign(factory, {
    table,
    codec,
    timezone,
    settings,
    objects: new SessionManager(table, codec),
    clearExpired: () => table.deleteExpired(timezone.now()),
  });
}
