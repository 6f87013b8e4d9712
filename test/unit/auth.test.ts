// django.contrib.auth on the db session engine, on SQLite: the §9.4 behaviours of Django's own auth
// tests (test_login.py, test_middleware.py, test_auth_backends.py, test_basic.py), for 3.2, 4.2 and
// 5.2, plus a differential check of the session auth hash against each Django's own
// AbstractBaseUser. Over-the-wire agreement with a live Django is test/integration/shared-login.test.ts.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { runMigrations } from '../../migrations/index.ts';
import {
  AllowAllUsersModelBackend,
  AnonymousUser,
  authenticate,
  BACKEND_SESSION_KEY,
  BackendChoiceError,
  bindAuth,
  createAuth,
  createDjangoAuth,
  DjangoUser,
  getSessionAuthHash,
  getUser,
  HASH_SESSION_KEY,
  ImproperlyConfigured,
  integerPkFromSession,
  InvalidUserId,
  login,
  logout,
  matchSessionAuthHash,
  MODEL_BACKEND,
  ModelBackend,
  MULTIPLE_BACKENDS_MESSAGE,
  SESSION_KEY,
  unmaskCipherToken,
  updateSessionAuthHash,
  type Auth,
  type AuthRequest,
  type AuthUser,
} from '../../src/auth/index.ts';
import { PBKDF2PasswordHasher, makePassword, type PasswordHasherConfig } from '../../src/auth/hashers/index.ts';
import { AuthUserTable } from '../../src/auth/user-table.ts';
import { SESSION_AUTH_HASH_KEY_SALT } from '../../src/auth/session-hash.ts';
import { saltedHmac } from '../../src/signing/crypto.ts';
import type { DjangoVersion } from '../../src/config.ts';
import { DjangoTimezone } from '../../src/db/datetime.ts';
import { authMiddleware, MISSING_SESSION_MESSAGE } from '../../src/koa/auth-middleware.ts';
import { createSessionStoreFactory, type SessionStoreFactory } from '../../src/sessions/backends/db.ts';
import { availableDjangoVersions, djangoSitePackages, SYSTEM_PYTHON } from '../support/django-oracle.ts';
import { freshDatabase, type FreshDatabase } from '../support/databases.ts';

/** auth_user as Django's migrations leave it on SQLite (spec §5.9). */
const AUTH_USER_DDL =
  'CREATE TABLE "auth_user" ("id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "password" varchar(128) NOT NULL, ' +
  '"last_login" datetime NULL, "is_superuser" bool NOT NULL, "username" varchar(150) NOT NULL UNIQUE, ' +
  '"last_name" varchar(150) NOT NULL, "email" varchar(254) NOT NULL, "is_staff" bool NOT NULL, ' +
  '"is_active" bool NOT NULL, "date_joined" datetime NOT NULL, "first_name" varchar(150) NOT NULL)';

/** 2023-11-14 22:13:20.250000 UTC, the spec's vector time. */
const FROZEN_MICROS = 1_700_000_000_250_000;

/** A pbkdf2_sha256 hasher with few iterations (fast tests) that counts its runs, like Django's CountingMD5PasswordHasher. */
class CountingHasher extends PBKDF2PasswordHasher {
  encodes = 0;
  override async encode(password: string, salt: string, iterations?: number): Promise<string> {
    this.encodes++;
    return super.encode(password, salt, iterations);
  }
}

interface Settings {
  SECRET_KEY: string;
  SECRET_KEY_FALLBACKS: readonly string[];
  DJANGO_VERSION: DjangoVersion;
  DEFAULT_HASHING_ALGORITHM: 'sha256' | 'sha1';
  USE_TZ: boolean;
  TIME_ZONE: string;
  SESSION_COOKIE_AGE: number;
  SESSION_EXPIRE_AT_BROWSER_CLOSE: boolean;
}

function settingsFor(version: DjangoVersion, overrides: Partial<Settings> = {}): Settings {
  return {
    SECRET_KEY: 'test-secret-key-for-vectors',
    SECRET_KEY_FALLBACKS: [],
    DJANGO_VERSION: version,
    DEFAULT_HASHING_ALGORITHM: 'sha256',
    USE_TZ: true,
    TIME_ZONE: 'UTC',
    SESSION_COOKIE_AGE: 1209600,
    SESSION_EXPIRE_AT_BROWSER_CLOSE: false,
    ...overrides,
  };
}

