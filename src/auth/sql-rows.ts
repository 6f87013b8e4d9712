/**
 * `rows(sql, params)` for the user table's lookups: read-only statements run as prepared statements
 * straight on the driver, over connections of knex's pool, each one bounded in time
 * (src/db/prepared.ts, shared with the session table).
 *
 * Why not the knex builder: `get_user()` runs on every request of a logged-in user, and knex's
 * builder and runner cost more CPU than the driver call itself (measured: about twice the time of
 * a mysql2 `execute` for the auth_user lookup).
 */
import type { Database } from '../db/connection.ts';
import { preparedStatements, type Params, type Row } from '../db/prepared.ts';

export type { Params, Row };
export type RowsQuery = (sql: string, params: Params) => Promise<Row[]>;

/** A `rows(sql, params)` for `db`; `sql` uses `?` placeholders and must be one of a few fixed texts. */
export function preparedRows(db: Database): RowsQuery {
  return preparedStatements(db).rows;
}
