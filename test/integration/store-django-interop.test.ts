/**
 * Our `db` session store and Django's own `django.contrib.sessions.backends.db.SessionStore`
 * (test/python/store_oracle.py) on the *same* database, at the same time: whatever one writes the
 * other must read identically (the dict, byte for byte as Python json; the key; the expiry age,
 * date and browser-close flag), and every operation one side performs (cycle_key, flush,
 * set_expiry, pop, delete, clear_expired) must look to the other exactly as Django's own would.
 *
 * Runs on MariaDB, SQLite and PostgreSQL (MariaDB/PostgreSQL from MARIADB_URL / POSTGRES_URL; with
 * CI set a missing one fails the run), each under several (Django series, USE_TZ, TIME_ZONE)
 * configurations, including USE_TZ=False with Europe/Paris and America/New_York. Our store always
 * runs with DJANGO_VERSION equal to the Django series it is paired with.
 *
 * Every comparison is of the two sides reading *the same row*, so the real clocks of both processes
 * can run freely; expiry maths get the same explicit `modification` on both sides.
 *
 *   STORE_INTEROP_CASES=<n>  random session dicts per direction and configuration (default 40)
 *   STORE_INTEROP_SEED=<n>   replay a failing run (the seed is in every failure message)
 */
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { after, before, describe, it } from 'node:test';

import { runMigrations } from '../../migrations/index.ts';
import { fromIsoformat, Timedelta, type PyDateTime } from '../../src/db/datetime.ts';
import { pyDictToMap, pyDumps, pyLoads, type PyDict, type SessionDict } from '../../src/pyjson/index.ts';
import {
  createSessionStoreFactory,
  type DatabaseSessionSettings,
  type DatabaseSessionStore,
  type SessionStoreFactory,
} from '../../src/sessions/backends/db.ts';
import { CreateError, SessionExpiryError, UpdateError } from '../../src/sessions/errors.ts';
import type { ExpiryInput } from '../../src/sessions/expiry.ts';
import { freshDatabase, testDatabases, type FreshDatabase, type TestDatabaseName } from '../support/databases.ts';
import { startDjangoOracle, type DjangoSeries } from '../support/django-oracle.ts';
import {
  startStoreOracle,
  type Attempt,
  type DjangoExpiry,
  type StoreOracle,
  type StoreState,
} from '../support/store-oracle.ts';

const SECRET_KEY = 'store-interop-secret-key-not-for-production';
const COOKIE_AGE = 1_209_600;
const CASES = Number(process.env.STORE_INTEROP_CASES ?? 40);
const SEED = process.env.STORE_INTEROP_SEED === undefined ? randomInt(2 ** 31) : Number(process.env.STORE_INTEROP_SEED);
const REPLAY = `(replay: STORE_INTEROP_SEED=${SEED})`;

interface Config {
  series: DjangoSeries;
  useTz: boolean;
  timeZone: string;
}

/**
 * Per database: 5.2 with USE_TZ (startproject's settings), USE_TZ=False in both example zones (local
 * naive datetimes in the table), and 3.2 and 4.2 (both JSON `_session_expiry` formats' edges).
 */
const CONFIGS: Record<TestDatabaseName, Config[]> = {
  mariadb: [
    { series: '5.2', useTz: true, timeZone: 'UTC' },
    { series: '5.2', useTz: false, timeZone: 'Europe/Paris' },
    { series: '4.2', useTz: false, timeZone: 'America/New_York' },
    { series: '3.2', useTz: false, timeZone: 'Europe/Paris' },
  ],
  sqlite: [
    { series: '5.2', useTz: true, timeZone: 'UTC' },
    { series: '5.2', useTz: false, timeZone: 'America/New_York' },
    { series: '4.2', useTz: false, timeZone: 'Europe/Paris' },
    { series: '3.2', useTz: false, timeZone: 'America/New_York' },
  ],
  postgres: [
    { series: '5.2', useTz: true, timeZone: 'UTC' },
    { series: '4.2', useTz: false, timeZone: 'America/New_York' },
    { series: '3.2', useTz: true, timeZone: 'Europe/Paris' },
  ],
};

// ---- Comparing what each side sees ------------------------------------------------------------

