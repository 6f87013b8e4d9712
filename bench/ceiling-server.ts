/**
 * The ceiling for `npm run bench:http`: a bare Koa app that does only the database work our two
 * benchmarked routes cannot avoid, on a mysql2 pool with the same driver options and the same size
 * as our server's (src/db/connection.ts `knexConfig`), and answers what ours answers.
 *
 *   GET /user/test1    one point query on django_session (the session load) →
 *                      200 "test1 ok" when the row is there and unexpired, else 400
 *   GET /auth/whoami   the same session query, then the auth_user point query on the id found in
 *                      the session → 200 {"id": 1, "username": "…"}, else 401
 *
 * Deliberately left out (this is what "bare" means): the session signature check and decoding
 * beyond reading `_auth_user_id` out of the base64 payload, the session auth hash check, the
 * session and auth middleware, routing, access logging. A server that does all of that correctly
 * and still reaches ≥ 85 % of this one's rate is spending little beyond the unavoidable I/O.
 *
 * Env: DATABASE_URL (mysql://…; required), PORT (default 8000), HOST (default 127.0.0.1),
 *      SESSION_COOKIE_NAME (default sessionid).
 */
import { createServer } from 'node:http';
import { inflateSync } from 'node:zlib';
import Koa from 'koa';
import mysql from 'mysql2';
import { knexConfig } from '../src/db/connection.ts';

const SESSION_SQL = 'SELECT session_data, expire_date FROM django_session WHERE session_key = ? AND expire_date > ?';
// Our AuthUserTable's column list (Django's User model fields), so the row read is the same size.
const USER_SQL =
  'SELECT id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined FROM auth_user WHERE id = ?';

const databaseUrl = process.env.DATABASE_URL;
if (!databaseUrl?.startsWith('mysql://') && !databaseUrl?.startsWith('mariadb://')) {
  process.stderr.write('ceiling-server: DATABASE_URL must be a mysql:// or mariadb:// URL\n');
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

type Row = Record<string, unknown>;

function query(sql: string, params: readonly (string | number)[]): Promise<Row[]> {
  return new Promise((resolve, reject) =>
    pool.execute(sql, params as (string | number)[], (err, rows) => (err ? reject(err) : resolve(rows as Row[]))),
  );
}

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

/** Django's naive UTC datetime text, as our session table sends the "now" parameter. */
function nowParam(): string {
  const iso = new Date().toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}000`;
}

async function loadSessionData(key: string | undefined): Promise<string | null> {
  if (key === undefined) return null;
  const rows = await query(SESSION_SQL, [key, nowParam()]);
  return rows.length === 0 ? null : String(rows[0]!.session_data);
}

/** `_auth_user_id` from `signing.dumps` output, unverified: base64url JSON, zlib when it starts with ".". */
function authUserId(sessionData: string): string | null {
  const payloadEnd = sessionData.indexOf(':');
  if (payloadEnd < 0) return null;
  const compressed = sessionData.startsWith('.');
  let raw = Buffer.from(sessionData.slice(compressed ? 1 : 0, payloadEnd), 'base64url');
  if (compressed) raw = inflateSync(raw);
  const id = (JSON.parse(raw.toString('utf8')) as Record<string, unknown>)._auth_user_id;
  return typeof id === 'string' || typeof id === 'number' ? String(id) : null;
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
    const data = await loadSessionData(key);
    ctx.set('Content-Type', 'text/html; charset=utf-8');
    if (data === null) {
      ctx.status = 400;
      ctx.body = '';
    } else {
      ctx.body = 'test1 ok';
    }
    return;
  }
  if (ctx.path === '/auth/whoami') {
    const data = await loadSessionData(key);
    const id = data === null ? null : authUserId(data);
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
server.listen(port, host, () => process.stderr.write(`ceiling-server listening on http://${host}:${port}\n`));

const stop = (): void => {
  server.close();
  server.closeIdleConnections();
  pool.end(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
