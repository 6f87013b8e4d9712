/**
 * clearsessions on a big MariaDB table: ours against Django's `manage.py clearsessions` on the same
 * rows in the same run, and what each does to the live site meanwhile.
 *
 * Run: npm run bench:clearsessions     (tsx bench/clearsessions.ts)
 *   MARIADB_URL             the server (default: scripts/db/start-mariadb.sh is run and its URL used);
 *                           a scratch database dsb_bench_<random> is created there and dropped at the end
 *   DSB_BENCH_EXPIRED       expired rows (default 1000000)
 *   DSB_BENCH_LIVE          live rows (default 200000)
 *   DSB_BENCH_RATE          requests per second sent to each probed server (default 50)
 *   DSB_BENCH_IDLE_SECONDS  length of each idle measurement (default 15)
 *   DSB_BENCH_ARGS          clearsessions options for ours, e.g. "--batch-size 1000 --strategy index";
 *                           several sets separated by ";" run one after the other (each on the same
 *                           rows, each with its own idle measurement), e.g. "--nice-ratio 0; --nice-ratio 1"
 *   DSB_BENCH_DJANGO        Django series to compare with (default 5.2)
 *
 * The table: Django's django_session (made by our migration, identical to Django's), filled with
 * INSERT … SELECT from MariaDB's sequence engine: keys like Django's (32 characters, random order),
 * a real signed login session as session_data, expired rows spread over the last 30 days, live rows
 * over the next 14. It is kept as a pristine copy and restored before each cleanup, so ours and
 * Django's start from the same rows; both must leave exactly the live rows.
 *
 * The live site: our server (`serve`, what `npm start` runs) on the same database, twice:
 *   read probe   default settings: GET /user/test1 with a logged-in session (one indexed SELECT);
 *   write probe  SESSION_SAVE_EVERY_REQUEST=True: the same request also UPDATEs its session row,
 *                which is what logins and any session change do, and what waits on row locks.
 * Each probe cycles through 32 logged-in sessions (one real /user/login, its row copied under other
 * random keys), spread over the table like real users' sessions.
 * Each gets DSB_BENCH_RATE requests per second, sent on schedule whether or not earlier ones have
 * answered (open loop), and each latency is counted from the scheduled send time, so a stall shows
 * in full instead of hiding as fewer requests.
 *
 * Each cleanup is measured against the idle periods just before and just after it (the machine may
 * be shared, and its load drift; the ratio is to the mean of the two idle p99s): before each
 * cleanup the table is restored, the bench waits until InnoDB has caught up with what the restore
 * and the last cleanup left (purge, checkpoint), then probes idle for DSB_BENCH_IDLE_SECONDS; after
 * the last cleanup it waits likewise and probes idle once more. The 1-minute load average and the
 * share of time some task waited for a CPU (/proc/pressure/cpu) are printed for every phase.
 *
 * Timing: the cleanups' wall time is the whole process (start-up included) for both. Statements:
 * ours from its own summary and `--log-slow 100` lines (client-side time of each SELECT, DELETE and
 * COMMIT, and of each DELETE-to-COMMIT, the time the deleted rows stay locked, which one
 * autocommitted DELETE would take); Django's from a connection.execute_wrapper around every
 * statement (test/django_clear/manage.py with DSB_STATEMENT_TIMES=1), which for clearsessions is its
 * one DELETE (autocommitted: its COMMIT is inside).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { runMigrations } from '../migrations/index.ts';
import { openDatabase, type Database } from '../src/db/connection.ts';
import { SessionCodec } from '../src/sessions/codec.ts';
import { djangoSitePackages, SYSTEM_PYTHON, type DjangoSeries } from '../test/support/django-oracle.ts';
import { cleanUpOnSignals, interruptedBy, onCleanup, runCleanup, trackChild } from './lib/cleanup.ts';
import { mariadbServerUrl } from './lib/mariadb-scratch.ts';
import { scratchDatabase } from './lib/scratch-stores.ts';

const EXPIRED = Number(process.env.DSB_BENCH_EXPIRED ?? 1_000_000);
const LIVE = Number(process.env.DSB_BENCH_LIVE ?? 200_000);
const RATE = Number(process.env.DSB_BENCH_RATE ?? 50);
const IDLE_SECONDS = Number(process.env.DSB_BENCH_IDLE_SECONDS ?? 15);
/** Option sets for our runs (at least one, possibly empty: the defaults). */
const OUR_ARG_SETS = (process.env.DSB_BENCH_ARGS ?? '').split(';').map((set) => set.split(/\s+/).filter(Boolean));
/** Statements this slow or slower are counted (the goal: none). */
const SLOW_MS = 100;
const SERIES = (process.env.DSB_BENCH_DJANGO ?? '5.2') as DjangoSeries;
const SECRET_KEY = 'bench-secret-key-not-for-production';
const PASSWORD = 'bench-password';
/** Logged-in sessions each probe cycles through. */
const SESSIONS_PER_PROBE = 32;

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
const MAIN = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
const DJANGO_CLEAR = fileURLToPath(new URL('../test/django_clear', import.meta.url));

