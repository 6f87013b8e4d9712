/**
 * Both servers on one MariaDB database, as real processes, for the suites that attack, race and
 * load them (hostile-input, races, soak-short, bench/soak.ts):
 *
 *   const stack = await startStack({ version: '5.2' });
 *   await send(stack.node.base, { method: 'GET', path: '/auth/whoami', cookie: 'sessionid=…' });
 *   await send(stack.django.base, …);
 *   await stack.close();
 *
 * - a fresh `dsb_stack_<random>` database on MARIADB_URL (utf8mb4, the server's `_ci` collation);
 * - the Django reference site (scripts/django-site.sh: migrate, then gunicorn) on a free port;
 * - our server as `node --import tsx src/cli/main.ts serve` (the command operators run, one process,
 *   so its pid is the process that serves and its memory is ours alone) on another free port;
 * - one environment for both (SECRET_KEY, DATABASE_URL, DJANGO_VERSION, USE_TZ …), so a session
 *   written by either is read by the other.
 *
 * HTTP helpers go through node:http with `agent: false` (one connection per request, exact headers)
 * or, for bytes node:http refuses to send (NUL, CR in a header), a raw socket.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openDatabase, type Database } from '../../src/db/connection.ts';
import { freePort } from './free-port.ts';

export type StackDjangoVersion = '3.2' | '4.2' | '5.2';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SITE_SCRIPT = join(REPO_ROOT, 'scripts', 'django-site.sh');
const CLI_MAIN = join(REPO_ROOT, 'src', 'cli', 'main.ts');
const RUN_DIR = join(REPO_ROOT, '.run');

/** What Django's SessionMiddleware sends to delete the session cookie (default settings). */
export const DELETED_COOKIE = 'sessionid=""; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/; SameSite=Lax';

// Settings both servers read, removed from the inherited environment so only what a suite sets applies.
const SITE_SETTINGS = [
  'SECRET_KEY_FALLBACKS', 'SESSION_COOKIE_AGE', 'SESSION_EXPIRE_AT_BROWSER_CLOSE', 'SESSION_SAVE_EVERY_REQUEST',
  'SESSION_COOKIE_SECURE', 'SESSION_COOKIE_SAMESITE', 'SESSION_COOKIE_DOMAIN', 'SESSION_COOKIE_PATH',
  'SESSION_COOKIE_NAME', 'SESSION_ENGINE', 'DEFAULT_HASHING_ALGORITHM', 'AUTHENTICATION_BACKENDS',
];

/**
 * What both servers of a stack are told alike (one secret, one database, one Django series, test
 * hooks on, USE_TZ with UTC), so a session written by either is read by the other.
 */
export function sharedSettings(secretKey: string, databaseUrl: string, version: StackDjangoVersion): Record<string, string> {
  return {
    SECRET_KEY: secretKey,
    DATABASE_URL: databaseUrl,
    DSB_TEST_HOOKS: '1',
    USE_TZ: 'True',
    TIME_ZONE: 'UTC',
    DJANGO_VERSION: version,
  };
}

/**
 * The Django site's environment: ours with `shared` on top, none of the SITE_SETTINGS we happen to
 * inherit (only `extra` sets those), and Django's own logging at WARNING.
 */
export function djangoSiteEnv(shared: Record<string, string>, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...shared, DJANGO_LOG_LEVEL: 'WARNING' };
  for (const n of SITE_SETTINGS) delete env[n];
  return Object.assign(env, extra);
}

// ---- availability ---------------------------------------------------------------------------------

/** Whether a Django series is unpacked (3.2 is Debian's system package; 4.2/5.2 come from setup-django.sh). */
export function djangoSiteAvailable(version: StackDjangoVersion): boolean {
  return version === '3.2'
    ? existsSync('/usr/lib/python3/dist-packages/django')
    : existsSync(join(REPO_ROOT, '.cache', 'django', version, '.complete'));
}

/** MARIADB_URL, or an error that says how to get one (these suites need a server database). */
export function requireMariadbUrl(): string {
  const url = process.env.MARIADB_URL;
  if (!url) throw new Error('MARIADB_URL is not set: start the test servers with eval "$(scripts/db/start-all.sh)"');
  return url;
}

