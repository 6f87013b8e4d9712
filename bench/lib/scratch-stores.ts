/**
 * Scratch space on the shared MariaDB and Redis servers for one benchmark run: a database of its
 * own, a Redis key prefix of its own, both removed at clean-up (also on Ctrl-C), so a run leaves
 * nothing behind and never touches what other tests keep there.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Redis } from 'ioredis';

import { openDatabase } from '../../src/db/connection.ts';
import { redisOptionsFromUrl } from '../../src/sessions/backends/redis-cache.ts';
import { onCleanup } from './cleanup.ts';
import { runCommand } from './processes.ts';

/**
 * The server's URL from `envName`, or else from the repository's start script (which starts the
 * test server unless it already runs, and prints its URL last).
 */
export async function serverUrl(root: string, envName: string, script: string, log: (line: string) => void): Promise<string> {
  const fromEnv = process.env[envName];
  if (fromEnv) return fromEnv;
  log(`${envName} is not set: starting the test server (scripts/db/${script})`);
  const { stdout } = await runCommand('bash', [join(root, 'scripts', 'db', script)], { cwd: root, timeoutMs: 120_000 });
  const url = stdout.trim().split('\n').pop() ?? '';
  if (!/^[a-z]+:\/\//.test(url)) throw new Error(`scripts/db/${script} did not print a URL`);
  return url;
}

async function adminSql(url: string, sql: string): Promise<void> {
  const admin = openDatabase(url, undefined, { max: 1 });
  try {
    await admin.knex.raw(sql);
  } finally {
    await admin.close();
  }
}

export async function mariadbVersion(url: string): Promise<string> {
  const db = openDatabase(url, undefined, { max: 1 });
  try {
    const [[row]] = (await db.knex.raw('SELECT VERSION() AS v')) as [[{ v: string }]];
    return row.v;
  } finally {
    await db.close();
  }
}

/** A scratch database `<prefix>_<random>` on the server, dropped at clean-up; its URL. */
export async function scratchDatabase(server: string, prefix: string): Promise<string> {
  const name = `${prefix}_${randomBytes(5).toString('hex')}`;
  await adminSql(server, `CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4`);
  // Registered before any server starts: clean-up runs last-registered first, so every server has
  // let go of its connections before the DROP.
  onCleanup(`drop database ${name}`, () => adminSql(server, `DROP DATABASE IF EXISTS \`${name}\``));
  const url = new URL(server);
  url.pathname = `/${name}`;
  return url.toString();
}

export interface ScratchRedis {
  /** A key prefix no one else uses (`CACHE_KEY_PREFIX`); every key under `<prefix>:` is deleted at clean-up. */
  readonly keyPrefix: string;
  /** The server's `redis_version`. */
  readonly version: string;
}

async function keysUnder(redis: Redis, pattern: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  return keys;
}

/** A scratch key prefix `<prefix>_<random>` on the Redis at `url`. */
export async function scratchRedis(url: string, prefix: string): Promise<ScratchRedis> {
  const keyPrefix = `${prefix}_${randomBytes(5).toString('hex')}`;
  const redis = new Redis({ ...redisOptionsFromUrl(url), maxRetriesPerRequest: 1 });
  const pattern = `${keyPrefix}:*`;
  onCleanup(`delete Redis keys ${pattern}`, async () => {
    try {
      const keys = await keysUnder(redis, pattern);
      for (let i = 0; i < keys.length; i += 500) await redis.unlink(...keys.slice(i, i + 500));
    } finally {
      redis.disconnect();
    }
  });
  const info = await redis.info('server');
  const version = /^redis_version:(\S+)/m.exec(info)?.[1] ?? 'unknown';
  return { keyPrefix, version };
}
