/**
 * `clearsessions` against Django's own, on MariaDB, SQLite and PostgreSQL:
 * - one table of rows written by Django's SessionStore (test/python/store_oracle.py) and by ours,
 *   expired, live and expiring exactly at the cut-off instant (±1 µs); Django's `manage.py
 *   clearsessions` (test/django_clear, with its clock frozen at that instant) and ours (the CLI with
 *   `--expired-before` that instant, batches of 3; the library's sweep and index walk with batches
 *   that shrink as they go) each run on a fresh copy
 *   of those rows and must leave identical tables, which must also be exactly the rows not yet
 *   expired; then Django's SessionStore.clear_expired() (what clearsessions calls) and our CLI with
 *   the real clock. USE_TZ=True in UTC (Django 5.2), and USE_TZ=False in New York (Django 3.2;
 *   Django runs with TZ=TIME_ZONE, as its settings loader arranges).
 * - batching: the number of statements a batch size gives (each batch's COMMIT a statement of its own,
 *   timed), the same result; the connection's settings put back; --dry-run deletes nothing;
 *   --log-slow names each slow statement; pacing options are checked;
 * - the plans: index-ordered batches use Django's expire_date index, sweeps a key/rowid/TID range;
 * - interruption: SIGINT/SIGTERM stop after the batch in progress, a cut connection stops the run,
 *   both exit non-zero saying how far they got, and a second run finishes the job;
 * - session engines: cache and signed_cookies have nothing to delete (as in Django), cached_db cleans
 *   the table as db does;
 * - errors: unreachable database, malformed DATABASE_URL, wrong password, missing table.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { openDatabase, type Database } from '../../src/db/connection.ts';
import { DjangoTimezone, Timedelta, type PyDateTime } from '../../src/db/datetime.ts';
import { createSessionStoreFactory } from '../../src/sessions/backends/db.ts';
import { SessionTable } from '../../src/sessions/backends/db-table.ts';
import { ExpiredSessionCleaner } from '../../src/sessions/clear-expired.ts';
import { runMigrations } from '../../migrations/index.ts';
import { freshDatabase, testDatabases, type FreshDatabase, type TestDatabaseName } from '../support/databases.ts';
import { availableDjangoVersions, DjangoNotSetUpError, djangoSitePackages, SYSTEM_PYTHON, type DjangoSeries } from '../support/django-oracle.ts';
import { startStoreOracle, type StoreOracle } from '../support/store-oracle.ts';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const DJANGO_CLEAR = fileURLToPath(new URL('../django_clear', import.meta.url));
const SECRET_KEY = 'clearsessions-test-secret-key';
/** The series whose SessionStore writes the Django rows (datetime expiries need 4.2+). */
const WRITER_SERIES: DjangoSeries = '5.2';

interface Config {
  readonly useTz: boolean;
  readonly timeZone: string;
  /** The cut-off's microseconds: 0 exercises the text form without a fraction. */
  readonly cutoffMicros: number;
  /** The Django series whose manage.py clearsessions is compared. */
  readonly clearSeries: DjangoSeries;
}

const CONFIGS: readonly Config[] = [
  { useTz: true, timeZone: 'UTC', cutoffMicros: 0, clearSeries: '5.2' },
  { useTz: false, timeZone: 'America/New_York', cutoffMicros: 500_000, clearSeries: '3.2' },
];

// ---- Processes ------------------------------------------------------------------------------------

interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

interface Running {
  child: ChildProcess;
  done: Promise<Finished>;
  /** Resolves when stderr first contains `text`. */
  stderrContains(text: string): Promise<void>;
}

type Env = Record<string, string | undefined>;

function start(command: string, args: string[], env: Env, cwd?: string): Running {
  const childEnv: NodeJS.ProcessEnv = { ...process.env };
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete childEnv[k];
    else childEnv[k] = v;
  }
  const child = spawn(command, args, { env: childEnv, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const waiters: { text: string; resolve: () => void }[] = [];
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
    for (const w of waiters.splice(0)) (stderr.includes(w.text) ? w.resolve : () => waiters.push(w))();
  });
  const done = new Promise<Finished>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return {
    child,
    done,
    stderrContains: (text) =>
      new Promise<void>((resolve) => {
        if (stderr.includes(text)) resolve();
        else waiters.push({ text, resolve });
      }),
  };
}

