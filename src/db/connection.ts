/**
 * knex from a DATABASE_URL, configured the way Django's own connections behave where that matters
 * for sharing `django_session`:
 *
 * - MySQL/MariaDB (`mysql://`, `mariadb://`, mysql2): the client flag FOUND_ROWS, so an UPDATE that
 *   rewrites identical values still reports 1 affected row, as Django's MySQL connections do (spec 3.3;
 *   without it a no-op session save would look like UpdateError). Datetimes come back as the server's
 *   text (`dateStrings`) and Date parameters are written in UTC (`timezone: 'Z'`), so the
 *   per-dialect datetime code decides every datetime string. BIGINT comes back as a string (no
 *   silent precision loss).
 * - PostgreSQL (`postgres://`, `postgresql://`, pg): the session TimeZone is UTC when USE_TZ is
 *   True, else TIME_ZONE (what Django sets); timestamp/timestamptz/date come back as the server's
 *   text (no lossy JS Date: microseconds survive). A statement timeout bounds every query.
 * - SQLite (`sqlite:relative.db`, `sqlite:/abs.db`, `sqlite:///abs.db`, `sqlite:////abs.db`,
 *   `sqlite::memory:`; better-sqlite3): WAL for files, a busy timeout, foreign keys on (as Django).
 *
 * Pools are bounded, and so is every wait: connecting, waiting for a pooled connection, and (on
 * MySQL/MariaDB, which has no general server-side statement timeout) every statement's answer, with
 * the connection of a statement that ran out of time closed rather than reused (see the bounds
 * below). Passwords never reach an error message or a log line: errors carry `redactDatabaseUrl(url)`.
 */
import { existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, resolve as resolvePath } from 'node:path';
import knexFactory, { type Knex } from 'knex';
import pg from 'pg';
import { getLogger } from '../log.ts';
import { DatabaseConfigError } from './errors.ts';

export type Dialect = 'mysql' | 'sqlite' | 'postgres';

export interface Database {
  readonly knex: Knex;
  readonly dialect: Dialect;
  /** The URL without its password, for messages. */
  readonly redactedUrl: string;
  /** The client-side bound on one statement's answer, in ms (PoolOptions.queryTimeoutMillis). */
  readonly queryTimeoutMillis: number;
  /** Close every pooled connection. Safe to call twice. */
  close(): Promise<void>;
}

/** The two settings that decide how datetimes travel. Default: USE_TZ True, TIME_ZONE UTC. */
export interface TimeZoneSettings {
  readonly USE_TZ: boolean;
  readonly TIME_ZONE: string;
}

export interface PoolOptions {
  /** Most connections held at once (MySQL/PostgreSQL; SQLite always uses one). Default 10. */
  readonly max?: number;
  /** How long a query may wait for a free connection, in ms. Default ACQUIRE_TIMEOUT_MS. */
  readonly acquireTimeoutMillis?: number;
  /**
   * Client-side bound on one statement's answer, in ms. Default QUERY_TIMEOUT_MS. 0: none, for a
   * maintenance tool whose statements may rightly run long (never for a server answering requests).
   */
  readonly queryTimeoutMillis?: number;
}

// ---- The bounds on every wait ---------------------------------------------------------------------
//
// A database call made for a request waits at most ACQUIRE_TIMEOUT_MS for a pooled connection, then
// at most QUERY_TIMEOUT_MS for its statement's answer: it is answered (a result, or an error the app
// turns into a 503 with Retry-After) within ACQUIRE + QUERY = 10 s, whatever the server does. The
// first failing call ends the request, so that is also the bound on a request's time spent waiting for
// the database. 10 s is well inside what sits in front of a Django site (gunicorn's 30-s worker
// timeout, nginx's 60-s proxy_read_timeout), so the client sees our 503, not the proxy's 502/504.

