/**
 * The MariaDB a benchmark runs on, and a scratch database there for one run: the server from
 * MARIADB_URL (or the test MariaDB, started by scripts/db/start-mariadb.sh), a database
 * `<prefix>_<random>` created on it, dropped again at the end.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { openDatabase, parseDatabaseUrl } from '../../src/db/connection.ts';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** MARIADB_URL, or the test MariaDB's URL (started if need be); refuses a URL of another database. */
export function mariadbServerUrl(benchName: string): string {
  let url = process.env.MARIADB_URL;
  if (!url) {
    process.stderr.write('MARIADB_URL is not set: starting the test MariaDB (scripts/db/start-mariadb.sh)\n');
    const started = spawnSync('bash', ['scripts/db/start-mariadb.sh'], { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    url = started.stdout.trim().split('\n').pop() ?? '';
    if (started.status !== 0 || !url.startsWith('mysql://')) throw new Error('scripts/db/start-mariadb.sh did not print a MariaDB URL');
  }
  if (parseDatabaseUrl(url).dialect !== 'mysql') throw new Error(`${benchName} runs on MariaDB/MySQL (a mysql:// URL)`);
  return url;
}

/** `url` with its database replaced by `database`. */
export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/** One statement on a connection of its own (CREATE / DROP DATABASE). */
export async function adminSql(url: string, sql: string): Promise<void> {
  const db = openDatabase(url, undefined, { max: 1 });
  try {
    await db.knex.raw(sql);
  } finally {
    await db.close();
  }
}

export interface ScratchDatabase {
  readonly name: string;
  /** The server's URL with this database. */
  readonly url: string;
  drop(): Promise<void>;
}

/** A new, empty database `<prefix>_<random>` on the server at `serverUrl`. */
export async function createScratchDatabase(serverUrl: string, prefix = 'dsb_bench'): Promise<ScratchDatabase> {
  const name = `${prefix}_${randomBytes(5).toString('hex')}`;
  await adminSql(serverUrl, `CREATE DATABASE \`${name}\``);
  return {
    name,
    url: withDatabase(serverUrl, name),
    drop: () => adminSql(serverUrl, `DROP DATABASE IF EXISTS \`${name}\``),
  };
}
