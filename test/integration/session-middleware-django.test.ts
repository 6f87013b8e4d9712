/**
 * Differential: Django's own SessionMiddleware + db engine (test/django_mw/server.py, under Django
 * 3.2, 4.2 and 5.2) against our sessionMiddleware + db backend, on the same SQLite file.
 *
 * Every scenario is a short sequence of requests (operations on the session, a status, an error, a
 * Cookie header, settings overrides). Each sequence is run four ways: all on Django, all on Node,
 * and alternating Django→Node→… and Node→Django→…, each with its own cookie jar. After every step we
 * record the status, the body (for 200s), the Set-Cookie headers (session keys and dates aside; the
 * dates are checked against Max-Age instead), Vary, and what the database holds under the cookie the
 * client now has and under the key it sent. All four records must be equal: the same answers, and
 * sessions that each side can continue.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import Koa, { type Middleware } from 'koa';

import { loadSettings, type Settings } from '../../src/config.ts';
import { openDatabase, type Database } from '../../src/db/connection.ts';
import { Timedelta } from '../../src/db/datetime.ts';
import { appendSetCookie, formatSetCookie, sessionMiddleware } from '../../src/koa/index.ts';
import type { PyValue } from '../../src/pyjson/types.ts';
import { createSessionStoreFactory, type SessionStoreFactory } from '../../src/sessions/backends/db.ts';
import {
  availableDjangoVersions,
  DJANGO_SERIES,
  DjangoNotSetUpError,
  djangoSitePackages,
  SYSTEM_PYTHON,
  type DjangoSeries,
} from '../support/django-oracle.ts';

const SECRET_KEY = 'django-insecure-middleware-differential-key';
const STALE = 'zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz';

type Overrides = Partial<Pick<Settings,
  | 'SESSION_COOKIE_NAME' | 'SESSION_COOKIE_DOMAIN' | 'SESSION_COOKIE_PATH' | 'SESSION_COOKIE_SECURE'
  | 'SESSION_COOKIE_HTTPONLY' | 'SESSION_COOKIE_SAMESITE' | 'SESSION_SAVE_EVERY_REQUEST'
  | 'SESSION_EXPIRE_AT_BROWSER_CLOSE' | 'SESSION_COOKIE_AGE'>>;

interface Step {
  /** Comma-separated operations, see test/django_mw/server.py. */
  ops: string;
  /**
   * The Cookie header. Default: the jar. `{jar}` is the jar's session key (or nothing), `{expired}`
   * the key of a freshly inserted expired row; `null` sends no Cookie header.
   */
  cookie?: string | null;
  settings?: Overrides;
}

interface Scenario {
  name: string;
  steps: Step[];
}

const every: Overrides = { SESSION_SAVE_EVERY_REQUEST: true };