// ---- small process and network helpers --------------------------------------------------------------

export { freePort };

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Whether a pid is alive: it exists and is not a zombie waiting for its parent to reap it. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // /proc/<pid>/stat: "pid (comm) S …"; comm may hold spaces and parentheses, the state follows the last ")".
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** The direct children of a pid (from /proc), e.g. gunicorn's workers. */
export function childPids(pid: number): number[] {
  const res = spawnSync('ps', ['--ppid', String(pid), '-o', 'pid='], { encoding: 'utf8' });
  return res.stdout
    .split('\n')
    .map((s) => Number(s.trim()))
    .filter((n) => Number.isInteger(n) && n > 0);
}

/** Peak and current resident memory of a process in KiB (VmHWM / VmRSS), or null when it is gone. */
export function memoryOf(pid: number): { peakKb: number; rssKb: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const field = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { peakKb: field('VmHWM'), rssKb: field('VmRSS') };
  } catch {
    return null;
  }
}

async function waitUntil(what: string, probe: () => Promise<boolean> | boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

// ---- HTTP -------------------------------------------------------------------------------------------

export interface Answer {
  status: number;
  body: string;
  headers: IncomingHttpHeaders;
  setCookies: string[];
  /** Milliseconds from sending to the end of the answer. */
  ms: number;
  /** Date.now() just before sending and at the end of the answer (to check cookie expiry dates). */
  sentAt: number;
  receivedAt: number;
}

/** A header as one string (a repeated one joined with ", "), or null when the answer has none. */
export function headerText(answer: Pick<Answer, 'headers'>, name: string): string | null {
  const value = answer.headers[name];
  return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
}

export interface RequestSpec {
  method: string;
  path: string;
  /** The whole Cookie header (e.g. `sessionid=abc`); latin-1 characters are sent as single bytes. */
  cookie?: string;
  /** Sent as JSON.stringify(json) with `Content-Type: application/json`. */
  json?: unknown;
  /** Raw body bytes. */
  body?: string | Uint8Array;
  /** Sent with `Transfer-Encoding: chunked`, one write each. */
  chunks?: readonly Uint8Array[];
  /** Extra headers. */
  headers?: Record<string, string | number>;
  /**
   * Announce a body of this many bytes but send none: servers refuse an oversized body from
   * Content-Length alone, and one that answers without reading may close while a client still writes.
   */
  announceOnly?: number;
  /** Give up (reject) after this long. Default 30 s. */
  timeoutMs?: number;
}

/** One request on its own connection. Rejects on a network error or the timeout. */
export function send(base: string, spec: RequestSpec): Promise<Answer> {
  const url = new URL(base + spec.path);
  const headers: Record<string, string | number> = { ...spec.headers };
  if (spec.cookie !== undefined) headers.cookie = spec.cookie;
  let body: Buffer | undefined;
  if (spec.json !== undefined) {
    body = Buffer.from(JSON.stringify(spec.json));
    headers['content-type'] ??= 'application/json';
  } else if (spec.body !== undefined) {
    body = Buffer.from(spec.body);
  }
  if (body !== undefined) headers['content-length'] = body.length;
  if (spec.announceOnly !== undefined) headers['content-length'] = spec.announceOnly;
  if (spec.chunks !== undefined) headers['transfer-encoding'] = 'chunked';
  const sentAt = Date.now();
  const started = performance.now();
  return new Promise<Answer>((resolve, reject) => {
    const req = httpRequest(
      { host: url.hostname, port: url.port, path: url.pathname + url.search, method: spec.method, headers, agent: false },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('error', reject);
        res.on('end', () => {
          clearTimeout(timer);
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(parts).toString('utf8'),
            headers: res.headers,
            setCookies: res.headers['set-cookie'] ?? [],
            ms: performance.now() - started,
            sentAt,
            receivedAt: Date.now(),
          });
          req.destroy();
        });
      },
    );
    const timer = setTimeout(() => {
      req.destroy(new Error(`no answer to ${spec.method} ${spec.path} within ${spec.timeoutMs ?? 30_000} ms`));
    }, spec.timeoutMs ?? 30_000);
    req.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    if (spec.announceOnly !== undefined) req.flushHeaders();
    else if (spec.chunks !== undefined) {
      // One chunk at a time, and none after an answer: a server may answer before reading it all.
      let answered = false;
      req.once('response', () => (answered = true));
      void (async () => {
        for (const c of spec.chunks!) {
          if (answered || req.destroyed) return;
          await new Promise<void>((r) => req.write(c, () => r()));
        }
        if (!req.destroyed) req.end();
      })();
    } else req.end(body);
  });
}