/** Our CLI, as an operator runs it; only the environment given (plus PATH and the like) counts. */
function ourCli(args: string[], env: Env): Running {
  const settingsEnv: Env = { LOG_LEVEL: undefined, SECRET_KEY: undefined, SESSION_ENGINE: undefined, CACHE_URL: undefined, DJANGO_VERSION: undefined };
  return start(process.execPath, ['--import', 'tsx', MAIN, ...args], { ...settingsEnv, ...env });
}

function ourEnv(url: string, config: Config): Env {
  return { DATABASE_URL: url, USE_TZ: config.useTz ? 'True' : 'False', TIME_ZONE: config.timeZone };
}

function requireDjango(series: DjangoSeries): void {
  if (!availableDjangoVersions().includes(series)) throw new DjangoNotSetUpError(series);
}

/** Django's `manage.py clearsessions` (test/django_clear), its clock frozen at `frozenUs` if given. */
async function djangoClearsessions(series: DjangoSeries, url: string, config: Config, frozenUs?: number): Promise<Finished> {
  requireDjango(series);
  const run = start(
    SYSTEM_PYTHON,
    ['manage.py', 'clearsessions'],
    {
      PYTHONPATH: series === '3.2' ? undefined : djangoSitePackages(series),
      PYTHONHOME: undefined,
      PYTHONDONTWRITEBYTECODE: '1',
      DSB_DJANGO_DATABASE_URL: url,
      DSB_USE_TZ: config.useTz ? 'True' : 'False',
      DSB_TIME_ZONE: config.timeZone,
      TZ: config.timeZone,
      DSB_FROZEN_NOW_US: frozenUs === undefined ? undefined : String(frozenUs),
    },
    DJANGO_CLEAR,
  );
  const out = await run.done;
  assert.equal(out.code, 0, `Django ${series} clearsessions failed:\n${out.stderr}`);
  return out;
}

async function ourClearsessions(args: string[], env: Env): Promise<Finished> {
  const out = await ourCli(['clearsessions', ...args], env).done;
  assert.equal(out.code, 0, `our clearsessions ${args.join(' ')} failed:\n${out.stderr}`);
  return out;
}

// ---- Table snapshots ----------------------------------------------------------------------------

type Row = [sessionKey: string, sessionData: string, expireDate: string];

async function tableRows(db: Database): Promise<Row[]> {
  const rows = (await db.knex('django_session').select('session_key', 'session_data', 'expire_date').orderBy('session_key')) as {
    session_key: string;
    session_data: string;
    expire_date: unknown;
  }[];
  return rows.map((r) => [String(r.session_key), String(r.session_data), String(r.expire_date)]);
}

/** Put `rows` back, exactly as read (the copy each cleanup runs on). */
async function restore(db: Database, rows: readonly Row[]): Promise<void> {
  await db.knex('django_session').del();
  for (let i = 0; i < rows.length; i += 200) {
    const chunk = rows.slice(i, i + 200).map(([k, d, e]) => ({ session_key: k, session_data: d, expire_date: e }));
    await db.knex('django_session').insert(chunk);
  }
}

const keysOf = (rows: readonly Row[]): string[] => rows.map((r) => r[0]).sort();

// ---- Fixtures -------------------------------------------------------------------------------------

/** Offsets from the cut-off, in µs, at which both Django and we write a session. */
const OFFSETS_US = [-86_400_000_000 * 30, -3_600_000_000, -1_000_000, -1, 0, 1, 1_000_000, 2 * 86_400_000_000];

interface Fixture {
  fresh: FreshDatabase;
  /** Django's SessionStore on the same database and settings (it wrote the Django rows). */
  django: StoreOracle;
  tz: DjangoTimezone;
  cutoff: PyDateTime;
  /** The instant of the cut-off, epoch µs (Django's frozen clock). */
  cutoffUs: number;
  snapshot: Row[];
  /** Keys that must survive a cleanup at the cut-off. */
  liveAtCutoff: string[];
  /** Keys that must survive a cleanup with the real clock. */
  liveNow: string[];
}

