/**
 * `npm run bench:http`: requests per second on `GET /user/test1` and `GET /auth/whoami` with a
 * valid session, for three servers per session engine, all in one run:
 *
 *   ours      `serve` (src/cli/commands/serve.ts, what `npm start` runs): one Node process
 *   Django    the reference site (test/django_site/) under gunicorn, 2 sync workers
 *   ceiling   bench/ceiling-server.ts: bare Koa doing only the session-store I/O the engine cannot
 *             avoid (bench/lib/ceiling-sessions.ts) and the auth_user point query
 *
 * Engines (DSB_BENCH_ENGINES, default all): `db` (django_session on MariaDB), `cache` (Redis),
 * `cached_db` (Redis in front of django_session) and `signed_cookies` (the cookie itself). Each
 * engine gets its own server of ours, its own Django site and (except cached_db next to cache, see
 * bench/lib/bench-engines.ts) its own ceiling, all on one MariaDB database and one Redis key prefix.
 *
 * Goals: ours ≥ 5× Django on every engine and route (issues 4 and 7); ≥ 85 % of the ceiling on db
 * (issue 4). Also reported: server CPU per request, p50/p99 latency of ours at half its peak rate
 * under open-loop load (bench/lib/open-loop.ts), and peak resident memory (VmHWM).
 *
 * All servers run on one core and the load generators on another (bench/lib/pinning.ts); wrk runs
 * with the same threads and connections against each. Each round measures every route on every
 * server of every engine (the order rotating between rounds, so drift in the machine's load hits all
 * alike); the table shows the median of the rounds. Ratios are the result; the absolute numbers
 * depend on the machine.
 *
 * Set-up: a scratch database dsb_bench_http_<random> and, for cache/cached_db, a scratch Redis key
 * prefix (CACHE_KEY_PREFIX) on REDIS_URL; Django's `migrate` (the first site's start runs it) then
 * ours (which leave Django's tables alone); a tutorial user via POST /user/reg and a contrib.auth
 * superuser via `manage.py createsuperuser`. Per engine, both users log in on our server of that
 * engine, and the two cookies are used for all its servers (one store, one session format: that is
 * the point of this project). Every server's answer to both cookies is checked before measuring. The
 * tutorial login expires after 300 s, so it is renewed (when 2 minutes old) before an engine's block
 * of each round. Servers, database and Redis keys are removed at the end, also on Ctrl-C.
 *
 * Env:
 *   MARIADB_URL                   the server (default: scripts/db/start-mariadb.sh is run, its URL used)
 *   REDIS_URL                     the Redis for cache/cached_db (default: scripts/db/start-redis.sh)
 *   DSB_BENCH_ENGINES             which engines: db, cache, cached_db, signed_cookies (default all)
 *   DSB_BENCH_DJANGO              Django series for the reference site and DJANGO_VERSION (default 5.2)
 *   DSB_BENCH_CACHE_BACKEND       django_redis or django (Django's RedisCache) for both servers
 *                                 (default: django_redis with 3.2, django otherwise, as our config)
 *   DSB_BENCH_ROUNDS              rounds (default 3)
 *   DSB_BENCH_SECONDS             seconds per wrk measurement on db (default 5)
 *   DSB_BENCH_WARMUP_SECONDS      wrk warm-up per server and route on db, not recorded (default 2)
 *   DSB_BENCH_OPEN_LOOP_SECONDS   measured seconds at half peak, per route, on db (default 6, after 1 s warm-up)
 *   DSB_BENCH_ENGINE_SECONDS      the other engines: seconds per wrk measurement and open-loop seconds
 *                                 (default 3; their warm-up is 1 s), so a run of all four stays near 6 min
 *   DSB_BENCH_OPEN_LOOP_ENGINES   the engines whose open-loop latency is measured (default db)
 *   DSB_BENCH_CONNECTIONS         wrk -c, and the open-loop generator's connections (default 32)
 *   DSB_BENCH_THREADS             wrk -t (default 1)
 *   DSB_BENCH_ROUTES              which routes: test1, whoami or both (default test1,whoami)
 *   DSB_BENCH_PROFILE=1           run our servers and the ceilings under `node --cpu-prof` and print where
 *                                 their CPU went during their wrk runs (file:line mapped to the .ts source)
 *   DSB_BENCH_SETUP_ONLY=1        set everything up, print the servers' URLs, pids and cookies, and wait
 *                                 for Ctrl-C (then clean up): for measuring or profiling by hand
 *   DSB_BENCH_PIN, DSB_BENCH_SERVER_CPU, DSB_BENCH_LOAD_CPU, DSB_BENCH_NICE   see bench/lib/pinning.ts
 *   LOG_LEVEL                     passed to our servers (default info: one access line per request, as
 *                                 gunicorn writes its access log; both go to files under .run/)
 *
 * Exit status: 0 when the run completed (goals met or not; the table says), 1 when it could not run
 * or a measurement was invalid (a server answered anything but 2xx under load).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { runMigrations } from '../migrations/index.ts';
import { openDatabase, parseDatabaseUrl } from '../src/db/connection.ts';
import type { DjangoVersion } from '../src/config.ts';
import { ceilingOwners, engineSettings, selectedEngines, type BenchEngine, type EngineName, type SharedCache } from './lib/bench-engines.ts';
import { cleanUpOnSignals, interruptedBy, onCleanup, runCleanup } from './lib/cleanup.ts';
import { formatProfileSummary, monotonicMicros, summarizeCpuProfile, type ProfileWindow } from './lib/cpu-profile.ts';
import { cookieValue, httpRequest } from './lib/http-client.ts';
import { formatReport, SERVER_NAMES, type EngineSummary, type RouteName, type RouteSummary, type ServerName } from './lib/http-report.ts';
import type { OpenLoopResult } from './lib/open-loop.ts';
import { runOpenLoopProcess } from './lib/open-loop-runner.ts';
import { pinnedCommand, pinRunningProcesses, planCpus, type CpuPlan } from './lib/pinning.ts';
import { childPids, cpuSeconds, freePort, processMemory, runCommand, startServer, type ServerProcess } from './lib/processes.ts';
import { mariadbVersion, scratchDatabase, scratchRedis, serverUrl } from './lib/scratch-stores.ts';
import { median, rotate, spread } from './lib/stats.ts';
import { runWrk, type WrkResult } from './lib/wrk.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RUN_DIR = join(ROOT, '.run', 'bench-http');
const DJANGO_SITE = join(ROOT, 'scripts', 'django-site.sh');

function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, got "${raw}"`);
  return n;
}

const SERIES = (process.env.DSB_BENCH_DJANGO ?? '5.2') as DjangoVersion;
if (!['3.2', '4.2', '5.2'].includes(SERIES)) throw new Error(`DSB_BENCH_DJANGO must be 3.2, 4.2 or 5.2, got ${SERIES}`);
const ENGINES = selectedEngines(process.env.DSB_BENCH_ENGINES);
const CACHE_BACKEND = process.env.DSB_BENCH_CACHE_BACKEND || (SERIES === '3.2' ? 'django_redis' : 'django');
if (!['django_redis', 'django'].includes(CACHE_BACKEND)) throw new Error(`DSB_BENCH_CACHE_BACKEND must be django_redis or django, got ${CACHE_BACKEND}`);
const ROUNDS = envNumber('DSB_BENCH_ROUNDS', 3);
const CONNECTIONS = envNumber('DSB_BENCH_CONNECTIONS', 32);
const THREADS = envNumber('DSB_BENCH_THREADS', 1);
const PROFILE = process.env.DSB_BENCH_PROFILE === '1';

interface Timing {
  /** Seconds per recorded wrk run. */
  readonly seconds: number;
  /** Seconds of wrk per server and route before the rounds, not recorded. */
  readonly warmupSeconds: number;
  /** Measured open-loop seconds per route (after 1 s at the same rate), or 0 for no open-loop run. */
  readonly openLoopSeconds: number;
}