async function attempt<T>(fn: () => Promise<T>): Promise<Attempt<T>> {
  try {
    return { ok: await fn() };
  } catch (e) {
    return { error: { type: (e as Error).name, message: (e as Error).message } };
  }
}

/** Our store's view of a session, in the shape the oracle reports Django's. Loads through the public API. */
async function ourView(store: DatabaseSessionStore, modification: PyDateTime): Promise<StoreState> {
  const json = pyDumps(new Map(await store.items()));
  return {
    sessionKey: store.sessionKey,
    json,
    expiryAge: await attempt(() => store.getExpiryAge({ modification })),
    expiryDate: await attempt(async () => (await store.getExpiryDate({ modification })).isoformat()),
    expireAtBrowserClose: await attempt(() => store.getExpireAtBrowserClose()),
  };
}

/** A value, or "raised" (the exception classes differ between Python and us; whether one was raised may not). */
function shape<T>(a: Attempt<T>): { ok: T } | 'raised' {
  return 'ok' in a ? { ok: a.ok } : 'raised';
}

function assertSameView(ours: StoreState, django: StoreState, what: string): void {
  const context = `${what} ${REPLAY}\n  ours:   ${JSON.stringify(ours)}\n  Django: ${JSON.stringify(django)}`;
  assert.equal(ours.sessionKey, django.sessionKey, `session key: ${context}`);
  assert.equal(ours.json, django.json, `session dict: ${context}`);
  assert.deepEqual(shape(ours.expiryAge), shape(django.expiryAge), `get_expiry_age: ${context}`);
  assert.deepEqual(shape(ours.expiryDate), shape(django.expiryDate), `get_expiry_date: ${context}`);
  assert.deepEqual(shape(ours.expireAtBrowserClose), shape(django.expireAtBrowserClose), `get_expire_at_browser_close: ${context}`);
}

const micros = (iso: string): number => fromIsoformat(iso).epochMicros();

/** The dict of Python json text, with `_session_expiry` dropped (random values there are not expiries). */
function withoutExpiry(json: string): string {
  const dict = pyDictToMap(pyLoads(json) as PyDict);
  dict.delete('_session_expiry');
  return pyDumps(dict);
}

const toMap = (json: string): SessionDict => pyDictToMap(pyLoads(json) as PyDict);

// ---- The suite --------------------------------------------------------------------------------

describe('db session store and Django’s SessionStore on one database', () => {
  let randomDicts: string[] = [];

  before(async () => {
    // Seeded random session dicts from Django's codec oracle (nested values, big ints, 1.0 vs 1,
    // NaN, lone surrogates, integer-like keys, ~12 KB payloads); the generator is the same in every series.
    const codecOracle = await startDjangoOracle('3.2');
    try {
      randomDicts = (await codecOracle.randomSessions(SEED, CASES)).map(withoutExpiry);
    } finally {
      await codecOracle.close();
    }
  });

  for (const { name } of testDatabases()) {
    for (const config of CONFIGS[name]) suite(name, config, () => randomDicts);
  }
});

