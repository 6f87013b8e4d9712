/**
 * `npm run bench:http`: requests per second on `GET /user/test1` and `GET /auth/whoami` with a
 * valid session, for three servers on one fresh MariaDB database, in one run:
 *
 *   ours      `serve` (src/cli/commands/serve.ts, what `npm start` runs): one Node process
 *   Django    the reference site (test/django_site/) under gunicorn, 2 sync workers
 *   ceiling   bench/ceiling-server.ts: bare Koa doing only the same mysql2 point queries
 *
 * Goals (issue 4): ours ≥ 5× Django and ≥ 85 % of the ceiling on both routes. Also reported: p50/p99
 * latency of ours at half its peak rate under open-loop load (bench/lib/open-loop.ts), and the peak
 * resident memory (VmHWM) of our process over the whole run.
 *
 * All servers run on one core and the load generators on another (bench/lib/pinning.ts); wrk runs
 * with the same threads and connections against each. Each round measures every route on every
 * server (the order rotating between rounds, so drift in the machine's load hits all alike); the
 * table shows the median of the rounds. Ratios are the result; the absolute numbers depend on the
 * machine.
 *
 * Set-up: a scratch database dsb_bench_http_<random>, Django's `migrate` (django-site.sh start runs
 * it) then ours (which leave Django's tables alone), a tutorial user via POST /user/reg and a contrib.auth superuser via
 * `manage.py createsuperuser`; both log in on our server, and the two cookies are used for all three
 * servers (one database, one session format: that is the point of this project). Every server's
 * answer to both cookies is checked before measuring. The tutorial login expires after 300 s, so it
 * is renewed before each round. Servers and database are removed at the end, also on Ctrl-C.
 *
 * Env:
 *   MARIADB_URL                   the server (default: scripts/db/start-mariadb.sh is run, its URL used)
 *   DSB_BENCH_DJANGO              Django series for the reference site and DJANGO_VERSION (default 5.2)
 *   DSB_BENCH_ROUNDS              rounds (default 3)
 *   DSB_BENCH_SECONDS             seconds per wrk measurement (default 5)
 *   DSB_BENCH_WARMUP_SECONDS      wrk warm-up per server and route, not recorded (default 2)
 *   DSB_BENCH_CONNECTIONS         wrk -c, and the open-loop generator's connections (default 32)
 *   DSB_BENCH_THREADS             wrk -t (default 1)
 *   DSB_BENCH_OPEN_LOOP_SECONDS   measured seconds at half peak, per route (default 6, after 1 s warm-up)
 *   DSB_BENCH_ROUTES              which routes: test1, whoami or both (default test1,whoami)
 *   DSB_BENCH_PROFILE=1           run our server and the ceiling under `node --cpu-prof` and print where
 *                                 their CPU went during their wrk runs (file:line mapped to the .ts source)
 *   DSB_BENCH_SETUP_ONLY=1        set everything up, print the servers' URLs, pids and cookies, and wait
 *                                 for Ctrl-C (then clean up): for measuring or profiling by hand
 *   DSB_BENCH_PIN, DSB_BENCH_SERVER_CPU, DSB_BENCH_LOAD_CPU, DSB_BENCH_NICE   see bench/lib/pinning.ts
 *   LOG_LEVEL                     passed to our server (default info: one access line per request, as
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
import { cleanUpOnSignals, interruptedBy, onCleanup, runCleanup } from './lib/cleanup.ts';
import { formatProfileSummary, monotonicMicros, summarizeCpuProfile, type ProfileWindow } from './lib/cpu-profile.ts';
import { cookieValue, httpRequest } from './lib/http-client.ts';
import type { OpenLoopResult } from './lib/open-loop.ts';
import { runOpenLoopProcess } from './lib/open-loop-runner.ts';
import { pinnedCommand, planCpus, type CpuPlan } from './lib/pinning.ts';
import { childPids, cpuSeconds, freePort, processMemory, runCommand, startServer, type ServerProcess } from './lib/processes.ts';
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
const ROUNDS = envNumber('DSB_BENCH_ROUNDS', 3);
const SECONDS = envNumber('DSB_BENCH_SECONDS', 5);
const WARMUP_SECONDS = envNumber('DSB_BENCH_WARMUP_SECONDS', 2);
const CONNECTIONS = envNumber('DSB_BENCH_CONNECTIONS', 32);
const THREADS = envNumber('DSB_BENCH_THREADS', 1);
const OPEN_LOOP_SECONDS = envNumber('DSB_BENCH_OPEN_LOOP_SECONDS', 6);
const PROFILE = process.env.DSB_BENCH_PROFILE === '1';

const SECRET_KEY = `bench-http-${randomBytes(16).toString('hex')}`;
const TUTORIAL_USER = { name: 'bench', email: 'bench@example.com', password: 'bench-password-1' };
const AUTH_USER = { username: 'bench', email: 'bench@example.com', password: 'bench-password-2' };
/** Gunicorn's worker count for the reference site (the contract). */
const DJANGO_WORKERS = 2;
/** Settings both sites read; cleared so only what this benchmark sets applies. */
const SITE_SETTINGS = [
  'SECRET_KEY_FALLBACKS', 'SESSION_COOKIE_AGE', 'SESSION_EXPIRE_AT_BROWSER_CLOSE', 'SESSION_SAVE_EVERY_REQUEST',
  'SESSION_COOKIE_SECURE', 'SESSION_COOKIE_SAMESITE', 'SESSION_COOKIE_DOMAIN', 'SESSION_COOKIE_PATH',
  'SESSION_COOKIE_NAME', 'SESSION_ENGINE', 'DEFAULT_HASHING_ALGORITHM', 'AUTHENTICATION_BACKENDS', 'DSB_TEST_HOOKS',
  'PORT', 'HOST',
];

