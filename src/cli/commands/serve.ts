/**
 * `serve` (`npm start`): the Koa app over HTTP.
 *
 * - Listens on HOST:PORT (default 127.0.0.1:8000; `--host` / `--port` override).
 * - With DATABASE_URL unset: the development database (`sqlite:db.sqlite3` in the working directory,
 *   the same file `migrate` and a Django startproject use; gitignored), migrated at start-up, and,
 *   when SECRET_KEY is unset too, the public development secret. Both are announced loudly.
 * - With DATABASE_URL set: that database, as it is (no automatic migration of a shared database;
 *   missing tables are reported at start-up), and SECRET_KEY is required.
 * - One structured log line per request (method, path, status, ms) on stderr.
 * - SIGTERM / SIGINT: stop accepting, let in-flight requests finish (up to a grace period), close
 *   idle keep-alive connections, close the database pool, exit 0. A second signal exits at once.
 */
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { ConfigError, DEVELOPMENT_SECRET_KEY, loadSettings, type Environment, type Settings } from '../../config.ts';
import { openDatabase, type Database } from '../../db/connection.ts';
import { DatabaseConfigError } from '../../db/errors.ts';
import { getLogger, setLogBuffering } from '../../log.ts';
import { runMigrations } from '../../../migrations/index.ts';
import { parseAuthenticationBackends } from '../../auth/django-auth.ts';
import { AUTH_USER_TABLE } from '../../auth/user-table.ts';
import { createApp } from '../../app/create-app.ts';
import { TUTORIAL_USER_TABLE } from '../../app/tutorial/user-table.ts';
import { parseOptions } from '../args.ts';
import { CliError } from '../errors.ts';

export const summary = 'serve the app over HTTP (PORT/HOST; an embedded SQLite database when DATABASE_URL is unset)';

const HELP = `usage: django-session-bridge serve [--host HOST] [--port PORT]

Serve the tutorial's /user/* routes and the /auth/* routes over HTTP, sharing django_session (and
auth_user) with a Django site on the database named by DATABASE_URL.

Request bodies are limited to 2.5 MiB (Django's DATA_UPLOAD_MAX_MEMORY_SIZE, chunked bodies
included); a larger one gets the answer Django gives (400).

Without DATABASE_URL a development database is used (sqlite:db.sqlite3 in the working directory,
created and migrated at start-up) and, without SECRET_KEY, a public development secret. Both are
announced at start-up; never deploy them.

environment (Django's names; see src/config.ts):
  DATABASE_URL, SECRET_KEY, SECRET_KEY_FALLBACKS, DJANGO_VERSION (3.2|4.2|5.2), SESSION_COOKIE_*,
  SESSION_SAVE_EVERY_REQUEST, SESSION_EXPIRE_AT_BROWSER_CLOSE, USE_TZ, TIME_ZONE, PORT (8000), HOST (127.0.0.1)
  AUTHENTICATION_BACKENDS  comma-separated dotted paths (default django.contrib.auth.backends.ModelBackend)
  DSB_TEST_HOOKS=1         add POST /auth/password (for the end-to-end suite only)
  LOG_LEVEL                debug, info (default), warning, error

options:
  --host HOST   listen address (default: HOST, else 127.0.0.1)
  --port PORT   listen port (default: PORT, else 8000; 0 picks a free port)
  --help        this text

examples:
  npm start
  DATABASE_URL=mysql://app:secret@127.0.0.1:3306/site SECRET_KEY=... DJANGO_VERSION=4.2 npm start
`;

/** How long in-flight requests may take to finish after SIGTERM/SIGINT. */
export const SHUTDOWN_GRACE_MS = 10_000;

const log = getLogger('django_session_bridge.serve');

function truthy(raw: string | undefined): boolean {
  return raw !== undefined && ['1', 'true', 'True', 'yes', 'on'].includes(raw);
}

function loadServeSettings(env: Environment): { settings: Settings; developmentDatabase: boolean } {
  const developmentDatabase = !env.DATABASE_URL;
  try {
    // Development defaults only go with the development database: a real, shared database with a
    // public secret would make every session forgeable.
    const settings = loadSettings(env, { allowDevelopmentDefaults: developmentDatabase });
    return { settings, developmentDatabase };
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(err.message, 2);
    throw err;
  }
}

function parsePort(raw: string): number {
  if (!/^\d+$/.test(raw) || Number(raw) > 65535) throw new CliError(`--port must be a TCP port number 0-65535, got "${raw}"`, 2);
  return Number(raw);
}