/** One configuration of the site: settings, session store factory, auth. */
interface Site {
  settings: Settings;
  sessions: SessionStoreFactory;
  auth: Auth;
  hasher: CountingHasher;
  hashers: PasswordHasherConfig;
}

function site(fresh: FreshDatabase, settings: Settings, options: { iterations?: number; backends?: string[] } = {}): Site {
  const timezone = new DjangoTimezone(settings, () => FROZEN_MICROS);
  const hasher = new CountingHasher({ iterations: options.iterations ?? 1000 });
  const hashers: PasswordHasherConfig = { djangoVersion: settings.DJANGO_VERSION, passwordHashers: [hasher] };
  const sessions = createSessionStoreFactory({ db: fresh.db, settings, timezone });
  const auth = createDjangoAuth({
    db: fresh.db,
    settings,
    timezone,
    passwordHashers: [hasher],
    ...(options.backends ? { authenticationBackends: options.backends } : {}),
  });
  return { settings, sessions, auth, hasher, hashers };
}

/** A request carrying `cookie` (a session key), with the site's auth bound, as authMiddleware binds it. */
function request(s: Site, cookie?: string | null): AuthRequest {
  const r: AuthRequest = { session: s.sessions(cookie ?? undefined), state: {} };
  bindAuth(r, s.auth);
  return r;
}

/** What SessionMiddleware does at the end of a response that modified the session: save. */
async function finish(r: AuthRequest): Promise<string | null> {
  if (r.session.modified && !r.session.isEmpty()) await r.session.save();
  return r.session.sessionKey;
}

async function createUser(fresh: FreshDatabase, s: Site, username: string, password: string, isActive = true): Promise<DjangoUser> {
  const table = new AuthUserTable(fresh.db, new DjangoTimezone(s.settings, () => FROZEN_MICROS));
  return table.create({ username, password: await makePassword(password, s.hashers), isActive });
}

async function rowExists(s: Site, key: string | null): Promise<boolean> {
  return key !== null && (await s.sessions.table.exists(key));
}

async function storedData(s: Site, key: string): Promise<Map<string, unknown>> {
  const row = await s.sessions.objects.get(key);
  assert.ok(row, `no session row ${key}`);
  return row.getDecoded();
}

/** Log `username` in on a fresh session through authenticate() + login(); the saved session key. */
async function loggedInSession(s: Site, username: string, password: string): Promise<string> {
  const r = request(s);
  const user = await authenticate(r, { username, password });
  assert.ok(user, `authenticate(${username}) failed`);
  await login(r, user);
  const key = await finish(r);
  assert.ok(key);
  return key;
}

