/**
 * sessionMiddleware() over real HTTP (Koa on an ephemeral loopback port, `fetch`), with the in-memory
 * backend and Appendix A's frozen clock, so every Set-Cookie can be compared as an exact string.
 * Covers spec §9.3 (items 46-55), the "Consequences" list of §4.2, the per-version differences of §8
 * (which statuses skip the save, Vary on set in 5.2), errors thrown by handlers, Vary merging, other
 * cookies, and hostile Cookie headers.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import Koa, { type Middleware } from 'koa';

import type { DjangoVersion } from '../../src/config.ts';
import { DjangoTimezone, Timedelta } from '../../src/db/datetime.ts';
import { sessionMiddleware, type SessionMiddlewareSettings } from '../../src/koa/index.ts';
import { addLogListener, setLogSink, type LogRecord } from '../../src/log.ts';
import type { PyValue } from '../../src/pyjson/types.ts';
import type { SessionSettings } from '../../src/sessions/base.ts';
import { SESSION_INTERRUPTED_MESSAGE, SessionInterrupted } from '../../src/sessions/errors.ts';
import { MemorySessionStore, MemoryStorage } from '../support/memory-store.ts';

const NOW_US = 1_700_000_000_250_000; // time.time() = 1700000000.25
const EXPIRES_2W = 'Tue, 28 Nov 2023 22:13:20 GMT'; // http_date(1700000000.25 + 1209600)
const DELETED = 'sessionid=""; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/; SameSite=Lax';
const STALE_KEY = 'zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz';
const VERSIONS: readonly DjangoVersion[] = ['3.2', '4.2', '5.2'];

type AllSettings = SessionMiddlewareSettings & SessionSettings;

function settingsFor(version: DjangoVersion, over: Partial<AllSettings> = {}): AllSettings {
  return {
    SESSION_COOKIE_NAME: 'sessionid',
    SESSION_COOKIE_DOMAIN: null,
    SESSION_COOKIE_PATH: '/',
    SESSION_COOKIE_SECURE: false,
    SESSION_COOKIE_HTTPONLY: true,
    SESSION_COOKIE_SAMESITE: 'Lax',
    SESSION_SAVE_EVERY_REQUEST: false,
    SESSION_COOKIE_AGE: 1_209_600,
    SESSION_EXPIRE_AT_BROWSER_CLOSE: false,
    USE_TZ: true,
    TIME_ZONE: 'UTC',
    DJANGO_VERSION: version,
    ...over,
  };
}

interface Reply {
  status: number;
  body: string;
  setCookie: string[];
  vary: string | null;
}

interface Harness {
  storage: MemoryStorage;
  tz: DjangoTimezone;
  /** Errors Koa reported through app.on('error'). */
  errors: unknown[];
  /** Put a row in storage (expiring in `expiresIn` seconds) and return its key. */
  seed(data?: [string, PyValue][], expiresIn?: number): string;
  request(path?: string, cookie?: string): Promise<Reply>;
  close(): Promise<void>;
}

interface HarnessOptions {
  version?: DjangoVersion;
  settings?: Partial<AllSettings>;
  /** Middleware mounted before (outside) the session middleware, e.g. an app's error handler. */
  outer?: Middleware;
}

const open: Harness[] = [];