export interface RawAnswer {
  /** The status code of the first response line, or null if the server closed without one. */
  status: number | null;
  /** Everything the server wrote, as latin-1. */
  text: string;
}

/**
 * Bytes straight onto a socket (for what node:http refuses to send: NUL or bare CR in a header,
 * broken framing). Reads until the server closes or `timeoutMs` passes (then rejects).
 */
export function sendRaw(base: string, bytes: Uint8Array, timeoutMs = 15_000): Promise<RawAnswer> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname);
    const parts: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server neither answered nor closed within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('data', (c: Buffer) => parts.push(c));
    socket.on('error', () => {
      /* a reset after the answer is fine: the text so far is judged */
    });
    socket.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(parts).toString('latin1');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      resolve({ status: m ? Number(m[1]) : null, text });
    });
    socket.write(bytes);
  });
}

/** The key of a session cookie the answer set (not deleted), else null. */
export function setSessionKey(answer: Pick<Answer, 'setCookies'>): string | null {
  for (const c of answer.setCookies) {
    const m = /^sessionid=([^;"]+);/.exec(c);
    if (m) return m[1]!;
  }
  return null;
}

/** Whether the answer deletes the session cookie. */
export function deletesSessionCookie(answer: Pick<Answer, 'setCookies'>): boolean {
  return answer.setCookies.some((c) => c.startsWith('sessionid="";'));
}

/** The session cookie a browser would hold: what the last Set-Cookie for it said. */
export class CookieJar {
  constructor(public value?: string) {}

  get header(): string | undefined {
    return this.value === undefined ? undefined : `sessionid=${this.value}`;
  }

  take(answer: Pick<Answer, 'setCookies'>): this {
    for (const c of answer.setCookies) {
      const m = /^sessionid=([^;]*)/.exec(c);
      if (m) this.value = m[1] === '""' ? undefined : m[1];
    }
    return this;
  }
}

// ---- the database -------------------------------------------------------------------------------------

export interface StackDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

/** A fresh database on a MariaDB server (utf8mb4 with the server's default collation). */
export async function createMariadbDatabase(serverUrl: string, prefix = 'dsb_stack'): Promise<StackDatabase> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const admin = openDatabase(serverUrl, undefined, { max: 1 });
  try {
    await admin.knex.raw(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4`);
  } finally {
    await admin.close();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    async drop() {
      const a = openDatabase(serverUrl, undefined, { max: 1 });
      try {
        await a.knex.raw(`DROP DATABASE IF EXISTS \`${name}\``);
      } finally {
        await a.close();
      }
    },
  };
}

/** A fresh SQLite file in a new temporary directory (`prefix` names the directory). */
export function createSqliteDatabase(prefix = 'dsb-stack-'): StackDatabase {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const file = join(dir, 'db.sqlite3');
  return { url: `sqlite://${file}`, name: file, drop: async () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * The rows of some tables in a canonical text (sorted by every column), for "the database is
 * unchanged" checks. Datetimes are kept as the server's text, so a rewritten expire_date shows.
 */
export async function snapshotTables(db: Database, tables: readonly string[]): Promise<string> {
  const out: Record<string, string[]> = {};
  for (const table of tables) {
    const rows = (await db.knex(table).select('*')) as Record<string, unknown>[];
    out[table] = rows.map((r) => JSON.stringify(Object.entries(r).sort(([a], [b]) => (a < b ? -1 : 1)))).sort();
  }
  return JSON.stringify(out);
}

// ---- the Django site -----------------------------------------------------------------------------------

export interface DjangoSite {
  readonly base: string;
  readonly port: number;
  readonly pid: number;
  readonly logFile: string;
  stop(): Promise<void>;
}

/**
 * Run scripts/django-site.sh; its stdout, or an error with its stderr. Asynchronous on purpose: a
 * start (migrate + gunicorn) takes seconds, and blocking the event loop that long would time out
 * what suites running beside it are waiting for (a database connection, an HTTP answer).
 */
export function runSiteScript(args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    // The script sends the servers it starts to log files, so its pipes close when it exits.
    const child = spawn('bash', [SITE_SCRIPT, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), 180_000);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(stdout.trim());
      else reject(new Error(`django-site.sh ${args.join(' ')} exited ${code ?? signal}:\n${stderr}`));
    });
  });
}

