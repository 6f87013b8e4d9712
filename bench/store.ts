/**
 * The `db` session store on MariaDB: load+save round trips per second against Django's own
 * `SessionStore` on the same table in the same run, and load latency against a bare mysql2 point
 * query.
 *
 * Run: npm run bench:store     (tsx bench/store.ts)
 *   MARIADB_URL         the server (default: scripts/db/start-mariadb.sh is run and its URL used);
 *                       a scratch database dsb_bench_<random> is created there and dropped at the end
 *   DSB_BENCH_ROUNDS    rounds per measurement (default 5); the median is reported
 *   DSB_BENCH_SECONDS   target length of one round (default 1.5 s; Django's rounds take about this long)
 *   DSB_BENCH_POOL      pool size for ours and bare mysql2 alike, and the concurrency of the
 *                       "concurrent" rows (default 4)
 *   DSB_BENCH_DJANGO    Django series to compare with (default 5.2)
 *
 * What is timed, all on one authenticated session row (~0.8 KB of JSON):
 * - load+save: `s = store(key); s['counter'] = i; s.save()`, i.e. one request that changes its
 *   session: a SELECT and an UPDATE. Django's loop runs inside its Python process
 *   (test/python/store_oracle.py, bench_load_save) with a persistent connection, as a Django
 *   process with CONN_MAX_AGE would; IPC is outside the timing. Both do the same number of
 *   iterations per round, one request at a time. "bare mysql2 SELECT + UPDATE" is the database's
 *   share (the same two statements with a ready-made session_data): the floor for any client.
 *   "ours, N concurrent" runs N such loops at once on N rows (one Node process serving N requests;
 *   a Django process serves one at a time).
 * - load: `store(key).load()` (point SELECT plus signature check and JSON decode into a Map) against
 *   mysql2's `pool.execute()` of the same statement, same table, same pool size, same driver options.
 *   "codec cache off" is ours with the verified-payload cache disabled (every load pays the HMAC,
 *   base64 and JSON parse), the cost for a session not seen recently.
 * Columns: ops/s and µs/op are wall clock (this is database I/O); CPU µs/op is the client process's
 * own CPU per op (Node: process.cpuUsage, all threads; Python: time.process_time), which leaves out
 * the database server's work and shows what each client costs. Each row is the median of its rounds;
 * rounds of the things compared are interleaved (in blocks) so drift in the machine's load hits all.
 */
import { performance } from 'node:perf_hooks';
import mysql from 'mysql2/promise';

import { runMigrations } from '../migrations/index.ts';
import { Timedelta } from '../src/db/datetime.ts';
import { pyDumps } from '../src/pyjson/index.ts';
import { openDatabase, parseDatabaseUrl, type Database } from '../src/db/connection.ts';
import type { PyValue } from '../src/pyjson/types.ts';
import { createSessionStoreFactory, type DatabaseSessionSettings } from '../src/sessions/backends/db.ts';
import { SessionCodec } from '../src/sessions/codec.ts';
import { startStoreOracle, type DjangoSeries, type StoreOracle } from '../test/support/store-oracle.ts';
import { cleanUpOnSignals, runCleanup } from './lib/cleanup.ts';
import { mariadbServerUrl } from './lib/mariadb-scratch.ts';
import { scratchDatabase } from './lib/scratch-stores.ts';

const ROUNDS = Number(process.env.DSB_BENCH_ROUNDS ?? 5);
const ROUND_SECONDS = Number(process.env.DSB_BENCH_SECONDS ?? 1.5);
const POOL = Number(process.env.DSB_BENCH_POOL ?? 4);
const SERIES = (process.env.DSB_BENCH_DJANGO ?? '5.2') as DjangoSeries;
const SECRET_KEY = 'bench-secret-key-not-for-production';
const LOAD_SQL = 'SELECT session_data, expire_date FROM django_session WHERE session_key = ? AND expire_date > ?';
const UPDATE_SQL = 'UPDATE django_session SET session_data = ?, expire_date = ? WHERE session_key = ?';