/** Opening a connection: TCP, TLS, handshake and login (mysql2 connectTimeout, pg connectionTimeoutMillis, tarn createTimeoutMillis). */
export const CONNECT_TIMEOUT_MS = 5_000;
/**
 * Waiting for a pooled connection, opening one included (knex acquireConnectionTimeout). A healthy
 * pool hands one over in well under a millisecond per queued query; 5 s of waiting means the database
 * is not answering, and the request is better off with a 503 now than a hung socket.
 */
export const ACQUIRE_TIMEOUT_MS = 5_000;
/**
 * Client-side bound on one statement's answer, from the moment it has a connection: the prepared
 * statements of the request path (src/db/prepared.ts, every dialect) and every knex statement on
 * MySQL/MariaDB (which has no general server-side statement timeout). When it passes, the
 * connection is closed, never returned to the pool: its answer may still be on the way, and mysql2
 * would hand it to whatever ran next on that connection (or queue the next statement behind it,
 * forever if the server is frozen). A statement that may rightly run longer (maintenance, not a
 * request) sets its own: knex `.options({ timeout: ms })` on MySQL (0: no client-side bound).
 * Far above a healthy point query (≈ 1 ms); above the row-lock waits a web request should tolerate.
 */
export const QUERY_TIMEOUT_MS = 5_000;
/** PostgreSQL statement_timeout (server-side, every statement of the connection). */
export const STATEMENT_TIMEOUT_MS = 30_000;
export const SQLITE_BUSY_TIMEOUT_MS = 5_000;
const DEFAULT_POOL_MAX = 10;
const IDLE_TIMEOUT_MS = 30_000;

const DEFAULT_TIME_ZONE_SETTINGS: TimeZoneSettings = { USE_TZ: true, TIME_ZONE: 'UTC' };

// ---- URL parsing --------------------------------------------------------------------------------

export type ParsedDatabaseUrl =
  | {
      readonly dialect: 'mysql' | 'postgres';
      readonly host: string;
      readonly port: number;
      readonly user: string;
      readonly password: string;
      readonly database: string;
      /** mysql `?ssl=true`; postgres `?sslmode=require|verify-full`. */
      readonly tls: 'off' | 'encrypt' | 'verify';
    }
  | {
      readonly dialect: 'sqlite';
      /** An absolute path, or ':memory:'. */
      readonly filename: string;
    };

/** The URL with its password replaced by `***` (or the URL's scheme alone if it does not parse). */
export function redactDatabaseUrl(url: string): string {
  const schemeEnd = url.indexOf('://');
  if (schemeEnd < 0) return url.startsWith('sqlite:') ? url : `${url.split(':')[0] ?? ''}:…`;
  const at = url.lastIndexOf('@');
  if (at < schemeEnd) return url;
  const userinfo = url.slice(schemeEnd + 3, at);
  const colon = userinfo.indexOf(':');
  if (colon < 0) return url;
  return `${url.slice(0, schemeEnd + 3)}${userinfo.slice(0, colon)}:***${url.slice(at)}`;
}

function decode(part: string, what: string, url: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new DatabaseConfigError(`bad percent-encoding in the ${what}`, redactDatabaseUrl(url));
  }
}

function parseSqliteUrl(url: string): ParsedDatabaseUrl {
  const redacted = redactDatabaseUrl(url);
  let rest = url.slice('sqlite:'.length);
  if (rest.includes('?') || rest.includes('#')) {
    throw new DatabaseConfigError('sqlite URLs take no parameters', redacted);
  }
  if (rest === ':memory:') return { dialect: 'sqlite', filename: ':memory:' };
  if (rest.startsWith('//')) {
    // sqlite:///abs/path and sqlite:////abs/path: an empty authority, then an absolute path.
    rest = rest.slice(2);
    if (!rest.startsWith('/')) {
      throw new DatabaseConfigError('sqlite URLs have no host: use sqlite:relative.db or sqlite:///absolute/path.db', redacted);
    }
    rest = '/' + rest.replace(/^\/+/, '');
  }
  const path = decode(rest, 'path', url);
  if (path === '') throw new DatabaseConfigError('the sqlite URL names no file', redacted);
  return { dialect: 'sqlite', filename: resolvePath(path) };
}