for (const version of ['3.2', '4.2', '5.2'] as const) {
  describe(`auth on the db engine, Django ${version} (SQLite)`, { concurrency: 1 }, () => {
    let fresh: FreshDatabase;
    let s: Site;
    let seq = 0;
    const name = (base: string) => `${base}${++seq}`;

    before(async () => {
      fresh = await freshDatabase('sqlite');
      await runMigrations(fresh.db, { djangoVersion: version });
      await fresh.db.knex.raw(AUTH_USER_DDL);
      s = site(fresh, settingsFor(version));
    });
    after(() => fresh.drop());

    it('login writes the three keys in order, the id as a string, after the anonymous data (56)', async () => {
      const alice = await createUser(fresh, s, name('alice'), 'pw');
      const r = request(s);
      await r.session.set('cart', [1, 2]);
      const anonymousKey = await finish(r);
      const r2 = request(s, anonymousKey);
      await login(r2, alice, MODEL_BACKEND);
      const key = await finish(r2);
      assert.notEqual(key, anonymousKey, 'login() cycles the key of an anonymous session');
      assert.equal(await rowExists(s, anonymousKey), false, 'the old row is deleted');
      const data = await storedData(s, key!);
      assert.deepEqual([...data.keys()], ['cart', SESSION_KEY, BACKEND_SESSION_KEY, HASH_SESSION_KEY]);
      assert.equal(data.get(SESSION_KEY), String(alice.id));
      assert.equal(data.get(BACKEND_SESSION_KEY), MODEL_BACKEND);
      assert.equal(data.get(HASH_SESSION_KEY), getSessionAuthHash(alice.password, s.settings.SECRET_KEY));
      assert.match(data.get(HASH_SESSION_KEY) as string, /^[0-9a-f]{64}$/);
      assert.equal(r2.state.user, alice, 'request.user is the user');
    });

    it('login does not look at is_active (56: test_inactive_user)', async () => {
      const bob = await createUser(fresh, s, name('inactive'), 'pw', false);
      const r = request(s);
      await login(r, bob, MODEL_BACKEND);
      const key = await finish(r);
      assert.equal((await storedData(s, key!)).get(SESSION_KEY), String(bob.id));
    });

    it('login as another user flushes the session: new key, old data gone (58)', async () => {
      const alice = await createUser(fresh, s, name('alice'), 'pw');
      const bob = await createUser(fresh, s, name('bob'), 'pw');
      const r = request(s);
      await login(r, alice, MODEL_BACKEND);
      await r.session.set('alice-only', true);
      const aliceKey = await finish(r);
      const r2 = request(s, aliceKey);
      await login(r2, bob, MODEL_BACKEND);
      const bobKey = await finish(r2);
      assert.notEqual(bobKey, aliceKey);
      assert.equal(await rowExists(s, aliceKey), false);
      const data = await storedData(s, bobKey!);
      assert.equal(data.has('alice-only'), false);
      assert.equal(data.get(SESSION_KEY), String(bob.id));
    });

    it('the same user again keeps the key; after a password change the key changes (59)', async () => {
      const username = name('carol');
      const carol = await createUser(fresh, s, username, 'pw');
      const r = request(s);
      await login(r, carol, MODEL_BACKEND);
      const key = await finish(r);
      const again = request(s, key);
      await login(again, carol, MODEL_BACKEND);
      assert.equal(await finish(again), key);

      carol.password = await makePassword('new password', s.hashers);
      await new AuthUserTable(fresh.db, s.sessions.timezone).savePassword(carol);
      const afterChange = request(s, key);
      await login(afterChange, carol, MODEL_BACKEND);
      const newKey = await finish(afterChange);
      assert.notEqual(newKey, key);
      assert.equal(await rowExists(s, key), false);
    });

    it('a session with _auth_user_id but no hash logs in and gets a new key (60)', async () => {
      const dave = await createUser(fresh, s, name('dave'), 'pw');
      const r = request(s);
      await r.session.set(SESSION_KEY, String(dave.id));
      const key = await finish(r);
      const r2 = request(s, key);
      await login(r2, dave, MODEL_BACKEND);
      const newKey = await finish(r2);
      assert.notEqual(newKey, key);
      assert.equal((await storedData(s, newKey!)).get(HASH_SESSION_KEY), getSessionAuthHash(dave.password, s.settings.SECRET_KEY));
    });

    it("login rotates the CSRF token in this version's form, and writes it nowhere (61)", async () => {
      const erin = await createUser(fresh, s, name('erin'), 'pw');
      const r = request(s);
      await login(r, erin, MODEL_BACKEND);
      const first = r.state.csrfToken;
      await login(r, erin, MODEL_BACKEND);
      const second = r.state.csrfToken;
      assert.ok(first && second);
      assert.notEqual(first, second);
      for (const token of [first, second]) {
        if (version === '3.2') {
          assert.match(token, /^[A-Za-z0-9]{64}$/, '3.2 keeps a masked 64-character token');
          assert.match(unmaskCipherToken(token), /^[A-Za-z0-9]{32}$/);
        } else {
          assert.match(token, /^[A-Za-z0-9]{32}$/, '4.1+ keeps the 32-character secret');
        }
      }
      const key = await finish(r);
      assert.equal((await storedData(s, key!)).has('_csrftoken'), false, 'no CSRF_USE_SESSIONS, no CsrfViewMiddleware');
    });

    it('login picks the only backend; with several it needs one (69)', async () => {
      const frank = await createUser(fresh, s, name('frank'), 'pw');
      const r = request(s);
      await login(r, frank);
      assert.equal((await storedData(s, (await finish(r))!)).get(BACKEND_SESSION_KEY), MODEL_BACKEND);

      const two = site(fresh, s.settings, { backends: [MODEL_BACKEND, 'django.contrib.auth.backends.AllowAllUsersModelBackend'] });
      await assert.rejects(login(request(two), frank), (e: unknown) => e instanceof BackendChoiceError && e.message === MULTIPLE_BACKENDS_MESSAGE);
      const r3 = request(two);
      await login(r3, frank, 'django.contrib.auth.backends.AllowAllUsersModelBackend');
      assert.equal(await r3.session.get(BACKEND_SESSION_KEY), 'django.contrib.auth.backends.AllowAllUsersModelBackend');
      // authenticate() sets user.backend, which login() then uses.
      const r4 = request(two);
      const viaAuthenticate = await authenticate(r4, { username: frank.username, password: 'pw' });
      assert.equal(viaAuthenticate?.backend, MODEL_BACKEND);
      await login(r4, viaAuthenticate!);
      assert.equal(await r4.session.get(BACKEND_SESSION_KEY), MODEL_BACKEND);
    });

    it('login updates last_login (the user_logged_in receiver)', async () => {
      const gina = await createUser(fresh, s, name('gina'), 'pw');
      const r = request(s);
      await login(r, gina, MODEL_BACKEND);
      const row = await fresh.db.knex('auth_user').where({ id: gina.id }).first('last_login');
      // SQLite: naive UTC text, microseconds kept (Django's adapter).
      assert.equal(row.last_login, '2023-11-14 22:13:20.250000');
      assert.equal(gina.lastLogin?.isoformat(), '2023-11-14T22:13:20.250000+00:00');
    });

    it('get_user: anonymous on an empty session; the user after login (64)', async () => {
      assert.ok((await getUser(request(s))) instanceof AnonymousUser);
      const username = name('hank');
      const hank = await createUser(fresh, s, username, 'pw');
      const key = await loggedInSession(s, username, 'pw');
      const user = await getUser(request(s, key));
      assert.ok(user instanceof DjangoUser);
      assert.equal(user.pk, hank.id);
      assert.equal(user.username, username);
    });

    it('get_user: an unchanged password keeps the user; after set_password the session is flushed (62)', async () => {
      const username = name('ivy');
      const ivy = await createUser(fresh, s, username, 'pw');
      const key = await loggedInSession(s, username, 'pw');
      const r = request(s, key);
      assert.ok((await getUser(r)).isAuthenticated);
      assert.equal(r.session.sessionKey, key);

      ivy.password = await makePassword('changed', s.hashers);
      await new AuthUserTable(fresh.db, s.sessions.timezone).savePassword(ivy);
      const r2 = request(s, key);
      assert.ok((await getUser(r2)) instanceof AnonymousUser);
      assert.equal(r2.session.sessionKey, null, 'flushed');
      assert.equal(await rowExists(s, key), false, 'the row is deleted');
    });

    it('get_user: a missing or inactive user, or a backend not configured, is anonymous and leaves the session (§5.4)', async () => {
      const username = name('jack');
      const jack = await createUser(fresh, s, username, 'pw');
      const key = await loggedInSession(s, username, 'pw');
      await fresh.db.knex('auth_user').where({ id: jack.id }).update({ is_active: false });
      const r = request(s, key);
      assert.ok((await getUser(r)) instanceof AnonymousUser);
      assert.equal(r.session.sessionKey, key);
      assert.equal(await rowExists(s, key), true);

      await fresh.db.knex('auth_user').where({ id: jack.id }).update({ is_active: true });
      const other = site(fresh, s.settings, { backends: ['django.contrib.auth.backends.AllowAllUsersModelBackend'] });
      const r2 = request(other, key);
      assert.ok((await getUser(r2)) instanceof AnonymousUser, 'ModelBackend is not in AUTHENTICATION_BACKENDS');
      assert.equal(await rowExists(s, key), true);

      await fresh.db.knex('auth_user').where({ id: jack.id }).delete();
      const r3 = request(s, key);
      assert.ok((await getUser(r3)) instanceof AnonymousUser);
      assert.equal(await rowExists(s, key), true);
    });

    it('get_user: an _auth_user_id the integer key cannot read is anonymous, the session kept', async () => {
      const r = request(s);
      await r.session.update([[SESSION_KEY, 'abc'], [BACKEND_SESSION_KEY, MODEL_BACKEND], [HASH_SESSION_KEY, 'x']]);
      const key = await finish(r);
      const r2 = request(s, key);
      assert.ok((await getUser(r2)) instanceof AnonymousUser);
      assert.equal(await rowExists(s, key), true);
    });

    it('authenticate: the hasher runs once for a known user and once for an unknown one (66)', async () => {
      const username = name('kim');
      await createUser(fresh, s, username, 'pw');
      s.hasher.encodes = 0;
      assert.ok(await authenticate(request(s), { username, password: 'pw' }));
      assert.equal(s.hasher.encodes, 1);
      s.hasher.encodes = 0;
      assert.equal(await authenticate(request(s), { username: name('nobody'), password: 'pw' }), null);
      assert.equal(s.hasher.encodes, 1);
      s.hasher.encodes = 0;
      assert.equal(await authenticate(request(s), { username, password: 'wrong' }), null);
      assert.equal(s.hasher.encodes, 1);
    });

    it('authenticate: no username or no password means no query and no hash (67)', async () => {
      let queries = 0;
      const count = () => void queries++;
      fresh.db.knex.on('query', count);
      try {
        s.hasher.encodes = 0;
        assert.equal(await authenticate(request(s), { password: 'pw' }), null);
        assert.equal(await authenticate(request(s), { username: 'someone' }), null);
        assert.equal(await authenticate(request(s), { username: null, password: null }), null);
      } finally {
        fresh.db.knex.off('query', count);
      }
      assert.equal(queries, 0);
      assert.equal(s.hasher.encodes, 0);
    });

    it('authenticate: an inactive user cannot; AllowAllUsersModelBackend lets them (68)', async () => {
      const username = name('lee');
      await createUser(fresh, s, username, 'pw', false);
      assert.equal(await authenticate(request(s), { username, password: 'pw' }), null);
      const allowAll = site(fresh, s.settings, { backends: ['django.contrib.auth.backends.AllowAllUsersModelBackend'] });
      const user = await authenticate(request(allowAll), { username, password: 'pw' });
      assert.ok(user);
      assert.equal(user.backend, 'django.contrib.auth.backends.AllowAllUsersModelBackend');
    });

    it('authenticate: the username is exact (case-sensitive on SQLite, as in Django there)', async () => {
      const username = name('Mia');
      await createUser(fresh, s, username, 'pw');
      assert.equal(await authenticate(request(s), { username: username.toLowerCase(), password: 'pw' }), null);
      assert.ok(await authenticate(request(s), { username, password: 'pw' }));
    });

    it('authenticate: a hash with other work factors is re-hashed on success, which ends the other sessions (§6.3)', async () => {
      const username = name('nina');
      const weak = site(fresh, s.settings, { iterations: 500 });
      await createUser(fresh, weak, username, 'pw');
      const oldSession = await loggedInSession(weak, username, 'pw');
      const before = (await fresh.db.knex('auth_user').where({ username }).first('password')).password as string;
      assert.match(before, /^pbkdf2_sha256\$500\$/);
      // The live configuration's hasher has 1000 iterations: a wrong password changes nothing...
      assert.equal(await authenticate(request(s), { username, password: 'wrong' }), null);
      assert.equal((await fresh.db.knex('auth_user').where({ username }).first('password')).password, before);
      // ...the right one re-hashes with the default hasher and saves only the password.
      assert.ok(await authenticate(request(s), { username, password: 'pw' }));
      const afterHash = (await fresh.db.knex('auth_user').where({ username }).first('password')).password as string;
      assert.match(afterHash, /^pbkdf2_sha256\$1000\$/);
      assert.ok((await getUser(request(s, oldSession))) instanceof AnonymousUser, 'the old session is stale now');
      assert.equal(await rowExists(s, oldSession), false);
    });

    it('logout flushes: the row is deleted, the key forgotten, request.user anonymous (§5.5)', async () => {
      const username = name('olga');
      await createUser(fresh, s, username, 'pw');
      const key = await loggedInSession(s, username, 'pw');
      const r = request(s, key);
      await logout(r);
      assert.equal(r.session.sessionKey, null);
      assert.equal(await rowExists(s, key), false);
      assert.ok(r.state.user instanceof AnonymousUser);
      assert.ok((await r.state.getUser!()) instanceof AnonymousUser);
    });

    it('update_session_auth_hash keeps this session logged in with a new key, the others go stale (§5.6)', async () => {
      const username = name('pia');
      const pia = await createUser(fresh, s, username, 'pw');
      const mine = await loggedInSession(s, username, 'pw');
      const other = await loggedInSession(s, username, 'pw');
      const r = request(s, mine);
      const mw = authMiddleware(s.auth);
      const ctx = r as unknown as Parameters<typeof mw>[0];
      await mw(ctx, async () => {
        assert.equal((await r.state.getUser!()).pk, pia.id); // resolve request.user first, as a view does
        pia.password = await makePassword('new', s.hashers);
        await new AuthUserTable(fresh.db, s.sessions.timezone).savePassword(pia);
        await updateSessionAuthHash(r, pia);
      });
      const newKey = await finish(r);
      assert.notEqual(newKey, mine);
      assert.equal((await getUser(request(s, newKey))).pk, pia.id);
      assert.ok((await getUser(request(s, other))) instanceof AnonymousUser);
    });

    it('authMiddleware: lazy (nothing loaded or marked accessed until getUser), and it needs a session (63)', async () => {
      const username = name('quinn');
      await createUser(fresh, s, username, 'pw');
      const key = await loggedInSession(s, username, 'pw');
      const mw = authMiddleware(s.auth);
      let queries = 0;
      const count = () => void queries++;
      const ctx = { session: s.sessions(key), state: {} } as unknown as Parameters<typeof mw>[0];
      fresh.db.knex.on('query', count);
      try {
        await mw(ctx, async () => {});
      } finally {
        fresh.db.knex.off('query', count);
      }
      assert.equal(ctx.session.accessed, false);
      assert.equal(queries, 0, 'no auth_user query');
      const ctx2 = { session: s.sessions(key), state: {} } as unknown as Parameters<typeof mw>[0];
      await mw(ctx2, async () => {
        const [a, b] = await Promise.all([ctx2.state.getUser(), ctx2.state.getUser()]);
        assert.equal(a, b, 'concurrent first calls share one lookup');
        assert.equal(a.getUsername(), username);
        assert.equal(ctx2.state.user, a);
      });
      assert.equal(ctx2.session.accessed, true);

      const noSession = { state: {} } as unknown as Parameters<typeof mw>[0];
      await assert.rejects(mw(noSession, async () => {}), (e: unknown) => e instanceof ImproperlyConfigured && e.message === MISSING_SESSION_MESSAGE);
      // The auth functions without authMiddleware (no Auth bound to the request).
      await assert.rejects(getUser({ session: s.sessions(key), state: {} }), ImproperlyConfigured);
    });

    if (version === '3.2') {
      it('3.2: the sha1 legacy session hash is accepted as is, without a new key', async () => {
        const username = name('rex');
        const rex = await createUser(fresh, s, username, 'pw');
        const key = await loggedInSession(s, username, 'pw');
        const r = request(s, key);
        await r.session.set(HASH_SESSION_KEY, getSessionAuthHash(rex.password, s.settings.SECRET_KEY, 'sha1'));
        await finish(r);
        const r2 = request(s, key);
        assert.equal((await getUser(r2)).pk, rex.id);
        assert.equal(r2.session.sessionKey, key);
        assert.equal(r2.session.modified, false, 'the hash is not rewritten');
      });

      it('3.2 with DEFAULT_HASHING_ALGORITHM=sha1 writes 40-hex hashes and reads them', async () => {
        const sha1Site = site(fresh, settingsFor('3.2', { DEFAULT_HASHING_ALGORITHM: 'sha1' }));
        const username = name('sam');
        await createUser(fresh, sha1Site, username, 'pw');
        const key = await loggedInSession(sha1Site, username, 'pw');
        assert.match((await storedData(sha1Site, key)).get(HASH_SESSION_KEY) as string, /^[0-9a-f]{40}$/);
        assert.ok((await getUser(request(sha1Site, key))).isAuthenticated);
      });
    } else {
      it('4.2+: a hash made with a fallback secret cycles the key and is rewritten (65)', async () => {
        const username = name('tom');
        const tom = await createUser(fresh, s, username, 'pw');
        const oldSite = site(fresh, settingsFor(version, { SECRET_KEY: 'oldsecret' }));
        const key = await loggedInSession(oldSite, username, 'pw');
        const rotated = site(fresh, settingsFor(version, { SECRET_KEY: 'newsecret', SECRET_KEY_FALLBACKS: ['oldsecret'] }));
        const r = request(rotated, key);
        assert.equal((await getUser(r)).pk, tom.id);
        const newKey = await finish(r);
        assert.notEqual(newKey, key, 'the key changed');
        assert.equal(await rowExists(rotated, key), false);
        const withoutFallback = site(fresh, settingsFor(version, { SECRET_KEY: 'newsecret' }));
        assert.equal((await getUser(request(withoutFallback, newKey))).pk, tom.id, 'the hash was rewritten');
        // Without the fallback from the start, the old session is flushed.
        const key2 = await loggedInSession(oldSite, username, 'pw');
        const r3 = request(withoutFallback, key2);
        assert.ok((await getUser(r3)) instanceof AnonymousUser);
      });
    }
  });
}