/**
 * db keeps issue 4's timings; the other engines get shorter runs, and an open-loop run only when
 * asked for, so that all four fit in about 6 minutes.
 */
const OPEN_LOOP_ENGINES = selectedEngines(process.env.DSB_BENCH_OPEN_LOOP_ENGINES || 'db').map((e) => e.name);
const ENGINE_SECONDS = envNumber('DSB_BENCH_ENGINE_SECONDS', 3);
function timingOf(engine: BenchEngine): Timing {
  const db = engine.name === 'db';
  const openLoopSeconds = db ? envNumber('DSB_BENCH_OPEN_LOOP_SECONDS', 6) : ENGINE_SECONDS;
  const warmupSeconds = envNumber('DSB_BENCH_WARMUP_SECONDS', 2);
  return {
    seconds: db ? envNumber('DSB_BENCH_SECONDS', 5) : ENGINE_SECONDS,
    warmupSeconds: db ? warmupSeconds : Math.min(1, warmupSeconds),
    openLoopSeconds: OPEN_LOOP_ENGINES.includes(engine.name) ? openLoopSeconds : 0,
  };
}

const SECRET_KEY = `bench-http-${randomBytes(16).toString('hex')}`;
const TUTORIAL_USER = { name: 'bench', email: 'bench@example.com', password: 'bench-password-1' };
const AUTH_USER = { username: 'bench', email: 'bench@example.com', password: 'bench-password-2' };
/** Gunicorn's worker count for the reference site (the contract). */
const DJANGO_WORKERS = 2;
/** Settings the sites (and the ceiling) read; cleared so only what this benchmark sets applies. */
const SITE_SETTINGS = [
  'SECRET_KEY_FALLBACKS', 'SESSION_COOKIE_AGE', 'SESSION_EXPIRE_AT_BROWSER_CLOSE', 'SESSION_SAVE_EVERY_REQUEST',
  'SESSION_COOKIE_SECURE', 'SESSION_COOKIE_SAMESITE', 'SESSION_COOKIE_DOMAIN', 'SESSION_COOKIE_PATH',
  'SESSION_COOKIE_NAME', 'SESSION_ENGINE', 'DEFAULT_HASHING_ALGORITHM', 'AUTHENTICATION_BACKENDS', 'DSB_TEST_HOOKS',
  'CACHE_URL', 'CACHE_BACKEND', 'CACHE_KEY_PREFIX', 'CACHE_VERSION', 'CACHE_PICKLE_PROTOCOL', 'CEILING_SESSION_ENGINE',
  'PORT', 'HOST',
];

