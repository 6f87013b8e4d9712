// Smoke test of the Django reference site (test/django_site/) that the end-to-end suite compares our
// Node app with: starts it through scripts/django-site.sh under each Django release (3.2 from Debian,
// 4.2 and 5.2 when unpacked in .cache/django/), on a fresh SQLite file and, when MARIADB_URL is set,
// on a fresh MariaDB database, and drives the tutorial's routes and the contrib.auth routes over
// real HTTP. What it pins down is what the Node app has to reproduce: statuses, exact bodies, and the
// exact Set-Cookie text.
import { after, before, describe, it, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  createMariadbDatabase,
  createSqliteDatabase,
  DELETED_COOKIE,
  djangoSiteAvailable,
  freePort,
  runSiteScript,
  type StackDatabase,
} from '../support/stack.ts';

const ON_CI = Boolean(process.env.CI);
const MARIADB_URL = process.env.MARIADB_URL;

// Settings the site reads; cleared so the defaults (and only they) are under test here.
const SITE_SETTINGS = [
  'SECRET_KEY_FALLBACKS', 'USE_TZ', 'TIME_ZONE', 'SESSION_COOKIE_AGE', 'SESSION_EXPIRE_AT_BROWSER_CLOSE',
  'SESSION_SAVE_EVERY_REQUEST', 'SESSION_COOKIE_SECURE', 'SESSION_COOKIE_SAMESITE', 'SESSION_COOKIE_DOMAIN',
  'SESSION_COOKIE_PATH', 'SESSION_COOKIE_NAME', 'SESSION_ENGINE', 'DEFAULT_HASHING_ALGORITHM',
];

const HTTP_DATE = String.raw`(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT`;

/** A Django release to test: 3.2 is always there; the others when unpacked, and always under CI. */
function releases(): string[] {
  return ['3.2', ...(['4.2', '5.2'] as const).filter((v) => ON_CI || djangoSiteAvailable(v))];
}

interface Answer {
  /** Date.now() just before the request was sent and just after the answer arrived. */
  sentAt: number;
  receivedAt: number;
  status: number;
  body: string;
  contentType: string | null;
  vary: string | null;
  setCookies: string[];
}

async function call(
  base: string,
  method: string,
  path: string,
  options: { body?: unknown; rawBody?: string; cookie?: string } = {},
): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (options.cookie) headers.cookie = options.cookie;
  let body: string | undefined = options.rawBody;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] = 'application/json';
  }
  const sentAt = Date.now();
  const res = await fetch(base + path, { method, headers, body, redirect: 'manual' });
  const text = await res.text();
  return {
    sentAt,
    receivedAt: Date.now(),
    status: res.status,
    body: text,
    contentType: res.headers.get('content-type'),
    vary: res.headers.get('vary'),
    setCookies: res.headers.getSetCookie(),
  };
}

/** The `sessionid=<key>` pair of a fresh session cookie, after checking Django's exact format. */
function sessionCookie(answer: Answer, maxAge: number): string {
  assert.equal(answer.setCookies.length, 1, `one Set-Cookie expected, got ${JSON.stringify(answer.setCookies)}`);
  const header = answer.setCookies[0] ?? '';
  const format = new RegExp(
    `^sessionid=([a-z0-9]{32}); expires=(${HTTP_DATE}); HttpOnly; Max-Age=${maxAge}; Path=/; SameSite=Lax$`,
  );
  const match = format.exec(header);
  assert.ok(match, `Set-Cookie not in Django's format: ${header}`);
  // Django writes http_date(time.time() + max_age), whole seconds cut off, while handling the request.
  const expires = Date.parse(match[2] ?? '');
  const earliest = Math.floor(answer.sentAt / 1000) * 1000 + maxAge * 1000;
  const latest = answer.receivedAt + maxAge * 1000;
  assert.ok(expires >= earliest && expires <= latest, `expires ${match[2]} is not request time + ${maxAge}s`);
  assert.equal(answer.vary, 'Cookie');
  return `sessionid=${match[1]}`;
}

/** A JSON object as Python's json.dumps writes it: ", " and ": " separators, \uXXXX for non-ASCII. */
function pythonJson(value: Record<string, unknown>): string {
  const escapeNonAscii = (s: string) =>
    s.replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  const encode = (v: unknown): string =>
    v !== null && typeof v === 'object'
      ? `{${Object.entries(v).map(([k, x]) => `${encode(k)}: ${encode(x)}`).join(', ')}}`
      : escapeNonAscii(JSON.stringify(v));
  return encode(value);
}

