// Database faults under load, on a MariaDB of this test's own (scripts/db/start-mariadb.sh with a
// private DSB_RUN_DIR and port, killed and restarted by the test), against our `serve` process:
//
//   - MariaDB killed (SIGKILL) while requests are in flight: every request that needs the database
//     gets a prompt 503, none hangs, the process stays up; MariaDB restarted: the same process
//     serves normally again, no restart;
//   - MariaDB frozen (SIGSTOP: the TCP connections stay open and silent, as in a network partition
//     or a stuck server), with more requests than the pool has connections: every request is
//     answered within a bound (a 503), none waits forever; SIGCONT: service resumes;
//   - a row lock held longer than the server's lock wait timeout: the write waits for that timeout
//     and answers Django's 400 (SessionInterrupted: the UPDATE failed), not a 500 or a hang.
//
// The tutorial's /user/login catches every exception (`except Exception`: a bare 400), so with the
// database down it answers 400, as the reference site does; that route is judged by that rule.
// Needs mariadbd (Debian: mariadb-server); MARIADB_URL is not used.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { runMigrations } from '../../migrations/index.ts';
import { openDatabase, type Database } from '../../src/db/connection.ts';
import { BAD_REQUEST_PAGE } from '../../src/app/responses.ts';
import { setLogSink } from '../../src/log.ts';
import {
  REPO_ROOT,
  freePort,
  isAlive,
  seedAuthUser,
  seedTutorialUser,
  send,
  setSessionKey,
  sleep,
  startNodeServer,
  type Answer,
  type NodeServer,
  type RequestSpec,
} from '../support/stack.ts';

const VERSION = '3.2' as const;
/** How long any request may take while the database is down or frozen: a database call waits at
 *  most ACQUIRE_TIMEOUT_MS for a connection and QUERY_TIMEOUT_MS for its answer (5 s + 5 s, see
 *  src/db/connection.ts), plus slack for a loaded machine. */
const ANSWER_BOUND_MS = 13_000;
const AUTH_USER_DDL =
  'CREATE TABLE `auth_user` (`id` integer AUTO_INCREMENT NOT NULL PRIMARY KEY, `password` varchar(128) NOT NULL, ' +
  '`last_login` datetime(6) NULL, `is_superuser` bool NOT NULL, `username` varchar(150) NOT NULL UNIQUE, ' +
  '`first_name` varchar(150) NOT NULL, `last_name` varchar(150) NOT NULL, `email` varchar(254) NOT NULL, ' +
  '`is_staff` bool NOT NULL, `is_active` bool NOT NULL, `date_joined` datetime(6) NOT NULL)';

/** A private MariaDB: its own data directory under .run/, its own port, started and killed here. */
class PrivateMariadb {
  readonly runDir = join(REPO_ROOT, '.run', `db-faults-${randomBytes(4).toString('hex')}`);
  url = '';
  constructor(readonly port: number) {}

  private get base(): string {
    return join(this.runDir, 'mariadb');
  }

  /** Start (first time: initialise) and wait until it answers; the DATABASE_URL of dsb_test. */
  start(): string {
    const res = spawnSync('bash', [join(REPO_ROOT, 'scripts', 'db', 'start-mariadb.sh')], {
      env: { ...process.env, DSB_RUN_DIR: this.runDir, MARIADB_PORT: String(this.port) },
      encoding: 'utf8',
      timeout: 120_000,
    });
    if (res.status !== 0) throw new Error(`start-mariadb.sh failed: ${res.stderr}`);
    this.url = res.stdout.trim();
    return this.url;
  }

  get pid(): number {
    return Number(readFileSync(join(this.base, 'mariadb.pid'), 'utf8').trim());
  }