const log = (line: string): void => void process.stderr.write(`${line}\n`);
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

// ---- Set-up -----------------------------------------------------------------------------------

/** The rows, once, into the pristine copy `dsb_bench_seed`. */
async function seed(db: Database): Promise<void> {
  // A login session as Django writes it (~200 bytes of session_data), the same for every row.
  const sessionData = new SessionCodec({ secretKey: SECRET_KEY }).encode(
    new Map([
      ['_auth_user_id', '4821'],
      ['_auth_user_backend', 'django.contrib.auth.backends.ModelBackend'],
      ['_auth_user_hash', '9f3c2a7b1e5d4c8a0b6f2e9d7c1a3b5e8f0d2c4a6b8e1f3d5c7a9b0e2d4f6a8c'],
    ]),
  );
  const fill = async (count: number, tag: string, expireSql: string): Promise<void> => {
    // seq_1_to_N: MariaDB's sequence engine. Keys are 32 hex characters in random order (as
    // Django's are random); ORDER BY inserts them in primary-key order, which is much faster.
    for (let from = 1; from <= count; from += 250_000) {
      const to = Math.min(count, from + 249_999);
      await db.knex.raw(
        `INSERT INTO django_session (session_key, session_data, expire_date)
         SELECT LEFT(SHA2(CONCAT(?, seq), 256), 32), ?, ${expireSql} FROM seq_${from}_to_${to} ORDER BY 1`,
        [tag, sessionData],
      );
    }
  };
  // Expired: 1 minute to 30 days ago. Live: 1 hour to 14 days from now. (Naive UTC: USE_TZ=True.)
  await fill(EXPIRED, 'expired', 'UTC_TIMESTAMP(6) - INTERVAL 60 SECOND - INTERVAL ((seq * 7919) % 2592000) SECOND');
  await fill(LIVE, 'live', 'UTC_TIMESTAMP(6) + INTERVAL 3600 SECOND + INTERVAL ((seq * 7919) % 1209600) SECOND');
  await db.knex.raw('RENAME TABLE django_session TO dsb_bench_seed');
}

/** A fresh django_session with exactly the seeded rows. */
async function restore(db: Database): Promise<void> {
  await db.knex.raw('DROP TABLE IF EXISTS django_session');
  await db.knex.raw('CREATE TABLE django_session LIKE dsb_bench_seed');
  await db.knex.raw('INSERT INTO django_session SELECT * FROM dsb_bench_seed');
}

