/**
 * One behaviour suite for the `db` session engine, run against every database (MariaDB, SQLite,
 * PostgreSQL) and, on each, under three configurations: USE_TZ=True (5.2), USE_TZ=False with a
 * non-UTC TIME_ZONE (4.2), USE_TZ=True with a non-UTC TIME_ZONE (3.2). It covers spec §9.1–9.2 as
 * they apply to `db` (numbers in the test names), the row format of §3.2, and the races of §3.3.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';

import { runMigrations } from '../../migrations/index.ts';
import { freshDatabase, testDatabases, type FreshDatabase, type TestDatabaseName } from '../support/databases.ts';
import { TestClock } from '../support/test-clock.ts';
import { DjangoTimezone, Timedelta } from '../../src/db/datetime.ts';
import { addLogListener, type LogRecord } from '../../src/log.ts';
import { PyFloat, type PyValue, type SessionDict } from '../../src/pyjson/types.ts';
import {
  createSessionStoreFactory,
  DatabaseSessionStore,
  type DatabaseSessionSettings,
  type SessionStoreFactory,
} from '../../src/sessions/backends/db.ts';
import { DEFAULT_SESSION_KEY_SALT } from '../../src/sessions/codec.ts';
import { CreateError, KeyError, UpdateError } from '../../src/sessions/errors.ts';
import { randomSessionKey } from '../../src/sessions/keys.ts';
import { TimestampSigner } from '../../src/signing/timestamp-signer.ts';

interface Variant {
  label: string;
  settings: DatabaseSessionSettings;
}

const SECRET_KEY = 'integration-secret-key-not-for-production';

const VARIANTS: Variant[] = [
  {
    label: 'USE_TZ=True, UTC, 5.2',
    settings: base({ USE_TZ: true, TIME_ZONE: 'UTC', DJANGO_VERSION: '5.2' }),
  },
  {
    label: 'USE_TZ=False, Europe/Paris, 4.2',
    settings: base({ USE_TZ: false, TIME_ZONE: 'Europe/Paris', DJANGO_VERSION: '4.2' }),
  },
  {
    label: 'USE_TZ=True, America/New_York, 3.2',
    settings: base({ USE_TZ: true, TIME_ZONE: 'America/New_York', DJANGO_VERSION: '3.2' }),
  },
];

function base(over: Pick<DatabaseSessionSettings, 'USE_TZ' | 'TIME_ZONE' | 'DJANGO_VERSION'>): DatabaseSessionSettings {
  return {
    SECRET_KEY,
    SECRET_KEY_FALLBACKS: [],
    SESSION_COOKIE_AGE: 1_209_600,
    SESSION_EXPIRE_AT_BROWSER_CLOSE: false,
    ...over,
  };
}

function suite(dbName: TestDatabaseName, variant: Variant): void {
  describe(`${dbName}: ${variant.label}`, () => {
    const { settings } = variant;
    const clock = new TestClock();
    const timezone = new DjangoTimezone(settings, clock.read);
    let fresh: FreshDatabase;
    let sessions: SessionStoreFactory;
    const rowCount = async (): Promise<number> => {
      const [{ n }] = (await fresh.db.knex('django_session').count({ n: '*' })) as [{ n: number | string }];
      return Number(n);
    };
    const rawExpireDate = async (key: string): Promise<unknown> => {
      const row = (await fresh.db.knex('django_session').select('expire_date').where('session_key', key).first()) as
        | { expire_date: unknown }
        | undefined;
      return row?.expire_date;
    };

    before(async () => {
      fresh = await freshDatabase(dbName, settings);
      await runMigrations(fresh.db, { djangoVersion: settings.DJANGO_VERSION });
      sessions = createSessionStoreFactory({ db: fresh.db, settings, timezone });
    });
    after(async () => {
      await fresh?.drop();
    });
    beforeEach(async () => {
      clock.reset();
      await fresh.db.knex('django_session').del();
    });

    // ---- §9.1: SessionBase on the db engine ------------------------------------------------

    it('1–2: a new store has both flags false; get on an empty store is null', async () => {
      const s = sessions(null);
      assert.equal(s.accessed, false);
      assert.equal(s.modified, false);
      assert.equal(await s.get('cat'), null);
    });

    it('3–6: set/pop flags, pop with a default, pop without one raises KeyError', async () => {
      const s = sessions(null);
      await s.set('some key', 'exists');
      assert.equal(s.modified, true);
      s.accessed = s.modified = false;
      assert.equal(await s.pop('some key'), 'exists');
      assert.equal(s.accessed && s.modified, true);
      assert.equal(await s.get('some key'), null);
      s.accessed = s.modified = false;
      assert.equal(await s.pop('some key', 'does not exist'), 'does not exist');
      assert.deepEqual([s.accessed, s.modified], [true, false]);
      await assert.rejects(s.pop('some key'), KeyError);
    });

    it('7–10: setdefault, update, contains/keys/values/items, clear', async () => {
      const s = sessions(null);
      assert.equal(await s.setdefault('foo', 'bar'), 'bar');
      assert.equal(await s.setdefault('foo', 'baz'), 'bar');
      await s.update({ 'update key': 1 });
      assert.equal(await s.get('update key'), 1);
      await s.save();
      const reopened = sessions(s.sessionKey);
      assert.equal(await reopened.has('foo'), true);
      assert.deepEqual(await reopened.keys(), ['foo', 'update key']);
      assert.deepEqual(await reopened.values(), ['bar', 1]);
      assert.deepEqual(await reopened.items(), [
        ['foo', 'bar'],
        ['update key', 1],
      ]);
      assert.deepEqual([reopened.accessed, reopened.modified], [true, false]);
      reopened.clear();
      assert.deepEqual(await reopened.items(), []);
      assert.deepEqual([reopened.accessed, reopened.modified], [true, true]);
    });

    it('11: save then exists; deleteSession then not', async () => {
      const s = sessions(null);
      await s.save();
      const key = s.sessionKey as string;
      assert.match(key, /^[a-z0-9]{32}$/);
      assert.equal(await s.exists(key), true);
      await s.deleteSession(key);
      assert.equal(await s.exists(key), false);
    });

    it('12: flush deletes the row, nulls the key and sets both flags', async () => {
      const s = sessions(null);
      await s.set('foo', 'bar');
      await s.save();
      const prev = s.sessionKey as string;
      s.accessed = s.modified = false;
      await s.flush();
      assert.equal(await s.exists(prev), false);
      assert.equal(s.sessionKey, null);
      assert.deepEqual([s.accessed, s.modified], [true, true]);
      assert.equal(await rowCount(), 0);
      await s.save();
      assert.notEqual(s.sessionKey, prev);
    });

    it('13: cycleKey keeps the data under a new key, also when reopened and never loaded', async () => {
      const s = sessions(null);
      await s.set('a', 'c');
      await s.set('b', 'd');
      await s.save();
      const prev = s.sessionKey as string;
      const before = await s.items();
      await s.cycleKey();
      assert.equal(await s.exists(prev), false);
      assert.notEqual(s.sessionKey, prev);
      assert.deepEqual(await s.items(), before);
      // The new row was inserted with the data at once.
      assert.deepEqual([...(await sessions(s.sessionKey).items())], before);

      const reopened = sessions(s.sessionKey);
      const key2 = reopened.sessionKey as string;
      await reopened.cycleKey();
      assert.equal(await reopened.exists(key2), false);
      assert.notEqual(reopened.sessionKey, key2);
      assert.deepEqual(await reopened.items(), before);
      await reopened.save();
      assert.deepEqual(await sessions(reopened.sessionKey).items(), before);
    });

    it('14: save does not clear the data', async () => {
      const s = sessions(null);
      await s.set('a', 1);
      await s.save();
      assert.equal(await s.get('a'), 1);
    });

    it('15: an invalid or unknown key and a save give a new key; the old data is not visible', async () => {
      const victim = sessions(null);
      await victim.set('secret', 'x');
      await victim.save();
      for (const cookie of ['1', 'unknownkey12345', `${victim.sessionKey}'; --`, '😀😀😀😀😀😀😀😀', 'nul\0byte-key', 'x'.repeat(1240)]) {
        const s = sessions(cookie);
        assert.equal(await s.get('secret'), null);
        await s.set('mine', 1);
        await s.save();
        assert.notEqual(s.sessionKey, cookie);
        assert.deepEqual(await sessions(s.sessionKey).items(), [['mine', 1]]);
      }
      assert.deepEqual(await sessions(victim.sessionKey).items(), [['secret', 'x']]);
    });

    it('16–17: short keys become null; sessionKey is read-only', () => {
      assert.equal(sessions('').sessionKey, null);
      assert.equal(sessions('1234567').sessionKey, null);
      assert.equal(sessions('12345678').sessionKey, '12345678');
      const s = sessions('12345678');
      assert.throws(() => ((s as unknown as { sessionKey: string }).sessionKey = 'abcdefghi'), TypeError);
    });

    it('18–22: expiry age/date and browser close', async () => {
      clock.freeze();
      const s = sessions(null);
      assert.equal(await s.getExpiryAge(), settings.SESSION_COOKIE_AGE);
      await s.setExpiry(0);
      assert.equal(await s.getExpiryAge(), settings.SESSION_COOKIE_AGE);
      assert.equal(await s.getExpireAtBrowserClose(), true);
      await s.setExpiry(10);
      const modification = timezone.now();
      assert.equal(await s.getExpiryAge({ modification }), 10);
      assert.equal((await s.getExpiryDate({ modification })).compare(modification.plus(Timedelta.ofSeconds(10))), 0);
      assert.equal(await s.getExpireAtBrowserClose(), false);
      await s.setExpiry(null);
      assert.equal(await s.getExpiryAge(), settings.SESSION_COOKIE_AGE);
      assert.equal(await s.getExpireAtBrowserClose(), false);
      if (settings.DJANGO_VERSION !== '3.2') {
        await s.setExpiry(new Timedelta({ seconds: 10 }));
        assert.equal(await s.getExpiryAge(), 10);
        await s.setExpiry(timezone.now().plus(Timedelta.ofSeconds(10)));
        assert.equal(await s.getExpiryAge(), 10);
      }
    });

    it('23: decode(encode(d)) returns d, with Python-only values intact', async () => {
      const s = sessions(null);
      const d: SessionDict = new Map<string, PyValue>([
        ['a test key', 'a test value'],
        ['float', new PyFloat(1)],
        ['big', 2n ** 64n],
        ['10', { '2': 1, '1': [true, null] }],
        ['é', 'ü€😀'],
      ]);
      assert.deepEqual(s.decode(s.encode(d)), d);
      // And through the table.
      await s.update(d);
      await s.save();
      assert.deepEqual(await sessions(s.sessionKey).items(), [...d]);
    });

    it('24: corrupt session data decodes to {} with Django’s warning', () => {
      const s = sessions(null);
      const records: LogRecord[] = [];
      const stop = addLogListener((r) => records.push(r));
      try {
        assert.deepEqual(s.decode(Buffer.from('flaskdj:alkdjf').toString('base64')), new Map());
        assert.deepEqual(s.decode('bad:encoded:value'), new Map());
      } finally {
        stop();
      }
      const warnings = records.filter((r) => r.logger === 'django.security.SuspiciousSession');
      assert.ok(warnings.length >= 1 && warnings.every((r) => r.message.includes('Session data corrupted')));
    });

    it('25: a valid signature over non-JSON bytes decodes to {} without raising', () => {
      const signer = new TimestampSigner({ key: SECRET_KEY, salt: DEFAULT_SESSION_KEY_SALT });
      const value = signer.sign(Buffer.from('not json at all').toString('base64url'));
      assert.deepEqual(sessions(null).decode(value), new Map());
    });

    it('26: a session saved with an expiry in the past reopens without its data', async () => {
      const s = sessions(null);
      if (settings.DJANGO_VERSION === '3.2') await s.setExpiry(-10);
      else await s.setExpiry(new Timedelta({ seconds: -10 }));
      await s.set('foo', 'bar');
      await s.save();
      const reopened = sessions(s.sessionKey);
      assert.equal(await reopened.has('foo'), false);
      assert.equal(reopened.sessionKey, null);
    });

    it('27: load of an unknown key returns {}, nulls the key and creates nothing', async () => {
      const s = sessions('someunknownkey');
      assert.deepEqual(await s.load(), new Map());
      assert.equal(s.sessionKey, null);
      assert.equal(await rowCount(), 0);
    });

    it('28: must_create, deleted by another store, then modified and saved: UpdateError, no resurrection', async () => {
      const s1 = sessions(null);
      await s1.save({ mustCreate: true });
      const s2 = sessions(s1.sessionKey);
      await s2.deleteSession();
      await s1.set('test_data', 'value1');
      await assert.rejects(s1.save({ mustCreate: false }), (e) => e instanceof UpdateError && e.sessionKey === s1.sessionKey);
      assert.deepEqual(await s1.load(), new Map());
      assert.equal(await rowCount(), 0);
    });

    // ---- §9.2: the db engine and the model --------------------------------------------------

    it('29–30: a row names its key and decodes to the saved data', async () => {
      const s = sessions(null);
      await s.set('x', 1);
      await s.save();
      const row = await sessions.objects.get(s.sessionKey as string);
      assert.ok(row);
      assert.equal(row.sessionKey, s.sessionKey);
      assert.deepEqual(row.getDecoded(), new Map([['x', 1]]));
    });

    it('31: Session.objects.save(key, dict, expire_date) then a reload; an empty dict deletes', async () => {
      const s = sessions(null);
      await s.set('y', 1);
      await s.save();
      const key = s.sessionKey as string;
      const expire = timezone.now().plus(Timedelta.ofSeconds(3600));
      await sessions.objects.save(key, new Map([['y', 2]]), expire);
      assert.equal(await sessions(key).get('y'), 2);
      const fresh2 = randomSessionKey();
      await sessions.objects.save(fresh2, new Map([['z', 3]]), expire);
      assert.equal(await sessions(fresh2).get('z'), 3);
      await sessions.objects.save(fresh2, new Map(), expire);
      assert.equal(await sessions(fresh2).exists(fresh2), false);
    });

    it('32: clearExpired deletes exactly the expired row', async () => {
      const live = sessions(null);
      await live.setExpiry(3600);
      await live.save();
      const dead = sessions(null);
      await dead.setExpiry(-3600);
      await dead.save();
      assert.equal(await rowCount(), 2);
      assert.equal(await sessions.clearExpired(), 1);
      assert.equal(await rowCount(), 1);
      assert.equal(await live.exists(live.sessionKey as string), true);
      // The instance method and the class method do the same.
      const dead2 = sessions(null);
      await dead2.setExpiry(-3600);
      await dead2.save();
      await live.clearExpired();
      assert.equal(await rowCount(), 1);
      const dead3 = sessions(null);
      await dead3.setExpiry(-3600);
      await dead3.save();
      assert.equal(await DatabaseSessionStore.clearExpired({ db: fresh.db, settings, timezone }), 1);
      assert.equal(await rowCount(), 1);
    });

    it('a store built from the database alone (no factory) reads and writes the same rows', async () => {
      const a = new DatabaseSessionStore(null, { db: fresh.db, settings, codec: sessions.codec });
      await a.set('via', 'db');
      await a.save();
      assert.equal(await sessions(a.sessionKey).get('via'), 'db');
      const b = new DatabaseSessionStore(a.sessionKey, { db: fresh.db, settings, codec: sessions.codec });
      assert.equal(await b.get('via'), 'db');
      assert.equal(b.table, new DatabaseSessionStore(null, { db: fresh.db, settings, codec: sessions.codec }).table);
    });

    if (!settings.USE_TZ && settings.DJANGO_VERSION !== '3.2') {
      it('an aware _session_expiry with USE_TZ=False: MySQL/SQLite refuse it as Django does; PostgreSQL stores it', async () => {
        const s = sessions(null);
        await s.set('_session_expiry', '2030-01-01T00:00:00+00:00');
        if (dbName === 'postgres') {
          await s.save();
          const row = await sessions.objects.get(s.sessionKey as string);
          assert.equal(row?.expireDate.isoformat(), '2030-01-01T01:00:00'); // read back naive, in Paris
        } else {
          const backend = dbName === 'mariadb' ? 'MySQL' : 'SQLite';
          await assert.rejects(s.save(), {
            name: 'DateTimeError',
            message: `${backend} backend does not support timezone-aware datetimes when USE_TZ is False.`,
          });
        }
      });
    }

    // ---- §3.2: what the row holds -----------------------------------------------------------

    it('expire_date is written as Django writes it, and reads back to the same microsecond', async () => {
      // 2030-01-02T03:04:05Z plus SESSION_COOKIE_AGE (14 days) is 2030-01-16T03:04:05Z, 04:04:05 in
      // Paris (CET). First with 0 microseconds: Python's str() drops ".000000" then.
      const start = Date.UTC(2030, 0, 2, 3, 4, 5) * 1000;
      for (const micros of [0, 123_456]) {
        clock.freeze(start + micros);
        const s = sessions(null);
        await s.set('a', 1);
        await s.save();
        const fraction = micros === 0 ? '' : '.123456';
        const naive = (settings.USE_TZ ? '2030-01-16 03:04:05' : '2030-01-16 04:04:05') + fraction;
        const row = await sessions.objects.get(s.sessionKey as string);
        assert.ok(row);
        assert.equal(row.expireDate.isoformat(), naive.replace(' ', 'T') + (settings.USE_TZ ? '+00:00' : ''));
        const raw = String(await rawExpireDate(s.sessionKey as string));
        if (dbName === 'sqlite') assert.equal(raw, naive);
        else if (dbName === 'mariadb') assert.equal(raw, micros === 0 ? `${naive}.000000` : naive);
        else {
          // timestamptz text in the connection's TimeZone, e.g. "2030-01-16 04:04:05.123456+01".
          const m = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)(\.\d+)?([+-]\d\d)(?::?(\d\d))?$/.exec(raw);
          assert.ok(m, raw);
          const instantMs = Date.parse(`${m[1]}T${m[2]}${(m[3] ?? '').slice(0, 4)}${m[4]}:${m[5] ?? '00'}`);
          assert.equal(instantMs, Date.UTC(2030, 0, 16, 3, 4, 5) + micros / 1000 - (micros % 1000) / 1000);
          assert.equal(m[3] ?? '', fraction);
        }
      }
    });

    it('load needs expire_date > now and clearExpired needs < now: a row expiring exactly now is neither', async () => {
      clock.freeze();
      const s = sessions(null);
      await s.set('a', 1);
      await s.setExpiry(60);
      await s.save();
      const key = s.sessionKey as string;
      clock.offset = 60 * 1e6; // now == expire_date
      assert.deepEqual(await sessions(key).load(), new Map());
      assert.equal(await sessions.clearExpired(), 0);
      clock.offset = 60 * 1e6 - 1;
      assert.equal(await sessions(key).get('a'), 1);
      clock.offset = 60 * 1e6 + 1;
      assert.equal(await sessions.clearExpired(), 1);
    });

    it('the UPDATE has no expiry filter: an expired, uncleared row is updated, not recreated', async () => {
      const s = sessions(null);
      await s.set('a', 1);
      await s.save();
      const key = s.sessionKey as string;
      await s.get('a');
      clock.offset = (settings.SESSION_COOKIE_AGE + 10) * 1e6;
      await s.set('a', 2); // already loaded: no second load
      await s.save();
      assert.equal(s.sessionKey, key);
      clock.offset = 0;
      assert.equal(await sessions(key).get('a'), 2);
    });

    // ---- §3.3: races and edges --------------------------------------------------------------

    it('stores creating at once never share a key', async () => {
      const stores = Array.from({ length: 40 }, () => sessions(null));
      await Promise.all(stores.map((s, i) => s.set('i', i).then(() => s.save())));
      const keys = new Set(stores.map((s) => s.sessionKey));
      assert.equal(keys.size, 40);
      assert.equal(await rowCount(), 40);
      for (const [i, s] of stores.entries()) assert.equal(await sessions(s.sessionKey).get('i'), i);
    });

    it('a key taken between the exists() check and the INSERT: CreateError inside create(), then a new key', async () => {
      const other = sessions(null);
      await other.set('owner', 'other');
      await other.save();
      const taken = other.sessionKey as string;
      let draws = 0;
      class RacingStore extends DatabaseSessionStore {
        protected override async _getNewSessionKey(): Promise<string> {
          draws++;
          return draws === 1 ? taken : super._getNewSessionKey();
        }
      }
      const s = new RacingStore(null, { settings, timezone, table: sessions.table, codec: sessions.codec });
      await s.set('owner', 'me');
      await s.save();
      assert.equal(draws, 2);
      assert.notEqual(s.sessionKey, taken);
      assert.equal(await sessions(taken).get('owner'), 'other');
      assert.equal(await sessions(s.sessionKey).get('owner'), 'me');
      // And save({mustCreate}) on a taken key is a CreateError carrying the driver's error.
      await assert.rejects(sessions(taken).save({ mustCreate: true }), (e) => e instanceof CreateError && e.cause !== undefined);
    });

    it('an UPDATE that changes nothing still counts its row (MySQL FOUND_ROWS)', async () => {
      clock.freeze();
      const s = sessions(null);
      await s.set('a', 1);
      await s.save();
      await s.save(); // identical session_data and expire_date
      await s.save();
      assert.equal(await rowCount(), 1);
    });

    it('a stale key only read, then saved as SESSION_SAVE_EVERY_REQUEST does: a new empty row', async () => {
      const s = sessions('stale0000000000000000000000000000');
      assert.equal(await s.getExpireAtBrowserClose(), false); // loads: the key becomes null
      assert.equal(s.sessionKey, null);
      await s.save();
      assert.notEqual(s.sessionKey, null);
      assert.deepEqual(await sessions(s.sessionKey).items(), []);
    });

    it('a stale key never read and saved directly: UpdateError (Django does the same)', async () => {
      await assert.rejects(sessions('stale0000000000000000000000000000').save(), UpdateError);
      assert.equal(await rowCount(), 0);
    });

    it('database errors: any UPDATE failure is an UpdateError; a failed INSERT that is not a duplicate is not a CreateError', async () => {
      const broken = createSessionStoreFactory({ db: fresh.db, settings, timezone, table: { tableName: 'no_such_table' } });
      const s = broken('abcdefghijklmnopqrstuvwxyz012345');
      s.clear();
      await assert.rejects(s.save(), (e) => e instanceof UpdateError && e.cause !== undefined);
      await assert.rejects(broken(null).save({ mustCreate: true }), (e) => !(e instanceof CreateError));
    });

    it('large session data round-trips (longtext/text)', async () => {
      const s = sessions(null);
      const big = 'x'.repeat(70_000) + Array.from({ length: 2000 }, (_, i) => i.toString(36)).join('');
      await s.set('big', big);
      await s.save();
      assert.equal(await sessions(s.sessionKey).get('big'), big);
    });

    it('concurrent loads on one factory share the pool and each see their own row', async () => {
      const keys: string[] = [];
      for (let i = 0; i < 10; i++) {
        const s = sessions(null);
        await s.set('n', i);
        await s.save();
        keys.push(s.sessionKey as string);
      }
      const got = await Promise.all(Array.from({ length: 100 }, (_, i) => sessions(keys[i % 10]).get('n')));
      assert.deepEqual(got, Array.from({ length: 100 }, (_, i) => i % 10));
    });
  });
}

for (const { name } of testDatabases()) {
  for (const variant of VARIANTS) suite(name, variant);
}