  /** SQL as the server's admin (unix-socket login of the account that initialised it); its output. */
  admin(sql: string): string {
    const socket = /^socket = (.+)$/m.exec(readFileSync(join(this.base, 'my.cnf'), 'utf8'))?.[1];
    const res = spawnSync('mariadb', [`--socket=${socket}`, '-u', process.env.USER ?? 'root', '-N', '-B', '-e', sql], { encoding: 'utf8' });
    if (res.status !== 0) throw new Error(`mariadb -e ${sql}: ${res.stderr}`);
    return res.stdout.trim();
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const pid = this.pid;
    process.kill(pid, signal);
    if (signal === 'SIGKILL' || signal === 'SIGTERM') {
      const deadline = Date.now() + 30_000;
      while (isAlive(pid) && Date.now() < deadline) await sleep(20);
    } else if (signal === 'SIGSTOP') {
      // kill() returns once the signal is queued; a thread already running on the other core goes on
      // until the group stop reaches it (tens of ms on a loaded machine, long enough to answer a query).
      const deadline = Date.now() + 10_000;
      while (!allThreadsStopped(pid)) {
        if (Date.now() > deadline) throw new Error(`mariadbd ${pid} is not stopped 10 s after SIGSTOP`);
        await sleep(5);
      }
    }
  }

  async destroy(): Promise<void> {
    try {
      const pid = this.pid;
      if (isAlive(pid)) {
        process.kill(pid, 'SIGCONT');
        await this.kill('SIGKILL');
      }
    } catch {
      // never started
    }
    rmSync(this.runDir, { recursive: true, force: true });
  }
}

/** Linux: whether every thread of `pid` is in the stopped state (T). */
function allThreadsStopped(pid: number): boolean {
  const tasks = readdirSync(`/proc/${pid}/task`);
  return tasks.every((tid) => {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'T';
    } catch {
      return true; // the thread exited meanwhile
    }
  });
}

interface Shot {
  spec: RequestSpec;
  sentAt: number;
  answer?: Answer;
  error?: string;
}

