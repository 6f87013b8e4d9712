/**
 * src/db/prepared.ts without a database server: a mysql2-like connection whose answers the test
 * controls, behind a small stand-in for knex's pool (tarn's counters and events), plus a real knex
 * over in-memory SQLite for the pool hand-over. The same paths against MariaDB and PostgreSQL are in
 * test/integration/db-connection.test.ts, the frozen server in test/integration/db-faults.test.ts.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { openDatabase, type Database } from '../../src/db/connection.ts';
import { DatabaseTimeoutError } from '../../src/db/errors.ts';
import { preparedStatements } from '../../src/db/prepared.ts';
import { preparedRows } from '../../src/auth/sql-rows.ts';
import { isDatabaseUnavailable } from '../../src/app/database-unavailable.ts';

type Callback = (err: Error | null, result: unknown) => void;

/** A mysql2 connection as prepared.ts and knex's validation see it; answers when the test says. */
class FakeConnection {
  static made = 0;
  readonly id = ++FakeConnection.made;
  readonly calls: { sql: string; values: readonly unknown[] }[] = [];
  readonly pending: Callback[] = [];
  /** Answer every statement on the next turn with this, or keep it waiting (null). */
  autoAnswer: unknown = [{ a: 1 }];
  _closing = false;
  _fatalError: Error | null = null;
  __knex__disposed?: unknown;
  readonly stream = { destroyed: false, destroy: () => void (this.stream.destroyed = true) };

  execute(sql: string, values: readonly unknown[], cb: Callback): void {
    this.calls.push({ sql, values });
    if (this.autoAnswer === null) this.pending.push(cb);
    else {
      const answer = this.autoAnswer;
      setImmediate(() => cb(null, answer));
    }
  }

  destroy(): void {
    this._closing = true;
  }

  /** Answer the oldest waiting statement. */
  answer(result: unknown): void {
    this.pending.shift()!(null, result);
  }
}

/** knex's mysql2 validation (knex/lib/dialects/mysql2), which tarn runs before handing one out. */
const validMysqlConnection = (c: FakeConnection): boolean => !c._fatalError && !c._closing && !c.stream.destroyed && c.__knex__disposed === undefined;

/** knex's tarn pool as prepared.ts uses it: counters, FIFO acquire queue with a timeout, events. */
class FakePool {
  destroyed = false;
  readonly free: FakeConnection[] = [];
  readonly used = new Set<FakeConnection>();
  readonly queue: { resolve: (c: FakeConnection) => void; timer: NodeJS.Timeout }[] = [];
  readonly made: FakeConnection[] = [];
  /** Free connections that failed validation when taken (tarn destroys them). */
  readonly discarded: FakeConnection[] = [];
  private readonly listeners = new Map<string, (() => void)[]>();
  constructor(
    readonly max: number,
    readonly acquireTimeoutMillis: number,
    readonly newConnection: () => FakeConnection = () => new FakeConnection(),
  ) {}

  on(event: string, listener: () => void): void {
    this.listeners.set(event, [...(this.listeners.get(event) ?? []), listener]);
  }
  numFree(): number {
    return this.free.length;
  }
  numUsed(): number {
    return this.used.size;
  }
  numPendingCreates(): number {
    return 0;
  }
  numPendingAcquires(): number {
    return this.queue.length;
  }

  acquire(): Promise<FakeConnection> {
    for (const listener of this.listeners.get('acquireRequest') ?? []) listener();
    return new Promise((resolve, reject) => {
      let conn = this.free.pop();
      while (conn !== undefined && !validMysqlConnection(conn)) {
        this.discarded.push(conn);
        conn = this.free.pop();
      }
      conn ??= this.used.size < this.max ? this.create() : undefined;
      if (conn !== undefined) {
        this.used.add(conn);
        return resolve(conn);
      }
      const entry = {
        resolve,
        timer: setTimeout(() => {
          this.queue.splice(this.queue.indexOf(entry), 1);
          reject(Object.assign(new Error('Knex: Timeout acquiring a connection.'), { name: 'KnexTimeoutError' }));
        }, this.acquireTimeoutMillis),
      };
      this.queue.push(entry);
    });
  }

  release(conn: FakeConnection): boolean {
    if (!this.used.delete(conn)) return false;
    const next = this.queue.shift();
    if (next === undefined) this.free.push(conn);
    else {
      clearTimeout(next.timer);
      this.used.add(conn);
      next.resolve(conn);
    }
    return true;
  }

  private create(): FakeConnection {
    const conn = this.newConnection();
    this.made.push(conn);
    return conn;
  }
}