function suite(dbName: TestDatabaseName, config: Config, dicts: () => string[]): void {
  const { series, useTz, timeZone } = config;
  const pre42 = series === '3.2';

  describe(`${dbName}: Django ${series}, USE_TZ=${useTz ? 'True' : 'False'}, ${timeZone}`, () => {
    const settings: DatabaseSessionSettings = {
      SECRET_KEY,
      SECRET_KEY_FALLBACKS: [],
      SESSION_COOKIE_AGE: COOKIE_AGE,
      SESSION_EXPIRE_AT_BROWSER_CLOSE: false,
      USE_TZ: useTz,
      TIME_ZONE: timeZone,
      DJANGO_VERSION: series,
    };
    let fresh: FreshDatabase;
    let sessions: SessionStoreFactory;
    let django: StoreOracle;

    /** "now" as Django holds it under these settings, for both sides' expiry maths. */
    const now = (): PyDateTime => sessions.timezone.now();
    /** A Date as Django's `set_expiry` gets it under these settings: aware UTC, or naive local. */
    const djangoDatetime = (d: Date): DjangoExpiry => ({ datetime: sessions.timezone.fromDate(d).isoformat() });

    const ourKeys = async (): Promise<string[]> =>
      ((await fresh.db.knex('django_session').select('session_key')) as { session_key: string }[]).map((r) => r.session_key).sort();

    /** A new session of ours with `data` (json text) and, unless undefined, setExpiry(expiry); its key. */
    const ourCreate = async (data: string, expiry?: ExpiryInput): Promise<string> => {
      const s = sessions(null);
      await s.update(toMap(data));
      if (expiry !== undefined) await s.setExpiry(expiry);
      await s.save();
      assert.ok(s.sessionKey);
      return s.sessionKey;
    };

    /** Both sides read the row under `key`, with the same modification time; they must agree. */
    /** Both sides' view of `key` at the moment `m` (default: now). */
    const assertBothSee = async (key: string, what: string, m = now()): Promise<StoreState> => {
      const theirs = await django.load({ sessionKey: key }, m.isoformat());
      const ours = await ourView(sessions(key), m);
      assertSameView(ours, theirs, what);
      return ours;
    };

    before(async () => {
      fresh = await freshDatabase(dbName, settings);
      await runMigrations(fresh.db, { djangoVersion: series });
      sessions = createSessionStoreFactory({ db: fresh.db, settings });
      django = await startStoreOracle({ series, databaseUrl: fresh.url, useTz, timeZone, secretKey: SECRET_KEY, sessionCookieAge: COOKIE_AGE });
      assert.equal(django.info.vendor, { mariadb: 'mysql', sqlite: 'sqlite', postgres: 'postgresql' }[dbName]);
    });
    after(async () => {
      await django?.close();
      await fresh?.drop();
    });

    // ---- Dicts and keys -----------------------------------------------------------------------

    it('Django writes random dicts: we read the identical dict, key, expiry and row', async () => {
      const data = dicts();
      assert.equal(data.length, CASES);
      const keys = await django.callMany('create', data.map((d) => ({ data: d })));
      const m = now();
      const theirs = await django.callMany('load', keys.map((sessionKey) => ({ sessionKey, modification: m.isoformat() })));
      const rows = await django.callMany('row', keys.map((sessionKey) => ({ sessionKey })));
      for (const [i, key] of keys.entries()) {
        const ours = await ourView(sessions(key), m);
        assert.equal(ours.json, data[i], `dict #${i} ${REPLAY}`);
        assert.equal(ours.sessionKey, key);
        assert.deepEqual(ours.expiryAge, { ok: COOKIE_AGE });
        assertSameView(ours, theirs[i]!, `dict #${i}`);
        const ourRow = await sessions.objects.get(key);
        assert.ok(ourRow && rows[i]);
        assert.equal(ourRow.sessionData, rows[i].sessionData);
        assert.equal(ourRow.expireDate.isoformat(), rows[i].expireDate, `expire_date as read by each side, #${i}`);
      }
    });

    it('we write random dicts: Django reads the identical dict, key, expiry and row', async () => {
      const data = dicts();
      const keys: string[] = [];
      for (const d of data) keys.push(await ourCreate(d));
      const m = now();
      const theirs = await django.callMany('load', keys.map((sessionKey) => ({ sessionKey, modification: m.isoformat() })));
      const rows = await django.callMany('row', keys.map((sessionKey) => ({ sessionKey })));
      for (const [i, key] of keys.entries()) {
        assert.equal(theirs[i]!.json, data[i], `dict #${i} ${REPLAY}`);
        assert.equal(theirs[i]!.sessionKey, key);
        assert.deepEqual(theirs[i]!.expiryAge, { ok: COOKIE_AGE });
        assertSameView(await ourView(sessions(key), m), theirs[i]!, `dict #${i}`);
        const ourRow = await sessions.objects.get(key);
        assert.ok(ourRow && rows[i]);
        assert.equal(rows[i].expireDate, ourRow.expireDate.isoformat());
        // Our expire_date is what Django would have written: now + SESSION_COOKIE_AGE on Django's clock.
        const expected = micros(m.isoformat()) + COOKIE_AGE * 1e6;
        assert.ok(Math.abs(micros(rows[i].expireDate) - expected) < 60e6, `expire_date ${rows[i].expireDate}, now ${m.isoformat()}`);
      }
    });

    it('a key in another letter case: both sides get what the database gives (MariaDB _ci: the row)', async () => {
      const key = await django.create('{"k":"v"}');
      const seen = await assertBothSee(key.toUpperCase(), 'upper-case key');
      assert.equal(seen.json, dbName === 'mariadb' ? '{"k":"v"}' : '{}');
    });

    // ---- Expiry -------------------------------------------------------------------------------

    interface ExpiryCase {
      label: string;
      ours: () => ExpiryInput;
      django: () => DjangoExpiry;
      /** Both sides store the same `_session_expiry` text (a fixed value, not "now + …"). */
      fixed: boolean;
      /** A datetime/timedelta: Django 3.2 cannot store it (datetime is not JSON serializable). */
      datetime: boolean;
    }
    const fixedDate = new Date(Date.now() + 3 * 86_400_000 + 123);
    const expiryCases: ExpiryCase[] = [
      { label: 'set_expiry(3600)', ours: () => 3600, django: () => 3600, fixed: true, datetime: false },
      { label: 'set_expiry(0): at browser close', ours: () => 0, django: () => 0, fixed: true, datetime: false },
      { label: 'set_expiry(None)', ours: () => null, django: () => null, fixed: true, datetime: false },
      {
        label: 'set_expiry(datetime)',
        ours: () => fixedDate,
        django: () => djangoDatetime(fixedDate),
        fixed: true,
        datetime: true,
      },
      {
        label: 'set_expiry(timedelta(days=2))',
        ours: () => new Timedelta({ days: 2 }),
        django: () => ({ timedelta: 2 * 86_400 }),
        fixed: false,
        datetime: true,
      },
    ];
    const DATA = '{"user":"ada","n":1,"f":1.0}';

    for (const c of expiryCases) {
      if (pre42 && c.datetime) {
        it(`${c.label} on 3.2: Django fails at save (TypeError) and we refuse it up front; nothing is stored`, async () => {
          const before = await django.keys();
          const theirs = await django.try('create', { data: DATA, expiry: c.django() });
          assert.equal(theirs.ok, false);
          assert.equal(!theirs.ok && theirs.error.type, 'TypeError');
          await assert.rejects(ourCreate(DATA, c.ours()), SessionExpiryError);
          // And on an existing session, from either side:
          const key = await django.create(DATA, 600);
          const s = sessions(key);
          await assert.rejects(s.setExpiry(c.ours()), SessionExpiryError);
          assert.equal(s.modified, false);
          const theirsOnOurs = await django.try('set_expiry', { sessionKey: key, value: c.django() });
          assert.equal(!theirsOnOurs.ok && theirsOnOurs.error.type, 'TypeError');
          assert.deepEqual(await django.keys(), [...before, key].sort());
          await assertBothSee(key, `${c.label}: the session is unchanged`);
        });
        continue;
      }

      it(`${c.label} on a new session: what either side writes, the other reads the same`, async () => {
        const theirKey = await django.create(DATA, c.django());
        const ourKey = await ourCreate(DATA, c.ours());
        // One moment for both views: an expiry age read a second apart would differ by one.
        const m = now();
        const theirs = await assertBothSee(theirKey, `${c.label}, written by Django`, m);
        const ours = await assertBothSee(ourKey, `${c.label}, written by us`, m);
        const theirRow = await django.row(theirKey);
        const ourRow = await django.row(ourKey);
        assert.ok(theirRow && ourRow);
        if (c.fixed) {
          assert.equal(ours.json, theirs.json, `the stored _session_expiry (${theirs.json})`);
          assert.deepEqual(ours.expiryAge, theirs.expiryAge);
        }
        if (c.ours() instanceof Date) {
          assert.equal(ourRow.expireDate, theirRow.expireDate);
        } else {
          // now + N on each side's clock, written moments apart.
          assert.ok(
            Math.abs(micros(ourRow.expireDate) - micros(theirRow.expireDate)) < 30e6,
            `expire_date: ours ${ourRow.expireDate}, Django's ${theirRow.expireDate}`,
          );
        }
        assert.deepEqual(ours.expireAtBrowserClose, { ok: c.ours() === 0 });
      });

      it(`${c.label} on an existing session: each side sees the other's change`, async () => {
        // Django's session, changed by us.
        const theirKey = await django.create(DATA, 600);
        const s = sessions(theirKey);
        await s.setExpiry(c.ours());
        await s.save();
        const a = await assertBothSee(theirKey, `${c.label} by us on Django's session`);
        // Our session, changed by Django (load, set_expiry, save: one request).
        const ourKey = await ourCreate(DATA, 600);
        assert.equal(await django.setExpiry({ sessionKey: ourKey }, c.django()), ourKey);
        const b = await assertBothSee(ourKey, `${c.label} by Django on our session`);
        if (c.fixed) assert.equal(a.json, b.json);
        if (c.ours() === null) assert.equal(a.json, DATA, 'set_expiry(None) removes _session_expiry');
      });
    }

    if (pre42) {
      it('a 4.2+ session with an ISO-string expiry, read by 3.2: same dict; neither side can use that expiry', async () => {
        const newer = createSessionStoreFactory({ db: fresh.db, settings: { ...settings, DJANGO_VERSION: '5.2' } });
        const s = newer(null);
        await s.update(toMap(DATA));
        await s.setExpiry(fixedDate);
        await s.save();
        const key = s.sessionKey!;
        const m = now();
        const theirs = await django.load({ sessionKey: key }, m.isoformat());
        const ours = await ourView(sessions(key), m);
        assert.equal(ours.json, theirs.json);
        assert.equal(ours.sessionKey, key);
        // Django 3.2 hands the str back as the "age", then fails on it as a timedelta: we refuse both.
        assert.deepEqual(theirs.expiryAge, { ok: sessions.timezone.fromDate(fixedDate).isoformat() });
        assert.equal('error' in theirs.expiryDate && theirs.expiryDate.error.type, 'TypeError');
        assert.equal('error' in ours.expiryAge && ours.expiryAge.error.type, 'SessionExpiryError');
        assert.equal('error' in ours.expiryDate && ours.expiryDate.error.type, 'SessionExpiryError');
        // Saving it fails on both sides, before the row is touched.
        const rowBefore = await django.row(key);
        const saved = await django.try('set', { sessionKey: key, items: '{"n":2}' });
        assert.equal(!saved.ok && saved.error.type, 'TypeError');
        const ourStore = sessions(key);
        await ourStore.set('n', 2);
        await assert.rejects(ourStore.save(), SessionExpiryError);
        assert.deepEqual(await django.row(key), rowBefore);
      });
    }

    // ---- Key rotation, flush, dict edits ------------------------------------------------------

    it('cycle_key: ours is seen by Django, Django’s by us (same data, new key, old row gone)', async () => {
      const data = '{"_auth_user_id":"42","cart":[1,2.0,"x"],"_session_expiry":3600}';
      const theirKey = await django.create(data);
      const s = sessions(theirKey);
      await s.cycleKey();
      const newKey = s.sessionKey!;
      assert.notEqual(newKey, theirKey);
      assert.equal((await assertBothSee(newKey, 'after our cycle_key')).json, data);
      const old = await assertBothSee(theirKey, 'the old key after our cycle_key');
      assert.equal(old.sessionKey, null);
      assert.equal(await django.exists(theirKey), false);

      const ourKey = await ourCreate(data);
      const cycled = await django.cycleKey({ sessionKey: ourKey });
      assert.notEqual(cycled, ourKey);
      assert.equal((await assertBothSee(cycled, 'after Django’s cycle_key')).json, data);
      assert.equal((await assertBothSee(ourKey, 'the old key after Django’s cycle_key')).sessionKey, null);
      assert.equal(await sessions(null).exists(ourKey), false);
    });

    it('flush: ours is seen by Django, Django’s by us (row gone, key forgotten)', async () => {
      const theirKey = await django.create(DATA);
      const s = sessions(theirKey);
      await s.flush();
      assert.equal(s.sessionKey, null);
      assert.equal(await django.exists(theirKey), false);
      assert.equal((await assertBothSee(theirKey, 'after our flush')).json, '{}');

      const ourKey = await ourCreate(DATA);
      assert.equal(await django.flush({ sessionKey: ourKey }), null);
      assert.equal(await sessions(null).exists(ourKey), false);
      assert.equal((await assertBothSee(ourKey, 'after Django’s flush')).sessionKey, null);
    });

    it('set and pop: each side’s edits are seen by the other, in Django’s key order', async () => {
      const theirKey = await django.create('{"a":1,"b":[true,null],"10":"ten"}');
      const s = sessions(theirKey);
      assert.equal(await s.pop('a'), 1);
      await s.set('c', 2.5);
      await s.set('b', 'replaced');
      await s.save();
      assert.equal((await assertBothSee(theirKey, 'after our set/pop')).json, '{"b":"replaced","10":"ten","c":2.5}');

      const ourKey = await ourCreate('{"a":1,"b":[true,null],"10":"ten"}');
      assert.equal(await django.call('pop', { sessionKey: ourKey, name: 'a' }), '1');
      await django.set({ sessionKey: ourKey }, '{"c":2.5,"b":"replaced"}');
      assert.equal((await assertBothSee(ourKey, 'after Django’s set/pop')).json, '{"b":"replaced","10":"ten","c":2.5}');
    });

    // ---- Expired rows and clear_expired -------------------------------------------------------

    it('expired rows: both sides see them as missing, exists() still true; clear_expired on either side removes the same rows', async () => {
      await fresh.db.knex('django_session').del();
      const populate = async (): Promise<{ live: string[]; expired: string[] }> => {
        const expired = [await django.create('{"by":"django"}', -30), await ourCreate('{"by":"us"}', -30)];
        const live = [
          await django.create('{"by":"django"}', 3600),
          await django.create('{"by":"django"}', 0),
          await ourCreate('{"by":"us"}', 3600),
          await ourCreate('{"by":"us"}'),
        ];
        if (!pre42) {
          // Three hours: with USE_TZ=False the naive local clock repeats an hour once a year.
          const past = new Date(Date.now() - 3 * 3_600_000);
          expired.push(await django.create('{"by":"django"}', djangoDatetime(past)), await ourCreate('{"by":"us"}', past));
          const future = new Date(Date.now() + 3 * 3_600_000);
          live.push(await django.create('{"by":"django"}', djangoDatetime(future)), await ourCreate('{"by":"us"}', future));
        }
        return { live: live.sort(), expired };
      };

      let { live, expired } = await populate();
      for (const key of expired) {
        assert.equal(await django.exists(key), true);
        assert.equal(await sessions(null).exists(key), true);
        const seen = await assertBothSee(key, 'an expired row');
        assert.equal(seen.sessionKey, null);
        assert.equal(seen.json, '{}');
      }
      await django.clearExpired();
      assert.deepEqual(await django.keys(), live, 'Django’s clear_expired');
      assert.deepEqual(await ourKeys(), live);

      const second = await populate();
      const all = [...live, ...second.live].sort();
      assert.equal(await sessions.clearExpired(), second.expired.length);
      assert.deepEqual(await django.keys(), all, 'our clearExpired');
      ({ live, expired } = second);
      for (const key of expired) assert.equal(await django.exists(key), false);
    });

    // ---- Races: the row deleted under a loaded session ----------------------------------------

    it('our save after Django deleted the row raises UpdateError (and does not resurrect it)', async () => {
      const key = await django.create(DATA);
      const s = sessions(key);
      assert.equal(await s.get('user'), 'ada');
      await django.call('delete', { sessionKey: key });
      await s.set('user', 'grace');
      await assert.rejects(s.save(), UpdateError);
      assert.equal(await django.exists(key), false);
    });

    it('Django’s save after we deleted the row raises its UpdateError (and does not resurrect it)', async () => {
      const key = await ourCreate(DATA);
      const handle = await django.open(key);
      try {
        assert.equal(JSON.parse((await django.load({ handle })).json).user, 'ada');
        await sessions(null).deleteSession(key);
        const saved = await django.try('set', { handle, items: '{"user":"grace"}' });
        assert.equal(saved.ok, false);
        assert.equal(!saved.ok && saved.error.type, 'UpdateError');
      } finally {
        await django.release(handle);
      }
      assert.equal(await sessions(null).exists(key), false);
    });

    it('save(must_create) on the other side’s key: CreateError on both sides, row untouched', async () => {
      const theirKey = await django.create(DATA);
      await assert.rejects(sessions(theirKey).save({ mustCreate: true }), CreateError);
      const ourKey = await ourCreate(DATA);
      const theirs = await django.try('save', { sessionKey: ourKey, mustCreate: true });
      assert.equal(!theirs.ok && theirs.error.type, 'CreateError');
      assert.equal((await assertBothSee(theirKey, 'after our CreateError')).json, DATA);
      assert.equal((await assertBothSee(ourKey, 'after Django’s CreateError')).json, DATA);
    });
  });
}