/**
 * Wait (up to 2 min) until InnoDB has caught up with what the last restore or cleanup left: the
 * history list purged, the redo log checkpointed (the restore's pages written out). Otherwise that
 * background work would fall into the next idle measurement or cleanup. (Not the dirty-page count:
 * with little redo, InnoDB leaves pages dirty for as long as the server is not idle, and a shared
 * server never is.) Returns the seconds waited.
 */
async function settle(db: Database): Promise<number> {
  const started = performance.now();
  while (performance.now() - started < 120_000) {
    const [rows] = (await db.knex.raw(
      "SHOW GLOBAL STATUS WHERE Variable_name IN ('Innodb_checkpoint_age', 'Innodb_history_list_length')",
    )) as [{ Variable_name: string; Value: string }[]];
    const v = Object.fromEntries(rows.map((r) => [r.Variable_name, Number(r.Value)]));
    if (v.Innodb_checkpoint_age! < 16 * 2 ** 20 && v.Innodb_history_list_length! < 1000) break;
    await new Promise((r) => setTimeout(r, 1000));
  }
  return (performance.now() - started) / 1000;
}

async function tableState(db: Database): Promise<{ rows: number; expired: number; seededLive: number }> {
  const [[row]] = (await db.knex.raw(
    `SELECT COUNT(*) AS n_rows, SUM(expire_date < UTC_TIMESTAMP(6)) AS n_expired,
            (SELECT COUNT(*) FROM dsb_bench_seed s JOIN django_session d USING (session_key)) AS n_seeded_live
       FROM django_session`,
  )) as [[{ n_rows: string; n_expired: string | null; n_seeded_live: string }]];
  return { rows: Number(row.n_rows), expired: Number(row.n_expired ?? 0), seededLive: Number(row.n_seeded_live) };
}

// ---- Processes --------------------------------------------------------------------------------

interface Exited {
  code: number | null;
  stdout: string;
  stderr: string;
  seconds: number;
  /** performance.now() at exit, and when the first progress line came (ours: the first batch is done). */
  endedAt: number;
  firstProgressAt: number | null;
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv, options: { cwd?: string; stdin?: string; showProgress?: boolean } = {}): Promise<Exited> {
  const started = performance.now();
  const child = spawn(command, args, { env, cwd: options.cwd ?? REPO_ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  trackChild(`${command} ${args.slice(-2).join(' ')}`, child);
  let stdout = '';
  let stderr = '';
  let firstProgressAt: number | null = null;
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
    if (firstProgressAt === null && stderr.includes('clearsessions: ')) firstProgressAt = performance.now();
    // The cleanup's own progress lines (not a TTY: one every 5 s), so a long run shows it is alive.
    if (options.showProgress) process.stderr.write(d.replace(/^/gm, '  '));
  });
  child.stdin.end(options.stdin ?? '');
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      const endedAt = performance.now();
      resolve({ code, stdout, stderr, seconds: (endedAt - started) / 1000, endedAt, firstProgressAt });
    });
  });
}

function ourEnv(url: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, DATABASE_URL: url, SECRET_KEY, DJANGO_VERSION: '5.2', USE_TZ: 'True', TIME_ZONE: 'UTC', LOG_LEVEL: 'info', ...extra };
}

interface Served {
  base: string;
  child: ChildProcess;
}

/** Our server (`serve`), on a free port; its log lines are read and dropped. */
async function startServer(url: string, extra: Record<string, string>): Promise<Served> {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'serve', '--port', '0'], { env: ourEnv(url, extra), cwd: REPO_ROOT });
  child.stdout!.resume();
  let seen = '';
  const base = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      seen += chunk.toString('utf8');
      const m = /listening on (http:\/\/[\d.]+:\d+)/.exec(seen);
      if (m) {
        seen = '';
        child.stderr!.off('data', onData);
        child.stderr!.resume(); // keep draining the access log
        resolve(m[1]!);
      }
    };
    child.stderr!.on('data', onData);
    child.on('exit', (code) => reject(new Error(`serve exited (${code}): ${seen.slice(-2000)}`)));
  });
  return { base, child };
}