async function prepareDatabase(db: Database, settings: Settings, developmentDatabase: boolean): Promise<void> {
  if (developmentDatabase) {
    const applied = await runMigrations(db, { djangoVersion: settings.DJANGO_VERSION });
    if (applied.length > 0) log.info(`development database migrated: ${applied.join(', ')}`);
  }
  // knex's `schema` is a new builder per access: one builder per question.
  const hasTable = (name: string): Promise<boolean> => db.knex.schema.hasTable(name);
  if (!(await hasTable('django_session'))) {
    throw new CliError(`django_session does not exist in ${db.redactedUrl}: run \`npm run cli -- migrate\` or Django's manage.py migrate`);
  }
  if (!(await hasTable(TUTORIAL_USER_TABLE))) {
    log.warning(`table "${TUTORIAL_USER_TABLE}" does not exist: /user/reg and /user/login will fail (run \`npm run cli -- migrate\`)`);
  }
  if (!(await hasTable(AUTH_USER_TABLE))) {
    log.warning(`table ${AUTH_USER_TABLE} does not exist: /auth/* needs Django's auth tables (manage.py migrate on this database)`);
  }
}

/** Stop accepting, wait for in-flight requests (bounded), then drop what is left. */
async function shutDown(server: Server): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const timer = setTimeout(() => {
    log.warning(`requests still running after ${SHUTDOWN_GRACE_MS} ms: closing their connections`);
    server.closeAllConnections();
  }, SHUTDOWN_GRACE_MS);
  timer.unref();
  await closed;
  clearTimeout(timer);
}

export async function run(argv: string[], env: Environment = process.env): Promise<number> {
  const values = parseOptions(argv, { host: { type: 'string' }, port: { type: 'string' }, help: { type: 'boolean', short: 'h' } });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const { settings, developmentDatabase } = loadServeSettings(env);
  const host = values.host ?? settings.HOST;
  const port = values.port === undefined ? settings.PORT : parsePort(values.port);
  const databaseUrl = settings.DATABASE_URL as string;

  let db: Database;
  try {
    db = openDatabase(databaseUrl, settings);
  } catch (err) {
    if (err instanceof DatabaseConfigError) throw new CliError(err.message, 2);
    throw err;
  }
  if (developmentDatabase) log.warning(`DATABASE_URL is not set: using the development database ${db.redactedUrl}`);
  if (settings.SECRET_KEY === DEVELOPMENT_SECRET_KEY) {
    log.warning('SECRET_KEY is not set: using the public development secret; sessions are forgeable, never deploy this');
  }

  try {
    await prepareDatabase(db, settings, developmentDatabase);
  } catch (err) {
    await db.close();
    if (err instanceof CliError) throw err;
    throw new CliError(`cannot use ${db.redactedUrl}: ${(err instanceof Error ? err.message : String(err)).split('\n', 1)[0]}`);
  }

  const backends = parseAuthenticationBackends(env.AUTHENTICATION_BACKENDS);
  let app;
  try {
    app = createApp({
      settings,
      db,
      testHooks: truthy(env.DSB_TEST_HOOKS),
      ...(backends === undefined ? {} : { authenticationBackends: backends }),
    });
  } catch (err) {
    await db.close();
    throw new CliError(err instanceof Error ? err.message : String(err), 2);
  }

  const server = createServer(app.callback());
  // Node's defaults cut idle keep-alive connections at 5 s; a proxy in front usually keeps them
  // longer, so stay open a little longer than the common 60 s of load balancers.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.listen(port, host);
  try {
    await once(server, 'listening');
  } catch (err) {
    await db.close();
    throw new CliError(`cannot listen on ${host}:${port}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const address = server.address() as AddressInfo;
  // From here on the access log dominates log volume: batch its writes per event-loop turn.
  setLogBuffering(true);
  log.info(`listening on http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`, {
    host: address.address,
    port: address.port,
    database: db.redactedUrl,
    django_version: settings.DJANGO_VERSION,
  });

  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    const onSignal = (name: NodeJS.Signals): void => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      // A second signal: the operator does not want to wait.
      const force = (): never => process.exit(1);
      process.once('SIGTERM', force);
      process.once('SIGINT', force);
      resolve(name);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
  log.info(`${signal}: shutting down (no new connections; finishing requests in flight)`);
  await shutDown(server);
  setLogBuffering(false);
  await db.close();
  // The cache engines hold a Redis connection that would otherwise keep the process alive.
  await app.bridge.sessions.close();
  log.info('stopped');
  return 0;
}