/** A Database over the fake pool (what prepared.ts reads of it: dialect, knex.client, the bound). */
function fakeDatabase(pool: FakePool, queryTimeoutMillis: number): { db: Database; acquired: () => number } {
  let acquired = 0;
  const client = {
    pool,
    acquireConnection: () => {
      acquired++;
      return pool.acquire();
    },
    validateConnection: validMysqlConnection,
  };
  const db = { dialect: 'mysql', knex: { client }, queryTimeoutMillis, redactedUrl: 'fake://', close: async () => {} } as unknown as Database;
  return { db, acquired: () => acquired };
}

const SQL = 'SELECT session_data FROM django_session WHERE session_key = ?';

/** An executor over a fake pool of `max` connections, after one statement (so one connection is kept). */
async function warmExecutor(max: number, acquireTimeoutMillis: number, queryTimeoutMillis: number) {
  const pool = new FakePool(max, acquireTimeoutMillis);
  const { db, acquired } = fakeDatabase(pool, queryTimeoutMillis);
  const exec = preparedStatements(db);
  await exec.rows(SQL, ['warm']);
  return { pool, db, acquired, exec, conn: pool.made[0]! };
}

describe('prepared statements over a pool (fake mysql2 connections)', () => {
  it('answers rows and counts, one executor per database, the connection kept between statements', async () => {
    const pool = new FakePool(2, 1_000);
    const { db, acquired } = fakeDatabase(pool, 1_000);
    const exec = preparedStatements(db);
    assert.equal(preparedStatements(db), exec);
    assert.equal(preparedRows(db), exec.rows, 'the user table shares the session table executor');
    assert.deepEqual(await exec.rows(SQL, ['k1']), [{ a: 1 }]);
    pool.made[0]!.autoAnswer = { affectedRows: 3 };
    assert.equal(await exec.count('DELETE FROM t WHERE x = ?', ['k2']), 3);
    assert.equal(acquired(), 1, 'the second statement reused the kept connection without asking the pool');
    assert.deepEqual(pool.made[0]!.calls, [
      { sql: SQL, values: ['k1'] },
      { sql: 'DELETE FROM t WHERE x = ?', values: ['k2'] },
    ]);
  });

  it('a statement with no answer fails with DatabaseTimeoutError (a 503) within the bound; its connection is closed, back in the pool, never reused', async () => {
    const { pool, acquired, exec, conn: stuck } = await warmExecutor(2, 1_000, 300);
    stuck.autoAnswer = null;
    const started = Date.now();
    const err = await exec.rows(SQL, ['k']).then(
      () => assert.fail('answered'),
      (e: unknown) => e,
    );
    const waited = Date.now() - started;
    assert.ok(err instanceof DatabaseTimeoutError, String(err));
    assert.equal(err.sql, SQL, 'the statement text, never its parameters');
    assert.ok(!err.message.includes("'k'"));
    assert.ok(isDatabaseUnavailable(err), 'the app answers it with a 503');
    assert.ok(waited >= 290 && waited < 2_500, `waited ${waited} ms for a 300-ms bound`);
    assert.ok(stuck._closing && stuck.stream.destroyed && stuck.__knex__disposed === err, 'closed at once, marked for knex to discard');
    assert.ok(pool.free.includes(stuck) && !pool.used.has(stuck), 'given back to the pool');

    stuck.answer([{ late: true }]); // the frozen server's answer arrives after all: nobody is left to hear it
    assert.deepEqual(await exec.rows(SQL, ['next']), [{ a: 1 }]);
    assert.equal(acquired(), 2);
    assert.deepEqual(pool.discarded, [stuck], 'the pool discarded it on validation');
    assert.equal(stuck.calls.length, 2, 'nothing more was sent on the abandoned connection');
  });

  it('queryTimeoutMillis 0 (a maintenance tool): no client-side bound', async () => {
    const { exec, conn } = await warmExecutor(1, 1_000, 0);
    conn.autoAnswer = null;
    let settled = false;
    const slow = exec.rows(SQL, ['slow']).finally(() => (settled = true));
    await sleep(700);
    assert.equal(settled, false, 'still waiting for its answer');
    conn.answer([{ n: 'slow' }]);
    assert.deepEqual(await slow, [{ n: 'slow' }]);
    assert.ok(!conn._closing);
  });

  it('with every connection busy, statements wait here in order and give up after the pool\'s acquire timeout', async () => {
    const { pool, exec, conn } = await warmExecutor(1, 300, 10_000);
    conn.autoAnswer = null;
    const first = exec.rows(SQL, ['1']);
    const second = exec.rows(SQL, ['2']);
    const started = Date.now();
    const third = exec.rows(SQL, ['3']);
    await sleep(20);
    assert.equal(pool.numPendingAcquires(), 0, 'they wait here, not in the pool\'s queue');
    conn.answer([{ n: 1 }]);
    assert.deepEqual(await first, [{ n: 1 }]);
    await sleep(5);
    assert.deepEqual(
      conn.calls.map((c) => c.values[0]),
      ['warm', '1', '2'],
      'the first waiter got the connection as soon as it was free',
    );
    // the second statement keeps the only connection: the third waits until the acquire timeout
    await assert.rejects(third, (e: Error) => e.name === 'KnexTimeoutError' && isDatabaseUnavailable(e));
    const waited = Date.now() - started;
    assert.ok(waited >= 250 && waited < 2_500, `the third gave up after ${waited} ms (acquire timeout 300)`);
    conn.answer([{ n: 2 }]);
    assert.deepEqual(await second, [{ n: 2 }]);
    assert.equal(conn.calls.length, 3, 'the third was never sent');
  });

  it('someone else asking the pool (a knex query) gets a kept connection at once, and waiters of the pool come before ours', async () => {
    const { pool, exec, conn } = await warmExecutor(1, 2_000, 10_000);
    assert.equal(pool.used.size, 1, 'kept');
    const knexQuery = await pool.acquire();
    assert.equal(knexQuery, conn, 'handed over without waiting');

    // ours waits (the pool's only connection is out); the knex query gives it back: ours gets it.
    const ours = exec.rows(SQL, ['after knex']);
    await sleep(10);
    pool.release(knexQuery);
    assert.deepEqual(await ours, [{ a: 1 }]);

    // a statement of ours is running, one of ours waits here, a knex query waits in the pool:
    // the connection goes to the pool's waiter first, ours follows when it is given back.
    conn.autoAnswer = null;
    const running = exec.rows(SQL, ['running']);
    const waiting = exec.rows(SQL, ['waiting']);
    const knexWaiting = pool.acquire();
    await sleep(10);
    conn.answer([{ n: 'running' }]);
    assert.deepEqual(await running, [{ n: 'running' }]);
    assert.equal(await knexWaiting, conn);
    assert.equal(conn.calls.at(-1)!.values[0], 'running', 'ours did not jump the pool\'s queue');
    conn.autoAnswer = [{ n: 'waiting' }];
    pool.release(conn);
    assert.deepEqual(await waiting, [{ n: 'waiting' }]);
  });

  it('gives kept connections back to the pool after about a second unused, and skips one that fails validation', async () => {
    const { pool, acquired, exec, conn: first } = await warmExecutor(2, 1_000, 1_000);
    first._fatalError = new Error('Connection lost');
    await exec.rows(SQL, ['after the loss']);
    assert.equal(acquired(), 2, 'a connection knex would refuse is not reused');
    assert.deepEqual(pool.discarded, [first], 'it went back to the pool, which discarded it');
    assert.equal(first.calls.length, 1);
    assert.equal(pool.used.size, 1);
    await sleep(1_700);
    assert.equal(pool.used.size, 0, 'the unused connection went back to the pool');
  });
});

