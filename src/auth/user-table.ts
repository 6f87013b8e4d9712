/**
 * Django's `auth_user` table (spec §5.9) over knex: the lookups and the single-column saves that
 * `ModelBackend`, `login()` and `set_password()` perform, with Django's own SQL shapes:
 *
 *   get_by_natural_key(username)        SELECT … WHERE username = ?   (exact; the column's collation
 *                                       decides case: MySQL/MariaDB `_ci` collations match `ALICE`
 *                                       to `alice`, SQLite and PostgreSQL do not, exactly as in Django)
 *   get(pk=…)                           SELECT … WHERE id = ?
 *   save(update_fields=['password'])    UPDATE auth_user SET password = ? WHERE id = ?
 *   save(update_fields=['last_login'])  UPDATE auth_user SET last_login = ? WHERE id = ?
 *
 * Datetimes are written and read like every other Django DateTimeField (`db/datetime.ts`).
 */
import type { Knex } from 'knex';
import type { Database } from '../db/connection.ts';
import { dbDateTimeAdapter, type DbDateTimeAdapter, type DjangoTimezone, type PyDateTime } from '../db/datetime.ts';
import { quoteIdentifier } from '../db/identifiers.ts';
import { preparedRows, type RowsQuery } from './sql-rows.ts';
import { DjangoUser } from './users.ts';

export const AUTH_USER_TABLE = 'auth_user';

const COLUMNS = [
  'id',
  'password',
  'last_login',
  'is_superuser',
  'username',
  'first_name',
  'last_name',
  'email',
  'is_staff',
  'is_active',
  'date_joined',
] as const;

type Row = Record<(typeof COLUMNS)[number], unknown>;

/**
 * INSERT a row and return its AutoField id: `RETURNING id` where the dialect has it (PostgreSQL,
 * SQLite), the driver's insert id on MySQL (knex would warn that `returning` has no effect there).
 */
export async function insertReturningId(db: Database, table: string, values: Record<string, unknown>): Promise<number> {
  const rows = (db.dialect === 'mysql'
    ? await db.knex(table).insert(values)
    : await db.knex(table).insert(values, ['id'])) as Array<number | { id: number | string }>;
  const first = rows[0];
  return typeof first === 'object' && first !== null ? Number(first.id) : Number(first);
}

/** MySQL/SQLite booleans arrive as 0/1 (or '0'/'1'), PostgreSQL's as booleans. */
function toBoolean(value: unknown): boolean {
  return value === true || value === 1 || value === '1' || value === 1n;
}

/** A new user's fields, as `UserManager.create_user` takes them (the password already encoded). */
export interface NewUserFields {
  username: string;
  /** The encoded password (`makePassword(raw)`), or an unusable one. */
  password: string;
  email?: string;
  firstName?: string;
  lastName?: string;
  isStaff?: boolean;
  isSuperuser?: boolean;
  isActive?: boolean;
  /** Default: `timezone.now()`. */
  dateJoined?: PyDateTime;
}

export class AuthUserTable {
  readonly knex: Knex;
  readonly dates: DbDateTimeAdapter;
  readonly #rows: RowsQuery;
  readonly #sql: { byId: string; byUsername: string };

  constructor(
    readonly db: Database,
    readonly timezone: DjangoTimezone,
    readonly tableName: string = AUTH_USER_TABLE,
  ) {
    this.knex = db.knex;
    this.dates = dbDateTimeAdapter(db.dialect, timezone);
    // The two lookups of every authenticated request run as prepared statements (sql-rows.ts).
    this.#rows = preparedRows(db);
    const quote = (name: string): string => quoteIdentifier(db.dialect, name);
    const select = `SELECT ${COLUMNS.map(quote).join(', ')} FROM ${quote(tableName)}`;
    this.#sql = { byId: `${select} WHERE ${quote('id')} = ? LIMIT 1`, byUsername: `${select} WHERE ${quote('username')} = ? LIMIT 1` };
  }

  #fromRow(row: Row): DjangoUser {
    return new DjangoUser({
      id: Number(row.id),
      password: String(row.password),
      lastLogin: row.last_login === null || row.last_login === undefined ? null : this.dates.fromColumn(row.last_login),
      isSuperuser: toBoolean(row.is_superuser),
      username: String(row.username),
      firstName: String(row.first_name),
      lastName: String(row.last_name),
      email: String(row.email),
      isStaff: toBoolean(row.is_staff),
      isActive: toBoolean(row.is_active),
      dateJoined: this.dates.fromColumn(row.date_joined),
    });
  }

  async #one(sql: string, param: string | number): Promise<DjangoUser | null> {
    const row = (await this.#rows(sql, [param]))[0] as Row | undefined;
    return row === undefined ? null : this.#fromRow(row);
  }

  /** `User.objects.get_by_natural_key(username)`, or null (Django: DoesNotExist). */
  getByUsername(username: string): Promise<DjangoUser | null> {
    // PostgreSQL text cannot hold NUL: no row can match (Django's driver raises ValueError, a 500).
    if (this.db.dialect === 'postgres' && username.includes('\0')) return Promise.resolve(null);
    return this.#one(this.#sql.byUsername, username);
  }

  /** `User.objects.get(pk=id)`, or null. */
  getById(id: number): Promise<DjangoUser | null> {
    return this.#one(this.#sql.byId, id);
  }

  /** `user.save(update_fields=['password'])`. */
  async savePassword(user: DjangoUser): Promise<void> {
    await this.knex(this.tableName).where({ id: user.id }).update({ password: user.password });
  }

  /** `user.save(update_fields=['last_login'])`. */
  async saveLastLogin(user: DjangoUser): Promise<void> {
    const lastLogin = user.lastLogin === null ? null : this.dates.toParam(user.lastLogin);
    await this.knex(this.tableName).where({ id: user.id }).update({ last_login: lastLogin });
  }

  /** INSERT a user (`UserManager._create_user` once the password is encoded); returns it with its id. */
  async create(fields: NewUserFields): Promise<DjangoUser> {
    const dateJoined = fields.dateJoined ?? this.timezone.now();
    const values = {
      password: fields.password,
      last_login: null,
      is_superuser: fields.isSuperuser ?? false,
      username: fields.username,
      first_name: fields.firstName ?? '',
      last_name: fields.lastName ?? '',
      email: fields.email ?? '',
      is_staff: fields.isStaff ?? false,
      is_active: fields.isActive ?? true,
      date_joined: this.dates.toParam(dateJoined),
    };
    const id = await insertReturningId(this.db, this.tableName, values);
    return new DjangoUser({
      id,
      password: values.password,
      lastLogin: null,
      isSuperuser: values.is_superuser,
      username: values.username,
      firstName: values.first_name,
      lastName: values.last_name,
      email: values.email,
      isStaff: values.is_staff,
      isActive: values.is_active,
      dateJoined,
    });
  }
}