async function stopServer(served: Served): Promise<void> {
  if (served.child.exitCode !== null) return;
  served.child.kill('SIGTERM');
  await once(served.child, 'exit');
}

async function login(base: string): Promise<string> {
  const res = await fetch(`${base}/user/login`, { method: 'POST', body: JSON.stringify({ email: 'bench@example.com', password: PASSWORD }) });
  const cookie = /sessionid=([^;]+)/.exec(res.headers.get('set-cookie') ?? '')?.[1];
  if (res.status !== 200 || !cookie) throw new Error(`login failed: ${res.status} ${await res.text()}`);
  return cookie;
}

/**
 * Logged-in sessions for a probe: one real login, then copies of its row under fresh random keys
 * (what more logins would write, without a bcrypt each), so the probed rows are spread over the
 * key space like real users' and a cleanup that walks the table passes them at different times.
 */
async function loginSessions(db: Database, base: string, count: number): Promise<string[]> {
  const first = await login(base);
  // A day to live, not the login's 300 s: a slow cleanup must not outlast the probe's sessions.
  await db.knex.raw('UPDATE django_session SET expire_date = UTC_TIMESTAMP(6) + INTERVAL 1 DAY WHERE session_key = ?', [first]);
  const keys = [first];
  for (let i = 1; i < count; i++) {
    const key = randomBytes(16).toString('hex');
    await db.knex.raw(
      'INSERT INTO django_session (session_key, session_data, expire_date) SELECT ?, session_data, expire_date FROM django_session WHERE session_key = ?',
      [key, first],
    );
    keys.push(key);
  }
  return keys;
}

// ---- Probing the live site ----------------------------------------------------------------------

interface Latencies {
  /** [scheduled send time (performance.now()), latency ms] per answered request. */
  samples: [number, number][];
  errors: number;
}

/** GET /user/test1 at `RATE`/s on schedule (sessions in turn) until `stop` resolves; latency from the scheduled time. */
async function probe(base: string, cookies: readonly string[], stop: Promise<unknown>): Promise<Latencies> {
  const out: Latencies = { samples: [], errors: 0 };
  const interval = 1000 / RATE;
  const started = performance.now();
  let stopped = false;
  void stop.then(() => (stopped = true));
  const inFlight: Promise<void>[] = [];
  for (let i = 0; !stopped; i++) {
    const scheduled = started + i * interval;
    const wait = scheduled - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    if (stopped) break;
    inFlight.push(
      fetch(`${base}/user/test1`, { headers: { cookie: `sessionid=${cookies[i % cookies.length]}` } })
        .then(async (res) => {
          const body = await res.text();
          if (res.status !== 200 || body !== 'test1 ok') out.errors++;
          else out.samples.push([scheduled, performance.now() - scheduled]);
        })
        .catch(() => void out.errors++),
    );
  }
  await Promise.all(inFlight);
  return out;
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

interface Summary {
  n: number;
  errors: number;
  p50: number;
  p99: number;
  max: number;
}

/** Latency quantiles of the requests sent within [from, to] (default: all). */
function summarize(l: Latencies, from = -Infinity, to = Infinity): Summary {
  const sorted = l.samples
    .filter(([at]) => at >= from && at <= to)
    .map(([, ms]) => ms)
    .sort((a, b) => a - b);
  return { n: sorted.length, errors: l.errors, p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), max: sorted.at(-1) ?? NaN };
}

/** The share of time (0..1) at least one task waited for a CPU, from /proc/pressure/cpu; null where there is none. */
function cpuStallClock(): () => number | null {
  const read = (): number | null => {
    try {
      return Number(/some .*total=(\d+)/.exec(readFileSync('/proc/pressure/cpu', 'utf8'))?.[1] ?? NaN);
    } catch {
      return null;
    }
  };
  const t0 = performance.now();
  const s0 = read();
  return () => {
    const s1 = read();
    if (s0 === null || s1 === null || Number.isNaN(s0) || Number.isNaN(s1)) return null;
    return (s1 - s0) / 1000 / (performance.now() - t0);
  };
}