const SERVER_SCHEMES: Record<string, { dialect: 'mysql' | 'postgres'; port: number }> = {
  'mysql:': { dialect: 'mysql', port: 3306 },
  'mariadb:': { dialect: 'mysql', port: 3306 },
  'postgres:': { dialect: 'postgres', port: 5432 },
  'postgresql:': { dialect: 'postgres', port: 5432 },
};

function parseTls(dialect: 'mysql' | 'postgres', params: URLSearchParams, url: string): 'off' | 'encrypt' | 'verify' {
  const redacted = redactDatabaseUrl(url);
  const allowed = dialect === 'mysql' ? 'ssl' : 'sslmode';
  for (const name of params.keys()) {
    if (name !== allowed) {
      throw new DatabaseConfigError(`unsupported URL parameter "${name}" (supported: ${allowed})`, redacted);
    }
  }
  const value = params.get(allowed);
  if (value === null) return 'off';
  if (dialect === 'mysql') {
    if (value === 'true') return 'verify';
    if (value === 'false') return 'off';
    throw new DatabaseConfigError('ssl must be true or false', redacted);
  }
  // libpq's meanings: require encrypts without checking the certificate; verify-full checks it.
  const modes: Record<string, 'off' | 'encrypt' | 'verify'> = { disable: 'off', require: 'encrypt', 'verify-full': 'verify' };
  const mode = modes[value];
  if (!mode) throw new DatabaseConfigError('sslmode must be disable, require or verify-full', redacted);
  return mode;
}