async function harness(handler: Middleware, options: HarnessOptions = {}): Promise<Harness> {
  const settings = settingsFor(options.version ?? '5.2', options.settings);
  const storage = new MemoryStorage();
  const tz = new DjangoTimezone(settings, () => NOW_US);
  const app = new Koa();
  const errors: unknown[] = [];
  app.on('error', (e: unknown) => errors.push(e));
  if (options.outer) app.use(options.outer);
  app.use(sessionMiddleware({ settings, createStore: (key) => new MemorySessionStore(key, { settings, storage, timezone: tz }) }));
  app.use(handler);
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const h: Harness = {
    storage,
    tz,
    errors,
    seed(data = [['a', 1]], expiresIn = 3600) {
      const key = `seed${String(storage.rows.size).padStart(28, '0')}`;
      storage.rows.set(key, { data: new Map(data), expireDate: tz.now().plus(Timedelta.ofSeconds(expiresIn)) });
      return key;
    },
    async request(path = '/', cookie) {
      const response = await fetch(base + path, { headers: cookie === undefined ? {} : { Cookie: cookie }, redirect: 'manual' });
      return {
        status: response.status,
        body: await response.text(),
        setCookie: response.headers.getSetCookie(),
        vary: response.headers.get('vary'),
      };
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  open.push(h);
  return h;
}

/** The one session Set-Cookie, with the 32-character key replaced by <key>. */
function sessionCookie(reply: Reply): string {
  const cookies = reply.setCookie.filter((c) => c.startsWith('sessionid='));
  assert.equal(cookies.length, 1, `one session cookie expected, got ${JSON.stringify(reply.setCookie)}`);
  return cookies[0]!.replace(/^sessionid=[a-z0-9]{32};/, 'sessionid=<key>;');
}

function keyOf(reply: Reply): string {
  const m = /^sessionid=([a-z0-9]{32});/.exec(reply.setCookie.find((c) => c.startsWith('sessionid=')) ?? '');
  assert.ok(m, `no session key in ${JSON.stringify(reply.setCookie)}`);
  return m[1]!;
}

const SAVED = `sessionid=<key>; expires=${EXPIRES_2W}; HttpOnly; Max-Age=1209600; Path=/; SameSite=Lax`;

const logs: LogRecord[] = [];
let restoreSink: ReturnType<typeof setLogSink> | undefined;
let removeListener: (() => void) | undefined;
before(() => {
  restoreSink = setLogSink(() => {}); // keep the test output clean; the listener still sees everything
  removeListener = addLogListener((r) => logs.push(r));
});
after(async () => {
  await Promise.all(open.map((h) => h.close()));
  if (restoreSink) setLogSink(restoreSink);
  removeListener?.();
});

const write: Middleware = async (ctx) => {
  await ctx.session.set('hello', 'world');
  ctx.body = 'ok';
};
const read: Middleware = async (ctx) => {
  ctx.body = JSON.stringify(await ctx.session.get('a'));
};

describe('§4.2 consequences', () => {
  it('no cookie and an untouched session: no Set-Cookie, no Vary, no storage call', async () => {
    const h = await harness(async (ctx) => {
      ctx.body = 'plain';
    });
    const r = await h.request();
    assert.equal(r.status, 200);
    assert.deepEqual(r.setCookie, []);
    assert.equal(r.vary, null);
    assert.deepEqual(h.storage.calls, { load: 0, exists: 0, insert: 0, update: 0, delete: 0 });
  });

  it('a valid cookie and an untouched session: nothing loaded, nothing sent', async () => {
    const h = await harness(async (ctx) => {
      ctx.body = 'plain';
    });
    const r = await h.request('/', `sessionid=${h.seed()}`);
    assert.deepEqual(r.setCookie, []);
    assert.equal(r.vary, null);
    assert.equal(h.storage.calls.load, 0);
  });

  it('a valid cookie and a read: Vary only, the data is the stored data', async () => {
    const h = await harness(read);
    const r = await h.request('/', `sessionid=${h.seed([['a', 42]])}`);
    assert.equal(r.body, '42');
    assert.deepEqual(r.setCookie, []);
    assert.equal(r.vary, 'Cookie');
  });

  it('a stale or unknown cookie and a read: the cookie is deleted, with Vary', async () => {
    const h = await harness(read);
    const expired = h.seed([['a', 1]], -1);
    for (const key of [STALE_KEY, expired]) {
      const r = await h.request('/', `sessionid=${key}`);
      assert.equal(r.body, 'null');
      assert.deepEqual(r.setCookie, [DELETED]);
      assert.equal(r.vary, 'Cookie');
    }
  });

  it('a stale cookie and a write: a new key, an insert and a fresh cookie', async () => {
    const h = await harness(write);
    const r = await h.request('/', `sessionid=${STALE_KEY}`);
    assert.equal(sessionCookie(r), SAVED);
    const key = keyOf(r);
    assert.notEqual(key, STALE_KEY);
    assert.deepEqual([...h.storage.rows.get(key)!.data], [['hello', 'world']]);
    assert.equal(h.storage.calls.insert, 1);
    assert.equal(r.vary, 'Cookie');
  });

  for (const version of VERSIONS) {
    it(`${version}: a stale cookie, SESSION_SAVE_EVERY_REQUEST, untouched: a new empty row and cookie, not a 400`, async () => {
      const h = await harness(
        async (ctx) => {
          ctx.body = 'plain';
        },
        { version, settings: { SESSION_SAVE_EVERY_REQUEST: true } },
      );
      const r = await h.request('/', `sessionid=${STALE_KEY}`);
      assert.equal(r.status, 200);
      assert.equal(sessionCookie(r), SAVED);
      assert.equal(h.storage.rows.get(keyOf(r))!.data.size, 0);
      // `accessed` is read before the expiry lookup loads: only 5.2.14+ varies on the set cookie.
      assert.equal(r.vary, version === '5.2' ? 'Cookie' : null);
    });

    it(`${version}: a valid cookie, SESSION_SAVE_EVERY_REQUEST, untouched: the row is re-saved, the cookie re-sent`, async () => {
      const h = await harness(
        async (ctx) => {
          ctx.body = 'plain';
        },
        { version, settings: { SESSION_SAVE_EVERY_REQUEST: true } },
      );
      const key = h.seed();
      const r = await h.request('/', `sessionid=${key}`);
      assert.equal(sessionCookie(r), SAVED);
      assert.equal(keyOf(r), key);
      assert.equal(h.storage.calls.update, 1);
      assert.equal(r.vary, version === '5.2' ? 'Cookie' : null);
    });
  }

  it('a key shorter than 8 characters counts as carried: the empty session deletes it', async () => {
    const h = await harness(async (ctx) => {
      ctx.body = 'plain';
    });
    for (const cookie of ['sessionid=short', 'sessionid=', 'sessionid=""']) {
      const r = await h.request('/', cookie);
      assert.deepEqual(r.setCookie, [DELETED], cookie);
      assert.equal(r.vary, 'Cookie');
    }
    assert.equal(h.storage.calls.load, 0);
  });

  it('set_expiry(0) gives a browser-session cookie (Appendix A)', async () => {
    const h = await harness(async (ctx) => {
      await ctx.session.setExpiry(0);
      ctx.body = 'ok';
    });
    const r = await h.request();
    assert.equal(sessionCookie(r), 'sessionid=<key>; HttpOnly; Path=/; SameSite=Lax');
  });

  it('SESSION_EXPIRE_AT_BROWSER_CLOSE gives a browser-session cookie', async () => {
    const h = await harness(write, { settings: { SESSION_EXPIRE_AT_BROWSER_CLOSE: true } });
    assert.equal(sessionCookie(await h.request()), 'sessionid=<key>; HttpOnly; Path=/; SameSite=Lax');
  });

  it('set_expiry(60) and a fractional expiry: Max-Age=int(age), expires from the frozen clock', async () => {
    const h = await harness(async (ctx) => {
      await ctx.session.setExpiry(Number(ctx.query.age));
      ctx.body = 'ok';
    });
    assert.equal(
      sessionCookie(await h.request('/?age=60')),
      'sessionid=<key>; expires=Tue, 14 Nov 2023 22:14:20 GMT; HttpOnly; Max-Age=60; Path=/; SameSite=Lax',
    );
    assert.equal(
      sessionCookie(await h.request('/?age=1.8')),
      'sessionid=<key>; expires=Tue, 14 Nov 2023 22:13:22 GMT; HttpOnly; Max-Age=1; Path=/; SameSite=Lax',
    );
  });

  it('cycleKey(): the cookie carries the new key, the old row is gone', async () => {
    const h = await harness(async (ctx) => {
      await ctx.session.cycleKey();
      ctx.body = 'ok';
    });
    const old = h.seed([['a', 1]]);
    const r = await h.request('/', `sessionid=${old}`);
    const key = keyOf(r);
    assert.notEqual(key, old);
    assert.equal(h.storage.rows.has(old), false);
    assert.deepEqual([...h.storage.rows.get(key)!.data], [['a', 1]]);
  });

  it('an explicit save() in the handler does not clear modified: the middleware saves again', async () => {
    const h = await harness(async (ctx) => {
      await ctx.session.set('a', 2);
      await ctx.session.save();
      ctx.body = 'ok';
    });
    const key = h.seed();
    const r = await h.request('/', `sessionid=${key}`);
    assert.equal(keyOf(r), key);
    assert.equal(h.storage.calls.update, 2);
  });

  it('a handler that already sent the headers itself: the save stands, a warning says the cookie could not go', async () => {
    const h = await harness(async (ctx) => {
      await ctx.session.set('a', 1);
      ctx.respond = false;
      ctx.res.writeHead(200, { 'Content-Type': 'text/plain' });
      ctx.res.end('raw');
    });
    logs.length = 0;
    const r = await h.request();
    assert.equal(r.body, 'raw');
    assert.deepEqual(r.setCookie, []);
    assert.equal(h.storage.rows.size, 1);
    assert.deepEqual(
      logs.filter((l) => l.logger === 'django_session_bridge.koa').map((l) => [l.level, l.fields?.setCookie]),
      [['warning', true]],
    );
  });

  it('no ctx.session after the handler: the response is left alone', async () => {
    const h = await harness(async (ctx) => {
      await ctx.session.set('a', 1);
      (ctx as { session?: unknown }).session = undefined;
      ctx.body = 'ok';
    });
    const r = await h.request('/', `sessionid=${STALE_KEY}`);
    assert.deepEqual(r.setCookie, []);
    assert.equal(r.vary, null);
  });
});

describe('§9.3 middleware items', () => {
  it('46: SESSION_COOKIE_SECURE puts Secure on the cookie', async () => {
    const h = await harness(write, { settings: { SESSION_COOKIE_SECURE: true } });
    assert.equal(sessionCookie(await h.request()), `${SAVED}; Secure`);
  });

  it('47/48: SESSION_COOKIE_HTTPONLY True / False', async () => {
    const on = await harness(write, { settings: { SESSION_COOKIE_HTTPONLY: true } });
    assert.match(sessionCookie(await on.request()), /; HttpOnly;/);
    const off = await harness(write, { settings: { SESSION_COOKIE_HTTPONLY: false } });
    assert.equal(sessionCookie(await off.request()), `sessionid=<key>; expires=${EXPIRES_2W}; Max-Age=1209600; Path=/; SameSite=Lax`);
  });

  it('49: SESSION_COOKIE_SAMESITE="Strict"; no SameSite attribute when unset', async () => {
    const strict = await harness(write, { settings: { SESSION_COOKIE_SAMESITE: 'Strict' } });
    assert.match(sessionCookie(await strict.request()), /; Path=\/; SameSite=Strict$/);
    const none = await harness(write, { settings: { SESSION_COOKIE_SAMESITE: null } });
    assert.match(sessionCookie(await none.request()), /; Max-Age=1209600; Path=\/$/);
  });

  it('an invalid SESSION_COOKIE_SAMESITE is refused when the middleware is built', () => {
    const settings = settingsFor('5.2', { SESSION_COOKIE_SAMESITE: 'Lox' });
    assert.throws(() => sessionMiddleware({ settings, createStore: () => assert.fail('not called') }), {
      message: 'samesite must be "lax", "none", or "strict".',
    });
  });

  for (const version of VERSIONS) {
    for (const status of [500, 502, 503, 499]) {
      // 3.2 skips the save only for exactly 500; 4.2/5.2 for every 5xx.
      const saves = status < 500 || (version === '3.2' && status !== 500);
      it(`50: ${version}, a ${status} response ${saves ? 'saves' : 'does not save'} the change`, async () => {
        const h = await harness(
          async (ctx) => {
            await ctx.session.set('a', 'changed');
            ctx.status = status;
            ctx.body = 'x';
          },
          { version },
        );
        const key = h.seed([['a', 'orig']]);
        const r = await h.request('/', `sessionid=${key}`);
        assert.equal(r.status, status);
        assert.equal(h.storage.rows.get(key)!.data.get('a'), saves ? 'changed' : 'orig');
        assert.deepEqual(r.setCookie.length, saves ? 1 : 0);
        assert.equal(r.vary, 'Cookie'); // accessed
      });
    }
  }

  for (const version of VERSIONS) {
    it(`51: ${version}, the session deleted before the end (UpdateError) → 400 with Django's message`, async () => {
      const h = await harness(
        async (ctx) => {
          await ctx.session.set('hello', 'world');
          await ctx.session.save({ mustCreate: true });
          await ctx.session.deleteSession();
          ctx.set('X-Handler', '1');
          ctx.body = 'Session test';
        },
        { version },
      );
      logs.length = 0;
      const r = await h.request('/end', 'sessionid=whatever1');
      assert.equal(r.status, 400);
      assert.equal(r.body, SESSION_INTERRUPTED_MESSAGE);
      assert.deepEqual(r.setCookie, []);
      assert.equal(r.vary, null);
      assert.ok(h.errors[0] instanceof SessionInterrupted);
      assert.deepEqual(
        logs.filter((l) => l.logger === 'django.request').map((l) => [l.level, l.message]),
        [['warning', `${SESSION_INTERRUPTED_MESSAGE}: /end`]],
      );
    });
  }

  it('51: an app error handler outside the middleware can render SessionInterrupted as JSON', async () => {
    const h = await harness(
      async (ctx) => {
        await ctx.session.set('a', 1);
        await ctx.session.save();
        await ctx.session.deleteSession();
        ctx.body = 'x';
      },
      {
        outer: async (ctx, next) => {
          try {
            await next();
          } catch (e) {
            const err = e as { status?: number; message: string };
            ctx.status = err.status ?? 500;
            ctx.body = { error: err.message };
          }
        },
      },
    );
    const r = await h.request();
    assert.equal(r.status, 400);
    assert.deepEqual(JSON.parse(r.body), { error: SESSION_INTERRUPTED_MESSAGE });
  });

  it('52: flush() with an incoming cookie deletes it exactly, with Vary', async () => {
    const h = await harness(async (ctx) => {
      await ctx.session.flush();
      ctx.body = 'ok';
    });
    const key = h.seed();
    const r = await h.request('/', `sessionid=${key}`);
    assert.deepEqual(r.setCookie, [DELETED]);
    assert.equal(r.vary, 'Cookie');
    assert.equal(h.storage.rows.has(key), false);
  });

  it('53: the same with a custom domain and path', async () => {
    const h = await harness(
      async (ctx) => {
        await ctx.session.flush();
        ctx.body = 'ok';
      },
      { settings: { SESSION_COOKIE_DOMAIN: '.example.local', SESSION_COOKIE_PATH: '/example/' } },
    );
    const r = await h.request('/', `sessionid=${h.seed()}`);
    assert.deepEqual(r.setCookie, [
      'sessionid=""; Domain=.example.local; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/example/; SameSite=Lax',
    ]);
  });

  it('53b: the delete never carries HttpOnly or SESSION_COOKIE_SECURE; SameSite=None makes it Secure', async () => {
    const flush: Middleware = async (ctx) => {
      await ctx.session.flush();
      ctx.body = 'ok';
    };
    const secure = await harness(flush, { settings: { SESSION_COOKIE_SECURE: true, SESSION_COOKIE_HTTPONLY: true } });
    assert.deepEqual((await secure.request('/', 'sessionid=whatever1')).setCookie, [DELETED]);
    const none = await harness(flush, { settings: { SESSION_COOKIE_SAMESITE: 'None' } });
    assert.deepEqual((await none.request('/', 'sessionid=whatever1')).setCookie, [
      'sessionid=""; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/; SameSite=None; Secure',
    ]);
  });

  it('54: flush() with no incoming cookie: no cookie at all, but Vary', async () => {
    const h = await harness(async (ctx) => {
      await ctx.session.flush();
      ctx.body = 'ok';
    });
    const r = await h.request();
    assert.deepEqual(r.setCookie, []);
    assert.equal(r.vary, 'Cookie');
  });

  it('55: a session emptied but keeping its key is saved as {} and the cookie re-sent', async () => {
    const h = await harness(async (ctx) => {
      await ctx.session.pop('a');
      ctx.body = 'ok';
    });
    const key = h.seed([['a', 1]]);
    const r = await h.request('/', `sessionid=${key}`);
    assert.equal(sessionCookie(r), SAVED);
    assert.equal(keyOf(r), key);
    assert.equal(h.storage.rows.get(key)!.data.size, 0);
    assert.equal(r.vary, 'Cookie');
  });
});

describe('errors thrown by the handler', () => {
  for (const version of VERSIONS) {
    it(`${version}: a plain Error is a 500: no save, no session cookie, the error still reaches Koa`, async () => {
      const boom = new Error('boom');
      const h = await harness(
        async (ctx) => {
          await ctx.session.set('a', 'changed');
          throw boom;
        },
        { version },
      );
      const key = h.seed([['a', 'orig']]);
      const r = await h.request('/', `sessionid=${key}`);
      assert.equal(r.status, 500);
      assert.equal(r.body, 'Internal Server Error');
      assert.deepEqual(r.setCookie, []);
      assert.equal(r.vary, 'Cookie'); // Django varies the 500 response: the session was accessed
      assert.equal(h.storage.rows.get(key)!.data.get('a'), 'orig');
      assert.deepEqual(h.errors, [boom]);
    });

    it(`${version}: a 500 after reading a stale cookie still deletes it, as Django does on its 500 response`, async () => {
      const h = await harness(
        async (ctx) => {
          await ctx.session.get('a');
          throw new Error('boom');
        },
        { version },
      );
      const r = await h.request('/', `sessionid=${STALE_KEY}`);
      assert.equal(r.status, 500);
      assert.deepEqual(r.setCookie, [DELETED]);
      assert.equal(r.vary, 'Cookie');
    });

    it(`${version}: ctx.throw(503) saves on 3.2 only (Django sees a 503 response)`, async () => {
      const h = await harness(
        async (ctx) => {
          await ctx.session.set('a', 'changed');
          ctx.throw(503);
        },
        { version },
      );
      const key = h.seed([['a', 'orig']]);
      const r = await h.request('/', `sessionid=${key}`);
      assert.equal(r.status, 503);
      const saved = version === '3.2';
      assert.equal(h.storage.rows.get(key)!.data.get('a'), saved ? 'changed' : 'orig');
      assert.equal(r.setCookie.length, saved ? 1 : 0);
    });
  }

  it('ctx.throw(404) saves like an Http404 in Django, and the cookie survives Koa\'s error handler', async () => {
    const h = await harness(async (ctx) => {
      await ctx.session.set('a', 1);
      ctx.set('Vary', 'Accept');
      ctx.throw(404, 'nope', { headers: { Vary: 'Accept-Language', 'Set-Cookie': 'other=1; Path=/' } });
    });
    const r = await h.request();
    assert.equal(r.status, 404);
    assert.equal(r.body, 'nope');
    assert.deepEqual(r.setCookie.length, 2);
    assert.equal(r.setCookie[0], 'other=1; Path=/');
    assert.equal(sessionCookie(r), SAVED);
    assert.equal(r.vary, 'Accept-Language, Cookie');
    assert.equal(h.storage.rows.size, 1);
  });

  it('an outer error handler that renders the error keeps the session headers', async () => {
    const h = await harness(
      async (ctx) => {
        await ctx.session.set('a', 1);
        ctx.throw(403);
      },
      {
        outer: async (ctx, next) => {
          try {
            await next();
          } catch (e) {
            ctx.status = (e as { status: number }).status;
            ctx.body = { error: 'denied' };
          }
        },
      },
    );
    const r = await h.request();
    assert.equal(r.status, 403);
    assert.equal(sessionCookie(r), SAVED);
    assert.equal(r.vary, 'Cookie');
  });

  it('a failing save on the way out reports the handler\'s own error too', async () => {
    const original = new Error('first');
    const h = await harness(
      async (ctx) => {
        await ctx.session.set('a', 1);
        await ctx.session.save();
        await ctx.session.deleteSession();
        const e = Object.assign(original, { status: 404, expose: true });
        throw e;
      },
    );
    const r = await h.request();
    assert.equal(r.status, 400);
    assert.equal(h.errors[0], original);
    assert.ok(h.errors[1] instanceof SessionInterrupted);
  });
});

describe('Vary and other cookies', () => {
  const withVary = (vary: string): Middleware => async (ctx) => {
    ctx.set('Vary', vary);
    await ctx.session.get('a');
    ctx.body = 'ok';
  };
  for (const [existing, expected] of [
    ['Accept-Encoding', 'Accept-Encoding, Cookie'],
    ['Accept-Encoding, cookie', 'Accept-Encoding, cookie'],
    ['Accept ,Origin', 'Accept, Origin, Cookie'],
    ['*', '*'],
  ] as const) {
    it(`merges into an existing "Vary: ${existing}"`, async () => {
      const h = await harness(withVary(existing));
      assert.equal((await h.request()).vary, expected);
    });
  }

  it('keeps the handler\'s other cookies (Koa ctx.cookies.set and raw headers)', async () => {
    const h = await harness(async (ctx) => {
      ctx.cookies.set('csrftoken', 'abc', { httpOnly: false });
      ctx.append('Set-Cookie', 'theme=dark; Path=/');
      await ctx.session.set('a', 1);
      ctx.body = 'ok';
    });
    const r = await h.request();
    assert.equal(r.setCookie.length, 3);
    assert.match(r.setCookie[0]!, /^csrftoken=abc; /);
    assert.equal(r.setCookie[1], 'theme=dark; Path=/');
    assert.equal(sessionCookie(r), SAVED);
  });
});

describe('hostile Cookie headers give an anonymous session, never a 5xx', () => {
  const writeOrRead: Middleware = async (ctx) => {
    const before = await ctx.session.get('a');
    await ctx.session.set('seen', true);
    ctx.body = JSON.stringify(before);
  };

  for (const [label, cookie] of [
    ['tampered key', 'sessionid=seed0000000000000000000000000000x'],
    ['quoted garbage', 'sessionid="\\377\\"\\;;;==="; a'],
    ['oversized', `sessionid=${'x'.repeat(8000)}`],
    ['high bytes (invalid UTF-8)', 'sessionid=\xff\xfe\xc3(; \t\xa0'],
    ['no equals sign', 'sessionid'],
    ['only separators', ';;;==;'],
  ] as const) {
    it(`${label}: a fresh session and a new cookie`, async () => {
      const h = await harness(writeOrRead);
      h.seed([['a', 'secret']]);
      const r = await h.request('/', cookie);
      assert.equal(r.status, 200);
      assert.equal(r.body, 'null');
      assert.equal(sessionCookie(r), SAVED);
    });
  }

  it('duplicated cookie: the last one wins, as in Django', async () => {
    const h = await harness(writeOrRead);
    const key = h.seed([['a', 'secret']]);
    assert.equal((await h.request('/', `sessionid=${key}; sessionid=${STALE_KEY}`)).body, 'null');
    assert.equal((await h.request('/', `sessionid=${STALE_KEY}; sessionid=${key}`)).body, '"secret"');
    assert.equal((await h.request('/', `sessionid="${key}"`)).body, '"secret"'); // _unquote
  });

  it('a Cookie header beyond Node\'s header limit is refused with 431, not a 5xx', async () => {
    const h = await harness(writeOrRead);
    const r = await h.request('/', `sessionid=${'y'.repeat(20_000)}`);
    assert.equal(r.status, 431);
  });
});
