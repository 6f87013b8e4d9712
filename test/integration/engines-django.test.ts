/**
 * Live interop of the cache, cached_db and signed_cookies engines with Django's own SessionStores
 * (test/python/engines_oracle.py), on one Redis and one SQLite file:
 *
 *   Django 3.2 + django-redis · 4.2 + RedisCache · 5.2 + RedisCache · 5.2 + django-redis
 *
 * For each: a login made on either side (the auth keys plus Python-only values) is read, changed,
 * cycled and logged out on the other; the Redis entries are the same bytes under the same keys with
 * the same expiry rules; a logout on one side is never undone by the other; signed cookies made at the
 * same second are identical, and each side refuses the other's tampered or expired cookies.
 * Every series must be set up (scripts/setup-django.sh) and REDIS_URL set; nothing is skipped.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';

import { runMigrations } from '../../migrations/index.ts';
import type { Settings } from '../../src/config.ts';
import { DjangoTimezone, systemClock } from '../../src/db/datetime.ts';
import { pyDumps, pyLoads } from '../../src/pyjson/index.ts';
import type { PyValue } from '../../src/pyjson/types.ts';
import { createSessionEngine, type SessionEngine } from '../../src/sessions/backends/index.ts';
import { pickleDumps } from '../../src/sessions/backends/pickle.ts';
import { DJANGO_REDIS_BACKEND, DJANGO_REDIS_CACHE_BACKEND, type CacheBackend } from '../../src/sessions/backends/redis-cache.ts';
import { UpdateError } from '../../src/sessions/errors.ts';
import {
  availableDjangoVersions,
  DjangoNotSetUpError,
  DjangoOracleError,
  spawnDjangoPython,
  type DjangoSeries,
} from '../support/django-oracle.ts';
import { JsonLinesOracle } from '../support/json-lines-oracle.ts';
import { freshDatabase, type FreshDatabase } from '../support/databases.ts';

const SECRET_KEY = 'engines-interop-secret-key-not-for-production';
const ORACLE = fileURLToPath(new URL('../python/engines_oracle.py', import.meta.url));

type Engine = 'cache' | 'cached_db' | 'signed_cookies';
const ENGINE_SETTING: Record<Engine, Settings['SESSION_ENGINE']> = {
  cache: 'django.contrib.sessions.backends.cache',
  cached_db: 'django.contrib.sessions.backends.cached_db',
  signed_cookies: 'django.contrib.sessions.backends.signed_cookies',
};

interface LoadResult {
  sessionKey: string | null;
  json: string;
  modified: boolean;
  accessed: boolean;
}

interface EngineTarget {
  engine: Engine;
  sessionKey: string | null;
}

/** engines_oracle.py's commands used here: name -> [params, result]. */
interface EnginesCommands {
  version: [Record<string, never>, { django: string; python: string; cacheBackend: string }];
  create: [{ engine: Engine; data?: string; expiry?: number; timestamp?: number }, string];
  load: [EngineTarget, LoadResult];
  set: [EngineTarget & { items: string }, string | null];
  save: [EngineTarget & { mustCreate?: boolean }, string | null];
  cycle_key: [EngineTarget, string];
  flush: [EngineTarget, string | null];
  exists: [EngineTarget, boolean];
  cache_key: [EngineTarget, string];
  /** value: base64 of the raw entry, null when there is none. */
  redis_get: [{ key: string }, { value: string | null; pttl: number }];
  redis_set: [{ key: string; value: string; px?: number }, null];
}

/** A long-lived engines_oracle.py process (one Django series, one cache configuration). */
type EnginesOracle = JsonLinesOracle<EnginesCommands>;

async function startOracle(series: DjangoSeries, env: Record<string, string>): Promise<EnginesOracle> {
  if (!availableDjangoVersions().includes(series)) throw new DjangoNotSetUpError(series);
  const oracle: EnginesOracle = new JsonLinesOracle(spawnDjangoPython(series, ORACLE, { ...env, DJANGO_VERSION: series }), {
    label: 'engines oracle',
    owner: `Django ${series}`,
    error: (message, pythonType) => new DjangoOracleError(message, series, pythonType),
  });
  await oracle.closeOnFailure(async () => {
    const info = await oracle.call('version', {});
    assert.ok(info.django.startsWith(`${series}.`), `asked for ${series}, got ${info.django}`);
  });
  return oracle;
}

function redisUrl(): string {
  const url = process.env.REDIS_URL;
  if (!url) throw new Error('REDIS_URL is not set: start Redis with eval "$(scripts/db/start-all.sh)" (the engines interop needs it)');
  return url;
}