/** Start the reference site (migrate + gunicorn) with `env` on a free port. */
export async function startDjangoSite(version: StackDjangoVersion, env: NodeJS.ProcessEnv, workers = 4): Promise<DjangoSite> {
  if (!djangoSiteAvailable(version)) throw new Error(`Django ${version} is not set up: run scripts/setup-django.sh`);
  const port = await freePort();
  const base = await runSiteScript(['start', '--version', version, '--port', String(port), '--workers', String(workers)], env);
  const pidFile = join(RUN_DIR, `django-site-${port}.pid`);
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  return {
    base,
    port,
    pid,
    logFile: join(RUN_DIR, `django-site-${port}.log`),
    async stop() {
      // gunicorn's workers and master take seconds to exit on a busy machine, even on QUIT, and they
      // have nothing left to do (autocommit: no open transaction): ask, then end them by pid.
      if (isAlive(pid)) {
        const processes = [...childPids(pid), pid];
        process.kill(pid, 'SIGQUIT');
        const deadline = Date.now() + 1_000;
        while (Date.now() < deadline && processes.some(isAlive)) await sleep(50);
        for (const p of processes) {
          try {
            if (isAlive(p)) process.kill(p, 'SIGKILL');
          } catch {
            // already gone
          }
        }
        while (isAlive(pid)) await sleep(20);
      }
      rmSync(pidFile, { force: true });
    },
  };
}

/** `scripts/django-site.sh manage` with the stack's environment (e.g. createsuperuser). */
export function djangoManage(version: StackDjangoVersion, env: NodeJS.ProcessEnv, args: string[]): Promise<string> {
  return runSiteScript(['manage', '--version', version, '--', ...args], env);
}

// ---- our server -----------------------------------------------------------------------------------------

export interface LogLine {
  level?: string;
  logger?: string;
  message?: string;
  [field: string]: unknown;
}

export interface NodeServer {
  readonly base: string;
  readonly port: number;
  readonly pid: number;
  readonly child: ChildProcessWithoutNullStreams;
  /** JSON log lines from stderr so far (non-JSON lines as `{ raw }`). */
  readonly logs: LogLine[];
  /** Resolves with the exit code (or signal name) when the process ends. */
  readonly exited: Promise<number | string | null>;
  stop(): Promise<void>;
}

/**
 * `node --import tsx src/cli/main.ts serve` on a free port with exactly `env` (plus PATH), waiting
 * until it answers HTTP. `LOG_LEVEL` defaults to warning (no access log).
 */
