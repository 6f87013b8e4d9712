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
 *   DSB_BENCH_IDLE_SECONDS  length of the idle measurement (default 20)
 *   DSB_BENCH_ARGS          extra clearsessions options for ours, e.g. "--batch-size 1000 --strategy index"
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
 * in full instead of hiding as fewer requests. Measured idle, then during each cleanup.
 *
 * Timing: the cleanups' wall time is the whole process (start-up included) for both. The longest
 * statement: ours from its own summary (client-side time of each DELETE/SELECT, commit included);
 * Django's from a connection.execute_wrapper around every statement (test/django_clear/manage.py
 * with DSB_STATEMENT_TIMES=1), which for clearsessions is its one DELETE.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { runMigrations } from '../migrations/index.ts';
import { openDatabase, type Database } from '../src/db/connection.ts';
import { SessionCodec } from '../src/sessions/codec.ts';
import { djangoSitePackages, SYSTEM_PYTHON, type DjangoSeries } from '../test/support/django-oracle.ts';

const EXPIRED = Number(process.env.DSB_BENCH_EXPIRED ?? 1_000_000);
const LIVE = Number(process.env.DSB_BENCH_LIVE ?? 200_000);
const RATE = Number(process.env.DSB_BENCH_RATE ?? 50);
const IDLE_SECONDS = Number(process.env.DSB_BENCH_IDLE_SECONDS ?? 20);
const OUR_ARGS = (process.env.DSB_BENCH_ARGS ?? '').split(/\s+/).filter(Boolean);
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