/** What a Django login leaves in the session, plus values JSON alone would not keep apart. */
const LOGIN_JSON =
  '{"_auth_user_id":"42","_auth_user_backend":"django.contrib.auth.backends.ModelBackend",' +
  '"_auth_user_hash":"0c8a8b3f6d","cart":[1,2.0,{"10":"x","2":null}],"big":123456789012345678901234567890,' +
  '"name":"Zo\\u00eb \\ud83d\\ude00","ratio":0.1,"flag":true}';

const VARIANTS: { series: DjangoSeries; backend: CacheBackend; algorithm?: 'sha1' }[] = [
  { series: '3.2', backend: DJANGO_REDIS_BACKEND, algorithm: 'sha1' },
  { series: '4.2', backend: DJANGO_REDIS_CACHE_BACKEND },
  { series: '5.2', backend: DJANGO_REDIS_CACHE_BACKEND },
  { series: '5.2', backend: DJANGO_REDIS_BACKEND },
];

for (const variant of VARIANTS) {
  describe(`Django ${variant.series} · ${variant.backend}${variant.algorithm ? ' · DEFAULT_HASHING_ALGORITHM=sha1' : ''}`, () => {
    const prefix = `dsbinterop${randomBytes(4).toString('hex')}`;
    const version = 2;
    let fresh: FreshDatabase;
    let django: EnginesOracle;
    let redis: Redis;
    const engines = new Map<Engine, SessionEngine>();
    const ours = (engine: Engine): SessionEngine => engines.get(engine)!;
    const redisKey = (engine: Engine, key: string): string => `${prefix}:${version}:django.contrib.sessions.${engine}${key}`;
    const jsonOf = async (engine: Engine, key: string | null): Promise<{ key: string | null; json: string }> => {
      const store = ours(engine)(key);
      const json = pyDumps(new Map(await store.items()));
      return { key: store.sessionKey, json };
    };

    before(async () => {
      const url = redisUrl();
      const settings = { USE_TZ: true, TIME_ZONE: 'UTC' };
      fresh = await freshDatabase('sqlite', settings);
      await runMigrations(fresh.db, { djangoVersion: variant.series });
      redis = new Redis(url);
      django = await startOracle(variant.series, {
        SECRET_KEY,
        REDIS_URL: url,
        CACHE_BACKEND: variant.backend,
        CACHE_KEY_PREFIX: prefix,
        CACHE_VERSION: String(version),
        DATABASE_URL: fresh.url,
        USE_TZ: 'True',
        TIME_ZONE: 'UTC',
        ...(variant.algorithm ? { DEFAULT_HASHING_ALGORITHM: variant.algorithm } : {}),
      });
      for (const engine of ['cache', 'cached_db', 'signed_cookies'] as const) {
        engines.set(
          engine,
          createSessionEngine(
            {
              SECRET_KEY,
              SECRET_KEY_FALLBACKS: [],
              DEFAULT_HASHING_ALGORITHM: variant.algorithm ?? 'sha256',
              SESSION_COOKIE_AGE: 1_209_600,
              SESSION_COOKIE_NAME: 'sessionid',
              SESSION_EXPIRE_AT_BROWSER_CLOSE: false,
              SESSION_ENGINE: ENGINE_SETTING[engine],
              USE_TZ: true,
              TIME_ZONE: 'UTC',
              DJANGO_VERSION: variant.series,
              CACHE_URL: url,
              CACHE_BACKEND: variant.backend,
              CACHE_KEY_PREFIX: prefix,
              CACHE_VERSION: version,
              CACHE_PICKLE_PROTOCOL: null,
            },
            fresh.db,
          ),
        );
      }
    });
    after(async () => {
      for (const e of engines.values()) await e.close();
      if (redis) {
        const keys = await redis.keys(`${prefix}:*`);
        if (keys.length > 0) await redis.del(...keys);
        redis.disconnect();
      }
      await django?.close();
      await fresh?.drop();
    });

    for (const engine of ['cache', 'cached_db'] as const) {
      describe(engine, () => {
        it('the same Redis key for the same session', async () => {
          const key = 'abcdefghijklmnopqrstuvwxyz012345';
          assert.equal(await django.call('cache_key', { engine, sessionKey: key }), redisKey(engine, key));
        });

        it('Django logs in; we read it, change it; Django sees the change; the entry is the same bytes', async () => {
          const key = await django.call('create', { engine, data: LOGIN_JSON, expiry: 3600 });
          const raw = await django.call('redis_get', { key: redisKey(engine, key) });
          const mine = await jsonOf(engine, key);
          assert.equal(mine.key, key);
          const theirs = await django.call('load', { engine, sessionKey: key });
          assert.equal(mine.json, theirs.json);
          // Re-pickled by us, the entry is byte for byte what Django's backend wrote.
          const store = ours(engine)(key);
          const data = new Map(await store.items());
          const protocol = variant.backend === DJANGO_REDIS_BACKEND ? 4 : 5;
          assert.equal(pickleDumps(data, protocol).toString('base64'), raw.value);
          await store.set('cart', [3]);
          await store.save();
          const after = await django.call('load', { engine, sessionKey: key });
          assert.equal(after.sessionKey, key);
          assert.deepEqual((pyLoads(after.json) as Record<string, PyValue>).cart, [3]);
          assert.equal(after.json, (await jsonOf(engine, key)).json);
        });

        it('we log in; Django reads it, changes it; we see the change', async () => {
          const store = ours(engine)(null);
          await store.update(pyLoads(LOGIN_JSON) as Record<string, PyValue>);
          await store.setExpiry(3600);
          await store.save();
          const key = store.sessionKey as string;
          const theirs = await django.call('load', { engine, sessionKey: key });
          assert.equal(theirs.sessionKey, key);
          assert.equal(theirs.json, (await jsonOf(engine, key)).json);
          assert.equal(await django.call('set', { engine, sessionKey: key, items: '{"seen_by":"django","n":1.0}' }), key);
          const mine = await ours(engine)(key).items();
          assert.deepEqual(mine.slice(-2).map(([k]) => k), ['seen_by', 'n']);
          assert.equal(pyDumps(new Map(mine)), (await django.call('load', { engine, sessionKey: key })).json);
        });

        it('same expiry rules: the entry’s TTL agrees whoever wrote it', async () => {
          const theirsKey = await django.call('create', { engine, data: '{"a":1}', expiry: 300 });
          const store = ours(engine)(null);
          await store.set('a', 1);
          await store.setExpiry(300);
          await store.save();
          const theirs = await django.call('redis_get', { key: redisKey(engine, theirsKey) });
          const mine = await redis.pttl(redisKey(engine, store.sessionKey as string));
          assert.ok(Math.abs(theirs.pttl - mine) < 1500, `${theirs.pttl} vs ${mine}`);
          assert.ok(mine > 298_000 && mine <= 300_000);
        });

        it('Django logs out: our copy is gone, and a late save of ours does not bring it back', async () => {
          const key = await django.call('create', { engine, data: LOGIN_JSON });
          const late = ours(engine)(key);
          assert.equal(await late.get('_auth_user_id'), '42');
          assert.equal(await django.call('flush', { engine, sessionKey: key }), null);
          const fresh2 = ours(engine)(key);
          assert.equal(await fresh2.get('_auth_user_id'), null);
          assert.equal(fresh2.sessionKey, null);
          await late.set('cart', [9]);
          await assert.rejects(late.save(), UpdateError);
          const theirs = await django.call('load', { engine, sessionKey: key });
          assert.deepEqual([theirs.sessionKey, theirs.json], [null, '{}']);
        });

        it('we log out: Django finds nothing, and its late save is refused too', async () => {
          const store = ours(engine)(null);
          await store.set('_auth_user_id', '7');
          await store.save();
          const key = store.sessionKey as string;
          await ours(engine)(key).flush();
          const theirs = await django.call('load', { engine, sessionKey: key });
          assert.deepEqual([theirs.sessionKey, theirs.json], [null, '{}']);
          const late = await django.try('save', { engine, sessionKey: key });
          assert.ok(!late.ok && late.error.type === 'UpdateError', JSON.stringify(late));
          assert.equal(await django.call('exists', { engine, sessionKey: key }), false);
        });

        it('cycle_key on either side moves the data; the old key is gone for both', async () => {
          const key = await django.call('create', { engine, data: '{"a":"b"}' });
          const cycled = await django.call('cycle_key', { engine, sessionKey: key });
          assert.notEqual(cycled, key);
          assert.equal((await jsonOf(engine, cycled)).json, '{"a":"b"}');
          assert.equal(await ours(engine)(null).exists(key), false);
          const store = ours(engine)(cycled);
          await store.cycleKey();
          await store.save();
          const theirs = await django.call('load', { engine, sessionKey: store.sessionKey });
          assert.equal(theirs.json, '{"a":"b"}');
          assert.equal(await django.call('exists', { engine, sessionKey: cycled }), false);
        });

        if (engine === 'cached_db') {
          it('a miss on either side is filled from the row the other wrote, with the row’s remaining age', async () => {
            const key = await django.call('create', { engine, data: LOGIN_JSON, expiry: 600 });
            await redis.del(redisKey(engine, key));
            assert.equal((await jsonOf(engine, key)).key, key); // read from Django's row
            const pttl = await redis.pttl(redisKey(engine, key));
            assert.ok(pttl > 590_000 && pttl <= 600_000, String(pttl));
            const store = ours(engine)(null);
            await store.set('from', 'node');
            await store.save();
            await redis.del(redisKey(engine, store.sessionKey as string));
            const theirs = await django.call('load', { engine, sessionKey: store.sessionKey });
            assert.equal(theirs.json, '{"from":"node"}');
            assert.ok(await redis.exists(redisKey(engine, store.sessionKey as string)));
          });

          it('clear_expired on either side removes the rows the other wrote', async () => {
            const key = await django.call('create', { engine, data: '{"a":1}', expiry: -60 });
            const store = ours(engine)(null);
            await store.setExpiry(-60);
            await store.save();
            assert.ok((await ours(engine).clearExpired())! >= 2);
            assert.equal(await django.call('exists', { engine, sessionKey: key }), false);
          });
        }

        if (engine === 'cache') {
          it('a hostile entry under a session key: Django would run it; we refuse it as a miss', async () => {
            const key = 'hostile0000000000000000000000000';
            const reduce = 'gASVKAAAAAAAAACMBXBvc2l4lIwGc3lzdGVtlJOUjA10b3VjaCAvdG1wL3h4lIWUUpQu'; // os.system('touch /tmp/xx')
            await django.call('redis_set', { key: redisKey(engine, key), value: reduce, px: 60_000 });
            const store = ours(engine)(key);
            assert.deepEqual(await store.items(), []);
            assert.equal(store.sessionKey, null);
            await redis.del(redisKey(engine, key));
          });
        }
      });
    }

    describe('signed_cookies', () => {
      const engine = 'signed_cookies' as const;

      it('cookies signed at the same second are identical, and each side reads the other’s', async () => {
        const ts = Math.floor(systemClock() / 1e6);
        const clock = (): number => ts * 1e6;
        const frozen = createSessionEngine(ours(engine).settings, null, { timezone: new DjangoTimezone(ours(engine).settings, clock) });
        const theirs = await django.call('create', { engine, data: LOGIN_JSON, timestamp: ts });
        const mine = frozen(null);
        await mine.update(pyLoads(LOGIN_JSON) as Record<string, PyValue>);
        await mine.save();
        assert.equal(mine.sessionKey, theirs);
        assert.equal((await jsonOf(engine, theirs)).json, (await django.call('load', { engine, sessionKey: theirs })).json);
        const changed = ours(engine)(theirs);
        await changed.set('cart', [7]);
        await changed.save();
        const back = await django.call('load', { engine, sessionKey: changed.sessionKey });
        assert.deepEqual((pyLoads(back.json) as Record<string, PyValue>).cart, [7]);
        assert.equal(back.modified, false);
      });

      it('expired (older than SESSION_COOKIE_AGE) and tampered cookies are refused by both, with a fresh cookie due', async () => {
        const old = Math.floor(systemClock() / 1e6) - 1_209_600 - 5;
        const theirsOld = await django.call('create', { engine, data: '{"a":1}', timestamp: old });
        const frozen = createSessionEngine(ours(engine).settings, null, {
          timezone: new DjangoTimezone(ours(engine).settings, () => old * 1e6),
        });
        const mineOld = frozen(null);
        await mineOld.set('a', 1);
        await mineOld.save();
        const byUs = ours(engine)(theirsOld);
        assert.deepEqual([await byUs.items(), byUs.modified], [[], true]);
        const byDjango = await django.call('load', { engine, sessionKey: mineOld.sessionKey });
        assert.deepEqual([byDjango.json, byDjango.modified], ['{}', true]);

        const good = await django.call('create', { engine, data: '{"_auth_user_id":"1"}' });
        const tampered = good.replace(/:[^:]+$/, (sig) => sig.slice(0, -2) + (sig.endsWith('AA') ? 'BB' : 'AA'));
        assert.deepEqual(await ours(engine)(tampered).items(), []);
        const store = ours(engine)(null);
        await store.set('_auth_user_id', '1');
        await store.save();
        const forged = (store.sessionKey as string).replace(/^[^:]+/, Buffer.from('{"_auth_user_id":"2"}').toString('base64url'));
        assert.equal((await django.call('load', { engine, sessionKey: forged })).json, '{}');
      });

      it('flush on our side gives no key (the middleware then deletes the cookie), as Django', async () => {
        const key = await django.call('create', { engine, data: '{"a":1}' });
        const store = ours(engine)(key);
        await store.flush();
        assert.equal(store.sessionKey, null);
        assert.equal(await django.call('flush', { engine, sessionKey: key }), null);
      });
    });
  });
}