type ServerName = 'ours' | 'django' | 'ceiling';
const SERVER_NAMES: readonly ServerName[] = ['ours', 'django', 'ceiling'];
type RouteName = 'test1' | 'whoami';

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

const log = (line: string): void => void process.stderr.write(`[bench:http] ${line}\n`);

// ---- Database -----------------------------------------------------------------------------------

async function mariadbServerUrl(): Promise<string> {
  if (process.env.MARIADB_URL) return process.env.MARIADB_URL;
  log('MARIADB_URL is not set: starting the test MariaDB (scripts/db/start-mariadb.sh)');
  const { stdout } = await runCommand('bash', [join(ROOT, 'scripts', 'db', 'start-mariadb.sh')], { cwd: ROOT, timeoutMs: 120_000 });
  const url = stdout.trim().split('\n').pop() ?? '';
  if (!url.startsWith('mysql://')) throw new Error('scripts/db/start-mariadb.sh did not print a MariaDB URL');
  return url;
}

async function adminSql(serverUrl: string, sql: string): Promise<void> {
  const admin = openDatabase(serverUrl, undefined, { max: 1 });
  try {
    await admin.knex.raw(sql);
  } finally {
    await admin.close();
  }
}

async function serverVersion(url: string): Promise<string> {
  const db = openDatabase(url, undefined, { max: 1 });
  try {
    const [[row]] = (await db.knex.raw('SELECT VERSION() AS v')) as [[{ v: string }]];
    return row.v;
  } finally {
    await db.close();
  }
}

/** A scratch database on the server, dropped at clean-up; its URL. */
async function scratchDatabase(serverUrl: string): Promise<string> {
  const name = `dsb_bench_http_${randomBytes(5).toString('hex')}`;
  await adminSql(serverUrl, `CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4`);
  // Registered before any server starts: clean-up runs last-registered first, so every server has
  // let go of its connections before the DROP.
  onCleanup(`drop database ${name}`, () => adminSql(serverUrl, `DROP DATABASE IF EXISTS \`${name}\``));
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

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
  version: string;
}