interface Machine {
  /** 1-minute load average at the start. */
  load: number;
  /** Share of the time at least one task waited for a CPU (null: no PSI). */
  cpuStalled: number | null;
}

/** Probe both servers while `work` runs (or for `seconds` when idle). */
interface Measured<T> {
  result: T;
  read: Latencies;
  write: Latencies;
  machine: Machine;
}

interface ProbeSessions {
  read: string[];
  write: string[];
}

async function probeSessions(db: Database, servers: { read: Served; write: Served }): Promise<ProbeSessions> {
  return { read: await loginSessions(db, servers.read.base, SESSIONS_PER_PROBE), write: await loginSessions(db, servers.write.base, SESSIONS_PER_PROBE) };
}

async function measure<T>(servers: { read: Served; write: Served }, sessions: ProbeSessions, work: () => Promise<T>): Promise<Measured<T>> {
  let finish!: () => void;
  const stop = new Promise<void>((r) => (finish = r));
  const load = loadavg()[0]!;
  const stalled = cpuStallClock();
  const probes = Promise.all([probe(servers.read.base, sessions.read, stop), probe(servers.write.base, sessions.write, stop)]);
  let result: T;
  try {
    result = await work();
  } finally {
    finish();
  }
  const cpuStalled = stalled();
  const [read, write] = await probes;
  return { result, read, write, machine: { load, cpuStalled } };
}

const idleFor = (seconds: number) => (): Promise<void> => new Promise((r) => setTimeout(r, seconds * 1000));

// ---- Main ---------------------------------------------------------------------------------------

interface CleanupRun {
  label: string;
  /** Process wall time, start-up included. */
  seconds: number;
  /** The longest single statement, and what it was. */
  longestMs: number;
  longestKind: string;
  /** The longest DELETE start to COMMIT end (Django: its autocommitted DELETE). */
  transactionMs: number;
  /** Statements of SLOW_MS or more (ours: by kind, from --log-slow). */
  slow: string[];
  /** One line about the run (our summary; Django's plan). */
  detail: string;
  idleBefore: Measured<void>;
  /** The next cleanup's idle period, or the final one. */
  idleAfter?: Measured<void>;
  measured: Measured<Exited>;
  /** When rows were being deleted: ours from its first batch, Django's from the start of its DELETE. */
  window: [number, number];
}

function djangoEnvFor(url: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PYTHONPATH: SERIES === '3.2' ? '' : djangoSitePackages(SERIES),
    PYTHONDONTWRITEBYTECODE: '1',
    DSB_DJANGO_DATABASE_URL: url,
    DSB_USE_TZ: 'True',
    DSB_TIME_ZONE: 'UTC',
    TZ: 'UTC',
    DSB_STATEMENT_TIMES: '1',
  };
  delete env.PYTHONHOME;
  return env;
}