interface Route {
  readonly name: RouteName;
  readonly path: string;
  /** What every server must answer with the benchmark's cookie. */
  readonly expectBody: (authUserId: number) => string;
}

const ALL_ROUTES: readonly Route[] = [
  { name: 'test1', path: '/user/test1', expectBody: () => 'test1 ok' },
  { name: 'whoami', path: '/auth/whoami', expectBody: (id) => `{"id": ${id}, "username": "${AUTH_USER.username}"}` },
];

/** DSB_BENCH_ROUTES=test1,whoami (default both): e.g. one route alone under DSB_BENCH_PROFILE=1. */
function selectedRoutes(): readonly Route[] {
  const raw = process.env.DSB_BENCH_ROUTES;
  if (raw === undefined || raw.trim() === '') return ALL_ROUTES;
  const names = raw.split(',').map((n) => n.trim());
  for (const n of names) {
    if (!ALL_ROUTES.some((r) => r.name === n)) throw new Error(`DSB_BENCH_ROUTES: unknown route "${n}" (test1, whoami)`);
  }
  return ALL_ROUTES.filter((r) => names.includes(r.name));
}
const ROUTES = selectedRoutes();

const STARTED = Date.now();
const log = (line: string): void => void process.stderr.write(`[bench:http ${((Date.now() - STARTED) / 1000).toFixed(0).padStart(3)} s] ${line}\n`);

// ---- Servers ------------------------------------------------------------------------------------

function siteEnv(databaseUrl: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of SITE_SETTINGS) delete env[name];
  return { ...env, DATABASE_URL: databaseUrl, SECRET_KEY, DJANGO_VERSION: SERIES, USE_TZ: 'True', TIME_ZONE: 'UTC', ...extra };
}

interface DjangoSite {
  url: string;
  port: number;
  masterPid: number;
}

/** The reference site on `settings` (its SESSION_ENGINE and CACHE_*), after `manage.py migrate` when `migrate`. */
async function startDjango(databaseUrl: string, cpus: CpuPlan, settings: Record<string, string>, migrate: boolean): Promise<DjangoSite> {
  const port = await freePort();
  // Several servers start at once, on a machine that may be busy: more than the script's 30 s.
  const env = siteEnv(databaseUrl, { ...settings, DJANGO_LOG_LEVEL: 'WARNING', DJANGO_SITE_TIMEOUT: '120' });
  const args = [DJANGO_SITE, 'start', '--version', SERIES, '--port', String(port), '--workers', String(DJANGO_WORKERS), ...(migrate ? [] : ['--no-migrate'])];
  // Started on any core (migrate and gunicorn's imports go faster), pinned once it answers.
  const start = pinnedCommand(null, 'bash', args, cpus.nice);
  onCleanup('stop the Django site', async () => {
    await runCommand('bash', [DJANGO_SITE, 'stop', '--port', String(port)], { cwd: ROOT, env, timeoutMs: 30_000 });
  });
  const { stdout } = await runCommand(start.command, start.args, { cwd: ROOT, env, timeoutMs: 180_000 });
  const url = stdout.trim().split('\n').pop() ?? '';
  const masterPid = Number(readFileSync(join(ROOT, '.run', `django-site-${port}.pid`), 'utf8').trim());
  // The master first: a worker it forks from now on inherits the core; then the workers it has.
  pinRunningProcesses(cpus.server, [masterPid]);
  pinRunningProcesses(cpus.server, childPids(masterPid));
  return { url, port, masterPid };
}

async function djangoVersion(): Promise<string> {
  const python = process.env.DJANGO_SITE_PYTHON ?? '/usr/bin/python3';
  const env = SERIES === '3.2' ? process.env : { ...process.env, PYTHONPATH: join(ROOT, '.cache', 'django', SERIES, 'usr', 'lib', 'python3', 'dist-packages') };
  return (await runCommand(python, ['-c', 'import django; print(django.get_version())'], { env })).stdout.trim();
}