function siteSuite(version: string, databaseLabel: string, makeDatabase: () => Promise<StackDatabase>): void {
  // concurrency 1: the steps share one user and one cookie jar, in order (the parent runs suites in
  // parallel, and Node hands that setting down unless told otherwise).
  describe(`Django ${version} reference site on ${databaseLabel}`, { concurrency: 1 }, () => {
    let database: StackDatabase | undefined;
    let env: NodeJS.ProcessEnv = {};
    let port = 0;
    let base = '';
    // A non-ASCII name: Django's JSON answers and session data escape it as \uXXXX.
    const person = { name: '张三', email: `zhang.${randomBytes(4).toString('hex')}@example.com`, password: 'pässwörd' };
    let userId = 0;
    let tutorialCookie = '';
    let authCookie = '';

    before(async () => {
      database = await makeDatabase();
      port = await freePort();
      env = { ...process.env, SECRET_KEY: randomBytes(24).toString('hex'), DATABASE_URL: database.url, DSB_TEST_HOOKS: '1' };
      for (const name of SITE_SETTINGS) delete env[name];
      base = await runSiteScript(['start', '--version', version, '--port', String(port)], env);
      assert.equal(base, `http://127.0.0.1:${port}`);
    });

    after(async () => {
      if (port) await runSiteScript(['stop', '--port', String(port)], env);
      await database?.drop();
    });

    it('registers a user: 201 and the new user in Python-style JSON', async () => {
      const res = await call(base, 'POST', '/user/reg', { body: person });
      assert.equal(res.status, 201, res.body);
      assert.equal(res.contentType, 'application/json');
      const parsed: unknown = JSON.parse(res.body);
      assert.ok(parsed !== null && typeof parsed === 'object' && 'user_id' in parsed);
      userId = Number(parsed.user_id);
      assert.ok(Number.isInteger(userId) && userId > 0);
      assert.equal(res.body, pythonJson({ user_id: userId, name: person.name, email: person.email }));
      assert.match(res.body, /"name": "\\u5f20\\u4e09"/);
      assert.deepEqual(res.setCookies, [], 'registration does not start a session');
    });

    it('refuses a second registration of the e-mail (409) and bad bodies (400)', async () => {
      const dup = await call(base, 'POST', '/user/reg', { body: { ...person, name: 'other' } });
      assert.equal(dup.status, 409);
      assert.equal(dup.body, '{"error": "email already registered"}');

      const notJson = await call(base, 'POST', '/user/reg', { rawBody: '{nope' });
      assert.equal(notJson.status, 400);
      assert.equal(notJson.body, '{"error": "request body must be a JSON object"}');

      const longName = await call(base, 'POST', '/user/reg', { body: { ...person, name: 'x'.repeat(49) } });
      assert.equal(longName.status, 400);
      assert.equal(longName.body, '{"error": "name must be a non-empty string of at most 48 characters"}');

      const noPassword = await call(base, 'POST', '/user/reg', { body: { name: 'n', email: 'e@x' } });
      assert.equal(noPassword.status, 400);
      assert.equal(noPassword.body, '{"error": "password must be a non-empty string of at most 72 bytes in UTF-8"}');
    });

    it('without a session: test1 is 400, logout is 401, both with empty bodies and no cookie', async () => {
      const test1 = await call(base, 'GET', '/user/test1');
      assert.deepEqual([test1.status, test1.body, test1.setCookies], [400, '', []]);
      assert.equal(test1.contentType, 'text/html; charset=utf-8');
      const logout = await call(base, 'GET', '/user/logout');
      assert.deepEqual([logout.status, logout.body, logout.setCookies], [401, '', []]);
    });

    it('refuses a wrong password or an unknown e-mail with an empty 400 and no cookie', async () => {
      for (const body of [
        { email: person.email, password: 'wrong' },
        { email: `nobody-${person.email}`, password: person.password },
        { email: person.email },
      ]) {
        const res = await call(base, 'POST', '/user/login', { body });
        assert.deepEqual([res.status, res.body, res.setCookies], [400, '', []], JSON.stringify(body));
      }
    });

    it('logs in: the user and user_info, and a 300-second session cookie in Django format', async () => {
      const res = await call(base, 'POST', '/user/login', { body: { email: person.email, password: person.password } });
      assert.equal(res.status, 200, res.body);
      assert.equal(res.contentType, 'application/json');
      const user = { user_id: userId, name: person.name, email: person.email };
      const userInfo = `**${userId} ${person.name} ${person.email}`;
      assert.equal(res.body, pythonJson({ user, user_info: userInfo }));
      tutorialCookie = sessionCookie(res, 300);
    });

    it('test1 with the session answers "test1 ok" and does not re-send the cookie', async () => {
      const res = await call(base, 'GET', '/user/test1', { cookie: tutorialCookie });
      assert.deepEqual([res.status, res.body, res.setCookies], [200, 'test1 ok', []]);
      assert.equal(res.vary, 'Cookie');
    });

    it('logout flushes the session: the cookie is deleted and the old one no longer works', async () => {
      const res = await call(base, 'GET', '/user/logout', { cookie: tutorialCookie });
      assert.deepEqual([res.status, res.body, res.setCookies], [200, `${userId} logout ok.`, [DELETED_COOKIE]]);

      // The row is gone: a stale cookie is read as an empty session and deleted again.
      const test1 = await call(base, 'GET', '/user/test1', { cookie: tutorialCookie });
      assert.deepEqual([test1.status, test1.body, test1.setCookies], [400, '', [DELETED_COOKIE]]);
      const again = await call(base, 'GET', '/user/logout', { cookie: tutorialCookie });
      assert.deepEqual([again.status, again.setCookies], [401, [DELETED_COOKIE]]);
    });

    it('contrib.auth: login and whoami', async () => {
      const username = 'alice';
      await runSiteScript(
        ['manage', '--version', version, '--', 'createsuperuser', '--noinput', '--username', username, '--email', 'alice@example.com'],
        { ...env, DJANGO_SUPERUSER_PASSWORD: 'first password' },
      );
      const refused = await call(base, 'POST', '/auth/login', { body: { username, password: 'nope' } });
      assert.deepEqual([refused.status, refused.body, refused.setCookies], [401, '{"error": "invalid username or password"}', []]);

      const res = await call(base, 'POST', '/auth/login', { body: { username, password: 'first password' } });
      assert.equal(res.status, 200, res.body);
      assert.match(res.body, /^\{"id": \d+, "username": "alice"\}$/);
      authCookie = sessionCookie(res, 1209600);

      const whoami = await call(base, 'GET', '/auth/whoami', { cookie: authCookie });
      assert.deepEqual([whoami.status, whoami.body, whoami.setCookies], [200, res.body, []]);
      const anonymous = await call(base, 'GET', '/auth/whoami');
      assert.deepEqual([anonymous.status, anonymous.body], [401, '{"error": "not logged in"}']);
    });

    it('contrib.auth: a password change elsewhere logs the session out', async () => {
      const change = await call(base, 'POST', '/auth/password', { body: { username: 'alice', password: 'second password' } });
      assert.equal(change.status, 200, change.body);
      assert.deepEqual(change.setCookies, [], 'the hook leaves the caller\'s session alone');

      // The stored auth hash no longer matches: get_user() flushes the session and the cookie goes.
      const whoami = await call(base, 'GET', '/auth/whoami', { cookie: authCookie });
      assert.deepEqual([whoami.status, whoami.setCookies], [401, [DELETED_COOKIE]]);
    });

    it('contrib.auth: logout answers "ok" and deletes the cookie; wrong methods get 405', async () => {
      const login = await call(base, 'POST', '/auth/login', { body: { username: 'alice', password: 'second password' } });
      const cookie = sessionCookie(login, 1209600);
      const res = await call(base, 'POST', '/auth/logout', { cookie });
      assert.deepEqual([res.status, res.body, res.setCookies], [200, 'ok', [DELETED_COOKIE]]);
      const whoami = await call(base, 'GET', '/auth/whoami', { cookie });
      assert.equal(whoami.status, 401);

      const getLogin = await call(base, 'GET', '/auth/login');
      assert.deepEqual([getLogin.status, getLogin.body], [405, '']);
    });
  });
}

// Two sites at a time: each suite has its own port and database, and most of the wait is Python
// start-up, migrations and PBKDF2, which overlap well.
describe('Django reference site', { concurrency: 2 }, () => {
  for (const version of releases()) {
    siteSuite(version, 'SQLite', async () => createSqliteDatabase('dsb-django-site-'));
    if (MARIADB_URL) siteSuite(version, 'MariaDB', () => createMariadbDatabase(MARIADB_URL, 'dsb_djsite'));
  }
});

if (ON_CI && !MARIADB_URL) {
  test('MARIADB_URL is set under CI', () => {
    assert.fail('CI must run the Django site against MariaDB: start it with scripts/db/start-mariadb.sh and export MARIADB_URL');
  });
}
