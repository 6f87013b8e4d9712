// The app against hostile or broken input, in process over real HTTP on SQLite: bad, unknown,
// expired and tampered cookies read as anonymous and never cause a 5xx; body limits; a database
// failure answers Django's 500 page without leaking anything.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest, type Server } from 'node:http';
import { runMigrations } from '../../migrations/index.ts';
import { createApp } from '../../src/app/create-app.ts';
import { SERVER_ERROR_PAGE, BAD_REQUEST_PAGE } from '../../src/app/responses.ts';
import { PASSWORD_NUL } from '../../src/app/tutorial/validation.ts';
import { makePassword } from '../../src/auth/hashers/index.ts';
import { loadSettings, type Settings } from '../../src/config.ts';
import { createSessionStoreFactory, type SessionStoreFactory } from '../../src/sessions/backends/db.ts';
import { SessionCodec } from '../../src/sessions/codec.ts';
import { setLogSink } from '../../src/log.ts';
import type { PyValue } from '../../src/pyjson/types.ts';
import { freshDatabase, type FreshDatabase } from '../support/databases.ts';

const AUTH_USER_DDL =
  'CREATE TABLE "auth_user" ("id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "password" varchar(128) NOT NULL, ' +
  '"last_login" datetime NULL, "is_superuser" bool NOT NULL, "username" varchar(150) NOT NULL UNIQUE, ' +
  '"last_name" varchar(150) NOT NULL, "email" varchar(254) NOT NULL, "is_staff" bool NOT NULL, ' +
  '"is_active" bool NOT NULL, "date_joined" datetime NOT NULL, "first_name" varchar(150) NOT NULL)';
const DELETED_COOKIE = 'sessionid=""; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/; SameSite=Lax';

interface Answer {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
  setCookies: string[];
}

function send(
  base: string,
  method: string,
  path: string,
  options: { cookie?: string; body?: string | Buffer; chunks?: Buffer[] } = {},
): Promise<Answer> {
  const url = new URL(base + path);
  const headers: Record<string, string | number> = {};
  if (options.cookie !== undefined) headers.cookie = options.cookie;
  if (options.body !== undefined) headers['content-length'] = Buffer.byteLength(options.body);
  if (options.chunks !== undefined) headers['transfer-encoding'] = 'chunked';
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, path: url.pathname, method, headers, agent: false }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString('utf8'), headers: res.headers, setCookies: res.headers['set-cookie'] ?? [] }),
      );
    });
    req.on('error', reject);
    if (options.chunks) {
      for (const c of options.chunks) req.write(c);
      req.end();
    } else req.end(options.body);
  });
}

