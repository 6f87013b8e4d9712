/**
 * The MariaDB a benchmark runs on: MARIADB_URL, or the test MariaDB (started by
 * scripts/db/start-mariadb.sh), refusing a URL of another database. Synchronous, for benchmarks that
 * need the URL before anything else; the scratch database itself comes from scratch-stores.ts.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseDatabaseUrl } from '../../src/db/connection.ts';

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