async function buildFixture(name: TestDatabaseName, config: Config): Promise<Fixture> {
  const settings = { USE_TZ: config.useTz, TIME_ZONE: config.timeZone };
  const fresh = await freshDatabase(name, settings);
  await runMigrations(fresh.db, { djangoVersion: '5.2' });
  const tz = new DjangoTimezone(settings);
  // An hour ago, on a whole second plus the config's microseconds.
  const hourAgo = tz.now().plus(new Timedelta({ hours: -1 }));
  const cutoff = hourAgo.plus(new Timedelta({ microseconds: config.cutoffMicros - hourAgo.microsecond }));
  const cutoffUs = (cutoff.aware ? cutoff : tz.makeAware(cutoff)).epochMicros();
  const at = (us: number): PyDateTime => cutoff.plus(new Timedelta({ microseconds: us }));
  const liveAtCutoff: string[] = [];
  const liveNow: string[] = [];
  const classify = (key: string, offsetUs: number, liveAfterNow: boolean): void => {
    if (offsetUs >= 0) liveAtCutoff.push(key);
    if (liveAfterNow) liveNow.push(key);
  };

  const django = await startStoreOracle({
    series: WRITER_SERIES,
    databaseUrl: fresh.url,
    useTz: config.useTz,
    timeZone: config.timeZone,
    secretKey: SECRET_KEY,
  });
  for (const [i, offset] of OFFSETS_US.entries()) {
    const key = await django.create(`{"user_id":${i},"f":1.0}`, { datetime: at(offset).isoformat() });
    classify(key, offset, offset > 3_600_000_000);
  }
  // Expiries relative to Django's own clock: two hours ago, in two hours, and at browser close.
  classify(await django.create('{"rel":-7200}', -7200), -3_600_000_000, false);
  classify(await django.create('{"rel":7200}', 7200), 3_600_000_000 * 3, true);
  classify(await django.create('{"rel":0}', 0), 3_600_000_000 * 3, true);

  const sessions = createSessionStoreFactory({
    db: fresh.db,
    settings: { ...settings, SECRET_KEY, SESSION_COOKIE_AGE: 1_209_600, SESSION_EXPIRE_AT_BROWSER_CLOSE: false, DJANGO_VERSION: '5.2' },
    timezone: tz,
  });
  for (const [i, offset] of OFFSETS_US.entries()) {
    const key = `ours${String(i).padStart(4, '0')}${'x'.repeat(24)}`;
    await sessions.objects.save(key, new Map([['user_id', i]]), at(offset));
    classify(key, offset, offset > 3_600_000_000);
  }
  for (const [seconds, liveAfterNow] of [
    [-7200, false],
    [7200, true],
  ] as const) {
    const store = sessions(null);
    await store.set('rel', seconds);
    await store.setExpiry(seconds);
    await store.save();
    classify(store.sessionKey!, liveAfterNow ? 1 : -3_600_000_000, liveAfterNow);
  }
  // Many more expired rows (cut-off minus a day, minus i ms), so small batches make many statements.
  const dates = new SessionTable(fresh.db, tz);
  const bulk = Array.from({ length: 40 }, (_, i) => ({
    session_key: `bulk${String(i).padStart(4, '0')}${'y'.repeat(24)}`,
    session_data: 'e30:bulk',
    expire_date: dates.expireDateParam(at(-86_400_000_000 - i * 1000)),
  }));
  await fresh.db.knex('django_session').insert(bulk);

  const snapshot = await tableRows(fresh.db);
  assert.equal(snapshot.length, OFFSETS_US.length * 2 + 3 + 2 + bulk.length);
  return { fresh, django, tz, cutoff, cutoffUs, snapshot, liveAtCutoff: liveAtCutoff.sort(), liveNow: liveNow.sort() };
}

// ---- A TCP proxy whose connections can be cut -------------------------------------------------------

interface CuttableProxy {
  /** `url` with host and port replaced by the proxy's. */
  url: string;
  /** Drop every connection and refuse new ones. */
  cut(): void;
  close(): Promise<void>;
}