// ---- Set-up -----------------------------------------------------------------------------------

/** A realistic logged-in session: auth keys, a CSRF-less cart and a message, ~1 KB of JSON. */
function sessionData(): Map<string, PyValue> {
  const cart: PyValue[] = Array.from({ length: 8 }, (_, i) => ({ sku: `SKU-${1000 + i * 37}`, qty: 1 + (i % 3), price: 9.99 + i, title: `Product ${i} in colour ${i % 4}` }));
  return new Map<string, PyValue>([
    ['_auth_user_id', '4821'],
    ['_auth_user_backend', 'django.contrib.auth.backends.ModelBackend'],
    ['_auth_user_hash', '9f3c2a7b1e5d4c8a0b6f2e9d7c1a3b5e8f0d2c4a6b8e1f3d5c7a9b0e2d4f6a8c'],
    ['django_language', 'en'],
    ['cart', cart],
    ['last_seen', '2024-05-01T10:00:00'],
  ]);
}

// ---- Timing -----------------------------------------------------------------------------------

/** Wall and CPU seconds of one timed loop. CPU is this process's (user + system, all threads) or Python's. */
interface Timing {
  seconds: number;
  cpuSeconds: number;
}

const cpuNow = (): number => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
};

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

type Op = (i: number) => Promise<unknown>;

/**
 * Each op `iterations` times, one call at a time, the ops taking turns in blocks of `block` calls
 * (so drift in the machine's load hits all of them alike). Timing per op name.
 */
async function interleaved<K extends string>(iterations: number, block: number, ops: Record<K, Op>): Promise<Record<K, Timing>> {
  const names = Object.keys(ops) as K[];
  const out = Object.fromEntries(names.map((n) => [n, { seconds: 0, cpuSeconds: 0 }])) as Record<K, Timing>;
  for (let done = 0; done < iterations; done += block) {
    const n = Math.min(block, iterations - done);
    for (const name of names) {
      const op = ops[name];
      const cpu = cpuNow();
      const start = performance.now();
      for (let i = done; i < done + n; i++) await op(i);
      out[name].seconds += (performance.now() - start) / 1000;
      out[name].cpuSeconds += cpuNow() - cpu;
    }
  }
  return out;
}

/** `iterations` calls spread over `workers` concurrent loops; worker w calls op(w, i). */
async function concurrent(iterations: number, workers: number, op: (w: number, i: number) => Promise<unknown>): Promise<Timing> {
  const per = Math.ceil(iterations / workers);
  const cpu = cpuNow();
  const start = performance.now();
  await Promise.all(
    Array.from({ length: workers }, async (_, w) => {
      for (let i = 0; i < per; i++) await op(w, i);
    }),
  );
  const scale = iterations / (per * workers);
  return { seconds: ((performance.now() - start) / 1000) * scale, cpuSeconds: (cpuNow() - cpu) * scale };
}

/** Medians over the rounds of one row. */
interface Result {
  opsPerSecond: number;
  /** Wall µs per op (for concurrent rows: per op of throughput). */
  microsPerOp: number;
  /** Client-process CPU µs per op. */
  cpuMicrosPerOp: number;
}

function summarize(iterations: number, rounds: Timing[]): Result {
  const opsPerSecond = median(rounds.map((t) => iterations / t.seconds));
  return {
    opsPerSecond,
    microsPerOp: 1e6 / opsPerSecond,
    cpuMicrosPerOp: median(rounds.map((t) => (t.cpuSeconds / iterations) * 1e6)),
  };
}