describe('prepared statements on a real knex pool (in-memory SQLite: one connection)', () => {
  it('shares the one connection with knex queries and lets the database close', async () => {
    const db = openDatabase('sqlite::memory:', undefined, { acquireTimeoutMillis: 500 });
    try {
      await db.knex.raw('CREATE TABLE t (k text PRIMARY KEY, v text)');
      const exec = preparedStatements(db);
      assert.equal(await exec.count('INSERT INTO t (k, v) VALUES (?, ?)', ['a', 'x']), 1);
      assert.deepEqual(await exec.rows('SELECT v FROM t WHERE k = ?', ['a']), [{ v: 'x' }]);
      // the executor keeps the pool's only connection; a knex query must not wait for it
      const started = Date.now();
      assert.deepEqual(await db.knex('t').select('k'), [{ k: 'a' }]);
      assert.ok(Date.now() - started < 400, 'the knex query got the connection at once');
      assert.equal(await exec.count('UPDATE t SET v = ? WHERE k = ?', ['y', 'a']), 1);
      await assert.rejects(exec.count('INSERT INTO t (k, v) VALUES (?, ?)', ['a', 'dup']), /UNIQUE constraint/);
      assert.deepEqual(await exec.rows('SELECT v FROM t WHERE k = ?', ['a']), [{ v: 'y' }], 'usable after an error');
    } finally {
      const closing = Date.now();
      await db.close();
      assert.ok(Date.now() - closing < 400, 'close() does not wait for the kept connection to age out');
    }
  });
});