describe('database faults under load (a private MariaDB, our serve process)', { concurrency: 1 }, () => {
  let mariadb: PrivateMariadb;
  let db: Database;
  let server: NodeServer;
  let tutCookie = '';
  let aliceCookie = '';
  const TUT = { name: 'tut', email: 'tut@example.com', password: 'tut pw' };
  const ALICE = { username: 'alice', password: 'alice pw' };
  const tally = { requests: 0, faults: 0 };

  let restoreLogs: (() => void) | undefined;

  before(async () => {
    // The test's own pool sees the same faults; its warnings would only add noise.
    const previous = setLogSink(() => {});
    restoreLogs = () => setLogSink(previous);
    mariadb = new PrivateMariadb(await freePort());
    const url = mariadb.start();
    db = openDatabase(url, { USE_TZ: true, TIME_ZONE: 'UTC' }, { max: 2 });
    await runMigrations(db, { djangoVersion: VERSION });
    await db.knex.raw(AUTH_USER_DDL);
    await seedTutorialUser(db, TUT);
    await seedAuthUser(db, VERSION, ALICE);
    server = await startNodeServer({ SECRET_KEY: randomBytes(16).toString('hex'), DATABASE_URL: url, DJANGO_VERSION: VERSION, USE_TZ: 'True', TIME_ZONE: 'UTC' });
    const tut = await send(server.base, { method: 'POST', path: '/user/login', json: { email: TUT.email, password: TUT.password } });
    tutCookie = `sessionid=${setSessionKey(tut)}`;
    const alice = await send(server.base, { method: 'POST', path: '/auth/login', json: ALICE });
    aliceCookie = `sessionid=${setSessionKey(alice)}`;
  });

  after(async () => {
    await server?.stop();
    await db?.close();
    await mariadb?.destroy();
    restoreLogs?.();
    process.stderr.write(`db-faults: ${tally.requests} requests, ${tally.faults} faults injected (kill+restart, freeze+thaw, every connection dropped, lock wait timeout)\n`);
  });

  /** The requests of the load: reads of both kinds of session, and tutorial logins (writes). */
  const mix = (i: number): RequestSpec => {
    switch (i % 3) {
      case 0:
        return { method: 'GET', path: '/user/test1', cookie: tutCookie, timeoutMs: 30_000 };
      case 1:
        return { method: 'GET', path: '/auth/whoami', cookie: aliceCookie, timeoutMs: 30_000 };
      default:
        return { method: 'POST', path: '/user/login', cookie: tutCookie, json: { email: TUT.email, password: TUT.password }, timeoutMs: 30_000 };
    }
  };

  /** `workers` loops sending the mix until `stop()` says so; every shot with its answer or error. */
  function load(workers: number): { stop(): Promise<Shot[]> } {
    const shots: Shot[] = [];
    let running = true;
    const loops = Array.from({ length: workers }, async (_, w) => {
      for (let i = w; running; i += workers) {
        const shot: Shot = { spec: mix(i), sentAt: Date.now() };
        shots.push(shot);
        tally.requests++;
        try {
          shot.answer = await send(server.base, shot.spec);
        } catch (e) {
          shot.error = String(e);
        }
      }
    });
    return {
      async stop() {
        running = false;
        await Promise.all(loops);
        return shots;
      },
    };
  }

  /** "path status" → count, for the diagnostics. */
  const countBy = (shots: readonly Shot[]): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const s of shots) {
      const k = `${s.spec.path} ${s.answer?.status ?? 'no answer'}`;
      out[k] = (out[k] ?? 0) + 1;
    }
    return out;
  };

  /** Healthy answers for the mix. */
  const healthy = (s: Shot): boolean =>
    s.answer !== undefined && s.answer.status === 200 && (s.spec.path !== '/user/login' || setSessionKey(s.answer) === tutCookie.slice('sessionid='.length));

  /** With the database unreachable: 503 (the tutorial login: its own bare 400), promptly. */
  function assertUnavailable(s: Shot, label: string): void {
    assert.equal(s.error, undefined, `${label}: ${s.spec.method} ${s.spec.path}: no answer (${s.error})`);
    const a = s.answer!;
    assert.ok(a.ms < ANSWER_BOUND_MS, `${label}: ${s.spec.path} took ${a.ms.toFixed(0)} ms`);
    if (s.spec.path === '/user/login') assert.deepEqual([a.status, a.body], [400, ''], `${label}: the tutorial login's own answer`);
    else assert.equal(a.status, 503, `${label}: ${s.spec.method} ${s.spec.path} answered ${a.status} while the database was unreachable`);
    assert.doesNotMatch(a.body, /ECONNREFUSED|mysql|mariadb|ETIMEDOUT|knex|stack/i, 'nothing of the error leaks');
  }

  async function waitUntilHealthy(label: string, timeoutMs = 30_000): Promise<number> {
    const started = Date.now();
    for (;;) {
      const res = await send(server.base, mix(0)).catch(() => null);
      if (res?.status === 200) return Date.now() - started;
      if (Date.now() - started > timeoutMs) throw new Error(`${label}: not serving ${timeoutMs} ms after the database came back (last: ${res?.status})`);
      await sleep(100);
    }
  }

  it('MariaDB killed under load: prompt 503s, the process stays up; restarted: the same process serves again', async (t) => {
    const healthyPhase = load(6);
    await sleep(1_000);
    const warm = await healthyPhase.stop();
    assert.ok(warm.length > 10 && warm.every(healthy), `before the fault every answer is healthy: ${JSON.stringify(warm.find((s) => !healthy(s))?.answer?.status)}`);

    const downPhase = load(6);
    let whileDown: Shot[] = [];
    let recoveredIn = -1;
    try {
      await sleep(300);
      await mariadb.kill('SIGKILL');
      tally.faults++;
      const killedAt = Date.now();
      await sleep(3_000);
      const shots = await downPhase.stop();
      whileDown = shots.filter((s) => s.sentAt > killedAt + 200);
      assert.ok(isAlive(server.pid), 'our process is still running');
    } finally {
      await downPhase.stop();
      mariadb.start();
    }
    recoveredIn = await waitUntilHealthy('after the restart');
    const afterPhase = load(6);
    await sleep(1_000);
    const after = await afterPhase.stop();
    t.diagnostic(
      `${whileDown.length} requests while down (statuses ${JSON.stringify(countBy(whileDown))}); serving again ${recoveredIn} ms after MariaDB was back`,
    );
    assert.ok(after.length > 10 && after.every(healthy), `after the restart every answer is healthy: ${JSON.stringify(after.filter((s) => !healthy(s)).map((s) => s.answer?.status ?? s.error).slice(0, 5))}`);
    assert.ok(isAlive(server.pid), 'the same process serves (no restart)');
    assert.ok(whileDown.length > 6, `requests were sent while the database was down (${whileDown.length})`);
    for (const s of whileDown) assertUnavailable(s, 'database killed');
  });

  it('MariaDB frozen with more requests than pool connections: every request is answered (503) within the bound; thawed: service resumes', async (t) => {
    await waitUntilHealthy('before the freeze');
    await mariadb.kill('SIGSTOP');
    tally.faults++;
    let shots: Shot[] = [];
    try {
      // 14 at once: more than the pool's 10 connections, so some wait for a connection too.
      shots = await Promise.all(
        Array.from({ length: 14 }, async (_, i) => {
          const shot: Shot = { spec: { ...mix(i), timeoutMs: ANSWER_BOUND_MS + 2_000 }, sentAt: Date.now() };
          tally.requests++;
          try {
            shot.answer = await send(server.base, shot.spec);
          } catch (e) {
            shot.error = String(e);
          }
          return shot;
        }),
      );
    } finally {
      await mariadb.kill('SIGCONT');
    }
    const hung = shots.filter((s) => s.error !== undefined);
    const recoveredIn = await waitUntilHealthy('after the thaw');
    t.diagnostic(
      `frozen: ${shots.length - hung.length} answered, ${hung.length} unanswered after ${ANSWER_BOUND_MS + 2_000} ms; ` +
        `${JSON.stringify(countBy(shots))}, times ${JSON.stringify(shots.map((s) => Math.round(s.answer?.ms ?? -1)))}; serving again ${recoveredIn} ms after SIGCONT`,
    );
    assert.ok(isAlive(server.pid));
    for (const s of shots) assertUnavailable(s, 'database frozen');
  });

  it('connections dropped by the server are replaced; a write blocked by a row lock past the lock wait timeout answers 400 SessionInterrupted (Django\'s rule), and the row is intact', async () => {
    await waitUntilHealthy('before the lock');
    // innodb_lock_wait_timeout is read when a connection opens: set it, then have the server drop
    // every client connection (one more fault: the pool must replace them all) so ours reconnect.
    mariadb.admin('SET GLOBAL innodb_lock_wait_timeout = 2');
    const ids = mariadb.admin("SELECT id FROM information_schema.processlist WHERE user = 'dsb'").split('\n').filter((l) => /^\d+$/.test(l));
    assert.ok(ids.length > 0, 'our server holds connections');
    mariadb.admin(ids.map((id) => `KILL CONNECTION ${id};`).join(' '));
    tally.faults += 2;
    await waitUntilHealthy('after the server dropped every connection');
    const key = tutCookie.slice('sessionid='.length);
    const trx = await db.knex.transaction();
    let answer: Answer;
    try {
      await trx.raw('SELECT session_key FROM django_session WHERE session_key = ? FOR UPDATE', [key]);
      answer = await send(server.base, mix(2));
    } finally {
      await trx.commit();
    }
    tally.requests++;
    assert.deepEqual([answer.status, answer.body], [400, BAD_REQUEST_PAGE]);
    assert.ok(answer.ms >= 1_500 && answer.ms < 10_000, `it waited for the lock wait timeout (${answer.ms.toFixed(0)} ms)`);
    const again = await send(server.base, mix(0));
    assert.equal(again.status, 200, 'the session still reads');
  });
});