describe('session auth hash', () => {
  it('matches the spec vector (§5.2)', () => {
    assert.equal(
      getSessionAuthHash('pbkdf2_sha256$260000$abc$def', 'test-secret-key-for-vectors'),
      '80930e658bbc922414b26de3926e2e9df6fb7a7b3cee04e4b192331099513103',
    );
  });

  it('remembers computed hashes per (algorithm, secret, password) without mixing them up', () => {
    const direct = (pw: string, secret: string, algorithm: 'sha256' | 'sha1'): string =>
      saltedHmac(SESSION_AUTH_HASH_KEY_SALT, pw, secret, algorithm).toString('hex');
    // Past the cache's bound (4096 per table), evicting as it goes, and asked twice each.
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 5000; i += 7) {
        const pw = `pbkdf2_sha256$1$salt$${i}`;
        for (const [secret, algorithm] of [['k1', 'sha256'], ['k2', 'sha256'], ['k1', 'sha1']] as const) {
          assert.equal(getSessionAuthHash(pw, secret, algorithm), direct(pw, secret, algorithm));
        }
      }
    }
  });

  it('classifies stored hashes as get_user does, per version', () => {
    const pw = 'pbkdf2_sha256$1$salt$hash';
    const v42 = { SECRET_KEY: 'new', SECRET_KEY_FALLBACKS: ['a', 'old'], DJANGO_VERSION: '4.2' as const };
    assert.equal(matchSessionAuthHash(getSessionAuthHash(pw, 'new'), pw, v42), 'current');
    assert.equal(matchSessionAuthHash(getSessionAuthHash(pw, 'old'), pw, v42), 'fallback');
    assert.equal(matchSessionAuthHash(getSessionAuthHash(pw, 'new', 'sha1'), pw, v42), 'none', '4.0+ has no legacy hash');
    assert.equal(matchSessionAuthHash('', pw, v42), 'none');
    assert.equal(matchSessionAuthHash(null, pw, v42), 'none');
    assert.equal(matchSessionAuthHash(12, pw, v42), 'none');
    const v32 = { SECRET_KEY: 'new', SECRET_KEY_FALLBACKS: ['old'], DJANGO_VERSION: '3.2' as const };
    assert.equal(matchSessionAuthHash(getSessionAuthHash(pw, 'new', 'sha1'), pw, v32), 'legacy');
    assert.equal(matchSessionAuthHash(getSessionAuthHash(pw, 'old'), pw, v32), 'none', '3.2 has no fallbacks');
  });

  const PYTHON = String.raw`
import json, sys, warnings
warnings.simplefilter("ignore")
from django.conf import settings
cfg = json.loads(sys.argv[1])
kw = dict(SECRET_KEY=cfg["secret"], INSTALLED_APPS=["django.contrib.auth", "django.contrib.contenttypes"])
if cfg.get("fallbacks"): kw["SECRET_KEY_FALLBACKS"] = cfg["fallbacks"]
if cfg.get("algorithm"): kw["DEFAULT_HASHING_ALGORITHM"] = cfg["algorithm"]
settings.configure(**kw)
import django
django.setup()
from django.contrib.auth.models import User
out = []
for pw in cfg["passwords"]:
    u = User(password=pw)
    row = {"current": u.get_session_auth_hash()}
    if hasattr(u, "get_session_auth_fallback_hash"):
        row["fallbacks"] = list(u.get_session_auth_fallback_hash())
    if hasattr(u, "_legacy_get_session_auth_hash"):
        row["legacy"] = u._legacy_get_session_auth_hash()
    out.append(row)
print(json.dumps(out))
`;
  const passwords = ['pbkdf2_sha256$260000$abc$def', '', 'bcrypt_sha256$$2b$12$x', 'ünïcødé$€$😀', '!unusable'];

  for (const version of availableDjangoVersions()) {
    const configs =
      version === '3.2'
        ? [{ secret: 'k1', algorithm: 'sha256' }, { secret: 'k2', algorithm: 'sha1' }, { secret: 'ключ' }]
        : [{ secret: 'k1', fallbacks: ['f1', 'f2'] }, { secret: 'ключ', fallbacks: [] }];
    for (const cfg of configs) {
      it(`equals Django ${version}'s AbstractBaseUser (${JSON.stringify(cfg)})`, () => {
        const res = spawnSync(SYSTEM_PYTHON, ['-c', PYTHON, JSON.stringify({ ...cfg, passwords })], {
          encoding: 'utf8',
          env: { ...process.env, PYTHONPATH: djangoSitePackages(version) },
        });
        assert.equal(res.status, 0, res.stderr);
        const django = JSON.parse(res.stdout) as Array<{ current: string; fallbacks?: string[]; legacy?: string }>;
        const settings = {
          SECRET_KEY: cfg.secret,
          SECRET_KEY_FALLBACKS: 'fallbacks' in cfg ? (cfg.fallbacks as string[]) : [],
          DJANGO_VERSION: version,
          DEFAULT_HASHING_ALGORITHM: ('algorithm' in cfg ? cfg.algorithm : 'sha256') as 'sha256' | 'sha1',
        };
        passwords.forEach((pw, i) => {
          const expected = django[i]!;
          const algorithm = version === '3.2' ? settings.DEFAULT_HASHING_ALGORITHM : 'sha256';
          assert.equal(getSessionAuthHash(pw, cfg.secret, algorithm), expected.current);
          assert.equal(matchSessionAuthHash(expected.current, pw, settings), 'current');
          if (expected.legacy !== undefined) {
            assert.equal(getSessionAuthHash(pw, cfg.secret, 'sha1'), expected.legacy);
            if (expected.legacy !== expected.current) assert.equal(matchSessionAuthHash(expected.legacy, pw, settings), 'legacy');
          }
          for (const fb of expected.fallbacks ?? []) assert.equal(matchSessionAuthHash(fb, pw, settings), 'fallback');
        });
      });
    }
  }
});

