/**
 * The databases every database-backed suite runs against, and a fresh, isolated database per suite.
 *
 * MariaDB and PostgreSQL come from MARIADB_URL / POSTGRES_URL (start them with
 * `eval "$(scripts/db/start-all.sh)"`); SQLite needs nothing. With CI set, a missing URL is an error,
 * so CI can never pass by quietly testing fewer databases; on a developer machine the missing
 * database is left out with a note on stderr.
 *
 *   for (const { name } of testDatabases()) {
 *     describe(name, () => {
 *       let fresh: FreshDatabase;
 *       before(async () => { fresh = await freshDatabase(name); });
 *       after(() => fresh.drop());
 *       ...
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase, type Database, type TimeZoneSettings } from '../../src/db/connection.ts';

export type TestDatabaseName = 'mariadb' | 'sqlite' | 'postgres';

export interface TestDatabase {
  readonly name: TestDatabaseName;
  /** The server's base URL (MariaDB/PostgreSQL), or a sqlite URL of a shared temporary file. */
  readonly url: string;
}

export interface FreshDatabase {
  readonly name: TestDatabaseName;
  readonly url: string;
  readonly db: Database;
  /** Close `db` and delete the database (or file). */
  drop(): Promise<void>;
}

const SERVER_ENV: Record<'mariadb' | 'postgres', string> = { mariadb: 'MARIADB_URL', postgres: 'POSTGRES_URL' };
const warned = new Set<string>();

function serverUrl(name: 'mariadb' | 'postgres'): string | undefined {
  const variable = SERVER_ENV[name];
  const url = process.env[variable];
  if (url) return url;
  const hint = `${variable} is not set: start the test servers with eval "$(scripts/db/start-all.sh)"`;
  if (process.env.CI) throw new Error(`${hint} (CI must test ${name})`);
  if (!warned.has(variable)) {
    warned.add(variable);
    process.stderr.write(`note: ${hint}; ${name} is left out of this run\n`);
  }
  return undefined;
}

let sharedSqliteDir: string | undefined;

/** Every database this run tests: SQLite always, MariaDB and PostgreSQL when configured. */
export function testDatabases(): TestDatabase[] {
  if (sharedSqliteDir === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'dsb-sqlite-'));
    sharedSqliteDir = dir;
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  const list: TestDatabase[] = [];
  const mariadb = serverUrl('mariadb');
  if (mariadb) list.push({ name: 'mariadb', url: mariadb });
  list.push({ name: 'sqlite', url: `sqlite://${join(sharedSqliteDir, 'shared.sqlite3')}` });
  const postgres = serverUrl('postgres');
  if (postgres) list.push({ name: 'postgres', url: postgres });
  return list;
}

/** `url` with its database (path) replaced by `database`. */
function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/** A database name no other suite uses; `dsb_` so the test user's rights (dsb_%) cover it. */
function uniqueDatabaseName(): string {
  return `dsb_${randomBytes(6).toString('hex')}`;
}

async function withAdmin<T>(url: string, work: (admin: Database) => Promise<T>): Promise<T> {
  const admin = openDatabase(url, undefined, { max: 1 });
  try {
    return await work(admin);
  } finally {
    await admin.close();
  }
}

/**
 * A new empty database on `name`'s server (MariaDB/PostgreSQL: CREATE DATABASE dsb_<random>;
 * SQLite: a file in a new temporary directory), opened with `settings` (default USE_TZ True).
 */
export async function freshDatabase(name: TestDatabaseName, settings?: TimeZoneSettings): Promise<FreshDatabase> {
  if (name === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'dsb-sqlite-'));
    const url = `sqlite://${join(dir, 'test.sqlite3')}`;
    const db = openDatabase(url, settings);
    return {
      name,
      url,
      db,
      async drop() {
        await db.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }

  const base = serverUrl(name);
  if (!base) throw new Error(`${SERVER_ENV[name]} is not set; ${name} cannot be tested here`);
  const database = uniqueDatabaseName();
  const quoted = name === 'mariadb' ? `\`${database}\`` : `"${database}"`;
  await withAdmin(base, (admin) => admin.knex.raw(`CREATE DATABASE ${quoted}`));
  const url = withDatabase(base, database);
  const db = openDatabase(url, settings);
  return {
    name,
    url,
    db,
    async drop() {
      await db.close();
      // WITH (FORCE) (PostgreSQL 13+) ends any connection a failed test left behind.
      const sql = name === 'postgres' ? `DROP DATABASE IF EXISTS ${quoted} WITH (FORCE)` : `DROP DATABASE IF EXISTS ${quoted}`;
      await withAdmin(base, (admin) => admin.knex.raw(sql));
    },
  };
}