describe('the app with bad input (SQLite, Django 5.2 settings)', { concurrency: 1 }, () => {
  let fresh: FreshDatabase;
  let server: Server;
  let base = '';
  let settings: Settings;
  let sessions: SessionStoreFactory;
  let restoreLogs: () => void;
  let aliceId = 0;

  before(async () => {
    fresh = await freshDatabase('sqlite');
    settings = loadSettings({ SECRET_KEY: 'robust-secret', DATABASE_URL: fresh.url, DJANGO_VERSION: '5.2', USE_TZ: 'True', TIME_ZONE: 'UTC' });
    await runMigrations(fresh.db, { djangoVersion: '5.2' });
    await fresh.db.knex.raw(AUTH_USER_DDL);
    const [id] = await fresh.db.knex('auth_user').insert({
      password: await makePassword('pw', { djangoVersion: '5.2', passwordHashers: ['django.contrib.auth.hashers.MD5PasswordHasher'] }),
      is_superuser: false, username: 'alice', first_name: '', last_name: '', email: '', is_staff: false, is_active: true,
      date_joined: '2024-01-01 00:00:00',
    });
    aliceId = Number(id);
    await fresh.db.knex('user').insert({ name: 'tut', email: 'tut@x', password: '$2b$04$abcdefghijklmnopqrstuu5Ry2CqLcpE3tbIDkcvX1PGQ4Aw6fEKmC' });
    sessions = createSessionStoreFactory({ db: fresh.db, settings });
    const previous = setLogSink(() => {});
    restoreLogs = () => setLogSink(previous);
    const app = createApp({ settings, db: fresh.db, accessLog: false });
    server = app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    const address = server.address();
    assert.ok(address !== null && typeof address === 'object');
    base = `http://127.0.0.1:${address.port}`;
  });

  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    restoreLogs();
    await fresh.drop();
  });

  /** A saved session holding `data`; its key. */
  async function sessionWith(data: Record<string, string | number>): Promise<string> {
    const store = sessions(undefined);
    await store.update(data);
    await store.save();
    return store.sessionKey!;
  }

  it('cookies that name no usable session read as anonymous and are deleted, never a 5xx', async () => {
    const expired = await sessionWith({ user_id: 1 });
    await fresh.db.knex('django_session').where({ session_key: expired }).update({ expire_date: '2000-01-01 00:00:00' });
    const values = [
      'short',
      'abcdefgh12345678unknown',
      'x'.repeat(5000),
      '"quoted;value"',
      'ünïcødé-ünïcødé',
      '../../etc/passwd',
      expired,
    ];
    for (const value of values) {
      for (const path of ['/auth/whoami', '/user/test1', '/user/logout']) {
        const res = await send(base, 'GET', path, { cookie: `sessionid=${value}` });
        assert.ok(res.status < 500, `${path} with ${value.slice(0, 20)}: ${res.status}`);
        assert.deepEqual(res.setCookies, [DELETED_COOKIE], `${path} with ${value.slice(0, 20)}`);
      }
    }
  });

  it('tampered or foreign session data reads as an empty session (the row stays, nothing is set)', async () => {
    const tampered = await sessionWith({ user_id: 1, _auth_user_id: String(aliceId) });
    const row = await fresh.db.knex('django_session').where({ session_key: tampered }).first('session_data');
    const data = String(row.session_data);
    await fresh.db.knex('django_session').where({ session_key: tampered }).update({ session_data: `${data.slice(0, -2)}xx` });
    const foreign = await sessionWith({});
    const otherSecret = new SessionCodec({ secretKey: 'another-site', djangoVersion: '5.2' });
    await fresh.db.knex('django_session').where({ session_key: foreign }).update({
      session_data: otherSecret.encode(new Map<string, PyValue>([['user_id', 1], ['_auth_user_id', String(aliceId)]])),
    });
    for (const key of [tampered, foreign]) {
      const whoami = await send(base, 'GET', '/auth/whoami', { cookie: `sessionid=${key}` });
      assert.deepEqual([whoami.status, whoami.setCookies], [401, []]);
      const test1 = await send(base, 'GET', '/user/test1', { cookie: `sessionid=${key}` });
      assert.equal(test1.status, 400);
    }
  });

  it("requireLogin reads user_id as Django's pk lookup does: \"1\" works, \"abc\" is 401", async () => {
    const tutId = Number((await fresh.db.knex('user').first('id')).id);
    const asString = await sessionWith({ user_id: String(tutId) });
    const ok = await send(base, 'GET', '/user/logout', { cookie: `sessionid=${asString}` });
    assert.deepEqual([ok.status, ok.body], [200, `${tutId} logout ok.`]);
    const bad = await sessionWith({ user_id: 'abc' });
    const refused = await send(base, 'GET', '/user/logout', { cookie: `sessionid=${bad}` });
    assert.deepEqual([refused.status, refused.body, refused.setCookies], [401, '', []]);
  });

  it('a session whose _auth_user_id the integer key cannot read is anonymous, not a 500', async () => {
    const key = await sessionWith({ _auth_user_id: 'abc', _auth_user_backend: 'django.contrib.auth.backends.ModelBackend', _auth_user_hash: 'x' });
    const res = await send(base, 'GET', '/auth/whoami', { cookie: `sessionid=${key}` });
    assert.equal(res.status, 401);
  });

  it('a chunked body over 2.5 MiB gets the Bad Request page; one at the limit is read', async () => {
    const chunk = Buffer.alloc(1 << 20, 0x20);
    const over = await send(base, 'POST', '/user/reg', { chunks: [chunk, chunk, chunk] });
    assert.deepEqual([over.status, over.body], [400, BAD_REQUEST_PAGE]);
    const atLimit = await send(base, 'POST', '/user/reg', { body: Buffer.alloc(2_621_440, 0x20) });
    assert.deepEqual([atLimit.status, atLimit.body], [400, '{"error": "request body must be a JSON object"}']);
  });

  it('a password with NUL is refused with its own message (bcrypt cannot hash it)', async () => {
    const res = await send(base, 'POST', '/user/reg', { body: JSON.stringify({ name: 'n', email: 'nul@x', password: 'a\u0000b' }) });
    assert.deepEqual([res.status, res.body], [400, `{"error": "${PASSWORD_NUL}"}`]);
  });

  it('HEAD is not GET for require_GET views (405 with Allow), as in Django', async () => {
    const res = await send(base, 'HEAD', '/auth/whoami');
    assert.equal(res.status, 405);
    assert.equal(res.headers.allow, 'GET');
  });

  it('a database failure answers Django\'s 500 page and nothing of the error', async () => {
    await fresh.db.knex.schema.renameTable('user', 'user_gone');
    try {
      const reg = await send(base, 'POST', '/user/reg', { body: JSON.stringify({ name: 'n', email: 'db@x', password: 'pw' }) });
      assert.deepEqual([reg.status, reg.body], [500, SERVER_ERROR_PAGE]);
      assert.equal(reg.headers['content-type'], 'text/html; charset=utf-8');
      // The tutorial's login catches every exception: a bare 400.
      const login = await send(base, 'POST', '/user/login', { body: JSON.stringify({ email: 'tut@x', password: 'pw' }) });
      assert.deepEqual([login.status, login.body], [400, '']);
    } finally {
      await fresh.db.knex.schema.renameTable('user_gone', 'user');
    }
  });
});
