/**
 * Run a read-only statement as a prepared statement on the driver, over a connection borrowed from
 * knex's pool (so knex's limits and connection settings still apply).
 *
 * Why not the knex builder: `get_user()` runs on every request of a logged-in user, and knex's
 * builder and runner cost more CPU than the driver call itself (measured: about twice the time of
 * a mysql2 `execute` for the auth_user lookup). This is the same technique, and the same three
 * driver conventions, as `sessions/backends/db-table.ts`; the two could share one module in `src/db/`.
 */
import { createHash } from 'node:crypto';
import type { Database } from '../db/connection.ts';
import { MYSQL_QUERY_TIMEOUT_MS } from '../db/connection.ts';

export type Params = readonly (string | number)[];
export type Row = Record<string, unknown>;
export type RowsQuery = (sql: string, params: Params) => Promise<Row[]>;

interface MysqlConnection {
  execute(options: { sql: string; timeout: number }, values: Params, cb: (err: Error | null, rows: unknown) => void): void;
}
interface PgClient {
  query(config: { name: string; text: string; values: Params }): Promise<{ rows: Row[] }>;
}
interface SqliteConnection {
  prepare(sql: string): { all(...params: Params): Row[] };
}

async function withConnection<C, T>(db: Database, work: (conn: C) => Promise<T> | T): Promise<T> {
  const client = db.knex.client as { acquireConnection(): Promise<C>; releaseConnection(conn: C): Promise<void> };
  const conn = await client.acquireConnection();
  try {
    return await work(conn);
  } finally {
    void client.releaseConnection(conn);
  }
}

/** A `rows(sql, params)` for `db`; `sql` uses `?` placeholders and must be one of a few fixed texts. */
export function preparedRows(db: Database): RowsQuery {
  switch (db.dialect) {
    case 'mysql':
      return (sql, params) =>
        withConnection<MysqlConnection, Row[]>(
          db,
          (conn) => new Promise((resolve, reject) => conn.execute({ sql, timeout: MYSQL_QUERY_TIMEOUT_MS }, params, (err, rows) => (err ? reject(err) : resolve(rows as Row[])))),
        );
    case 'postgres': {
      const named = new Map<string, { name: string; text: string }>();
      return (sql, params) => {
        let st = named.get(sql);
        if (st === undefined) {
          let i = 0;
          const text = sql.replace(/\?/g, () => `$${++i}`);
          // A name must never stand for two texts: pg reuses a prepared name without re-checking it.
          st = { name: `dsb_auth_${createHash('sha256').update(text).digest('hex').slice(0, 24)}`, text };
          named.set(sql, st);
        }
        const statement = st;
        return withConnection<PgClient, Row[]>(db, async (conn) => (await conn.query({ ...statement, values: params })).rows);
      };
    }
    case 'sqlite': {
      const cache = new WeakMap<SqliteConnection, Map<string, ReturnType<SqliteConnection['prepare']>>>();
      return (sql, params) =>
        withConnection<SqliteConnection, Row[]>(db, (conn) => {
          let byText = cache.get(conn);
          if (byText === undefined) cache.set(conn, (byText = new Map()));
          let stmt = byText.get(sql);
          if (stmt === undefined) byText.set(sql, (stmt = conn.prepare(sql)));
          return stmt.all(...params);
        });
    }
  }
}