async function createDjangoSuperuser(databaseUrl: string): Promise<void> {
  const env = siteEnv(databaseUrl, { DJANGO_SUPERUSER_PASSWORD: AUTH_USER.password, DJANGO_LOG_LEVEL: 'WARNING' });
  await runCommand(
    'bash',
    [DJANGO_SITE, 'manage', '--version', SERIES, '--', 'createsuperuser', '--noinput', '--username', AUTH_USER.username, '--email', AUTH_USER.email],
    { cwd: ROOT, env, timeoutMs: 120_000 },
  );
}

/** node's arguments for a TypeScript server, profiled into `profileDir` when given. */
function nodeArgs(profileDir: string | null): string[] {
  const args = ['--import', 'tsx'];
  if (profileDir !== null) {
    mkdirSync(profileDir, { recursive: true });
    args.push('--cpu-prof', `--cpu-prof-dir=${profileDir}`);
  }
  return args;
}

async function startOurs(databaseUrl: string, cpus: CpuPlan, profileDir: string | null, engine: BenchEngine, settings: Record<string, string>): Promise<ServerProcess> {
  const port = await freePort();
  const server = await startServer({
    name: `our server (${engine.name})`,
    // node directly, not `npm start` (npm and the tsx CLI would each add a parent process): the pid
    // is the server's own, for its memory.
    command: process.execPath,
    args: [...nodeArgs(profileDir), join(ROOT, 'src', 'cli', 'main.ts'), 'serve', '--host', '127.0.0.1', '--port', String(port)],
    env: siteEnv(databaseUrl, settings),
    cwd: ROOT,
    // Started on any core (tsx compiles at start-up), pinned once it answers.
    cpu: null,
    nice: cpus.nice,
    url: `http://127.0.0.1:${port}`,
    readyPath: '/user/test1',
    timeoutMs: 120_000,
    logFile: join(RUN_DIR, `ours-${engine.name}.log`),
  });
  pinRunningProcesses(cpus.server, [server.pid]);
  return server;
}

async function startCeiling(databaseUrl: string, cpus: CpuPlan, profileDir: string | null, engine: BenchEngine, settings: Record<string, string>): Promise<ServerProcess> {
  const port = await freePort();
  const server = await startServer({
    name: `ceiling server (${engine.name})`,
    command: process.execPath,
    args: [...nodeArgs(profileDir), join(ROOT, 'bench', 'ceiling-server.ts')],
    env: { ...siteEnv(databaseUrl, settings), CEILING_SESSION_ENGINE: engine.name, PORT: String(port), HOST: '127.0.0.1' },
    cwd: ROOT,
    // Started on any core (tsx compiles at start-up), pinned once it answers.
    cpu: null,
    nice: cpus.nice,
    url: `http://127.0.0.1:${port}`,
    readyPath: '/user/test1',
    timeoutMs: 120_000,
    logFile: join(RUN_DIR, `ceiling-${engine.name}.log`),
  });
  pinRunningProcesses(cpus.server, [server.pid]);
  return server;
}

// ---- Sessions -----------------------------------------------------------------------------------

async function registerTutorialUser(base: string): Promise<void> {
  const answer = await httpRequest(`${base}/user/reg`, { json: TUTORIAL_USER });
  if (answer.status !== 201) throw new Error(`POST /user/reg answered ${answer.status}: ${answer.body}`);
}

/** POST /user/login on our server: a fresh session (expiry 300 s); the `sessionid` cookie header. */
async function tutorialLogin(base: string): Promise<string> {
  const answer = await httpRequest(`${base}/user/login`, { json: { email: TUTORIAL_USER.email, password: TUTORIAL_USER.password } });
  const key = cookieValue(answer.setCookies, 'sessionid');
  if (answer.status !== 200 || !key) throw new Error(`POST /user/login answered ${answer.status} without a session cookie: ${answer.body}`);
  return `sessionid=${key}`;
}

/** POST /auth/login on our server; the cookie header and the user's id. */
async function authLogin(base: string): Promise<{ cookie: string; userId: number }> {
  const answer = await httpRequest(`${base}/auth/login`, { json: { username: AUTH_USER.username, password: AUTH_USER.password } });
  const key = cookieValue(answer.setCookies, 'sessionid');
  if (answer.status !== 200 || !key) throw new Error(`POST /auth/login answered ${answer.status} without a session cookie: ${answer.body}`);
  const { id } = JSON.parse(answer.body) as { id: number };
  return { cookie: `sessionid=${key}`, userId: id };
}

/** One engine's servers and cookies. */
interface EngineRun {
  readonly engine: BenchEngine;
  readonly timing: Timing;
  readonly ours: ServerProcess;
  readonly oursStartKiB: number | null;
  readonly django: DjangoSite;
  /** The ceiling process measured for this engine: its own, or its owner's (ceilingOwners). */
  readonly ceiling: ServerProcess;
  readonly ceilingOwner: EngineName;
  readonly cookies: Record<RouteName, string>;
  /** When the tutorial login behind `cookies.test1` was made (Date.now()). */
  test1LoggedInAt: number;
  readonly authUserId: number;
}