const SCENARIOS: Scenario[] = [
  { name: 'no cookie, untouched', steps: [{ ops: '' }] },
  { name: 'write, read, write more', steps: [{ ops: 'write:a=1' }, { ops: 'read:a' }, { ops: 'write:b=2,read:a,read:b' }] },
  { name: 'valid cookie, untouched', steps: [{ ops: 'write:a=1' }, { ops: '' }] },
  { name: 'stale cookie, read', steps: [{ ops: 'read:a', cookie: `sessionid=${STALE}` }] },
  { name: 'expired row, read', steps: [{ ops: 'read:a', cookie: 'sessionid={expired}' }] },
  { name: 'stale cookie, write', steps: [{ ops: 'write:a=1', cookie: `sessionid=${STALE}` }, { ops: 'read:a' }] },
  { name: 'stale cookie, SAVE_EVERY_REQUEST, untouched', steps: [{ ops: '', cookie: `sessionid=${STALE}`, settings: every }, { ops: 'read:a' }] },
  { name: 'valid cookie, SAVE_EVERY_REQUEST, untouched', steps: [{ ops: 'write:a=1' }, { ops: '', settings: every }] },
  { name: 'no cookie, SAVE_EVERY_REQUEST, untouched', steps: [{ ops: '', settings: every }] },
  { name: 'flush with a cookie', steps: [{ ops: 'write:a=1' }, { ops: 'flush' }] },
  { name: 'flush without a cookie', steps: [{ ops: 'flush' }] },
  { name: 'flush, then write', steps: [{ ops: 'write:a=1' }, { ops: 'flush,write:b=2' }, { ops: 'read:a,read:b' }] },
  {
    name: 'flush with a custom domain and path',
    steps: [
      { ops: 'write:a=1' },
      { ops: 'flush', settings: { SESSION_COOKIE_DOMAIN: '.example.local', SESSION_COOKIE_PATH: '/example/' } },
    ],
  },
  { name: 'emptied session keeps its key', steps: [{ ops: 'write:a=1' }, { ops: 'pop:a' }, { ops: 'read:a' }] },
  { name: 'clear() on a stored session', steps: [{ ops: 'write:a=1' }, { ops: 'clear' }] },
  { name: 'set_expiry(0)', steps: [{ ops: 'write:a=1,expiry:0' }, { ops: 'write:b=1' }] },
  { name: 'set_expiry(60)', steps: [{ ops: 'write:a=1,expiry:60' }, { ops: 'read:a' }] },
  { name: 'EXPIRE_AT_BROWSER_CLOSE', steps: [{ ops: 'write:a=1', settings: { SESSION_EXPIRE_AT_BROWSER_CLOSE: true } }] },
  { name: 'SESSION_COOKIE_AGE', steps: [{ ops: 'write:a=1', settings: { SESSION_COOKIE_AGE: 3600 } }] },
  {
    name: 'Secure, no HttpOnly, SameSite=Strict',
    steps: [{ ops: 'write:a=1', settings: { SESSION_COOKIE_SECURE: true, SESSION_COOKIE_HTTPONLY: false, SESSION_COOKIE_SAMESITE: 'Strict' } }],
  },
  { name: 'no SameSite', steps: [{ ops: 'write:a=1', settings: { SESSION_COOKIE_SAMESITE: null } }] },
  {
    name: '__Secure- name and SameSite=None on delete',
    steps: [
      { ops: 'write:a=1', settings: { SESSION_COOKIE_NAME: '__Secure-sid', SESSION_COOKIE_SAMESITE: 'None' } },
      { ops: 'flush', settings: { SESSION_COOKIE_NAME: '__Secure-sid', SESSION_COOKIE_SAMESITE: 'None' } },
    ],
  },
  ...[500, 502, 503, 404, 302].map((status) => ({
    name: `status ${status} after a write`,
    steps: [{ ops: 'write:a=1' }, { ops: `write:a=2,status:${status}` }, { ops: 'read:a' }],
  })),
  { name: 'new session and a 503', steps: [{ ops: 'write:a=1,status:503' }] },
  { name: 'raise after a write', steps: [{ ops: 'write:a=1' }, { ops: 'write:a=2,raise' }, { ops: 'read:a' }] },
  { name: 'raise after reading a stale cookie', steps: [{ ops: 'read:a,raise', cookie: `sessionid=${STALE}` }] },
  { name: 'raise with a stale cookie, untouched', steps: [{ ops: 'raise', cookie: `sessionid=${STALE}` }] },
  { name: 'Http404 after a write', steps: [{ ops: 'write:a=1,raise404' }, { ops: 'read:a' }] },
  { name: 'session deleted before the end (must_create)', steps: [{ ops: 'write:a=1,savecreate,delete' }] },
  { name: 'session deleted before the end (stored)', steps: [{ ops: 'write:a=1' }, { ops: 'write:b=2,delete' }] },
  { name: 'session deleted before a 500', steps: [{ ops: 'write:a=1' }, { ops: 'write:b=2,delete,status:500' }] },
  { name: 'cycle_key', steps: [{ ops: 'write:a=1' }, { ops: 'cycle' }, { ops: 'read:a' }] },
  { name: 'explicit save', steps: [{ ops: 'write:a=1,save' }, { ops: 'write:b=2,save,read:a' }] },
  { name: 'Vary merged into Accept-Encoding', steps: [{ ops: 'vary:Accept-Encoding,write:a=1' }] },
  { name: 'Vary already naming cookie', steps: [{ ops: 'write:a=1' }, { ops: 'vary:Accept, cookie,read:a' }] },
  { name: 'Vary *', steps: [{ ops: 'vary:*,read:a' }] },
  { name: 'another cookie beside the session cookie', steps: [{ ops: 'cookie:csrftoken=abc,write:a=1' }, { ops: 'cookie:theme=dark,flush' }] },
  { name: 'short key, untouched', steps: [{ ops: '', cookie: 'sessionid=short' }] },
  { name: 'empty value, read', steps: [{ ops: 'read:a', cookie: 'sessionid=' }] },
  { name: 'no "=" in the chunk', steps: [{ ops: 'read:a', cookie: 'sessionid' }] },
  { name: 'quoted garbage, write', steps: [{ ops: 'write:a=1', cookie: 'sessionid="\\377\\"x;;==; a=b' }] },
  { name: 'quoted valid key', steps: [{ ops: 'write:a=1' }, { ops: 'read:a', cookie: 'sessionid="{jar}"' }] },
  { name: 'high bytes', steps: [{ ops: 'read:a', cookie: 'sessionid=\xc3\xa9\xff\xfe12345678' }] },
  { name: 'oversized value', steps: [{ ops: 'write:a=1', cookie: `sessionid=${'q'.repeat(4000)}` }] },
  { name: 'duplicate: stale last', steps: [{ ops: 'write:a=1' }, { ops: 'read:a', cookie: `sessionid={jar}; sessionid=${STALE}` }] },
  { name: 'duplicate: valid last', steps: [{ ops: 'write:a=1' }, { ops: 'read:a', cookie: `sessionid=${STALE}; sessionid={jar}` }] },
  { name: 'whitespace around the name', steps: [{ ops: 'write:a=1' }, { ops: 'read:a', cookie: ' \tsessionid \t= {jar} ;x' }] },
];