/** Parse a DATABASE_URL; throws DatabaseConfigError (with the password redacted) when it is unusable. */
export function parseDatabaseUrl(url: string): ParsedDatabaseUrl {
  if (url.startsWith('sqlite:')) return parseSqliteUrl(url);
  const redacted = redactDatabaseUrl(url);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new DatabaseConfigError(
      'not a URL; expected mysql://, mariadb://, postgres://, postgresql:// or sqlite:',
      redacted,
    );
  }
  const scheme = SERVER_SCHEMES[parsed.protocol];
  if (!scheme) {
    throw new DatabaseConfigError(
      `unsupported scheme "${parsed.protocol}"; expected mysql://, mariadb://, postgres://, postgresql:// or sqlite:`,
      redacted,
    );
  }
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '') throw new DatabaseConfigError('the URL names no host', redacted);
  const database = decode(parsed.pathname.replace(/^\//, ''), 'database name', url);
  if (database === '' || database.includes('/')) {
    throw new DatabaseConfigError('the URL must name one database, as in …/dbname', redacted);
  }
  if (parsed.hash) throw new DatabaseConfigError('database URLs take no #fragment', redacted);
  return {
    dialect: scheme.dialect,
    host,
    port: parsed.port === '' ? scheme.port : Number(parsed.port),
    user: decode(parsed.username, 'user name', url),
    password: decode(parsed.password, 'password', url),
    database,
    tls: parseTls(scheme.dialect, parsed.searchParams, url),
  };
}

// ---- knex configuration -------------------------------------------------------------------------

const knexLog = getLogger('django.db.backends');
// knex hands over errors with their stacks; a log line keeps the first line (the driver's message).
const firstLine = (message: unknown): string => String(message).split('\n', 1)[0] ?? '';
const KNEX_LOG: Knex.Config['log'] = {
  warn: (message: unknown) => knexLog.warning(firstLine(message)),
  error: (message: unknown) => knexLog.error(firstLine(message)),
  deprecate: (method: string, alternative: string) =>
    knexLog.warning(`knex: ${method} is deprecated, use ${alternative}`),
  debug: (message: unknown) => knexLog.debug(firstLine(message)),
};

// PostgreSQL type OIDs whose text we keep: date, timestamp, timestamptz. pg would turn them into JS
// Dates, which lose microseconds and apply the process time zone.
const PG_TEXT_TYPES = new Set<number>([1082, 1114, 1184]);
const identity = (value: string): string => value;
const PG_TYPES = {
  getTypeParser: (oid: number, format: string): ((value: string) => unknown) =>
    PG_TEXT_TYPES.has(oid) ? identity : pg.types.getTypeParser(oid, format === 'binary' ? 'binary' : 'text'),
};

/**
 * Close a pooled driver connection at once, without waiting for the server (which may be frozen),
 * and mark it so knex's pool discards it instead of handing it out again. Its pending callbacks are
 * not called: whoever waits on it must be answered by the caller.
 */
export function abandonConnection(dialect: Dialect, connection: object, reason: Error): void {
  const conn = connection as {
    __knex__disposed?: unknown;
    destroy?: () => void;
    stream?: { destroy(): void };
    connection?: { stream?: { destroy(): void } };
  };
  conn.__knex__disposed = reason;
  if (dialect === 'mysql') {
    conn.destroy?.(); // mysql2: closed state, so no command is ever queued on it again
    conn.stream?.destroy();
  } else if (dialect === 'postgres') {
    conn.connection?.stream?.destroy();
  }
}

/** knex's mysql2 dialect client, the base of ours (knex does not export its dialect classes). */
const KnexMysql2Client = createRequire(import.meta.url)('knex/lib/dialects/mysql2/index.js') as typeof Knex.Client;

interface Mysql2QueryObject {
  sql: string;
  options?: { timeout?: number };
}

/**
 * knex's mysql2 client with a client-side bound on every statement (mysql2's per-query `timeout`),
 * unless the statement sets its own, and with the connection of a statement that ran out of time
 * abandoned: mysql2 answers the caller but leaves the connection busy with the silent statement, so
 * the pool would hand it to the next query, which would then wait behind it forever.
 */
function boundedMysql2Client(queryTimeoutMs: number): typeof Knex.Client {
  return class BoundedMysql2Client extends KnexMysql2Client {
    override query(connection: object, obj: Mysql2QueryObject | string): Promise<unknown> {
      const query: Mysql2QueryObject = typeof obj === 'string' ? { sql: obj } : obj;
      if (query.options?.timeout === undefined) query.options = { ...query.options, timeout: queryTimeoutMs };
      return (super.query(connection, query) as Promise<unknown>).catch((err: unknown) => {
        if ((err as { code?: unknown } | null)?.code === 'PROTOCOL_SEQUENCE_TIMEOUT') abandonConnection('mysql', connection, err as Error);
        throw err;
      });
    }
  };
}

function poolConfig(options: PoolOptions): Knex.PoolConfig {
  return {
    min: 0,
    max: options.max ?? DEFAULT_POOL_MAX,
    createTimeoutMillis: CONNECT_TIMEOUT_MS,
    acquireTimeoutMillis: options.acquireTimeoutMillis ?? ACQUIRE_TIMEOUT_MS,
    idleTimeoutMillis: IDLE_TIMEOUT_MS,
  };
}

function sqliteConfig(filename: string, url: string, pool: PoolOptions): Knex.Config {
  if (filename !== ':memory:') {
    const dir = dirname(filename);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) {
      throw new DatabaseConfigError(`the directory of the sqlite file does not exist: ${dir}`, redactDatabaseUrl(url));
    }
  }
  const isFile = filename !== ':memory:';
  return {
    client: 'better-sqlite3',
    connection: { filename },
    useNullAsDefault: true,
    log: KNEX_LOG,
    acquireConnectionTimeout: pool.acquireTimeoutMillis ?? ACQUIRE_TIMEOUT_MS,
    // One connection: better-sqlite3 is synchronous, and an in-memory database lives and dies with
    // its connection (min 1 keeps it; the pool never reaps below min).
    pool: {
      min: 1,
      max: 1,
      acquireTimeoutMillis: pool.acquireTimeoutMillis ?? ACQUIRE_TIMEOUT_MS,
      afterCreate(conn: { pragma(source: string): unknown }, done: (err: Error | null, conn: unknown) => void) {
        try {
          conn.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
          conn.pragma('foreign_keys = ON');
          if (isFile) conn.pragma('journal_mode = WAL');
          done(null, conn);
        } catch (err) {
          done(err as Error, conn);
        }
      },
    },
  };
}