/**
 * The tutorial login lives 300 s (`set_expiry(300)`); renewed when older than this, before a block
 * of measurements that takes well under the remaining 180 s, and without a bcrypt login per
 * engine per round.
 */
const TUTORIAL_RENEW_MS = 120_000;

async function renewTutorialLogin(run: EngineRun): Promise<void> {
  if (Date.now() - run.test1LoggedInAt < TUTORIAL_RENEW_MS) return;
  run.test1LoggedInAt = Date.now();
  run.cookies.test1 = await tutorialLogin(run.ours.url);
}

/** The servers an engine's rounds measure (a borrowed ceiling is measured by its owner). */
function measuredServers(run: EngineRun): readonly ServerName[] {
  return SERVER_NAMES.filter((s) => s !== 'ceiling' || run.ceilingOwner === run.engine.name);
}

function baseOf(run: EngineRun, server: ServerName): string {
  return server === 'ours' ? run.ours.url : server === 'django' ? run.django.url : run.ceiling.url;
}

/** Whose CPU counts for a server: gunicorn's master and its workers (read at each run: a replaced worker is a new pid). */
function pidsOf(run: EngineRun, server: ServerName): number[] {
  if (server === 'django') return [run.django.masterPid, ...childPids(run.django.masterPid)];
  return [server === 'ours' ? run.ours.pid : run.ceiling.pid];
}

/** Every measured server must answer each route with the cookie exactly as the contract says. */
async function checkAnswers(run: EngineRun): Promise<void> {
  for (const route of ROUTES) {
    for (const server of measuredServers(run)) {
      const answer = await httpRequest(baseOf(run, server) + route.path, { cookie: run.cookies[route.name] });
      const want = route.expectBody(run.authUserId);
      if (answer.status !== 200 || answer.body !== want) {
        throw new Error(
          `${run.engine.name}: ${server} answered GET ${route.path} with ${answer.status} ${JSON.stringify(answer.body)}; expected 200 ${JSON.stringify(want)}`,
        );
      }
    }
  }
}

// ---- Measuring ----------------------------------------------------------------------------------

/** One wrk run, and the CPU the server's own processes used during it per answered request. */
interface Measurement extends WrkResult {
  serverCpuMicrosPerRequest: number;
}

type Measurements = Record<RouteName, Record<ServerName, Measurement[]>>;

function wrkFor(base: string, route: Route, cookie: string, seconds: number, cpus: CpuPlan): Promise<WrkResult> {
  return runWrk({ url: base + route.path, headers: { Cookie: cookie }, threads: THREADS, connections: CONNECTIONS, seconds, cpu: cpus.load, nice: cpus.nice });
}

/** Problems that make a measurement invalid (wrong answers) or worth a note (socket errors). */
function problemsOf(what: string, r: WrkResult): { invalid: string[]; notes: string[] } {
  const invalid: string[] = [];
  const notes: string[] = [];
  if (r.non2xx > 0) invalid.push(`${what}: ${r.non2xx} answers outside 2xx/3xx under load`);
  const e = r.socketErrors;
  if (e.connect + e.read + e.write + e.timeout > 0) {
    notes.push(`${what}: socket errors connect ${e.connect}, read ${e.read}, write ${e.write}, timeout ${e.timeout}`);
  }
  return { invalid, notes };
}

// ---- Main ---------------------------------------------------------------------------------------

/**
 * Print where a server's CPU went during its wrk runs. There is one profile per thread (tsx's
 * loader runs in a worker); the server's is the one that was busy in those windows.
 */
function printProfile(title: string, dir: string, windows: readonly ProfileWindow[], requests: number): void {
  const profiles = readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => ({ file: join(dir, f), summary: summarizeCpuProfile(join(dir, f), ROOT, windows) }))
    .sort((a, b) => b.summary.totalMs - b.summary.idleMs - (a.summary.totalMs - a.summary.idleMs));
  const main = profiles[0];
  if (main === undefined) process.stderr.write(`no .cpuprofile was written for ${title}\n`);
  else console.log(`\n${title} during its measured wrk runs (no set-up, no logins):\n${formatProfileSummary(main.summary, { requests })}\n  (${main.file})`);
}

/** The 1, 5 and 15 minute load averages, to show how busy the machine was. */
function loadAverage(): string {
  return loadavg()
    .map((x) => x.toFixed(1))
    .join(', ');
}

interface Stores {
  databaseUrl: string;
  mariadb: string;
  cache: SharedCache | null;
  /** For the report. */
  redis: string | null;
}