async function main(): Promise<void> {
  const url = await scratchDatabase(mariadbServerUrl('bench:clearsessions'), 'dsb_bench');
  // Filling and copying the table take minutes: no client-side bound on a statement's answer.
  const db = openDatabase(url, undefined, { max: 2, queryTimeoutMillis: 0 });
  // Before the database is dropped (clean-up runs last registered first), without a bound: dropping
  // a database of a million rows can outlast the bound of the connection that drops it.
  onCleanup('drop the big tables', () => db.knex.raw('DROP TABLE IF EXISTS django_session, dsb_bench_seed').then(() => db.close()));
  const servers: Served[] = [];
  onCleanup('stop our servers', () => Promise.all(servers.map(stopServer)).then(() => {}));
  await runMigrations(db, { djangoVersion: '5.2' });
  const [[version]] = (await db.knex.raw('SELECT VERSION() AS v, @@innodb_buffer_pool_size AS pool, @@innodb_flush_log_at_trx_commit AS flush')) as [
    [{ v: string; pool: string; flush: string }],
  ];
  const server = `MariaDB ${version.v} (buffer pool ${fmt(Number(version.pool) / 2 ** 20)} MiB, innodb_flush_log_at_trx_commit=${version.flush})`;
  log(`${server}, database ${new URL(url).pathname.slice(1)}`);
  let t = performance.now();
  await seed(db);
  log(`seeded ${fmt(EXPIRED)} expired + ${fmt(LIVE)} live rows in ${((performance.now() - t) / 1000).toFixed(1)} s`);

  const created = await run(process.execPath, ['--import', 'tsx', MAIN, 'createuser', '--email', 'bench@example.com', '--name', 'Bench'], ourEnv(url), {
    stdin: `${PASSWORD}\n`,
  });
  if (created.code !== 0) throw new Error(`createuser failed: ${created.stderr}`);

  let pair: { read: Served; write: Served } | undefined;
  /** A fresh copy of the rows, the background work it caused done, probe sessions, then idle probing. */
  const prepare = async (warmUp: boolean): Promise<{ sessions: ProbeSessions; idle: Measured<void> }> => {
    t = performance.now();
    await restore(db);
    log(`restored the table in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    if (pair === undefined) {
      const read = await startServer(url, {});
      const write = await startServer(url, { SESSION_SAVE_EVERY_REQUEST: 'True' });
      servers.push(read, write);
      pair = { read, write };
    }
    const sessions = await probeSessions(db, pair);
    log(`waited ${(await settle(db)).toFixed(0)} s for InnoDB to flush and purge`);
    if (warmUp) {
      log('warm-up: probing for 5 s (not counted)');
      await measure(pair, sessions, idleFor(5));
    }
    log(`idle: probing for ${IDLE_SECONDS} s`);
    return { sessions, idle: await measure(pair, sessions, idleFor(IDLE_SECONDS)) };
  };

  const runs: CleanupRun[] = [];
  const leftBehind: string[] = [];
  const checkTable = async (label: string): Promise<void> => {
    const after = await tableState(db);
    leftBehind.push(`${label} ${fmt(after.rows)} rows (${fmt(after.expired)} expired, ${fmt(after.seededLive)} of the seeded live rows)`);
    if (after.seededLive !== LIVE || after.expired !== 0) throw new Error(`${label} did not leave exactly the live rows: ${leftBehind.at(-1)}`);
  };

  for (const [i, args] of OUR_ARG_SETS.entries()) {
    const label = args.length === 0 ? 'ours' : `ours ${args.join(' ')}`;
    const { sessions, idle } = await prepare(i === 0);
    log(`${label}: clearsessions`);
    const measured = await measure(pair!, sessions, () =>
      run(process.execPath, ['--import', 'tsx', MAIN, 'clearsessions', '--log-slow', String(SLOW_MS), ...args], ourEnv(url, { LOG_LEVEL: 'warning' }), {
        showProgress: true,
      }),
    );
    const exit = measured.result;
    if (exit.code !== 0) throw new Error(`our clearsessions failed:\n${exit.stderr}`);
    log(`${label} took ${exit.seconds.toFixed(1)} s`);
    const summary = exit.stdout.trim();
    runs.push({
      label,
      seconds: exit.seconds,
      longestMs: Number(/, longest (\d+) ms/.exec(summary)?.[1] ?? NaN),
      longestKind: /, longest \d+ ms \(an? (\w+)/.exec(summary)?.[1] ?? '?',
      transactionMs: Number(/DELETE to COMMIT (\d+) ms/.exec(summary)?.[1] ?? NaN),
      slow: [...exit.stderr.matchAll(/^slow statement: (\w+) took (\d+) ms$/gm)].map((m) => `${m[1]} ${m[2]}`),
      detail: summary,
      idleBefore: idle,
      measured,
      window: [exit.firstProgressAt ?? exit.endedAt - exit.seconds * 1000, exit.endedAt],
    });
    await checkTable(label);
  }

  const django = `Django ${SERIES}`;
  const { sessions, idle } = await prepare(false);
  // The plan of Django's statement on this table: a full scan locks every row it passes (live ones too).
  const [[plan]] = (await db.knex.raw('EXPLAIN DELETE FROM `django_session` WHERE `django_session`.`expire_date` < UTC_TIMESTAMP(6)')) as [
    [{ type: string; key: string | null }],
  ];
  log(`${django}: manage.py clearsessions`);
  const djangoMeasured = await measure(pair!, sessions, () => run(SYSTEM_PYTHON, ['manage.py', 'clearsessions'], djangoEnvFor(url), { cwd: DJANGO_CLEAR }));
  const djangoExit = djangoMeasured.result;
  if (djangoExit.code !== 0) throw new Error(`Django's clearsessions failed:\n${djangoExit.stderr}`);
  log(`Django's clearsessions took ${djangoExit.seconds.toFixed(1)} s`);
  const statements = [...djangoExit.stderr.matchAll(/^dsb-statement ([\d.]+) (.*)$/gm)].map((m) => ({ ms: Number(m[1]), sql: m[2]! }));
  const deletes = statements.filter((st) => st.sql.startsWith('DELETE'));
  const slowest = statements.reduce((a, b) => (b.ms > a.ms ? b : a), { ms: -Infinity, sql: '' });
  const deleteMs = deletes.reduce((sum, st) => sum + st.ms, 0);
  runs.push({
    label: django,
    seconds: djangoExit.seconds,
    longestMs: slowest.ms,
    longestKind: slowest.sql.split(' ', 1)[0] ?? '?',
    transactionMs: Math.max(0, ...deletes.map((st) => st.ms)),
    slow: statements.filter((st) => st.ms >= SLOW_MS).map((st) => `${st.sql.split(' ', 1)[0]} ${Math.round(st.ms)}`),
    detail:
      `${deletes.length} DELETE (${statements.length} statements in all), plan ${plan.type === 'ALL' ? 'full table scan' : `${plan.type} on ${plan.key}`}; ` +
      `slowest: ${slowest.sql} …`,
    idleBefore: idle,
    measured: djangoMeasured,
    window: [djangoExit.endedAt - deleteMs, djangoExit.endedAt],
  });
  await checkTable(django);
  log(`waited ${(await settle(db)).toFixed(0)} s for InnoDB to purge; idle: probing for ${IDLE_SECONDS} s`);
  const finalIdle = await measure(pair!, sessions, idleFor(IDLE_SECONDS));
  runs.forEach((r, i) => (r.idleAfter = runs[i + 1]?.idleBefore ?? finalIdle));
  process.stdout.write(report(server, runs, leftBehind));
}

function report(server: string, runs: readonly CleanupRun[], leftBehind: readonly string[]): string {
  const p = (s: Summary): string => `${s.p50.toFixed(1)} / ${s.p99.toFixed(1)} / ${s.max.toFixed(0)} ms (n=${s.n}${s.errors ? `, ${s.errors} errors` : ''})`;
  const col = (text: string, width: number): string => text.padEnd(width);
  const labelWidth = Math.max(...runs.map((r) => r.label.length)) + 18;
  const machine = (m: Machine): string => `load ${m.load.toFixed(1)}${m.cpuStalled === null ? '' : `, CPU wait ${Math.round(m.cpuStalled * 100)}%`}`;
  const lines = [
    '',
    `clearsessions, ${server}: ${fmt(EXPIRED)} expired + ${fmt(LIVE)} live rows`,
    `probes: ${RATE} req/s each, open loop, ${SESSIONS_PER_PROBE} sessions each; p50 / p99 / max latency of GET /user/test1`,
    `machine: ${cpus().length} CPUs, shared; "load" is the 1-minute load average at the start of a phase, "CPU wait" the share of`,
    `the phase in which some task waited for a CPU (/proc/pressure/cpu)`,
    '',
    `${col('', labelWidth)}${col('total', 10)}${col('rows/s', 10)}${col('read probe', 36)}${col('write probe (save every request)', 36)}machine`,
  ];
  const idleLine = (label: string, m: Measured<void>): string =>
    `${col(label, labelWidth)}${col('-', 10)}${col('-', 10)}${col(p(summarize(m.read)), 36)}${col(p(summarize(m.write)), 36)}${machine(m.machine)}`;
  const djangoRun = runs.at(-1)!;
  const verdicts: string[] = [];
  for (const r of runs) {
    const whole = { read: summarize(r.measured.read), write: summarize(r.measured.write) };
    const deleting = { read: summarize(r.measured.read, ...r.window), write: summarize(r.measured.write, ...r.window) };
    const after = r.idleAfter ?? r.idleBefore;
    // The idle reference: the mean of the p99s just before and just after the cleanup.
    const idle = {
      read: (summarize(r.idleBefore.read).p99 + summarize(after.read).p99) / 2,
      write: (summarize(r.idleBefore.write).p99 + summarize(after.write).p99) / 2,
    };
    lines.push(
      idleLine('idle', r.idleBefore),
      `${col(`${r.label}: whole run`, labelWidth)}${col(`${r.seconds.toFixed(1)} s`, 10)}${col(fmt(EXPIRED / r.seconds), 10)}${col(p(whole.read), 36)}${col(p(whole.write), 36)}${machine(r.measured.machine)}`,
      `${col(`${r.label}: while deleting`, labelWidth)}${col(`${((r.window[1] - r.window[0]) / 1000).toFixed(1)} s`, 10)}${col('', 10)}${col(p(deleting.read), 36)}${p(deleting.write)}`,
    );
    if (r === djangoRun) lines.push(idleLine('idle', after));
    const longest = Math.max(r.longestMs, r.transactionMs);
    const ratio = (s: Summary, reference: number): string => `${(s.p99 / reference).toFixed(2)}×`;
    verdicts.push(
      `${r.label}:`,
      `  time ${r.seconds.toFixed(1)} s${r === djangoRun ? '' : `, ${(r.seconds / djangoRun.seconds).toFixed(2)}× Django's`}; ` +
        `longest statement ${fmt(r.longestMs)} ms (${r.longestKind}), DELETE to COMMIT ${fmt(r.transactionMs)} ms` +
        `${r === djangoRun ? '' : ` (goal < 100 ms: ${longest < 100 ? 'met' : 'NOT met'})`}; ${r.slow.length} statements of ${SLOW_MS} ms or more` +
        (r.slow.length > 0 ? `: ${r.slow.slice(0, 12).join(', ')}${r.slow.length > 12 ? ', …' : ''}` : ''),
      `  p99 / idle p99 (mean of before and after): read ${ratio(whole.read, idle.read)} (while deleting ${ratio(deleting.read, idle.read)})` +
        `${r === djangoRun ? '' : ` (goal < 2×: ${whole.read.p99 < 2 * idle.read ? 'met' : 'NOT met'})`}, ` +
        `write ${ratio(whole.write, idle.write)} (while deleting ${ratio(deleting.write, idle.write)})`,
      `  ${r.detail}`,
    );
  }
  lines.push('', ...verdicts, `left behind: ${leftBehind.join('; ')}`);
  return lines.join('\n') + '\n';
}

// Servers, the scratch database and a running cleanup are cleaned up on errors and on Ctrl-C too.
cleanUpOnSignals();
try {
  await main();
} catch (err) {
  if (interruptedBy() === null) process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
} finally {
  await runCleanup();
}