function serverUrl(): string {
  if (process.env.MARIADB_URL) return process.env.MARIADB_URL;
  log('MARIADB_URL is not set: starting the test MariaDB (scripts/db/start-mariadb.sh)');
  const started = spawnSync('bash', ['scripts/db/start-mariadb.sh'], { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const url = started.stdout.trim().split('\n').pop() ?? '';
  if (started.status !== 0 || !url.startsWith('mysql://')) throw new Error('scripts/db/start-mariadb.sh did not print a MariaDB URL');
  return url;
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

async function admin(url: string, sql: string): Promise<void> {
  const db = openDatabase(url, undefined, { max: 1 });
  try {
    await db.knex.raw(sql);
  } finally {
    await db.close();
  }
}

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

/** Probe both servers while `work` runs (or for `seconds` when idle). */
interface Measured<T> {
  result: T;
  read: Latencies;
  write: Latencies;
}

async function measure<T>(db: Database, servers: { read: Served; write: Served }, work: () => Promise<T>): Promise<Measured<T>> {
  const readCookie = await loginSessions(db, servers.read.base, SESSIONS_PER_PROBE);
  const writeCookie = await loginSessions(db, servers.write.base, SESSIONS_PER_PROBE);
  let finish!: () => void;
  const stop = new Promise<void>((r) => (finish = r));
  const probes = Promise.all([probe(servers.read.base, readCookie, stop), probe(servers.write.base, writeCookie, stop)]);
  let result: T;
  try {
    result = await work();
  } finally {
    finish();
  }
  const [read, write] = await probes;
  return { result, read, write };
}

// ---- Main ---------------------------------------------------------------------------------------

interface CleanupRun {
  label: string;
  /** Process wall time, start-up included. */
  seconds: number;
  longestMs: number;
  /** One line about the run (our summary; Django's plan). */
  detail: string;
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
  const base = serverUrl();
  const database = `dsb_bench_${randomBytes(4).toString('hex')}`;
  await admin(base, `CREATE DATABASE \`${database}\``);
  const url = withDatabase(base, database);
  const db = openDatabase(url, undefined, { max: 2 });
  const servers: Served[] = [];
  try {
    await runMigrations(db, { djangoVersion: '5.2' });
    const [[version]] = (await db.knex.raw('SELECT VERSION() AS v, @@innodb_buffer_pool_size AS pool')) as [[{ v: string; pool: string }]];
    const server = `MariaDB ${version.v} (buffer pool ${fmt(Number(version.pool) / 2 ** 20)} MiB)`;
    log(`${server}, database ${database}`);
    let t = performance.now();
    await seed(db);
    log(`seeded ${fmt(EXPIRED)} expired + ${fmt(LIVE)} live rows in ${((performance.now() - t) / 1000).toFixed(1)} s`);

    const created = await run(process.execPath, ['--import', 'tsx', MAIN, 'createuser', '--email', 'bench@example.com', '--name', 'Bench'], ourEnv(url), {
      stdin: `${PASSWORD}\n`,
    });
    if (created.code !== 0) throw new Error(`createuser failed: ${created.stderr}`);

    const restoreTimed = async (): Promise<void> => {
      const started = performance.now();
      await restore(db);
      log(`restored the table in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    };
    await restoreTimed();
    const read = await startServer(url, {});
    const write = await startServer(url, { SESSION_SAVE_EVERY_REQUEST: 'True' });
    servers.push(read, write);
    const pair = { read, write };

    log('warm-up: probing for 5 s (not counted)');
    await measure(db, pair, () => new Promise((r) => setTimeout(r, 5000)));
    const loads: string[] = [];
    const noteLoad = (phase: string): void => void loads.push(`${phase} ${loadavg()[0]!.toFixed(1)}`);
    noteLoad('idle');
    log(`idle: probing for ${IDLE_SECONDS} s`);
    const idle = await measure(db, pair, () => new Promise((r) => setTimeout(r, IDLE_SECONDS * 1000)));

    noteLoad('ours');
    log(`ours: clearsessions ${OUR_ARGS.join(' ')}`);
    const oursMeasured = await measure(db, pair, () =>
      run(process.execPath, ['--import', 'tsx', MAIN, 'clearsessions', ...OUR_ARGS], ourEnv(url, { LOG_LEVEL: 'warning' }), { showProgress: true }),
    );
    const oursExit = oursMeasured.result;
    if (oursExit.code !== 0) throw new Error(`our clearsessions failed:\n${oursExit.stderr}`);
    log(`ours took ${oursExit.seconds.toFixed(1)} s`);
    const summaryLine = oursExit.stdout.trim();
    const ours: CleanupRun = {
      label: 'ours',
      seconds: oursExit.seconds,
      longestMs: Number(/, longest (\d+) ms/.exec(summaryLine)?.[1] ?? NaN),
      detail: summaryLine,
      measured: oursMeasured,
      window: [oursExit.firstProgressAt ?? oursExit.endedAt - oursExit.seconds * 1000, oursExit.endedAt],
    };
    const afterOurs = await tableState(db);

    await restoreTimed();
    // The plan of Django's statement on this table: a full scan locks every row it passes (live ones too).
    const [[plan]] = (await db.knex.raw('EXPLAIN DELETE FROM `django_session` WHERE `django_session`.`expire_date` < UTC_TIMESTAMP(6)')) as [
      [{ type: string; key: string | null }],
    ];
    noteLoad('Django');
    log(`Django ${SERIES}: manage.py clearsessions`);
    const djangoMeasured = await measure(db, pair, () => run(SYSTEM_PYTHON, ['manage.py', 'clearsessions'], djangoEnvFor(url), { cwd: DJANGO_CLEAR }));
    const djangoExit = djangoMeasured.result;
    if (djangoExit.code !== 0) throw new Error(`Django's clearsessions failed:\n${djangoExit.stderr}`);
    log(`Django's clearsessions took ${djangoExit.seconds.toFixed(1)} s`);
    const statements = [...djangoExit.stderr.matchAll(/^dsb-statement ([\d.]+) (.*)$/gm)].map((m) => ({ ms: Number(m[1]), sql: m[2]! }));
    const deletes = statements.filter((st) => st.sql.startsWith('DELETE'));
    const slowest = statements.reduce((a, b) => (b.ms > a.ms ? b : a), { ms: -Infinity, sql: '' });
    const deleteMs = deletes.reduce((sum, st) => sum + st.ms, 0);
    const django: CleanupRun = {
      label: `Django ${SERIES}`,
      seconds: djangoExit.seconds,
      longestMs: slowest.ms,
      detail:
        `${deletes.length} DELETE (${statements.length} statements in all), plan ${plan.type === 'ALL' ? 'full table scan' : `${plan.type} on ${plan.key}`}; ` +
        `slowest: ${slowest.sql} …`,
      measured: djangoMeasured,
      window: [djangoExit.endedAt - deleteMs, djangoExit.endedAt],
    };
    const afterDjango = await tableState(db);

    // ---- Report ----
    const idleRead = summarize(idle.read);
    const idleWrite = summarize(idle.write);
    const p = (s: Summary): string => `${s.p50.toFixed(1)} / ${s.p99.toFixed(1)} / ${s.max.toFixed(0)} ms (n=${s.n}${s.errors ? `, ${s.errors} errors` : ''})`;
    const col = (text: string, width: number): string => text.padEnd(width);
    const lines = [
      '',
      `clearsessions, ${server}: ${fmt(EXPIRED)} expired + ${fmt(LIVE)} live rows`,
      `probes: ${RATE} req/s each, open loop, ${SESSIONS_PER_PROBE} sessions each; p50 / p99 / max latency of GET /user/test1`,
      `machine: ${cpus().length} CPUs; 1-minute load average at the start of each phase: ${loads.join(', ')}`,
      '',
      `${col('', 26)}${col('total', 10)}${col('rows/s', 10)}${col('longest statement', 19)}${col('read probe', 36)}write probe (save every request)`,
      `${col('idle', 26)}${col('-', 10)}${col('-', 10)}${col('-', 19)}${col(p(idleRead), 36)}${p(idleWrite)}`,
    ];
    const ratios: string[] = [];
    for (const r of [ours, django]) {
      const whole = { read: summarize(r.measured.read), write: summarize(r.measured.write) };
      const deleting = { read: summarize(r.measured.read, ...r.window), write: summarize(r.measured.write, ...r.window) };
      lines.push(
        `${col(`${r.label}, whole run`, 26)}${col(`${r.seconds.toFixed(1)} s`, 10)}${col(fmt(EXPIRED / r.seconds), 10)}${col(`${fmt(r.longestMs)} ms`, 19)}${col(p(whole.read), 36)}${p(whole.write)}`,
        `${col(`${r.label}, while deleting`, 26)}${col(`${((r.window[1] - r.window[0]) / 1000).toFixed(1)} s`, 10)}${col('', 10)}${col('', 19)}${col(p(deleting.read), 36)}${p(deleting.write)}`,
      );
      ratios.push(
        `p99 / idle p99 during ${r.label}: read ${(whole.read.p99 / idleRead.p99).toFixed(2)}× (while deleting ${(deleting.read.p99 / idleRead.p99).toFixed(2)}×), ` +
          `write ${(whole.write.p99 / idleWrite.p99).toFixed(2)}× (while deleting ${(deleting.write.p99 / idleWrite.p99).toFixed(2)}×)`,
      );
    }
    const ratio = ours.seconds / django.seconds;
    lines.push(
      '',
      `ours:   ${ours.detail}`,
      `Django: ${django.detail}`,
      `time, ours / Django: ${ratio.toFixed(2)}× (${ratio > 1 ? 'ours is slower' : 'ours is faster'}, whole processes)`,
      `longest statement: ours ${fmt(ours.longestMs)} ms (goal < 100 ms: ${ours.longestMs < 100 ? 'met' : 'NOT met'}), Django ${fmt(django.longestMs)} ms`,
      ...ratios,
      `left behind: ours ${fmt(afterOurs.rows)} rows (${fmt(afterOurs.expired)} expired, ${fmt(afterOurs.seededLive)} of the seeded live rows); ` +
        `Django ${fmt(afterDjango.rows)} rows (${fmt(afterDjango.expired)} expired, ${fmt(afterDjango.seededLive)} of the seeded live rows)`,
    );
    process.stdout.write(lines.join('\n') + '\n');
    if (afterOurs.seededLive !== LIVE || afterDjango.seededLive !== LIVE || afterOurs.expired !== 0 || afterDjango.expired !== 0) {
      throw new Error('a cleanup did not leave exactly the live rows');
    }
  } finally {
    await Promise.all(servers.map(stopServer));
    await db.close();
    await admin(base, `DROP DATABASE IF EXISTS \`${database}\``);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