async function startDjango(databaseUrl: string, cpus: CpuPlan): Promise<DjangoSite> {
  const port = await freePort();
  const env = siteEnv(databaseUrl, { DJANGO_LOG_LEVEL: 'WARNING' });
  // Pinned through taskset: gunicorn's master and the workers it forks inherit the core.
  const start = pinnedCommand(cpus.server, 'bash', [DJANGO_SITE, 'start', '--version', SERIES, '--port', String(port), '--workers', String(DJANGO_WORKERS)], cpus.nice);
  onCleanup('stop the Django site', async () => {
    await runCommand('bash', [DJANGO_SITE, 'stop', '--port', String(port)], { cwd: ROOT, env, timeoutMs: 30_000 });
  });
  const { stdout } = await runCommand(start.command, start.args, { cwd: ROOT, env, timeoutMs: 120_000 });
  const url = stdout.trim().split('\n').pop() ?? '';
  const masterPid = Number(readFileSync(join(ROOT, '.run', `django-site-${port}.pid`), 'utf8').trim());
  const python = process.env.DJANGO_SITE_PYTHON ?? '/usr/bin/python3';
  const versionEnv = SERIES === '3.2' ? env : { ...env, PYTHONPATH: join(ROOT, '.cache', 'django', SERIES, 'usr', 'lib', 'python3', 'dist-packages') };
  const version = (await runCommand(python, ['-c', 'import django; print(django.get_version())'], { env: versionEnv })).stdout.trim();
  return { url, port, masterPid, version };
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

async function startOurs(databaseUrl: string, cpus: CpuPlan, profileDir: string | null): Promise<ServerProcess> {
  const port = await freePort();
  return startServer({
    name: 'our server',
    // node directly, not `npm start` (npm and the tsx CLI would each add a parent process): the pid
    // is the server's own, for its memory.
    command: process.execPath,
    args: [...nodeArgs(profileDir), join(ROOT, 'src', 'cli', 'main.ts'), 'serve', '--host', '127.0.0.1', '--port', String(port)],
    env: siteEnv(databaseUrl),
    cwd: ROOT,
    cpu: cpus.server,
    nice: cpus.nice,
    url: `http://127.0.0.1:${port}`,
    readyPath: '/user/test1',
    logFile: join(RUN_DIR, 'ours.log'),
  });
}

async function startCeiling(databaseUrl: string, cpus: CpuPlan, profileDir: string | null): Promise<ServerProcess> {
  const port = await freePort();
  return startServer({
    name: 'ceiling server',
    command: process.execPath,
    args: [...nodeArgs(profileDir), join(ROOT, 'bench', 'ceiling-server.ts')],
    env: { ...siteEnv(databaseUrl), PORT: String(port), HOST: '127.0.0.1' },
    cwd: ROOT,
    cpu: cpus.server,
    nice: cpus.nice,
    url: `http://127.0.0.1:${port}`,
    readyPath: '/user/test1',
    logFile: join(RUN_DIR, 'ceiling.log'),
  });
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

/** Every server must answer each route with the cookie exactly as the contract says. */
async function checkAnswers(bases: Record<ServerName, string>, cookies: Record<RouteName, string>, authUserId: number): Promise<void> {
  for (const route of ROUTES) {
    for (const server of SERVER_NAMES) {
      const answer = await httpRequest(bases[server] + route.path, { cookie: cookies[route.name] });
      const want = route.expectBody(authUserId);
      if (answer.status !== 200 || answer.body !== want) {
        throw new Error(`${server} answered GET ${route.path} with ${answer.status} ${JSON.stringify(answer.body)}; expected 200 ${JSON.stringify(want)}`);
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
function problemsOf(server: ServerName, route: Route, r: WrkResult): { invalid: string[]; notes: string[] } {
  const invalid: string[] = [];
  const notes: string[] = [];
  if (r.non2xx > 0) invalid.push(`${server} GET ${route.path}: ${r.non2xx} answers outside 2xx/3xx under load`);
  const e = r.socketErrors;
  if (e.connect + e.read + e.write + e.timeout > 0) {
    notes.push(`${server} GET ${route.path}: socket errors connect ${e.connect}, read ${e.read}, write ${e.write}, timeout ${e.timeout}`);
  }
  return { invalid, notes };
}

// ---- Report -------------------------------------------------------------------------------------

interface RouteSummary {
  rps: Record<ServerName, number>;
  spread: Record<ServerName, number>;
  /** Median server CPU µs per answered request (user + system of the server's processes). */
  cpuPerRequest: Record<ServerName, number>;
  /** Per round, ours ÷ the other server in that same round (drift between rounds cancels out). */
  pairedVsDjango: number[];
  pairedVsCeiling: number[];
  openLoop: OpenLoopResult;
}

interface MemorySummary {
  oursPeakKiB: number | null;
  /** Our server's resident memory right after start-up (before any request), for the baseline. */
  oursStartKiB: number | null;
  ceilingPeakKiB: number | null;
  djangoWorkerPeakKiB: number[];
}

const mib = (kib: number | null): string => (kib === null ? 'n/a' : `${(kib / 1024).toFixed(1)} MiB`);

function report(
  summaries: Record<RouteName, RouteSummary>,
  memory: MemorySummary,
  context: { mariadb: string; django: string; cpus: CpuPlan; loadBefore: string; loadAfter: string; notes: string[] },
): void {
  const out: string[] = [];
  const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
  out.push('');
  out.push(`bench:http — ours (1 Node process) vs Django ${context.django} (gunicorn, ${DJANGO_WORKERS} sync workers) vs ceiling (bare Koa + mysql2)`);
  out.push(`MariaDB ${context.mariadb}, one database; ${context.cpus.description}`);
  out.push(`wrk -t${THREADS} -c${CONNECTIONS}, ${ROUNDS} rounds × ${SECONDS} s after ${WARMUP_SECONDS} s warm-up per server and route; medians of the rounds`);
  out.push('');
  const head = ['route', 'ours rps', 'Django rps', 'ceiling rps', 'ours/Django', 'ours/ceiling', 'half-peak rate', 'p50', 'p99'];
  const widths = [17, 9, 10, 11, 11, 12, 14, 9, 9];
  const row = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  out.push(row(head));
  for (const route of ROUTES) {
    const s = summaries[route.name];
    const ol = s.openLoop;
    out.push(
      row([
        `GET ${route.path}`,
        fmt(s.rps.ours),
        fmt(s.rps.django),
        fmt(s.rps.ceiling),
        `${(s.rps.ours / s.rps.django).toFixed(1)}×`,
        `${((s.rps.ours / s.rps.ceiling) * 100).toFixed(0)}%`,
        `${fmt(ol.rate)}/s`,
        `${ol.latencyMs.p50.toFixed(2)} ms`,
        `${ol.latencyMs.p99.toFixed(2)} ms`,
      ]),
    );
  }
  out.push('');
  out.push('rounds: spread (max − min) / median of each server; ours ÷ the others within each round:');
  const list = (xs: number[], f: (x: number) => string): string => xs.map(f).join(' ');
  for (const route of ROUTES) {
    const r = summaries[route.name];
    const s = r.spread;
    out.push(
      `  GET ${route.path.padEnd(14)} spread ours ${(s.ours * 100).toFixed(0)}%, Django ${(s.django * 100).toFixed(0)}%, ceiling ${(s.ceiling * 100).toFixed(0)}%; ` +
        `ours/Django ${list(r.pairedVsDjango, (x) => `${x.toFixed(1)}×`)}; ours/ceiling ${list(r.pairedVsCeiling, (x) => `${(x * 100).toFixed(0)}%`)}`,
    );
  }
  out.push('server CPU per request (user + system of the server processes during their wrk runs; the database\'s own CPU not included):');
  for (const route of ROUTES) {
    const c = summaries[route.name].cpuPerRequest;
    out.push(
      `  GET ${route.path.padEnd(14)} ours ${Math.round(c.ours)} µs, Django ${Math.round(c.django)} µs, ceiling ${Math.round(c.ceiling)} µs; ` +
        `Django/ours ${(c.django / c.ours).toFixed(1)}×, ceiling/ours ${((c.ceiling / c.ours) * 100).toFixed(0)}%`,
    );
  }
  out.push('open loop (ours, half its peak, fixed arrival rate, latency from the scheduled send time):');
  for (const route of ROUTES) {
    const ol = summaries[route.name].openLoop;
    out.push(
      `  GET ${route.path.padEnd(14)} ${fmt(ol.achievedRate)}/s answered of ${fmt(ol.rate)}/s scheduled; ` +
        `p50 ${ol.latencyMs.p50.toFixed(2)} ms, p90 ${ol.latencyMs.p90.toFixed(2)} ms, p99 ${ol.latencyMs.p99.toFixed(2)} ms, ` +
        `p99.9 ${ol.latencyMs.p999.toFixed(2)} ms, max ${ol.latencyMs.max.toFixed(2)} ms; ` +
        `errors ${ol.errors + ol.wrongStatus}; generator lag p99 ${ol.dispatchLagMs.p99.toFixed(2)} ms, CPU ${(ol.generatorCpuShare * 100).toFixed(0)}% of a core`,
    );
  }
  const djangoPeak = memory.djangoWorkerPeakKiB.length ? Math.max(...memory.djangoWorkerPeakKiB) : null;
  out.push(
    `peak RSS (VmHWM over the whole run): ours ${mib(memory.oursPeakKiB)} (${mib(memory.oursStartKiB)} after start-up); ceiling ${mib(memory.ceilingPeakKiB)}; ` +
      `Django ${memory.djangoWorkerPeakKiB.length} workers, ${mib(djangoPeak)} each at most`,
  );
  out.push(`machine load average (1, 5, 15 min): ${context.loadBefore} before, ${context.loadAfter} after (other processes share the cores; compare ratios)`);
  for (const note of context.notes) out.push(`note: ${note}`);
  out.push('');
  out.push('goals:');
  for (const route of ROUTES) {
    const s = summaries[route.name].rps;
    const vsDjango = s.ours / s.django;
    const vsCeiling = s.ours / s.ceiling;
    out.push(`  GET ${route.path.padEnd(14)} ours/Django ${vsDjango.toFixed(1)}× (goal ≥ 5×) ${vsDjango >= 5 ? 'met' : 'NOT met'}; ` +
      `ours/ceiling ${(vsCeiling * 100).toFixed(0)}% (goal ≥ 85%) ${vsCeiling >= 0.85 ? 'met' : 'NOT met'}`);
  }
  console.log(out.join('\n'));
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

async function run(): Promise<number> {
  const started = Date.now();
  const loadBefore = loadAverage();
  const cpus = planCpus();
  log(cpus.description);
  mkdirSync(RUN_DIR, { recursive: true });
  const profileDir = PROFILE ? join(RUN_DIR, 'profile') : null;
  if (profileDir !== null) rmSync(profileDir, { recursive: true, force: true });

  const serverUrl = await mariadbServerUrl();
  if (parseDatabaseUrl(serverUrl).dialect !== 'mysql') throw new Error('bench:http runs on MariaDB/MySQL (a mysql:// URL)');
  const databaseUrl = await scratchDatabase(serverUrl);
  const mariadb = await serverVersion(databaseUrl);

  // Django's migrate first (django-site.sh start runs it): ours leaves existing tables alone, while
  // Django's tutorial migration would fail on a `user` table we had created.
  log('starting the Django site (manage.py migrate, gunicorn)');
  const django = await startDjango(databaseUrl, cpus);
  log(`Django ${django.version} on ${django.url} (gunicorn master pid ${django.masterPid}); our migrations`);
  const migrationDb = openDatabase(databaseUrl, { USE_TZ: true, TIME_ZONE: 'UTC' }, { max: 1 });
  try {
    await runMigrations(migrationDb, { djangoVersion: SERIES });
  } finally {
    await migrationDb.close();
  }
  await createDjangoSuperuser(databaseUrl);
  const ours = await startOurs(databaseUrl, cpus, profileDir && join(profileDir, 'ours'));
  const oursStartKiB = processMemory(ours.pid)?.rssKiB ?? null;
  log(`ours on ${ours.url} (pid ${ours.pid})`);
  const ceiling = await startCeiling(databaseUrl, cpus, profileDir && join(profileDir, 'ceiling'));
  log(`ceiling on ${ceiling.url} (pid ${ceiling.pid})`);
  const bases: Record<ServerName, string> = { ours: ours.url, django: django.url, ceiling: ceiling.url };
  // Whose CPU counts for each server: gunicorn's master and its workers (read at each run: a
  // worker that gunicorn replaced is a new pid).
  const serverPids: Record<ServerName, () => number[]> = {
    ours: () => [ours.pid],
    ceiling: () => [ceiling.pid],
    django: () => [django.masterPid, ...childPids(django.masterPid)],
  };

  await registerTutorialUser(ours.url);
  const auth = await authLogin(ours.url);
  const cookies: Record<RouteName, string> = { test1: await tutorialLogin(ours.url), whoami: auth.cookie };
  await checkAnswers(bases, cookies, auth.userId);
  log(`set-up done in ${((Date.now() - started) / 1000).toFixed(0)} s; all servers answer both routes`);
  if (process.env.DSB_BENCH_SETUP_ONLY === '1') {
    console.log(`database ${databaseUrl.replace(/:[^:@/]*@/, ':***@')}`);
    console.log(`ours     ${ours.url} (pid ${ours.pid}, log ${ours.logFile})`);
    console.log(`django   ${django.url} (gunicorn master pid ${django.masterPid})`);
    console.log(`ceiling  ${ceiling.url} (pid ${ceiling.pid})`);
    console.log(`cookie for /user/test1 (expires 300 s after login): ${cookies.test1}`);
    console.log(`cookie for /auth/whoami: ${cookies.whoami}`);
    // A throwaway key for a scratch database, printed so a second server can join by hand.
    const database = new URL(databaseUrl).pathname.slice(1);
    console.log(
      `another server of ours on this database: SECRET_KEY=${SECRET_KEY} DATABASE_URL=<MARIADB_URL with database ${database}> ` +
        `DJANGO_VERSION=${SERIES} USE_TZ=True npm start -- --port <P>`,
    );
    console.log('waiting; Ctrl-C stops the servers and drops the database');
    await new Promise<never>(() => setInterval(() => {}, 1 << 30));
  }

  const invalid: string[] = [];
  const notes: string[] = [];
  log('warm-up');
  for (const route of ROUTES) {
    for (const server of SERVER_NAMES) await wrkFor(bases[server], route, cookies[route.name], WARMUP_SECONDS, cpus);
  }

  // When profiled, only a server's own wrk runs count (not the logins between rounds).
  const underLoad: Record<ServerName, ProfileWindow[]> = { ours: [], django: [], ceiling: [] };
  const results: Measurements = {
    test1: { ours: [], django: [], ceiling: [] },
    whoami: { ours: [], django: [], ceiling: [] },
  };
  for (let round = 0; round < ROUNDS; round++) {
    // /user/login's session lives 300 s: a fresh one per round keeps every measurement inside it.
    cookies.test1 = await tutorialLogin(ours.url);
    for (const route of rotate(ROUTES, round)) {
      for (const server of rotate(SERVER_NAMES, round)) {
        const pids = serverPids[server]();
        const cpuBefore = cpuSeconds(pids);
        const from = monotonicMicros();
        const w = await wrkFor(bases[server], route, cookies[route.name], SECONDS, cpus);
        underLoad[server].push({ startUs: from, endUs: monotonicMicros() });
        const r: Measurement = { ...w, serverCpuMicrosPerRequest: ((cpuSeconds(pids) - cpuBefore) / Math.max(1, w.requests)) * 1e6 };
        results[route.name][server].push(r);
        const p = problemsOf(server, route, r);
        invalid.push(...p.invalid);
        notes.push(...p.notes);
        log(`round ${round + 1}/${ROUNDS} GET ${route.path} ${server}: ${Math.round(r.requestsPerSecond)} req/s`);
      }
    }
  }

  const summaries = {} as Record<RouteName, RouteSummary>;
  cookies.test1 = await tutorialLogin(ours.url);
  for (const route of ROUTES) {
    const rps = {} as Record<ServerName, number>;
    const spreads = {} as Record<ServerName, number>;
    const cpuPerRequest = {} as Record<ServerName, number>;
    for (const server of SERVER_NAMES) {
      const all = results[route.name][server].map((r) => r.requestsPerSecond);
      rps[server] = median(all);
      spreads[server] = spread(all);
      cpuPerRequest[server] = median(results[route.name][server].map((r) => r.serverCpuMicrosPerRequest));
    }
    const rate = Math.max(1, Math.round(rps.ours / 2));
    log(`open loop: GET ${route.path} on ours at ${rate}/s for ${OPEN_LOOP_SECONDS} s`);
    const openLoop = await runOpenLoopProcess(
      { url: ours.url + route.path, headers: { Cookie: cookies[route.name] }, rate, seconds: OPEN_LOOP_SECONDS, warmupSeconds: 1, connections: CONNECTIONS, expectStatus: 200 },
      cpus.load,
      cpus.nice,
    );
    if (openLoop.wrongStatus > 0) invalid.push(`open loop GET ${route.path}: ${openLoop.wrongStatus} answers other than 200`);
    if (openLoop.errors > 0) notes.push(`open loop GET ${route.path}: ${openLoop.errors} requests failed or went unanswered`);
    const perRound = (other: ServerName): number[] =>
      results[route.name].ours.map((r, i) => r.requestsPerSecond / results[route.name][other][i]!.requestsPerSecond);
    summaries[route.name] = { rps, spread: spreads, cpuPerRequest, pairedVsDjango: perRound('django'), pairedVsCeiling: perRound('ceiling'), openLoop };
  }

  const memory: MemorySummary = {
    oursPeakKiB: processMemory(ours.pid)?.peakRssKiB ?? null,
    oursStartKiB,
    ceilingPeakKiB: processMemory(ceiling.pid)?.peakRssKiB ?? null,
    djangoWorkerPeakKiB: childPids(django.masterPid)
      .map((pid) => processMemory(pid)?.peakRssKiB)
      .filter((kib): kib is number => kib !== undefined),
  };
  if (!Number.isFinite(memory.oursPeakKiB)) notes.push('could not read our server’s /proc/<pid>/status');

  report(summaries, memory, { mariadb, django: django.version, cpus, loadBefore, loadAfter: loadAverage(), notes: [...new Set(notes)] });

  if (profileDir !== null) {
    // Profiles are written when the processes exit.
    await Promise.all([ours.stop(), ceiling.stop()]);
    const answered = (server: ServerName): number =>
      ROUTES.reduce((sum, route) => sum + results[route.name][server].reduce((n, r) => n + r.requests, 0), 0);
    printProfile('our server', join(profileDir, 'ours'), underLoad.ours, answered('ours'));
    printProfile('the ceiling server', join(profileDir, 'ceiling'), underLoad.ceiling, answered('ceiling'));
  }
  log(`done in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  if (invalid.length > 0) {
    for (const line of invalid) process.stderr.write(`invalid measurement: ${line}\n`);
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