async function scratchStores(): Promise<Stores> {
  const mariadbUrl = await serverUrl(ROOT, 'MARIADB_URL', 'start-mariadb.sh', log);
  if (parseDatabaseUrl(mariadbUrl).dialect !== 'mysql') throw new Error('bench:http runs on MariaDB/MySQL (a mysql:// URL)');
  const databaseUrl = await scratchDatabase(mariadbUrl, 'dsb_bench_http');
  const mariadb = await mariadbVersion(databaseUrl);
  if (!ENGINES.some((e) => e.usesRedis)) return { databaseUrl, mariadb, cache: null, redis: null };
  const redisUrl = await serverUrl(ROOT, 'REDIS_URL', 'start-redis.sh', log);
  const scratch = await scratchRedis(redisUrl, 'dsb_bench_http');
  const backendName = CACHE_BACKEND === 'django' ? 'Django’s RedisCache' : 'django-redis';
  return {
    databaseUrl,
    mariadb,
    cache: { url: redisUrl, backend: CACHE_BACKEND, keyPrefix: scratch.keyPrefix },
    redis: `Redis ${scratch.version} (${backendName} on both servers, key prefix ${scratch.keyPrefix})`,
  };
}

/** Every engine's servers up, users logged in on ours, every answer checked. */
async function setUp(stores: Stores, cpus: CpuPlan, profileDir: string | null): Promise<EngineRun[]> {
  const { databaseUrl } = stores;
  const owners = ceilingOwners(ENGINES);
  const settingsOf = (e: BenchEngine): Record<string, string> => engineSettings(e, stores.cache);
  const profileFor = (e: BenchEngine, server: string): string | null => profileDir && join(profileDir, e.name, server);

  // Django's migrate first (the first site's start runs it): ours leaves existing tables alone, while
  // Django's tutorial migration would fail on a `user` table we had created. The other sites find
  // the database migrated, and start side by side without a migrate of their own.
  const [first, ...others] = ENGINES as [BenchEngine, ...BenchEngine[]];
  log(`starting the Django site for ${first.name} (manage.py migrate, gunicorn)`);
  const djangos = new Map<EngineName, DjangoSite>([[first.name, await startDjango(databaseUrl, cpus, settingsOf(first), true)]]);
  log('our migrations');
  const migrationDb = openDatabase(databaseUrl, { USE_TZ: true, TIME_ZONE: 'UTC' }, { max: 1 });
  try {
    await runMigrations(migrationDb, { djangoVersion: SERIES });
  } finally {
    await migrationDb.close();
  }
  log(`createsuperuser; the other Django sites (${others.map((e) => e.name).join(', ') || 'none'}), our servers and the ceilings`);
  const ours = new Map<EngineName, { server: ServerProcess; startKiB: number | null }>();
  const ceilings = new Map<EngineName, ServerProcess>();
  await Promise.all([
    createDjangoSuperuser(databaseUrl),
    ...others.map(async (e) => djangos.set(e.name, await startDjango(databaseUrl, cpus, settingsOf(e), false))),
    ...ENGINES.map(async (e) => {
      const server = await startOurs(databaseUrl, cpus, profileFor(e, 'ours'), e, settingsOf(e));
      ours.set(e.name, { server, startKiB: processMemory(server.pid)?.rssKiB ?? null });
    }),
    ...ENGINES.filter((e) => owners[e.name] === e.name).map(async (e) =>
      ceilings.set(e.name, await startCeiling(databaseUrl, cpus, profileFor(e, 'ceiling'), e, settingsOf(e))),
    ),
  ]);

  log('all servers up; logins on ours');
  await registerTutorialUser(ours.get(first.name)!.server.url);
  const runs: EngineRun[] = [];
  for (const engine of ENGINES) {
    const { server, startKiB } = ours.get(engine.name)!;
    const auth = await authLogin(server.url);
    const run: EngineRun = {
      engine,
      timing: timingOf(engine),
      ours: server,
      oursStartKiB: startKiB,
      django: djangos.get(engine.name)!,
      ceiling: ceilings.get(owners[engine.name])!,
      ceilingOwner: owners[engine.name],
      test1LoggedInAt: Date.now(),
      cookies: { test1: await tutorialLogin(server.url), whoami: auth.cookie },
      authUserId: auth.userId,
    };
    await checkAnswers(run);
    runs.push(run);
  }
  return runs;
}