export async function startNodeServer(env: NodeJS.ProcessEnv): Promise<NodeServer> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', CLI_MAIN, 'serve', '--host', '127.0.0.1', '--port', String(port)], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH, LOG_LEVEL: 'warning', ...env },
  });
  const logs: LogLine[] = [];
  let pending = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      if (line === '') continue;
      try {
        logs.push(JSON.parse(line) as LogLine);
      } catch {
        logs.push({ raw: line });
      }
      if (logs.length > 20_000) logs.splice(0, 10_000); // a long soak must not grow this forever
    }
  });
  child.stdout.resume();
  const exited = new Promise<number | string | null>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
  const base = `http://127.0.0.1:${port}`;
  let gone = false;
  void exited.then(() => (gone = true));
  await waitUntil(
    `our server on ${base}`,
    async () => {
      if (gone) throw new Error(`our server exited during start-up: ${JSON.stringify(logs.slice(-5))}`);
      try {
        await send(base, { method: 'GET', path: '/user/test1', timeoutMs: 2_000 });
        return true;
      } catch {
        return false;
      }
    },
    30_000,
  );
  return {
    base,
    port,
    pid: child.pid!,
    child,
    logs,
    exited,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 12_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

// ---- the whole stack --------------------------------------------------------------------------------------

export interface StackOptions {
  version: StackDjangoVersion;
  /** Extra settings for both servers (e.g. SESSION_SAVE_EVERY_REQUEST). */
  settings?: Record<string, string>;
  /** gunicorn workers (default 4). */
  workers?: number;
  /** Our server's LOG_LEVEL (default warning). */
  logLevel?: string;
}

export interface Stack {
  readonly version: StackDjangoVersion;
  readonly secretKey: string;
  /** The environment both servers got. */
  readonly env: NodeJS.ProcessEnv;
  readonly database: StackDatabase;
  /** A knex handle on the shared database, for set-up and checks. */
  readonly db: Database;
  readonly django: DjangoSite;
  readonly node: NodeServer;
  close(): Promise<void>;
}

/** A fresh database, then Django (its migrate makes every table), then our server on it. */
export async function startStack(options: StackOptions): Promise<Stack> {
  const serverUrl = requireMariadbUrl();
  const secretKey = randomBytes(24).toString('hex');
  const database = await createMariadbDatabase(serverUrl);
  const shared = sharedSettings(secretKey, database.url, options.version);
  const env = djangoSiteEnv(shared, options.settings);
  let django: DjangoSite | undefined;
  let node: NodeServer | undefined;
  let db: Database | undefined;
  try {
    django = await startDjangoSite(options.version, env, options.workers ?? 4);
    node = await startNodeServer({ ...shared, LOG_LEVEL: options.logLevel ?? 'warning', ...options.settings });
    db = openDatabase(database.url, { USE_TZ: true, TIME_ZONE: 'UTC' }, { max: 4 });
  } catch (e) {
    await node?.stop();
    await django?.stop();
    await db?.close();
    await database.drop();
    throw e;
  }
  const [d, n, k] = [django, node, db];
  return {
    version: options.version,
    secretKey,
    env,
    database,
    db: k,
    django: d,
    node: n,
    async close() {
      await Promise.allSettled([n.stop(), d.stop()]);
      await k.close();
      await database.drop();
    },
  };
}

// ---- users ------------------------------------------------------------------------------------------------

/**
 * A row in the tutorial's `user` table with a bcrypt hash of the given cost. The tutorial's login
 * checks with the stored hash's own cost and never re-hashes, so a low cost keeps suites that log in
 * hundreds of times fast without changing what either server does.
 */
export async function seedTutorialUser(db: Database, fields: { name: string; email: string; password: string; cost?: number }): Promise<number> {
  const bcrypt = (await import('bcryptjs')).default;
  const hash = bcrypt.hashSync(fields.password, bcrypt.genSaltSync(fields.cost ?? 4));
  const [id] = await db.knex('user').insert({ name: fields.name, email: fields.email, password: hash });
  return Number(id);
}

/** An `auth_user` row with a hash at the live Django's default work factor (so nobody re-hashes it). */
export async function seedAuthUser(
  db: Database,
  version: StackDjangoVersion,
  fields: { username: string; password: string; isActive?: boolean },
): Promise<number> {
  const { makePassword } = await import('../../src/auth/hashers/index.ts');
  const { AuthUserTable } = await import('../../src/auth/user-table.ts');
  const { DjangoTimezone } = await import('../../src/db/datetime.ts');
  const users = new AuthUserTable(db, new DjangoTimezone({ USE_TZ: true, TIME_ZONE: 'UTC' }));
  const password = await makePassword(fields.password, { djangoVersion: version });
  const user = await users.create({ username: fields.username, password, isActive: fields.isActive ?? true });
  return Number(user.pk);
}