// ---- Main -------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const url = await scratchDatabase(mariadbServerUrl('bench:store'), 'dsb_bench');

  let db: Database | undefined;
  let django: StoreOracle | undefined;
  let bareRef: mysql.Pool | undefined;
  try {
    const settings: DatabaseSessionSettings = {
      SECRET_KEY,
      SECRET_KEY_FALLBACKS: [],
      SESSION_COOKIE_AGE: 1_209_600,
      SESSION_EXPIRE_AT_BROWSER_CLOSE: false,
      USE_TZ: true,
      TIME_ZONE: 'UTC',
      DJANGO_VERSION: SERIES,
    };
    db = openDatabase(url, settings, { max: POOL });
    await runMigrations(db, { djangoVersion: SERIES });
    const sessions = createSessionStoreFactory({ db, settings });
    const uncached = createSessionStoreFactory({
      db,
      settings,
      codec: new SessionCodec({ secretKey: SECRET_KEY, djangoVersion: SERIES, cacheSize: 0 }),
    });
    django = await startStoreOracle({ series: SERIES, databaseUrl: url, useTz: true, timeZone: 'UTC', secretKey: SECRET_KEY });

    const target = parseDatabaseUrl(url);
    if (target.dialect !== 'mysql') throw new Error('unreachable');
    // The same driver options our connection uses (src/db/connection.ts), so only the code path differs.
    const bare = (bareRef = mysql.createPool({
      host: target.host,
      port: target.port,
      user: target.user,
      password: target.password,
      database: target.database,
      timezone: 'Z',
      dateStrings: true,
      supportBigNumbers: true,
      bigNumberStrings: true,
      flags: ['FOUND_ROWS', '-LOCAL_FILES'],
      connectionLimit: POOL,
    }));

    // One row per concurrent worker (the first is also the one-at-a-time and Django's row), same data.
    const keys: string[] = [];
    for (let w = 0; w < POOL; w++) {
      const s = sessions(null);
      await s.update(sessionData());
      await s.save();
      keys.push(s.sessionKey!);
    }
    const key = keys[0]!;
    const row = (await sessions.objects.get(key))!;
    const [[version]] = (await db.knex.raw('SELECT VERSION() AS v')) as [[{ v: string }]];
    const [[{ flushSetting }]] = (await db.knex.raw('SELECT @@innodb_flush_log_at_trx_commit AS flushSetting')) as [[{ flushSetting: string }]];

    // Bare and ours build the "now" parameter with the same code: Django's naive UTC text.
    const nowParam = (): string => sessions.table.dates.toParam(sessions.timezone.now());
    const expireParam = (): string => sessions.table.dates.toParam(sessions.timezone.now().plus(new Timedelta({ seconds: 1_209_600 })));
    const pool = bare;
    const bareLoad = async (k: string): Promise<unknown> => {
      const [rows] = await pool.execute(LOAD_SQL, [k, nowParam()]);
      return (rows as { session_data: string }[])[0]?.session_data;
    };
    // The database's share of a load+save: the same two statements with a ready-made session_data.
    const bareLoadSave = async (k: string): Promise<void> => {
      await bareLoad(k);
      await pool.execute(UPDATE_SQL, [row.sessionData, expireParam(), k]);
    };
    const ourLoadSave = async (k: string, i: number): Promise<void> => {
      const s = sessions(k);
      await s.set('counter', i);
      await s.save();
    };
    const loadSaveOps = {
      bare: () => bareLoadSave(key),
      ours: (i: number) => ourLoadSave(key, i),
    };
    const loadOps = {
      bare: () => bareLoad(key),
      ours: () => sessions(key).load(),
      uncached: () => uncached(key).load(),
    };

    // ---- Warm-up, and calibration: Django's rate sets the load+save iterations per round.
    process.stderr.write('warming up\n');
    await interleaved(300, 50, loadSaveOps);
    await interleaved(2000, 200, loadOps);
    await concurrent(300, POOL, (w, i) => ourLoadSave(keys[w]!, i));
    await concurrent(2000, POOL, (w) => bareLoad(keys[w]!));
    await concurrent(2000, POOL, (w) => sessions(keys[w]!).load());
    const probe = await django.call('bench_load_save', { sessionKey: key, iterations: 100 });
    const loadSaveIterations = Math.max(100, Math.round((100 / probe.seconds) * ROUND_SECONDS));
    const probeLoad = await django.call('bench_load', { sessionKey: key, iterations: 300 });
    const djangoLoadIterations = Math.max(300, Math.round((300 / probeLoad.seconds) * ROUND_SECONDS));
    const bareProbe = (await interleaved(1000, 1000, { bare: loadOps.bare })).bare;
    const loadIterations = Math.max(1000, Math.round((1000 / bareProbe.seconds) * ROUND_SECONDS));

    // ---- Rounds.
    const t = {
      djangoLoadSave: [] as Timing[],
      bareLoadSave: [] as Timing[],
      ourLoadSave: [] as Timing[],
      ourLoadSaveConcurrent: [] as Timing[],
      djangoLoad: [] as Timing[],
      bareLoad: [] as Timing[],
      ourLoad: [] as Timing[],
      ourLoadUncached: [] as Timing[],
      bareLoadConcurrent: [] as Timing[],
      ourLoadConcurrent: [] as Timing[],
    };
    for (let round = 0; round < ROUNDS; round++) {
      process.stderr.write(`round ${round + 1}/${ROUNDS}\n`);
      t.djangoLoadSave.push(await django.call('bench_load_save', { sessionKey: key, iterations: loadSaveIterations }));
      const ls = await interleaved(loadSaveIterations, 50, loadSaveOps);
      t.bareLoadSave.push(ls.bare);
      t.ourLoadSave.push(ls.ours);
      t.ourLoadSaveConcurrent.push(await concurrent(loadSaveIterations, POOL, (w, i) => ourLoadSave(keys[w]!, i)));
      t.djangoLoad.push(await django.call('bench_load', { sessionKey: key, iterations: djangoLoadIterations }));
      const l = await interleaved(loadIterations, 200, loadOps);
      t.bareLoad.push(l.bare);
      t.ourLoad.push(l.ours);
      t.ourLoadUncached.push(l.uncached);
      t.bareLoadConcurrent.push(await concurrent(loadIterations, POOL, (w) => bareLoad(keys[w]!)));
      t.ourLoadConcurrent.push(await concurrent(loadIterations, POOL, (w) => sessions(keys[w]!).load()));
    }

    const r = {
      djangoLoadSave: summarize(loadSaveIterations, t.djangoLoadSave),
      bareLoadSave: summarize(loadSaveIterations, t.bareLoadSave),
      ourLoadSave: summarize(loadSaveIterations, t.ourLoadSave),
      ourLoadSaveConcurrent: summarize(loadSaveIterations, t.ourLoadSaveConcurrent),
      djangoLoad: summarize(djangoLoadIterations, t.djangoLoad),
      bareLoad: summarize(loadIterations, t.bareLoad),
      ourLoad: summarize(loadIterations, t.ourLoad),
      ourLoadUncached: summarize(loadIterations, t.ourLoadUncached),
      bareLoadConcurrent: summarize(loadIterations, t.bareLoadConcurrent),
      ourLoadConcurrent: summarize(loadIterations, t.ourLoadConcurrent),
    };

    // ---- Report.
    const num = (n: number): string => n.toLocaleString('en-US', { maximumFractionDigits: n < 100 ? 1 : 0 }).padStart(10);
    const x = (n: number): string => `${n.toFixed(2)}×`.padStart(12);
    const header = (title: string, last: string[]): void =>
      console.log(`\n${title}\n  ${''.padEnd(34)}${'ops/s'.padStart(10)}${'µs/op'.padStart(10)}${'CPU µs/op'.padStart(11)}${last.map((h) => h.padStart(12)).join('')}`);
    const line = (label: string, m: Result, ...ratios: number[]): void =>
      console.log(`  ${label.padEnd(34)}${num(m.opsPerSecond)}${num(m.microsPerOp)} ${num(m.cpuMicrosPerOp)}${ratios.map(x).join('')}`);

    console.log(`Session store on MariaDB ${version.v}, Django ${django.info.django} on the same table`);
    console.log(
      `pool ${POOL}; one session row: ${pyDumps(sessionData()).length} B of JSON, ${row.sessionData.length} B session_data; ` +
        `median of ${ROUNDS} rounds; µs/op is wall clock, CPU µs/op is the client process's own CPU (the database server's is in neither)`,
    );

    const dj = r.djangoLoadSave;
    header(`load+save round trips (s = store(key); s['counter'] = i; s.save()), ${loadSaveIterations} per round`, ['vs Django', 'CPU vs Dj']);
    line('Django SessionStore', dj, 1, 1);
    line('bare mysql2 SELECT + UPDATE (floor)', r.bareLoadSave, r.bareLoadSave.opsPerSecond / dj.opsPerSecond, dj.cpuMicrosPerOp / r.bareLoadSave.cpuMicrosPerOp);
    line('ours, one at a time', r.ourLoadSave, r.ourLoadSave.opsPerSecond / dj.opsPerSecond, dj.cpuMicrosPerOp / r.ourLoadSave.cpuMicrosPerOp);
    line(
      `ours, ${POOL} concurrent (${POOL} rows)`,
      r.ourLoadSaveConcurrent,
      r.ourLoadSaveConcurrent.opsPerSecond / dj.opsPerSecond,
      dj.cpuMicrosPerOp / r.ourLoadSaveConcurrent.cpuMicrosPerOp,
    );

    const b = r.bareLoad;
    header(`load: ${LOAD_SQL}`, ['ours / bare']);
    line('bare mysql2 pool.execute', b, 1);
    line('ours: store(key).load()', r.ourLoad, r.ourLoad.microsPerOp / b.microsPerOp);
    line('ours, codec cache off', r.ourLoadUncached, r.ourLoadUncached.microsPerOp / b.microsPerOp);
    line('Django SessionStore(key).load()', r.djangoLoad, r.djangoLoad.microsPerOp / b.microsPerOp);
    line(`bare, ${POOL} concurrent`, r.bareLoadConcurrent, 1);
    line(`ours, ${POOL} concurrent`, r.ourLoadConcurrent, r.ourLoadConcurrent.microsPerOp / r.bareLoadConcurrent.microsPerOp);

    const saveRatio = r.ourLoadSave.opsPerSecond / dj.opsPerSecond;
    const saveConcurrentRatio = r.ourLoadSaveConcurrent.opsPerSecond / dj.opsPerSecond;
    const cpuRatio = dj.cpuMicrosPerOp / r.ourLoadSave.cpuMicrosPerOp;
    const loadRatio = r.ourLoad.microsPerOp / b.microsPerOp;
    const verdict = (ok: boolean): string => (ok ? 'met' : 'NOT met');
    console.log('\ngoals');
    const goal = (label: string, ratio: number, target: string, ok: boolean): void =>
      console.log(`  ${label.padEnd(44)}${x(ratio)}   goal ${target.padEnd(8)}${ok ? 'met' : 'NOT met'}`);
    goal('load+save/s ours / Django, one at a time', saveRatio, '≥ 5×', saveRatio >= 5);
    goal(`load+save/s ours, ${POOL} concurrent / Django`, saveConcurrentRatio, '≥ 5×', saveConcurrentRatio >= 5);
    goal('load+save CPU per op, Django / ours', cpuRatio, '≥ 5×', cpuRatio >= 5);
    goal('load latency ours / bare mysql2', loadRatio, '≤ 1.20×', loadRatio <= 1.2);
    // What no client can beat: the database's own time for the two statements.
    console.log(
      `  ceiling: the bare SELECT + UPDATE alone runs at ${x(r.bareLoadSave.opsPerSecond / dj.opsPerSecond).trim()} Django's load+save rate here ` +
        `(the UPDATE's commit is ~${Math.round(r.bareLoadSave.microsPerOp - b.microsPerOp)} µs with innodb_flush_log_at_trx_commit=${flushSetting}),\n` +
        `           so a one-at-a-time wall-clock ratio above that is impossible on this server whatever the client does.`,
    );
  } finally {
    await django?.close();
    await bareRef?.end();
    await db?.close();
  }
}

// The scratch database is dropped at the end, on an error and on Ctrl-C too.
cleanUpOnSignals();
try {
  await main();
} finally {
  await runCleanup();
}