/** The knex configuration for a DATABASE_URL (also used by knexfile.ts). */
export function knexConfig(
  url: string,
  settings: TimeZoneSettings = DEFAULT_TIME_ZONE_SETTINGS,
  pool: PoolOptions = {},
): Knex.Config {
  const target = parseDatabaseUrl(url);
  if (target.dialect === 'sqlite') return sqliteConfig(target.filename, url, pool);

  const common = {
    host: target.host,
    port: target.port,
    user: target.user,
    password: target.password,
    database: target.database,
  };
  if (target.dialect === 'mysql') {
    return {
      client: boundedMysql2Client(pool.queryTimeoutMillis ?? QUERY_TIMEOUT_MS),
      connection: {
        ...common,
        timezone: 'Z',
        dateStrings: true,
        supportBigNumbers: true,
        bigNumberStrings: true,
        connectTimeout: CONNECT_TIMEOUT_MS,
        // FOUND_ROWS is in mysql2's defaults today; it is named here because the session UPDATE
        // depends on it. LOAD DATA LOCAL is never used, so the capability is not offered.
        flags: ['FOUND_ROWS', '-LOCAL_FILES'],
        ...(target.tls === 'off' ? {} : { ssl: { rejectUnauthorized: target.tls === 'verify' } }),
      },
      log: KNEX_LOG,
      pool: poolConfig(pool),
      acquireConnectionTimeout: pool.acquireTimeoutMillis ?? ACQUIRE_TIMEOUT_MS,
    };
  }
  const timeZone = settings.USE_TZ ? 'UTC' : settings.TIME_ZONE;
  if (!/^[A-Za-z0-9_/+-]+$/.test(timeZone)) {
    throw new DatabaseConfigError(`TIME_ZONE ${JSON.stringify(timeZone)} cannot be sent to PostgreSQL`, redactDatabaseUrl(url));
  }
  return {
    client: 'pg',
    connection: {
      ...common,
      // Startup parameters: applied by the server when the connection opens, no extra round trip.
      options: `-c TimeZone=${timeZone}`,
      statement_timeout: STATEMENT_TIMEOUT_MS,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      types: PG_TYPES,
      ...(target.tls === 'off' ? {} : { ssl: { rejectUnauthorized: target.tls === 'verify' } }),
    },
    log: KNEX_LOG,
    pool: poolConfig(pool),
    acquireConnectionTimeout: pool.acquireTimeoutMillis ?? ACQUIRE_TIMEOUT_MS,
  };
}

/**
 * Open a pooled connection to the database a DATABASE_URL names. Nothing connects until the first
 * query; a malformed URL throws DatabaseConfigError at once.
 */
export function openDatabase(
  databaseUrl: string,
  settings: TimeZoneSettings = DEFAULT_TIME_ZONE_SETTINGS,
  pool: PoolOptions = {},
): Database {
  const dialect = parseDatabaseUrl(databaseUrl).dialect;
  const knex = knexFactory(knexConfig(databaseUrl, settings, pool));
  let closing: Promise<void> | undefined;
  return {
    knex,
    dialect,
    redactedUrl: redactDatabaseUrl(databaseUrl),
    queryTimeoutMillis: pool.queryTimeoutMillis ?? QUERY_TIMEOUT_MS,
    close() {
      closing ??= knex.destroy();
      return closing;
    },
  };
}