describe('integerPkFromSession (AutoField.to_python)', () => {
  it("reads ids as Python's int() does", () => {
    assert.equal(integerPkFromSession('1'), 1);
    assert.equal(integerPkFromSession(' 12 '), 12);
    assert.equal(integerPkFromSession('1_0'), 10);
    assert.equal(integerPkFromSession('١٢'), 12);
    assert.equal(integerPkFromSession(7), 7);
    assert.equal(integerPkFromSession(true), 1);
    assert.equal(integerPkFromSession(null), null);
    for (const bad of ['abc', '1.0', '', [1], { a: 1 }]) {
      assert.throws(() => integerPkFromSession(bad), InvalidUserId, JSON.stringify(bad));
    }
  });
});

describe('createAuth', () => {
  it('refuses an empty AUTHENTICATION_BACKENDS, as Django does', () => {
    assert.throws(
      () => createAuth({ settings: settingsFor('5.2'), backends: [], pkFromSession: integerPkFromSession }),
      ImproperlyConfigured,
    );
  });

  it('createDjangoAuth refuses a backend path it cannot provide', async () => {
    const fresh = await freshDatabase('sqlite');
    try {
      assert.throws(
        () => createDjangoAuth({ db: fresh.db, settings: settingsFor('5.2'), authenticationBackends: ['myapp.backends.Custom'] }),
        /no backend for 'myapp.backends.Custom'/,
      );
      const custom: ModelBackend = new AllowAllUsersModelBackend({
        users: new AuthUserTable(fresh.db, new DjangoTimezone(settingsFor('5.2'))),
        hashers: { djangoVersion: '5.2' },
      });
      const auth = createDjangoAuth({ db: fresh.db, settings: settingsFor('5.2'), authenticationBackends: [custom.path], backends: [custom] });
      assert.deepEqual(auth.backendPaths, [custom.path]);
      const user: AuthUser = new DjangoUser({
        id: 1, password: 'x', lastLogin: null, isSuperuser: false, username: 'u', firstName: '', lastName: '',
        email: '', isStaff: false, isActive: true, dateJoined: new DjangoTimezone(settingsFor('5.2')).now(),
      });
      assert.equal(JSON.stringify(user).includes('"x"'), false, 'toJSON never carries the password hash');
    } finally {
      await fresh.drop();
    }
  });
});