async function cuttableProxy(url: string): Promise<CuttableProxy> {
  const target = new URL(url);
  const sockets = new Set<Socket>();
  let cut = false;
  const server: Server = createServer((client) => {
    if (cut) return client.destroy();
    const upstream = connect(Number(target.port), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => {
        sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const proxied = new URL(url);
  proxied.hostname = '127.0.0.1';
  proxied.port = String((server.address() as { port: number }).port);
  return {
    url: proxied.toString(),
    cut() {
      cut = true;
      for (const s of sockets) s.destroy();
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

// ---- The suites ---------------------------------------------------------------------------------

/** Rows with expire_date < the real now, counted by our own cleaner. */
async function expiredNow(db: Database, tz: DjangoTimezone): Promise<number> {
  return new ExpiredSessionCleaner(new SessionTable(db, tz)).countExpired();
}

// Databases and configurations run side by side; the tests of one suite share its table, so run in turn.
describe('clearsessions', { concurrency: 4 }, () => {
  for (const { name } of testDatabases()) {
    for (const config of CONFIGS) {
      describe(`${name}, USE_TZ=${config.useTz ? 'True' : 'False'} ${config.timeZone}: the table Django's clearsessions leaves`, { concurrency: 1 }, () => {
        let fx: Fixture;
        before(async () => {
          fx = await buildFixture(name, config);
        });
        after(async () => {
          await fx?.django.close();
          await fx?.fresh.drop();
        });

        it(`at one instant: Django ${config.clearSeries}'s manage.py clearsessions (clock frozen there) and ours (--expired-before; index and sweep, fixed and shrinking batches)`, async () => {
          const { db } = fx.fresh;
          await djangoClearsessions(config.clearSeries, fx.fresh.url, config, fx.cutoffUs);
          const djangoLeft = await tableRows(db);
          assert.deepEqual(keysOf(djangoLeft), fx.liveAtCutoff, 'Django kept exactly the rows expiring at or after the cut-off');
          const deleted = fx.snapshot.length - djangoLeft.length;

          await restore(db, fx.snapshot);
          const out = await ourClearsessions(
            ['--expired-before', fx.cutoff.isoformat(), '--strategy', 'index', '--batch-size', '3', '--chunk-time', '0'],
            ourEnv(fx.fresh.url, config),
          );
          assert.deepEqual(await tableRows(db), djangoLeft, `the CLI (index) left another table than Django\n${out.stdout}`);
          assert.match(out.stdout, new RegExp(`^Deleted ${deleted} expired sessions in .*\\(strategy index\\)`));

          // Through the library (the CLI only passes the options on): one process fewer. A chunk time
          // no batch can meet makes every walk shrink its batches from 8 rows down to 1 as it goes.
          for (const strategy of ['sweep', 'index'] as const) {
            await restore(db, fx.snapshot);
            const cleaner = new ExpiredSessionCleaner(new SessionTable(db, fx.tz));
            const result = await cleaner.clear({ before: fx.cutoff, strategy, batchSize: 8, chunkTimeMs: 0.001, niceRatio: 0 });
            assert.equal(result.deleted, deleted);
            // 8, then 2, then 1 (a quarter at a time); PostgreSQL's sweep of these two or three heap
            // pages may be over before the batches get that small.
            assert.ok(result.smallestBatchSize <= 2, `${strategy}: the batches shrank to ${result.smallestBatchSize}`);
            assert.deepEqual(await tableRows(db), djangoLeft, `the ${strategy} with shrinking batches left another table than Django`);
          }
        });

        it("with the real clock: Django's SessionStore.clear_expired() and our CLI delete the same rows", async () => {
          const { db } = fx.fresh;
          await restore(db, fx.snapshot);
          await fx.django.clearExpired();
          const djangoLeft = await tableRows(db);
          assert.deepEqual(keysOf(djangoLeft), fx.liveNow);
          await restore(db, fx.snapshot);
          await ourClearsessions(['--quiet'], ourEnv(fx.fresh.url, config));
          assert.deepEqual(await tableRows(db), djangoLeft);
        });
      });
    }

    describe(`${name}: batches, dry run, plans, interruption`, { concurrency: 1 }, () => {
      const config = CONFIGS[0]!;
      let fresh: FreshDatabase;
      let tz: DjangoTimezone;
      /** `expired` expired rows and `live` live ones, nothing else. */
      const fill = async (expired: number, live: number, dataBytes = 20): Promise<void> => {
        await fresh.db.knex('django_session').del();
        const table = new SessionTable(fresh.db, tz);
        const now = tz.now();
        const rows = Array.from({ length: expired + live }, (_, i) => ({
          session_key: `k${String(i).padStart(7, '0')}${'z'.repeat(24)}`,
          session_data: 'd'.repeat(dataBytes),
          expire_date: table.expireDateParam(now.plus(new Timedelta({ seconds: i < expired ? -60 - i : 3600 + i }))),
        }));
        for (let i = 0; i < rows.length; i += 500) await fresh.db.knex('django_session').insert(rows.slice(i, i + 500));
      };

      before(async () => {
        fresh = await freshDatabase(name, { USE_TZ: true, TIME_ZONE: 'UTC' });
        await runMigrations(fresh.db, { djangoVersion: '5.2' });
        tz = new DjangoTimezone({ USE_TZ: true, TIME_ZONE: 'UTC' });
      });
      after(() => fresh?.drop());

      it('splits the work into statements of the batch size, each batch its own transaction, with the same result', async () => {
        const cleaner = new ExpiredSessionCleaner(new SessionTable(fresh.db, tz));
        const deletes: string[] = [];
        const statements: string[] = [];
        const onQuery = (q: { sql: string }): void => {
          statements.push(q.sql.split(' ', 1)[0]!.toUpperCase());
          if (/^DELETE/i.test(q.sql)) deletes.push(q.sql);
        };
        fresh.db.knex.on('query', onQuery);
        try {
          await fill(25, 5);
          deletes.length = 0;
          statements.length = 0;
          // chunkTimeMs 0: a fixed batch size, whatever the machine's load does to the batches' times.
          const index = await cleaner.clear({ strategy: 'index', batchSize: 4, chunkTimeMs: 0 });
          // 6 full batches, then one of 1 that shows nothing is left.
          assert.equal(index.deleted, 25);
          assert.equal(index.batches, 7);
          assert.equal(deletes.length, 7);
          assert.equal(await expiredNow(fresh.db, tz), 0);
          assert.equal(await fresh.db.knex('django_session').count({ n: '*' }).first().then((r) => Number(r?.n)), 5);

          // Each DELETE committed by a COMMIT of its own (MariaDB runs the connection with autocommit
          // off, so its transactions start with the DELETE), so that a slow COMMIT shows as one.
          const batch = name === 'mariadb' ? ['DELETE', 'COMMIT'] : ['BEGIN', 'DELETE', 'COMMIT'];
          const perBatch = statements.filter((st) => batch.includes(st));
          assert.deepEqual(perBatch, Array.from({ length: 7 }, () => batch).flat());
          assert.equal(index.statements, 7 * batch.length);
          assert.ok(index.longestByKind.delete > 0 && index.longestByKind.commit > 0, JSON.stringify(index.longestByKind));
          assert.ok(index.longestTransactionMs >= index.longestByKind.delete, `${index.longestTransactionMs} ≥ ${index.longestByKind.delete}`);
          assert.equal(index.longestStatementMs, Math.max(...Object.values(index.longestByKind)));

          // Rows of ~1 KB so PostgreSQL's sweep spans several heap pages too.
          await fill(25, 5, 1000);
          deletes.length = 0;
          const sweep = await cleaner.clear({ strategy: 'sweep', batchSize: 4, chunkTimeMs: 0 });
          assert.equal(sweep.deleted, 25);
          assert.ok(sweep.batches >= 3, `a sweep in ${sweep.batches} statements`);
          assert.equal(deletes.length, sweep.batches);
          if (name !== 'postgres') assert.equal(sweep.batches, Math.ceil(30 / 4)); // key/rowid ranges of 4 rows
          // MariaDB: the SELECT that ends each range, the DELETE, the COMMIT; the others: BEGIN, DELETE,
          // COMMIT, and one SELECT before the first (the table's pages or rowids).
          assert.equal(sweep.statements, name === 'mariadb' ? 3 * sweep.batches : 3 * sweep.batches + 1);
          assert.equal(await expiredNow(fresh.db, tz), 0);

          // auto, as a library caller gets it: it counts and chooses by itself (half the table expired: sweep).
          await fill(5, 5);
          const auto = await cleaner.clear();
          assert.deepEqual([auto.deleted, auto.strategy, auto.completed], [5, 'sweep', true]);
          assert.equal(await expiredNow(fresh.db, tz), 0);
        } finally {
          fresh.db.knex.off('query', onQuery);
        }
      });

      if (name === 'mariadb') it("puts the connection's autocommit and isolation level back for the pool it came from", async () => {
        await fill(6, 2);
        // A pool of one: the cleaner's connection is the one read afterwards.
        const single = openDatabase(fresh.url, { USE_TZ: true, TIME_ZONE: 'UTC' }, { max: 1 });
        try {
          const settings = async (): Promise<unknown> => {
            const [[row]] = (await single.knex.raw('SELECT @@autocommit AS ac, @@tx_isolation AS iso')) as [[{ ac: unknown; iso: unknown }]];
            return { ac: Number(row.ac), iso: row.iso };
          };
          await single.knex.raw('SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ');
          const before = await settings();
          assert.deepEqual(before, { ac: 1, iso: 'REPEATABLE-READ' });
          const result = await new ExpiredSessionCleaner(new SessionTable(single, tz)).clear({ strategy: 'sweep', batchSize: 2 });
          assert.equal(result.deleted, 6);
          assert.deepEqual(await settings(), before);
          // And nothing was left uncommitted: another connection sees the rows gone.
          assert.equal(await expiredNow(fresh.db, tz), 0);
        } finally {
          await single.close();
        }
      });

      if (name !== 'postgres') it('--log-slow names each statement that took that long (here: all of them), the summary the slowest', async () => {
        await fill(6, 2);
        const out = await ourClearsessions(
          ['--log-slow', '0', '--strategy', 'index', '--batch-size', '4', '--chunk-time', '0', '--nice-ratio', '0'],
          ourEnv(fresh.url, config),
        );
        const logged = [...out.stderr.matchAll(/^slow statement: (\w+) took \d+ ms$/gm)].map((m) => m[1]);
        // 6 rows in batches of 4: a full batch and a short one (which shows nothing is left).
        const batch = name === 'mariadb' ? ['DELETE', 'COMMIT'] : ['BEGIN', 'DELETE', 'COMMIT'];
        assert.deepEqual(logged, [...batch, ...batch], out.stderr);
        assert.match(out.stdout, /, longest \d+ ms \(an? (BEGIN|DELETE|COMMIT); DELETE to COMMIT \d+ ms at most\)/);
        assert.equal(await expiredNow(fresh.db, tz), 0);
      });

      // (The count behind it is checked on every database: each summary's "Deleted N" is N of N.)
      if (name === 'sqlite') it('--dry-run counts and deletes nothing', async () => {
        await fill(12, 4);
        const before = await tableRows(fresh.db);
        const out = await ourClearsessions(['--dry-run'], ourEnv(fresh.url, config));
        assert.match(out.stdout, /^Dry run: 12 expired sessions \(expire_date before .*Nothing was deleted\.\n$/);
        assert.deepEqual(await tableRows(fresh.db), before);
      });

      it('uses the expire_date index (index) or a key/rowid/TID range (sweep)', async () => {
        await fill(3000, 1000);
        const { knex } = fresh.db;
        if (name === 'postgres') await knex.raw('ANALYZE django_session');
        if (name === 'mariadb') await knex.raw('ANALYZE TABLE django_session');
        const cleaner = new ExpiredSessionCleaner(new SessionTable(fresh.db, tz));
        const plan = async (sql: string, bindings: readonly (string | number)[]): Promise<string> => {
          const prefix = name === 'sqlite' ? 'EXPLAIN QUERY PLAN ' : 'EXPLAIN ';
          const result = await knex.raw(prefix + sql, bindings as (string | number)[]);
          const rows = name === 'mariadb' ? result[0] : name === 'postgres' ? result.rows : result;
          return JSON.stringify(rows);
        };
        const [indexDelete] = cleaner.sampleStatements('index', tz.now(), 100);
        const indexPlan = await plan(indexDelete!.sql, indexDelete!.bindings);
        assert.match(indexPlan, /django_session_expire_date_a5c62663/, indexPlan);
        assert.doesNotMatch(indexPlan, /filesort|USE TEMP B-TREE|Sort Key/i, indexPlan);
        const sweepDelete = cleaner.sampleStatements('sweep', tz.now(), 100).at(-1)!;
        const sweepPlan = await plan(sweepDelete.sql, sweepDelete.bindings);
        const expected = { mariadb: /"key":"PRIMARY"/, sqlite: /USING INTEGER PRIMARY KEY \(rowid>\? AND rowid<\?\)/, postgres: /Tid Range Scan/ };
        assert.match(sweepPlan, expected[name], sweepPlan);
      });

      // The stop between batches is the same code on every database; the lost connection below is not.
      if (name !== 'postgres') it(`${name === 'sqlite' ? 'SIGINT' : 'SIGTERM'} stops it after the batch in progress; running it again finishes`, async () => {
        const signal = name === 'sqlite' ? 'SIGINT' : 'SIGTERM';
        await fill(10, 3);
        const run = ourCli(['clearsessions', '--strategy', 'index', '--batch-size', '1', '--pause', '300'], ourEnv(fresh.url, config));
        await run.stderrContains('clearsessions: '); // the first progress line: one batch is done
        run.child.kill(signal);
        const out = await run.done;
        assert.equal(out.code, signal === 'SIGINT' ? 130 : 143, out.stderr);
        const m = /stopped by (SIG\w+) after deleting (\d+) of 10 expired sessions/.exec(out.stderr);
        assert.ok(m, out.stderr);
        assert.equal(m[1], signal);
        const deleted = Number(m[2]);
        assert.ok(deleted >= 1 && deleted < 10, out.stderr);
        assert.equal(await expiredNow(fresh.db, tz), 10 - deleted);
        assert.doesNotMatch(out.stderr, /\n\s+at /, 'no stack trace');

        // Run again, in batches of 4: it carries on, and reports its batches (the last one shows nothing is left).
        const left = 10 - deleted;
        const again = await ourClearsessions(['--strategy', 'index', '--batch-size', '4', '--chunk-time', '0'], ourEnv(fresh.url, config));
        const batches = Math.floor(left / 4) + 1;
        assert.match(again.stdout, new RegExp(`^Deleted ${left} expired sessions in .*, ${batches} batches of up to 4 rows \\(strategy index\\)`));
        assert.equal(await expiredNow(fresh.db, tz), 0);
      });

      if (name !== 'sqlite') {
        it('a lost connection stops it with how far it got; running it again finishes', async () => {
          await fill(10, 3);
          const proxy = await cuttableProxy(fresh.url);
          try {
            const run = ourCli(['clearsessions', '--strategy', 'index', '--batch-size', '2', '--pause', '300'], ourEnv(proxy.url, config));
            await run.stderrContains('clearsessions: ');
            proxy.cut();
            const out = await run.done;
            assert.equal(out.code, 1, out.stderr);
            assert.match(out.stderr, /^(clearsessions: .*\n)+error: lost the connection to .* after deleting \d+ of 10 expired sessions .*run clearsessions again to carry on\.\n$/);
            assert.doesNotMatch(out.stderr, /\n\s+at /, 'no stack trace');
            const deleted = Number(/after deleting (\d+) of 10/.exec(out.stderr)![1]);
            assert.ok(deleted >= 2 && deleted < 10, out.stderr);
            assert.equal(await expiredNow(fresh.db, tz), 10 - deleted);
          } finally {
            await proxy.close();
          }
          // The next run simply carries on (here through the library: the CLI's rerun is tested above).
          const again = await new ExpiredSessionCleaner(new SessionTable(fresh.db, tz)).clear();
          assert.ok(again.completed);
          assert.equal(await expiredNow(fresh.db, tz), 0);
          assert.equal(await fresh.db.knex('django_session').count({ n: '*' }).first().then((r) => Number(r?.n)), 3);
        });
      }
    });
  }

  describe('session engines, as Django dispatches clearsessions', { concurrency: 1 }, () => {
    // Nothing listens on these: the command must not even try to connect.
    const unreachable = { DATABASE_URL: 'mysql://app:secret@127.0.0.1:1/site', CACHE_URL: 'redis://127.0.0.1:1/0' };

    for (const engine of ['cache', 'signed_cookies']) {
      it(`${engine}: nothing to do (Django's clear_expired() is a no-op there), exit 0`, async () => {
        const out = await ourCli(['clearsessions'], { ...unreachable, SESSION_ENGINE: `django.contrib.sessions.backends.${engine}` }).done;
        assert.equal(out.code, 0, out.stderr);
        assert.match(out.stdout, new RegExp(`^Nothing to do for django\\.contrib\\.sessions\\.backends\\.${engine}: `));
        assert.equal(out.stderr, '');
      });
    }

    it('cached_db: the table is cleaned, as by db (Redis is not needed for it)', async () => {
      const fresh = await freshDatabase('sqlite');
      try {
        await runMigrations(fresh.db, { djangoVersion: '5.2' });
        const tz = new DjangoTimezone({ USE_TZ: true, TIME_ZONE: 'UTC' });
        const table = new SessionTable(fresh.db, tz);
        const past = table.expireDateParam(tz.now().plus(new Timedelta({ seconds: -10 })));
        const future = table.expireDateParam(tz.now().plus(new Timedelta({ seconds: 3600 })));
        await fresh.db.knex('django_session').insert([
          { session_key: 'a'.repeat(32), session_data: 'x', expire_date: past },
          { session_key: 'b'.repeat(32), session_data: 'x', expire_date: past },
          { session_key: 'c'.repeat(32), session_data: 'x', expire_date: future },
        ]);
        const out = await ourClearsessions([], { ...unreachable, DATABASE_URL: fresh.url, SESSION_ENGINE: 'django.contrib.sessions.backends.cached_db' });
        assert.match(out.stdout, /^Deleted 2 expired sessions in /);
        assert.deepEqual(keysOf(await tableRows(fresh.db)), ['c'.repeat(32)]);
      } finally {
        await fresh.drop();
      }
    });
  });

  describe('errors: one line on stderr, a non-zero exit', { concurrency: 1 }, () => {
    const expectError = async (env: Env, pattern: RegExp, code: number): Promise<void> => {
      const out = await ourCli(['clearsessions'], env).done;
      assert.equal(out.code, code, out.stderr);
      assert.match(out.stderr, pattern);
      assert.equal(out.stderr.trimEnd().split('\n').length, 1, `one line:\n${out.stderr}`);
      assert.equal(out.stdout, '');
    };

    it('an unreachable database', () =>
      expectError({ DATABASE_URL: 'mysql://app:hunter2@127.0.0.1:1/site' }, /^error: cannot connect to the database mysql:\/\/app:\*\*\*@127\.0\.0\.1:1\/site: .*ECONNREFUSED/, 1));

    it('a malformed DATABASE_URL', () => expectError({ DATABASE_URL: 'oracle://db/site' }, /^error: unsupported scheme "oracle:"/, 2));

    it('a missing table', async () => {
      const fresh = await freshDatabase('sqlite');
      try {
        await expectError({ DATABASE_URL: fresh.url }, /^error: django_session does not exist in sqlite:.*: run `django-session-bridge migrate`/, 1);
      } finally {
        await fresh.drop();
      }
    });

    const postgres = testDatabases().find((d) => d.name === 'postgres');
    if (postgres) {
      it('a wrong password', async () => {
        const url = new URL(postgres.url);
        url.password = 'not-the-password';
        await expectError({ DATABASE_URL: url.toString() }, /^error: cannot connect to the database postgres:\/\/\w+:\*\*\*@.*password authentication failed/, 1);
      });
    }

    it('a wrong option', async () => {
      const out = await ourCli(['clearsessions', '--batch-size', '0'], { DATABASE_URL: 'sqlite::memory:' }).done;
      assert.equal(out.code, 2);
      assert.equal(out.stderr, 'error: --batch-size must be a whole number from 1 to 100000, got "0"\n');
      for (const [option, value, message] of [
        ['--nice-ratio', '1001', '--nice-ratio must be a number from 0 to 1000, got "1001"'],
        ['--nice-ratio', '1e3', '--nice-ratio must be a number from 0 to 1000, got "1e3"'],
        ['--chunk-time', '2.5', '--chunk-time must be a whole number from 0 to 600000, got "2.5"'],
        ['--log-slow', 'x', '--log-slow must be a whole number from 0 to 600000, got "x"'],
      ]) {
        const wrong = await ourCli(['clearsessions', option!, value!], { DATABASE_URL: 'sqlite::memory:' }).done;
        assert.equal(wrong.code, 2, `${option} ${value}`);
        assert.equal(wrong.stderr, `error: ${message}\n`);
      }
      const future = await ourCli(['clearsessions', '--expired-before', '2999-01-01T00:00:00+00:00'], { DATABASE_URL: 'sqlite::memory:' }).done;
      assert.equal(future.code, 2);
      assert.match(future.stderr, /^error: --expired-before must not be in the future/);
    });
  });
});
