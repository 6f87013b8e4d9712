/**
 * The ceiling for `npm run bench:http`: a bare Koa app that does only the session-store work our two
 * benchmarked routes cannot avoid (bench/lib/ceiling-sessions.ts, per session engine) and the
 * auth_user point query, on a mysql2 pool with the same driver options and the same size as our
 * server's (src/db/connection.ts `knexConfig`), and answers what ours answers.
 *
 *   GET /user/test1    the session read (db: a django_session point query; cache, cached_db: a
 *                      Redis GET; signed_cookies: the cookie's own payload) →
 *                      200 "test1 ok" when there is a session, else 400
 *   GET /auth/whoami   the same session read, then the auth_user point query on the id found in
 *                      the session → 200 {"id": 1, "username": "…"}, else 401
 *
 * Deliberately left out (this is what "bare" means): the session signature check and decoding
 * beyond reading `_auth_user_id` out of the payload, the session auth hash check, the session and
 * auth middleware, routing, access logging. A server that does all of that correctly and still
 * reaches ≥ 85 % of this one's rate is spending little beyond the unavoidable I/O.
 *
 * Env: DATABASE_URL (mysql://…; required), PORT (default 8000), HOST (default 127.0.0.1),
 *      SESSION_COOKIE_NAME (default sessionid),
 *      CEILING_SESSION_ENGINE  db (default), cache, cached_db or signed_cookies;
 *      CACHE_URL, CACHE_KEY_PREFIX (default ""), CACHE_VERSION (default 1): the Redis cache of
 *      cache and cached_db, as our server reads them (with Django's default key function).
 */
import { createServer } from 'node:http';
import Koa from 'koa';
import mysql from 'mysql2';
import { knexConfig } from '../src/db/connection.ts';
import { CEILING_ENGINES, ceilingSessions, type CeilingEngine, type Row } from './lib/ceiling-sessions.ts';

// Our AuthUserTable's column list (Django's User model fields), so the row read is the same size.
const USER_SQL =
  'SELECT id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined FROM auth_user WHERE id = ?';

const databaseUrl = process.env.DATABASE_URL;
if (!databaseUrl?.startsWith('mysql://') && !databaseUrl?.startsWith('mariadb://')) {
  process.stderr.write('ceiling-server: DATABASE_URL must be a mysql:// or mariadb:// URL\n');
  process.exit(2);
}
const engine = (process.env.CEILING_SESSION_ENGINE ?? 'db') as CeilingEngine;
if (!CEILING_ENGINES.includes(engine)) {
  process.stderr.write(`ceiling-server: CEILING_SESSION_ENGINE must be one of ${CEILING_ENGINES.join(', ')}\n`);
  process.exit(2);
}
const port = Number(process.env.PORT ?? 8000);
const host = process.env.HOST ?? '127.0.0.1';
const cookieName = process.env.SESSION_COOKIE_NAME ?? 'sessionid';

const config = knexConfig(databaseUrl);
const pool = mysql.createPool({
  ...(config.connection as mysql.PoolOptions),
  connectionLimit: (config.pool as { max: number }).max,
});

function query(sql: string, params: readonly (string | number)[]): Promise<Row[]> {
  return new Promise((resolve, reject) =>
    pool.execute(sql, params as (string | number)[], (err, rows) => (err ? reject(err) : resolve(rows as Row[]))),
  );
}

const cacheUrl = process.env.CACHE_URL;
const sessions = ceilingSessions(
  engine,
  query,
  cacheUrl
    ? { url: cacheUrl, keyPrefix: `${process.env.CACHE_KEY_PREFIX ?? ''}:${process.env.CACHE_VERSION ?? '1'}:django.contrib.sessions.${engine}` }
    : null,
);

/** The session cookie's value from a Cookie header (the last one wins, as in Django's parser). */
function sessionCookie(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  let value: string | undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === cookieName) value = part.slice(eq + 1).trim();
  }
  return value;
}

const app = new Koa();
app.silent = true;
app.use(async (ctx) => {
  if (ctx.method !== 'GET') {
    ctx.status = 405;
    return;
  }
  const key = sessionCookie(ctx.req.headers.cookie);
  ctx.set('Vary', 'Cookie');
  if (ctx.path === '/user/test1') {
    const found = key !== undefined && (await sessions.hasSession(key));
    ctx.set('Content-Type', 'text/html; charset=utf-8');
    if (!found) {
      ctx.status = 400;
      ctx.body = '';
    } else {
      ctx.body = 'test1 ok';
    }
    return;
  }
  if (ctx.path === '/auth/whoami') {
    const id = key === undefined ? null : await sessions.authUserId(key);
    const user = id === null ? undefined : (await query(USER_SQL, [id]))[0];
    ctx.set('Content-Type', 'application/json');
    if (user === undefined) {
      ctx.status = 401;
      ctx.body = '{"error": "not logged in"}';
    } else {
      ctx.body = `{"id": ${String(user.id)}, "username": ${JSON.stringify(user.username)}}`;
    }
    return;
  }
  ctx.status = 404;
  ctx.body = '';
});

const server = createServer(app.callback());
// The same keep-alive settings as our serve command.
server.keepAliveTimeout = 65_000;
server.headersTimeout = 66_000;
server.listen(port, host, () => process.stderr.write(`ceiling-server (${engine} sessions) listening on http://${host}:${port}\n`));

const stop = (): void => {
  server.close();
  server.closeIdleConnections();
  void sessions.close().finally(() => pool.end(() => process.exit(0)));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