// ---------------------------------------------------------------------------------------------
// The two servers

interface Target {
  url: string;
}

interface DjangoServer extends Target {
  version: string;
  stop(): Promise<void>;
}

async function startDjango(series: DjangoSeries, dbFile: string): Promise<DjangoServer> {
  if (!availableDjangoVersions().includes(series)) throw new DjangoNotSetUpError(series);
  const child: ChildProcess = spawn(SYSTEM_PYTHON, ['test/django_mw/server.py', dbFile, SECRET_KEY], {
    env: { ...process.env, PYTHONPATH: djangoSitePackages(series), PYTHONDONTWRITEBYTECODE: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const lines = createInterface({ input: child.stdout! });
  const first = await new Promise<string>((resolve, reject) => {
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`Django ${series} exited with ${code}:\n${stderr}`)));
  });
  const { port, django } = JSON.parse(first) as { port: number; django: string };
  return {
    url: `http://127.0.0.1:${port}`,
    version: django,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** The same operations as server.py's view, on our middleware. */
const opsHandler: Middleware = async (ctx) => {
  const seen: PyValue[] = [];
  let status = 200;
  const later: [string, string][] = [];
  const s = ctx.session;
  for (const op of String(ctx.query.ops ?? '').split(',').filter(Boolean)) {
    const colon = op.indexOf(':');
    const name = colon < 0 ? op : op.slice(0, colon);
    const arg = colon < 0 ? '' : op.slice(colon + 1);
    const [k, v] = [arg.split('=', 1)[0]!, arg.slice(arg.indexOf('=') + 1)];
    switch (name) {
      case 'read': seen.push(await s.get(arg)); break;
      case 'write': await s.set(k, v); break;
      case 'pop': await s.pop(arg, null); break;
      case 'clear': s.clear(); break;
      case 'flush': await s.flush(); break;
      case 'cycle': await s.cycleKey(); break;
      case 'expiry': await s.setExpiry(Number.parseInt(arg, 10)); break;
      case 'save': await s.save(); break;
      case 'savecreate': await s.save({ mustCreate: true }); break;
      case 'delete': await s.deleteSession(); break;
      case 'status': status = Number(arg); break;
      case 'vary': case 'cookie': later.push([name, arg]); break;
      case 'raise': throw new Error('boom');
      case 'raise404': ctx.throw(404, 'nope'); break;
      default: ctx.status = 418; ctx.body = `unknown op ${op}`; return;
    }
  }
  ctx.status = status;
  ctx.type = 'application/json';
  ctx.body = JSON.stringify(seen);
  for (const [name, arg] of later) {
    if (name === 'vary') ctx.set('Vary', arg);
    else {
      const [k, v] = [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)];
      appendSetCookie(ctx.res, k, formatSetCookie(k, v));
    }
  }
};

interface NodeServer extends Target {
  stop(): Promise<void>;
}

async function startNode(base: Settings, db: Database): Promise<NodeServer> {
  const variants = new Map<string, Middleware>();
  const app = new Koa();
  app.on('error', () => {}); // the 500s and 400s are expected; Koa would log them
  app.use(async (ctx, next) => {
    const raw = ctx.get('X-Dsb-Settings') || '{}';
    let handle = variants.get(raw);
    if (!handle) {
      const settings: Settings = { ...base, ...(JSON.parse(raw) as Overrides) };
      const session = sessionMiddleware({ settings, createStore: createSessionStoreFactory({ db, settings }) });
      handle = (c, n) => session(c, () => opsHandler(c, n));
      variants.set(raw, handle);
    }
    return handle(ctx, next);
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

// ---------------------------------------------------------------------------------------------
// Running a scenario

interface StepRecord {
  status: number;
  body?: unknown;
  setCookie: string[];
  vary: string | null;
  /** The row under the session cookie the client holds after the step. */
  row: { data: [string, PyValue][]; expiresInMinutes: number } | null;
  /** For each session key the request sent, whether a row still exists under it. */
  sentKeyRows: boolean[];
}

/** Replace session keys by <key> and dates by <date> after checking them against Max-Age. */
function normalizeSetCookie(header: string, names: ReadonlySet<string>, responseTime: number): string {
  let out = header.trim();
  const m = /^([^=]+)=([a-z0-9]{32})(;|$)/.exec(out);
  if (m && names.has(m[1]!)) out = `${m[1]}=<key>${out.slice(m[1]!.length + 33)}`;
  const expires = /; expires=([^;]+)/.exec(out);
  if (expires && expires[1] !== 'Thu, 01 Jan 1970 00:00:00 GMT') {
    const maxAge = /; Max-Age=(-?\d+)/.exec(out);
    assert.ok(maxAge, `expires without Max-Age: ${header}`);
    const drift = Date.parse(expires[1]!) - (responseTime + Number(maxAge[1]) * 1000);
    assert.ok(Math.abs(drift) <= 3000, `expires ${expires[1]} is ${drift} ms away from now + Max-Age in ${header}`);
    out = out.replace(expires[1]!, '<date>');
  }
  return out;
}

class Jar {
  private readonly cookies = new Map<string, string>();
  header(): string | undefined {
    return this.cookies.size === 0 ? undefined : [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
  get(name: string): string | undefined {
    return this.cookies.get(name);
  }
  apply(setCookies: string[]): void {
    for (const c of setCookies) {
      const [pair] = c.split(';', 1);
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1);
      if (/;\s*Max-Age=0(;|$)/i.test(c)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }
}

async function runScenario(scenario: Scenario, targets: (step: number) => Target, factory: SessionStoreFactory, names: ReadonlySet<string>): Promise<StepRecord[]> {
  const jar = new Jar();
  const records: StepRecord[] = [];
  for (const [i, step] of scenario.steps.entries()) {
    const cookieName = step.settings?.SESSION_COOKIE_NAME ?? 'sessionid';
    let cookie: string | undefined;
    if (step.cookie === null) cookie = undefined;
    else if (step.cookie === undefined) cookie = jar.header();
    else {
      cookie = step.cookie.replace('{jar}', jar.get('sessionid') ?? '');
      if (cookie.includes('{expired}')) {
        const key = `expired${String(Math.random()).slice(2, 12).padEnd(25, '0')}`;
        await factory.objects.save(key, new Map([['a', 'old']]), factory.timezone.now().plus(Timedelta.ofSeconds(-60)));
        cookie = cookie.replace('{expired}', key);
      }
    }
    const sentKeys = cookie === undefined ? [] : [...cookie.matchAll(/[a-z0-9]{32}/g)].map((m) => m[0]);
    const headers: Record<string, string> = {};
    if (cookie !== undefined) headers.Cookie = cookie;
    if (step.settings) headers['X-Dsb-Settings'] = JSON.stringify(step.settings);
    const response = await fetch(`${targets(i).url}/run?ops=${encodeURIComponent(step.ops)}`, { headers, redirect: 'manual' });
    const responseTime = Date.now();
    const body = await response.text();
    const setCookies = response.headers.getSetCookie();
    jar.apply(setCookies);
    const held = jar.get(cookieName);
    const row = held === undefined ? null : await factory.objects.get(held);
    records.push({
      status: response.status,
      ...(response.status === 200 ? { body: JSON.parse(body) as unknown } : {}),
      setCookie: setCookies.map((c) => normalizeSetCookie(c, names, responseTime)),
      vary: response.headers.get('vary'),
      row: row && {
        data: [...row.getDecoded()],
        expiresInMinutes: Math.round((row.expireDate.epochMicros() / 1000 - responseTime) / 60_000),
      },
      sentKeyRows: await Promise.all(sentKeys.map(async (key) => (await factory.objects.get(key)) !== null)),
    });
  }
  return records;
}

// ---------------------------------------------------------------------------------------------

for (const series of DJANGO_SERIES) {
  describe(`SessionMiddleware: ours vs Django ${series} on one SQLite file`, () => {
    let dir: string;
    let django: DjangoServer;
    let node: NodeServer;
    let db: Database;
    let factory: SessionStoreFactory;

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'dsb-mw-'));
      const dbFile = join(dir, 'db.sqlite3');
      django = await startDjango(series, dbFile); // migrates the sessions app into the file
      const settings = loadSettings({ SECRET_KEY, DJANGO_VERSION: series, USE_TZ: 'True', TIME_ZONE: 'UTC', DATABASE_URL: `sqlite:${dbFile}` });
      db = openDatabase(settings.DATABASE_URL!, settings);
      factory = createSessionStoreFactory({ db, settings });
      node = await startNode(settings, db);
    });

    after(async () => {
      await node?.stop();
      await django?.stop();
      await db?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('runs the matching Django series', () => {
      assert.equal(django.version.split('.').slice(0, 2).join('.'), series);
    });

    const names = new Set(['sessionid', '__Secure-sid']);
    for (const scenario of SCENARIOS) {
      it(scenario.name, async () => {
        const onDjango = await runScenario(scenario, () => django, factory, names);
        const onNode = await runScenario(scenario, () => node, factory, names);
        assert.deepEqual(onNode, onDjango, 'Node alone vs Django alone');
        const djangoFirst = await runScenario(scenario, (i) => (i % 2 === 0 ? django : node), factory, names);
        assert.deepEqual(djangoFirst, onDjango, 'Django, Node, Django… vs Django alone');
        const nodeFirst = await runScenario(scenario, (i) => (i % 2 === 0 ? node : django), factory, names);
        assert.deepEqual(nodeFirst, onDjango, 'Node, Django, Node… vs Django alone');
      });
    }
  });
}
