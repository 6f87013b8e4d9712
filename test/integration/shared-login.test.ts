// End to end over real HTTP: our Koa app and the Django reference site (gunicorn, test/django_site/)
// on one MariaDB database, for Django 3.2 and 5.2 (our DJANGO_VERSION set to match).
//
// 1. The same request sequence goes to Django and then to us, each time from the same database
//    state: statuses, bodies, Content-Type, Vary, Allow and Set-Cookie attributes must be equal
//    (cookie values and dates aside; the pattern of which answers carry the same key must be equal).
// 2. Logins cross the stacks: a tutorial login or a contrib.auth login made on either side is used
//    and logged out on the other; a password change on Django ends our session at its next request;
//    a contrib.auth login rotates the key on both.
//
// MARIADB_URL comes from `eval "$(scripts/db/env.sh)"`; under CI it must be set. Outside CI without
// it, the suite runs on a shared SQLite file instead (with a note), so it never silently skips.
import { after, before, describe, it, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import { createApp } from '../../src/app/create-app.ts';
import { makePassword } from '../../src/auth/hashers/index.ts';
import { AuthUserTable } from '../../src/auth/user-table.ts';
import { loadSettings, type DjangoVersion } from '../../src/config.ts';
import { openDatabase, type Database } from '../../src/db/connection.ts';
import { DjangoTimezone } from '../../src/db/datetime.ts';
import { setLogSink } from '../../src/log.ts';
import {
  CookieJar,
  createMariadbDatabase,
  createSqliteDatabase,
  DELETED_COOKIE,
  djangoSiteAvailable,
  djangoSiteEnv,
  freePort,
  headerText,
  runSiteScript,
  send as sendRequest,
  setSessionKey,
  sharedSettings,
  type Answer,
  type RequestSpec,
  type StackDatabase,
} from '../support/stack.ts';

const ON_CI = Boolean(process.env.CI);
const MARIADB_URL = process.env.MARIADB_URL;
const VERSIONS: DjangoVersion[] = ['3.2', '5.2'];

const HTTP_DATE = /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/;

/** One request on its own connection, with the session cookie given apart (as the steps choose it). */
function send(base: string, spec: RequestSpec, cookie?: string): Promise<Answer> {
  return sendRequest(base, cookie === undefined ? spec : { ...spec, cookie });
}

/**
 * An answer with the cookie values and dates replaced by placeholders: keys by their order of first
 * appearance in the run (`<k1>`, `<k2>`…), dates by `<date>` after checking they are request time +
 * Max-Age, as Django computes them.
 */
function normalize(answer: Answer, keys: Map<string, string>): object {
  const cookies = answer.setCookies.map((c) => {
    let out = c.replace(/^sessionid=([a-z0-9]{32})/, (_m, key: string) => {
      if (!keys.has(key)) keys.set(key, `<k${keys.size + 1}>`);
      return `sessionid=${keys.get(key)}`;
    });
    const expires = /expires=([^;]+)/.exec(out)?.[1];
    const maxAge = Number(/Max-Age=(\d+)/.exec(out)?.[1] ?? NaN);
    if (expires && expires !== 'Thu, 01 Jan 1970 00:00:00 GMT') {
      assert.match(expires, HTTP_DATE);
      const at = Date.parse(expires);
      assert.ok(
        at >= Math.floor(answer.sentAt / 1000) * 1000 + maxAge * 1000 - 1000 && at <= answer.receivedAt + maxAge * 1000,
        `expires ${expires} is not request time + ${maxAge}s`,
      );
      out = out.replace(expires, '<date>');
    }
    return out;
  });
  return {
    status: answer.status,
    body: answer.body,
    contentType: headerText(answer, 'content-type'),
    vary: headerText(answer, 'vary'),
    allow: headerText(answer, 'allow'),
    setCookies: cookies,
  };
}

// ---- the request sequence -------------------------------------------------------------------------

interface Step {
  label: string;
  request: RequestSpec;
  /** Which cookie to send: the run's jar (default), none, or a fixed value. */
  cookie?: 'jar' | 'none' | { fixed: string };
}

const ALICE_PASSWORD = 'älice pässword';
const person = { name: '张三', email: 'zhang.san@example.com', password: 'pässwörd' };

function utf16le(text: string, bom: boolean): Uint8Array {
  const body = Buffer.from(text, 'utf16le');
  return bom ? Buffer.concat([Buffer.from([0xff, 0xfe]), body]) : body;
}

function sequence(): Step[] {
  const reg = (label: string, request: Omit<RequestSpec, 'method' | 'path'>, method = 'POST'): Step => ({
    label: `reg: ${label}`,
    request: { method, path: '/user/reg', ...request },
    cookie: 'none',
  });
  return [
    reg('a user', { json: person }),
    reg('the same e-mail', { json: { ...person, name: 'other' } }),
    reg('the e-mail in capitals (the collation decides)', { json: { ...person, email: person.email.toUpperCase() } }),
    reg('not JSON', { body: '{nope' }),
    reg('a JSON array', { json: [person] }),
    reg('a JSON string', { json: 'x' }),
    reg('no name', { json: { email: 'n@x', password: 'p' } }),
    reg('a 49-character name', { json: { ...person, name: 'x'.repeat(49), email: 'long@x' } }),
    reg('48 astral characters are 48 characters', { json: { name: '😀'.repeat(48), email: 'emoji@x', password: 'p' } }),
    reg('an empty e-mail', { json: { ...person, email: '' } }),
    reg('a 65-character e-mail', { json: { ...person, email: `${'e'.repeat(63)}@x` } }),
    reg('a lone surrogate in the name', { body: '{"name": "\\ud800", "email": "s@x", "password": "p"}' }),
    reg('a 73-byte password', { json: { ...person, email: 'pw@x', password: 'é'.repeat(36) + 'a' } }),
    reg('a 72-byte password', { json: { name: 'n', email: 'pw72@x', password: 'é'.repeat(36) } }),
    reg('a number as password', { json: { ...person, email: 'num@x', password: 12345 } }),
    reg('UTF-16 JSON with a BOM', { body: utf16le(JSON.stringify({ name: 'utf16', email: 'utf16@x', password: 'p' }), true) }),
    reg('UTF-8 JSON with a BOM', { body: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"name":"bom","email":"bom@x","password":"p"}')]) }),
    reg('with PUT, as the tutorial takes any method', { json: { name: 'put', email: 'put@x', password: 'p' } }, 'PUT'),
    { label: 'test1 without a session', request: { method: 'GET', path: '/user/test1' }, cookie: 'none' },
    { label: 'logout without a session', request: { method: 'GET', path: '/user/logout' }, cookie: 'none' },
    { label: 'login: wrong password', request: { method: 'POST', path: '/user/login', json: { email: person.email, password: 'x' } } },
    { label: 'login: unknown e-mail', request: { method: 'POST', path: '/user/login', json: { email: 'no@x', password: 'x' } } },
    { label: 'login: no password', request: { method: 'POST', path: '/user/login', json: { email: person.email } } },
    { label: 'login: not JSON', request: { method: 'POST', path: '/user/login', body: 'email=x' } },
    { label: 'login: a number as e-mail', request: { method: 'POST', path: '/user/login', json: { email: 5, password: 'x' } } },
    { label: 'login', request: { method: 'POST', path: '/user/login', json: { email: person.email, password: person.password } } },
    { label: 'test1 with the session', request: { method: 'GET', path: '/user/test1' } },
    { label: 'login again over the same session (no new key)', request: { method: 'POST', path: '/user/login', json: { email: person.email.toUpperCase(), password: person.password } } },
    { label: 'logout', request: { method: 'GET', path: '/user/logout' } },
    { label: 'test1 with the stale cookie', request: { method: 'GET', path: '/user/test1' }, cookie: { fixed: 'stale' } },
    { label: 'logout with a made-up cookie', request: { method: 'GET', path: '/user/logout' }, cookie: { fixed: 'abcdefgh12345678' } },
    { label: 'test1 with a short cookie', request: { method: 'GET', path: '/user/test1' }, cookie: { fixed: 'short' } },
    { label: 'whoami, anonymous', request: { method: 'GET', path: '/auth/whoami' }, cookie: 'none' },
    { label: 'auth login with GET', request: { method: 'GET', path: '/auth/login' }, cookie: 'none' },
    { label: 'whoami with POST', request: { method: 'POST', path: '/auth/whoami' }, cookie: 'none' },
    { label: 'auth login: bad body', request: { method: 'POST', path: '/auth/login', json: { username: 'alice' } } },
    { label: 'auth login: not JSON', request: { method: 'POST', path: '/auth/login', body: '\u00ff' } },
    { label: 'auth login: wrong password', request: { method: 'POST', path: '/auth/login', json: { username: 'alice', password: 'x' } } },
    { label: 'auth login: unknown user', request: { method: 'POST', path: '/auth/login', json: { username: 'nobody', password: 'x' } } },
    { label: 'auth login: inactive user', request: { method: 'POST', path: '/auth/login', json: { username: 'bob', password: ALICE_PASSWORD } } },
    { label: 'tutorial login first', request: { method: 'POST', path: '/user/login', json: { email: person.email, password: person.password } } },
    { label: 'auth login over the tutorial session (a new key, data kept)', request: { method: 'POST', path: '/auth/login', json: { username: 'alice', password: ALICE_PASSWORD } } },
    { label: 'test1 still sees the tutorial data', request: { method: 'GET', path: '/user/test1' } },
    { label: 'whoami', request: { method: 'GET', path: '/auth/whoami' } },
    { label: 'auth login again: same user, same key', request: { method: 'POST', path: '/auth/login', json: { username: 'alice', password: ALICE_PASSWORD } } },
    { label: 'password hook with GET', request: { method: 'GET', path: '/auth/password' }, cookie: 'none' },
    { label: 'password hook: unknown user', request: { method: 'POST', path: '/auth/password', json: { username: 'nobody', password: 'x' } }, cookie: 'none' },
    { label: 'password hook: bad body', request: { method: 'POST', path: '/auth/password', json: [] }, cookie: 'none' },
    { label: 'password hook', request: { method: 'POST', path: '/auth/password', json: { username: 'alice', password: 'changed' } }, cookie: 'none' },
    { label: 'whoami after the password change (flushed)', request: { method: 'GET', path: '/auth/whoami' } },
    { label: 'auth login with the new password', request: { method: 'POST', path: '/auth/login', json: { username: 'alice', password: 'changed' } } },
    { label: 'auth logout', request: { method: 'POST', path: '/auth/logout' } },
    { label: 'auth logout without a session', request: { method: 'POST', path: '/auth/logout' }, cookie: 'none' },
    { label: 'not found', request: { method: 'GET', path: '/nope' }, cookie: 'none' },
    { label: 'a trailing slash is another path', request: { method: 'GET', path: '/user/test1/' }, cookie: 'none' },
    { label: 'paths are case-sensitive', request: { method: 'GET', path: '/USER/test1' }, cookie: 'none' },
    { label: 'a percent-encoded path', request: { method: 'GET', path: '/user/%74est1?x=1' }, cookie: 'none' },
    { label: 'reg: a body over DATA_UPLOAD_MAX_MEMORY_SIZE', request: { method: 'POST', path: '/user/reg', announceOnly: 2_621_441 }, cookie: 'none' },
    { label: 'login: a body over DATA_UPLOAD_MAX_MEMORY_SIZE', request: { method: 'POST', path: '/user/login', announceOnly: 2_621_441 }, cookie: 'none' },
    { label: 'auth login: a body over DATA_UPLOAD_MAX_MEMORY_SIZE', request: { method: 'POST', path: '/auth/login', announceOnly: 2_621_441 } },
    { label: 'test1 does not read an oversized body', request: { method: 'POST', path: '/user/test1', announceOnly: 2_621_441 } },
  ];
}

// ---- the suite ----------------------------------------------------------------------------------

interface Stack {
  name: 'django' | 'node';
  base: string;
}

// Under CI both versions must be set up (a missing one fails in before()); elsewhere the unpacked
// ones run, and the rest are named on stderr.
const RUN_VERSIONS = VERSIONS.filter((v) => ON_CI || djangoSiteAvailable(v));
for (const v of VERSIONS.filter((x) => !RUN_VERSIONS.includes(x))) {
  process.stderr.write(`note: Django ${v} is not set up (scripts/setup-django.sh): the shared-login suite leaves it out\n`);
}

for (const version of RUN_VERSIONS) {
  describe(`shared login with Django ${version}`, { concurrency: 1 }, () => {
    let shared: StackDatabase | undefined;
    let db: Database | undefined;
    let env: NodeJS.ProcessEnv = {};
    let djangoPort = 0;
    let server: Server | undefined;
    let django: Stack;
    let node: Stack;
    let users: AuthUserTable;
    let aliceHash = '';
    let restoreLogSink: (() => void) | undefined;

    before(async () => {
      if (!djangoSiteAvailable(version)) throw new Error(`Django ${version} is not set up: run scripts/setup-django.sh`);
      shared = MARIADB_URL ? await createMariadbDatabase(MARIADB_URL, 'dsb_shared') : createSqliteDatabase('dsb-shared-');
      djangoPort = await freePort();
      env = djangoSiteEnv(sharedSettings(randomBytes(24).toString('hex'), shared.url, version));
      // Django's migrate creates django_session, auth_user and the tutorial's user table.
      const djangoBase = await runSiteScript(['start', '--version', version, '--port', String(djangoPort)], env);
      django = { name: 'django', base: djangoBase };

      const settings = loadSettings(env);
      db = openDatabase(shared.url, settings);
      // Our logs would drown the test output.
      const previous = setLogSink(() => {});
      restoreLogSink = () => setLogSink(previous);
      const app = createApp({ settings, db, testHooks: true, accessLog: false });
      server = app.listen(0, '127.0.0.1');
      await new Promise<void>((resolve) => server!.once('listening', () => resolve()));
      const address = server.address();
      assert.ok(address !== null && typeof address === 'object');
      node = { name: 'node', base: `http://127.0.0.1:${address.port}` };

      // alice and the inactive bob, with hashes we make at this version's default work factor.
      users = new AuthUserTable(db, new DjangoTimezone(settings));
      aliceHash = await makePassword(ALICE_PASSWORD, { djangoVersion: version });
      await users.create({ username: 'alice', password: aliceHash, email: 'alice@example.com' });
      await users.create({ username: 'bob', password: aliceHash, isActive: false });
      // carol, made by Django's own createsuperuser.
      await runSiteScript(
        ['manage', '--version', version, '--', 'createsuperuser', '--noinput', '--username', 'carol', '--email', 'carol@example.com'],
        { ...env, DJANGO_SUPERUSER_PASSWORD: 'carol pw' },
      );
    });

    after(async () => {
      if (djangoPort) await runSiteScript(['stop', '--port', String(djangoPort)], env);
      if (server) await new Promise<void>((resolve) => server!.close(() => resolve()));
      await db?.close();
      restoreLogSink?.();
      await shared?.drop();
    });

    /** The same database state before each run of the sequence. */
    async function resetState(): Promise<void> {
      const knex = db!.knex;
      await knex('django_session').delete();
      if (db!.dialect === 'mysql') await knex.raw('TRUNCATE TABLE `user`');
      else {
        await knex('user').delete();
        await knex.raw(`DELETE FROM sqlite_sequence WHERE name = 'user'`);
      }
      await knex('auth_user').where({ username: 'alice' }).update({ password: aliceHash });
    }

    async function runSequence(stack: Stack): Promise<object[]> {
      await resetState();
      const jar = new CookieJar();
      const keys = new Map<string, string>();
      const out: object[] = [];
      let staleKey = '';
      for (const step of sequence()) {
        let cookie: string | undefined;
        if (step.cookie === undefined || step.cookie === 'jar') cookie = jar.header;
        else if (step.cookie !== 'none') cookie = `sessionid=${step.cookie.fixed === 'stale' ? staleKey : step.cookie.fixed}`;
        if (step.label === 'logout') staleKey = jar.value ?? '';
        const answer = await send(stack.base, step.request, cookie);
        if (step.cookie === undefined || step.cookie === 'jar') jar.take(answer);
        out.push({ step: step.label, ...normalize(answer, keys) });
      }
      return out;
    }

    it('the same request sequence gets the same answers from both', async () => {
      const fromDjango = await runSequence(django);
      const fromNode = await runSequence(node);
      assert.equal(fromNode.length, fromDjango.length);
      for (let i = 0; i < fromDjango.length; i++) assert.deepEqual(fromNode[i], fromDjango[i]);
      // The sequence exercised what it claims to (so equal answers are not vacuous).
      const byLabel = new Map(fromDjango.map((a) => [(a as { step: string }).step, a as { status: number; setCookies: string[] }]));
      assert.equal(byLabel.get('reg: a user')?.status, 201);
      assert.equal(byLabel.get('login')?.status, 200);
      assert.equal(byLabel.get('whoami')?.status, 200);
      assert.deepEqual(byLabel.get('logout')?.setCookies, [DELETED_COOKIE]);
      assert.equal(byLabel.get('whoami after the password change (flushed)')?.status, 401);
    });

    it("a hash made here at this version's default is not re-hashed by Django's login", async () => {
      await resetState();
      const login = await send(django.base, { method: 'POST', path: '/auth/login', json: { username: 'alice', password: ALICE_PASSWORD } });
      assert.equal(login.status, 200, login.body);
      assert.equal((await users.getByUsername('alice'))?.password, aliceHash);
    });

    describe('across the stacks', { concurrency: 1 }, () => {
      before(resetState);

      for (const [first, second] of [['django', 'node'], ['node', 'django']] as const) {
        const stacks = () => ({ login: first === 'django' ? django : node, other: first === 'django' ? node : django });

        it(`a tutorial login on ${first} is used and logged out on ${second}, which ends it on ${first} too`, async () => {
          const { login: a, other: b } = stacks();
          const email = `${first}-tutorial-${randomBytes(3).toString('hex')}@x`;
          const reg = await send(a.base, { method: 'POST', path: '/user/reg', json: { name: first, email, password: 'pw' } });
          assert.equal(reg.status, 201, reg.body);
          const userId = (JSON.parse(reg.body) as { user_id: number }).user_id;
          const jar = new CookieJar();
          const login = await send(a.base, { method: 'POST', path: '/user/login', json: { email, password: 'pw' } });
          assert.equal(login.status, 200, login.body);
          jar.take(login);
          assert.ok(jar.value);

          const test1 = await send(b.base, { method: 'GET', path: '/user/test1' }, jar.header);
          assert.deepEqual([test1.status, test1.body, test1.setCookies], [200, 'test1 ok', []]);
          const logout = await send(b.base, { method: 'GET', path: '/user/logout' }, jar.header);
          assert.deepEqual([logout.status, logout.body, logout.setCookies], [200, `${userId} logout ok.`, [DELETED_COOKIE]]);
          const after = await send(a.base, { method: 'GET', path: '/user/test1' }, jar.header);
          assert.deepEqual([after.status, after.setCookies], [400, [DELETED_COOKIE]]);
        });

        it(`a contrib.auth login on ${first} is used on ${second}; logout on ${second} ends it on both`, async () => {
          const { login: a, other: b } = stacks();
          const jar = new CookieJar();
          const login = await send(a.base, { method: 'POST', path: '/auth/login', json: { username: 'carol', password: 'carol pw' } });
          assert.equal(login.status, 200, login.body);
          jar.take(login);
          const carol = await users.getByUsername('carol');
          const expected = `{"id": ${carol!.id}, "username": "carol"}`;
          assert.equal(login.body, expected);

          const whoami = await send(b.base, { method: 'GET', path: '/auth/whoami' }, jar.header);
          assert.deepEqual([whoami.status, whoami.body, whoami.setCookies], [200, expected, []]);
          const logout = await send(b.base, { method: 'POST', path: '/auth/logout' }, jar.header);
          assert.deepEqual([logout.status, logout.body, logout.setCookies], [200, 'ok', [DELETED_COOKIE]]);
          for (const stack of [a, b]) {
            const res = await send(stack.base, { method: 'GET', path: '/auth/whoami' }, jar.header);
            assert.deepEqual([res.status, res.setCookies], [401, [DELETED_COOKIE]], stack.name);
          }
        });

        it(`a contrib.auth login on ${first} rotates the key of an existing session, kept data and all`, async () => {
          const { login: a, other: b } = stacks();
          const email = `${first}-rotate-${randomBytes(3).toString('hex')}@x`;
          assert.equal((await send(b.base, { method: 'POST', path: '/user/reg', json: { name: 'r', email, password: 'pw' } })).status, 201);
          const jar = new CookieJar();
          jar.take(await send(b.base, { method: 'POST', path: '/user/login', json: { email, password: 'pw' } }));
          const before = jar.value!;
          const login = await send(a.base, { method: 'POST', path: '/auth/login', json: { username: 'carol', password: 'carol pw' } }, jar.header);
          assert.equal(login.status, 200);
          const after = setSessionKey(login);
          assert.ok(after && after !== before, 'a new key');
          assert.match(after, /^[a-z0-9]{32}$/);
          jar.take(login);
          const oldRow = await db!.knex('django_session').where({ session_key: before }).first();
          assert.equal(oldRow, undefined, 'the old row is gone');
          // The tutorial's data came along, and both stacks read the new session.
          assert.equal((await send(b.base, { method: 'GET', path: '/user/test1' }, jar.header)).status, 200);
          assert.equal((await send(b.base, { method: 'GET', path: '/auth/whoami' }, jar.header)).status, 200);
          assert.equal((await send(b.base, { method: 'GET', path: '/user/test1' }, `sessionid=${before}`)).status, 400);
        });
      }

      it('a password change on Django logs our session out at its next request', async () => {
        const jar = new CookieJar();
        const login = await send(node.base, { method: 'POST', path: '/auth/login', json: { username: 'alice', password: ALICE_PASSWORD } });
        assert.equal(login.status, 200, login.body);
        jar.take(login);
        assert.equal((await send(node.base, { method: 'GET', path: '/auth/whoami' }, jar.header)).status, 200);
        const change = await send(django.base, { method: 'POST', path: '/auth/password', json: { username: 'alice', password: 'from django' } });
        assert.equal(change.status, 200, change.body);
        const key = jar.value!;
        const whoami = await send(node.base, { method: 'GET', path: '/auth/whoami' }, jar.header);
        assert.deepEqual([whoami.status, whoami.body, whoami.setCookies], [401, '{"error": "not logged in"}', [DELETED_COOKIE]]);
        assert.equal(await db!.knex('django_session').where({ session_key: key }).first(), undefined, 'flushed: the row is deleted');
        // The new password works on our side (Django's hash, our check).
        assert.equal((await send(node.base, { method: 'POST', path: '/auth/login', json: { username: 'alice', password: 'from django' } })).status, 200);
        await users.getByUsername('alice').then(async (alice) => {
          alice!.password = aliceHash;
          await users.savePassword(alice!);
        });
      });

      it('a password change on our side logs the Django session out', async () => {
        const jar = new CookieJar();
        jar.take(await send(django.base, { method: 'POST', path: '/auth/login', json: { username: 'alice', password: ALICE_PASSWORD } }));
        assert.ok(jar.value);
        assert.equal((await send(node.base, { method: 'POST', path: '/auth/password', json: { username: 'alice', password: 'from node' } })).status, 200);
        const whoami = await send(django.base, { method: 'GET', path: '/auth/whoami' }, jar.header);
        assert.deepEqual([whoami.status, whoami.setCookies], [401, [DELETED_COOKIE]]);
        assert.equal((await send(django.base, { method: 'POST', path: '/auth/login', json: { username: 'alice', password: 'from node' } })).status, 200);
      });
    });
  });
}

if (ON_CI && !MARIADB_URL) {
  test('MARIADB_URL is set under CI', () => {
    assert.fail('CI must run the shared-login suite on MariaDB: eval "$(scripts/db/env.sh)" after scripts/db/start-all.sh');
  });
} else if (!MARIADB_URL) {
  process.stderr.write('note: MARIADB_URL is not set: the shared-login suite runs on a shared SQLite file instead\n');
}
