/**
 * The `django_session` table: the six statements Django's `db` engine runs (spec §3.3), each one
 * parameterised, each one a single round trip.
 *
 * Why not `knex.raw()` for every call: the session load is on the path of every request that carries a
 * cookie, and knex's runner (query object, binding positioning, events, response processing) costs
 * more CPU than the driver call itself. So the statements run as prepared statements straight on the
 * driver, over connections of **knex's pool**, each one bounded in time (src/db/prepared.ts).
 *
 * Django wraps the save in `transaction.atomic()`. One INSERT or UPDATE in autocommit mode is already
 * its own transaction; atomic() matters in Django only when a request is already inside a transaction
 * (it adds a savepoint so an IntegrityError does not poison it), which never happens here. Running the
 * statement bare keeps the guarantee and saves the BEGIN/COMMIT round trips.
 */
import type { Database, Dialect } from '../../db/connection.ts';
import { dbDateTimeAdapter, type DbDateTimeAdapter, type DjangoTimezone, type PyDateTime } from '../../db/datetime.ts';
import { quoteIdentifier } from '../../db/identifiers.ts';
import { preparedStatements, type PreparedStatements } from '../../db/prepared.ts';

/** A row of `django_session` as stored. */
export interface SessionRow {
  sessionKey: string;
  sessionData: string;
  expireDate: PyDateTime;
}

/** An `expire_date` already in the database's format (see SessionTable.expireDateParam). */
export type ExpireDateParam = string & { readonly __expireDateParam: unique symbol };

// ---- Errors -----------------------------------------------------------------------------------

// MySQL/MariaDB error numbers that mysqlclient (and so Django) reports as IntegrityError.
const MYSQL_INTEGRITY_ERRNOS = new Set([1022, 1048, 1062, 1169, 1216, 1217, 1451, 1452, 1557, 1586, 1761, 1762, 1859, 3819, 4025]);

/** Whether a driver error is what Django calls an IntegrityError (for `dialect`). */
export function isIntegrityError(dialect: Dialect, err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { errno?: unknown; code?: unknown };
  switch (dialect) {
    case 'mysql':
      return typeof e.errno === 'number' && MYSQL_INTEGRITY_ERRNOS.has(e.errno);
    case 'postgres':
      return typeof e.code === 'string' && e.code.startsWith('23'); // SQLSTATE class 23: integrity constraint violation
    case 'sqlite':
      return typeof e.code === 'string' && e.code.startsWith('SQLITE_CONSTRAINT');
  }
}

// ---- The table --------------------------------------------------------------------------------

export interface SessionTableOptions {
  /** Default `django_session` (Django's `Session._meta.db_table`). */
  tableName?: string;
}

/** The statements of Django's `db` session engine against one table, with Django's datetime handling. */
export class SessionTable {
  readonly dialect: Dialect;
  readonly dates: DbDateTimeAdapter;
  private readonly exec: PreparedStatements;
  private readonly sql: Record<'load' | 'exists' | 'insert' | 'update' | 'delete' | 'deleteExpired' | 'row', string>;

  constructor(
    readonly db: Database,
    readonly timezone: DjangoTimezone,
    options: SessionTableOptions = {},
  ) {
    this.dialect = db.dialect;
    this.dates = dbDateTimeAdapter(db.dialect, timezone);
    this.exec = preparedStatements(db);
    const quote = (name: string): string => quoteIdentifier(this.dialect, name);
    const t = quote(options.tableName ?? 'django_session');
    this.sql = {
      load: `SELECT session_data FROM ${t} WHERE session_key = ? AND expire_date > ?`,
      exists: `SELECT 1 AS a FROM ${t} WHERE session_key = ? LIMIT 1`,
      insert: `INSERT INTO ${t} (session_key, session_data, expire_date) VALUES (?, ?, ?)`,
      update: `UPDATE ${t} SET session_data = ?, expire_date = ? WHERE session_key = ?`,
      delete: `DELETE FROM ${t} WHERE session_key = ?`,
      deleteExpired: `DELETE FROM ${t} WHERE expire_date < ?`,
      row: `SELECT session_key, session_data, expire_date FROM ${t} WHERE session_key = ?`,
    };
  }

  /**
   * PostgreSQL text cannot hold NUL, so no row has such a key, and the driver would fail on the
   * parameter (Django's psycopg2 raises ValueError there: a 500 for a crafted cookie). We answer
   * "no such row" instead, which is what every other database says.
   */
  private unstorable(sessionKey: string): boolean {
    return this.dialect === 'postgres' && sessionKey.includes('\0');
  }

  /** `session_data` of the row under `sessionKey` if it expires after `now`, else null. */
  async loadData(sessionKey: string, now: PyDateTime): Promise<string | null> {
    if (this.unstorable(sessionKey)) return null;
    const rows = await this.exec.rows(this.sql.load, [sessionKey, this.dates.toParam(now)]);
    const data = rows[0]?.session_data;
    return data === undefined ? null : String(data);
  }

  /** Whether a row exists under `sessionKey`, expired or not. */
  async exists(sessionKey: string): Promise<boolean> {
    if (this.unstorable(sessionKey)) return false;
    return (await this.exec.rows(this.sql.exists, [sessionKey])).length > 0;
  }

  /**
   * `expire_date` as this database gets it. Separate from insert/update so a value Django's adapter
   * refuses (an aware datetime with USE_TZ=False: ValueError) fails before the statement, not as a
   * database error (which save() would report as UpdateError).
   */
  expireDateParam(expireDate: PyDateTime): ExpireDateParam {
    return this.dates.toParam(expireDate) as ExpireDateParam;
  }

  /** INSERT; a duplicate key surfaces as the driver's integrity error (see isIntegrityError). */
  async insert(sessionKey: string, sessionData: string, expireDate: ExpireDateParam): Promise<void> {
    await this.exec.count(this.sql.insert, [sessionKey, sessionData, expireDate]);
  }

  /** UPDATE with no expiry filter; the number of rows matched (0: the row is gone). */
  async update(sessionKey: string, sessionData: string, expireDate: ExpireDateParam): Promise<number> {
    if (this.unstorable(sessionKey)) return 0;
    return this.exec.count(this.sql.update, [sessionData, expireDate, sessionKey]);
  }

  /** DELETE one row; a missing row is not an error. */
  async delete(sessionKey: string): Promise<void> {
    if (this.unstorable(sessionKey)) return;
    await this.exec.count(this.sql.delete, [sessionKey]);
  }

  /** `clearsessions`: DELETE every row with `expire_date < now`; the number deleted. */
  deleteExpired(now: PyDateTime): Promise<number> {
    return this.exec.count(this.sql.deleteExpired, [this.dates.toParam(now)]);
  }

  /** The whole row, as Django's model would read it (for `Session.objects.get`, tools and tests). */
  async getRow(sessionKey: string): Promise<SessionRow | null> {
    if (this.unstorable(sessionKey)) return null;
    const row = (await this.exec.rows(this.sql.row, [sessionKey]))[0];
    if (row === undefined) return null;
    return {
      sessionKey: String(row.session_key),
      sessionData: String(row.session_data),
      expireDate: this.dates.fromColumn(row.expire_date),
    };
  }
}