async function waitForever(runs: readonly EngineRun[], stores: Stores): Promise<never> {
  console.log(`database ${stores.databaseUrl.replace(/:[^:@/]*@/, ':***@')}`);
  if (stores.cache) console.log(`Redis ${stores.cache.url.replace(/:[^:@/]*@/, ':***@')}, CACHE_KEY_PREFIX=${stores.cache.keyPrefix}`);
  for (const run of runs) {
    console.log(`\n${run.engine.name} (SESSION_ENGINE=${run.engine.setting})`);
    console.log(`  ours     ${run.ours.url} (pid ${run.ours.pid}, log ${run.ours.logFile})`);
    console.log(`  django   ${run.django.url} (gunicorn master pid ${run.django.masterPid})`);
    console.log(`  ceiling  ${run.ceiling.url} (pid ${run.ceiling.pid}${run.ceilingOwner === run.engine.name ? '' : `, ${run.ceilingOwner}'s`})`);
    console.log(`  cookie for /user/test1 (expires 300 s after login): ${run.cookies.test1}`);
    console.log(`  cookie for /auth/whoami: ${run.cookies.whoami}`);
  }
  // A throwaway key for a scratch database, printed so a second server can join by hand.
  const database = new URL(stores.databaseUrl).pathname.slice(1);
  console.log(
    `\nanother server of ours on this database: SECRET_KEY=${SECRET_KEY} DATABASE_URL=<MARIADB_URL with database ${database}> ` +
      `DJANGO_VERSION=${SERIES} USE_TZ=True SESSION_ENGINE=… CACHE_URL=… CACHE_BACKEND=${CACHE_BACKEND} CACHE_KEY_PREFIX=… npm start -- --port <P>`,
  );
  console.log('waiting; Ctrl-C stops the servers, drops the database and deletes the Redis keys');
  return new Promise<never>(() => setInterval(() => {}, 1 << 30));
}

/** Ours at half its median peak, at a fixed arrival rate (see bench/lib/open-loop.ts). */
async function openLoopRun(
  run: EngineRun,
  route: Route,
  peak: number,
  cpus: CpuPlan,
  problems: { invalid: string[]; notes: string[] },
): Promise<OpenLoopResult> {
  const rate = Math.max(1, Math.round(peak / 2));
  await renewTutorialLogin(run);
  log(`open loop: ${run.engine.name} GET ${route.path} on ours at ${rate}/s for ${run.timing.openLoopSeconds} s`);
  const result = await runOpenLoopProcess(
    {
      url: run.ours.url + route.path,
      headers: { Cookie: run.cookies[route.name] },
      rate,
      seconds: run.timing.openLoopSeconds,
      warmupSeconds: 1,
      connections: CONNECTIONS,
      expectStatus: 200,
    },
    cpus.load,
    cpus.nice,
  );
  const what = `open loop ${run.engine.name} GET ${route.path}`;
  if (result.wrongStatus > 0) problems.invalid.push(`${what}: ${result.wrongStatus} answers other than 200`);
  if (result.errors > 0) problems.notes.push(`${what}: ${result.errors} requests failed or went unanswered`);
  return result;
}

/** The summary of one engine's rounds (its ceiling figures from `ceilingResults`), with its open-loop runs. */
async function summarize(
  run: EngineRun,
  results: Measurements,
  ceilingResults: Measurements,
  cpus: CpuPlan,
  problems: { invalid: string[]; notes: string[] },
): Promise<EngineSummary> {
  const routes: RouteSummary[] = [];
  for (const route of ROUTES) {
    const runsOf = (server: ServerName): Measurement[] => (server === 'ceiling' ? ceilingResults : results)[route.name][server];
    const rps = {} as Record<ServerName, number>;
    const spreads = {} as Record<ServerName, number>;
    const cpuPerRequest = {} as Record<ServerName, number>;
    for (const server of SERVER_NAMES) {
      const all = runsOf(server).map((r) => r.requestsPerSecond);
      rps[server] = median(all);
      spreads[server] = spread(all);
      cpuPerRequest[server] = median(runsOf(server).map((r) => r.serverCpuMicrosPerRequest));
    }
    const openLoop = run.timing.openLoopSeconds > 0 ? await openLoopRun(run, route, rps.ours, cpus, problems) : null;
    const perRound = (other: ServerName): number[] =>
      runsOf('ours').map((r, i) => r.requestsPerSecond / runsOf(other)[i]!.requestsPerSecond);
    routes.push({
      routeName: route.name,
      path: route.path,
      rps,
      spread: spreads,
      cpuPerRequest,
      pairedVsDjango: perRound('django'),
      pairedVsCeiling: perRound('ceiling'),
      openLoop,
    });
  }
  return {
    engine: run.engine,
    ceilingOwner: run.ceilingOwner,
    seconds: run.timing.seconds,
    warmupSeconds: run.timing.warmupSeconds,
    routes,
    memory: {
      oursPeakKiB: processMemory(run.ours.pid)?.peakRssKiB ?? null,
      oursStartKiB: run.oursStartKiB,
      ceilingPeakKiB: processMemory(run.ceiling.pid)?.peakRssKiB ?? null,
      djangoWorkerPeakKiB: childPids(run.django.masterPid)
        .map((pid) => processMemory(pid)?.peakRssKiB)
        .filter((kib): kib is number => kib !== undefined),
    },
  };
}

async function run(): Promise<number> {
  const loadBefore = loadAverage();
  const cpus = planCpus();
  log(`${cpus.description}; engines ${ENGINES.map((e) => e.name).join(', ')}`);
  mkdirSync(RUN_DIR, { recursive: true });
  const profileDir = PROFILE ? join(RUN_DIR, 'profile') : null;
  if (profileDir !== null) rmSync(profileDir, { recursive: true, force: true });

  const stores = await scratchStores();
  const django = await djangoVersion();
  const runs = await setUp(stores, cpus, profileDir);
  log(`set-up done; Django ${django}; all servers answer both routes on every engine`);
  if (process.env.DSB_BENCH_SETUP_ONLY === '1') await waitForever(runs, stores);

  const problems = { invalid: [] as string[], notes: [] as string[] };
  log('warm-up');
  for (const r of runs) {
    for (const route of ROUTES) {
      for (const server of measuredServers(r)) await wrkFor(baseOf(r, server), route, r.cookies[route.name], r.timing.warmupSeconds, cpus);
    }
  }

  // When profiled, only a server's own wrk runs count (not the logins between rounds).
  const underLoad = new Map<ServerProcess, ProfileWindow[]>();
  const results = new Map<EngineName, Measurements>(
    runs.map((r) => [r.engine.name, { test1: { ours: [], django: [], ceiling: [] }, whoami: { ours: [], django: [], ceiling: [] } }]),
  );
  for (let round = 0; round < ROUNDS; round++) {
    for (const r of rotate(runs, round)) {
      await renewTutorialLogin(r);
      for (const route of rotate(ROUTES, round)) {
        for (const server of rotate(measuredServers(r), round)) {
          const pids = pidsOf(r, server);
          const cpuBefore = cpuSeconds(pids);
          const from = monotonicMicros();
          const w = await wrkFor(baseOf(r, server), route, r.cookies[route.name], r.timing.seconds, cpus);
          if (server !== 'django') {
            const measured = server === 'ours' ? r.ours : r.ceiling;
            underLoad.set(measured, [...(underLoad.get(measured) ?? []), { startUs: from, endUs: monotonicMicros() }]);
          }
          const m: Measurement = { ...w, serverCpuMicrosPerRequest: ((cpuSeconds(pids) - cpuBefore) / Math.max(1, w.requests)) * 1e6 };
          results.get(r.engine.name)![route.name][server].push(m);
          const p = problemsOf(`${r.engine.name} ${server} GET ${route.path}`, m);
          problems.invalid.push(...p.invalid);
          problems.notes.push(...p.notes);
          log(`round ${round + 1}/${ROUNDS} ${r.engine.name} GET ${route.path} ${server}: ${Math.round(m.requestsPerSecond)} req/s`);
        }
      }
    }
  }

  const summaries: EngineSummary[] = [];
  for (const r of runs) summaries.push(await summarize(r, results.get(r.engine.name)!, results.get(r.ceilingOwner)!, cpus, problems));

  console.log(
    formatReport(summaries, {
      django,
      djangoWorkers: DJANGO_WORKERS,
      mariadb: stores.mariadb,
      redis: stores.redis,
      cpus: cpus.description,
      wrk: { threads: THREADS, connections: CONNECTIONS, rounds: ROUNDS },
      loadBefore,
      loadAfter: loadAverage(),
      notes: [...new Set(problems.notes)],
    }),
  );

  if (profileDir !== null) {
    // Profiles are written when the processes exit.
    const profiled = [...underLoad.keys()];
    await Promise.all(profiled.map((p) => p.stop()));
    for (const r of runs) {
      const answered = (server: ServerName, from: EngineName): number =>
        ROUTES.reduce((sum, route) => sum + results.get(from)![route.name][server].reduce((n, m) => n + m.requests, 0), 0);
      printProfile(`our server (${r.engine.name})`, join(profileDir, r.engine.name, 'ours'), underLoad.get(r.ours) ?? [], answered('ours', r.engine.name));
      if (r.ceilingOwner === r.engine.name) {
        printProfile(`the ceiling server (${r.engine.name})`, join(profileDir, r.engine.name, 'ceiling'), underLoad.get(r.ceiling) ?? [], answered('ceiling', r.engine.name));
      }
    }
  }
  log('done');
  if (problems.invalid.length > 0) {
    for (const line of problems.invalid) process.stderr.write(`invalid measurement: ${line}\n`);
    return 1;
  }
  return 0;
}

cleanUpOnSignals();
let exitCode = 1;
try {
  exitCode = await run();
} catch (err) {
  if (interruptedBy() === null) process.stderr.write(`bench:http failed: ${err instanceof Error ? err.message : String(err)}\n`);
  exitCode = 1;
} finally {
  await runCleanup();
}
process.exit(exitCode);
