/**
 * Prepared statements straight on the driver, over connections of knex's pool: the point queries of
 * the request path (`django_session`, `auth_user`), where knex's builder and runner would cost more
 * CPU than the database round trip itself. One executor per Database (`preparedStatements(db)`),
 * shared by the session table and the user table.
 *
 * - Each statement is prepared once per connection: mysql2 `execute` (its per-connection statement
 *   cache), pg named statements (named by a hash of the text), better-sqlite3 `prepare` (cached here).
 * - Connections come from knex's pool, so its size limit, creation, validation and reaping all
 *   apply. But a connection whose statement is done stays here for the next statement (checked the
 *   way knex checks one before handing it out: `validateConnection`, `__knex__disposed`) instead of
 *   making the round through tarn's acquire/release (two pending operations with their timers, an
 *   async validation and about ten promises per query). When every connection the pool may open is
 *   busy with our statements, the next statement waits here, first come first served, for one of
 *   them, under the pool's acquire timeout, rather than in tarn's queue. A connection goes back to
 *   the pool as soon as someone else (a knex query, a transaction) waits in the pool, when the pool
 *   is destroyed, or after about a second unused: knex's own queries are served first, and the pool
 *   still shrinks when the site is quiet.
 * - Every statement is bounded by `db.queryTimeoutMillis` (0: none) from the moment it has a
 *   connection, mysql2's PREPARE round trip included (mysql2's own `timeout` leaves it out). When the
 *   bound passes, the caller gets DatabaseTimeoutError and the connection is abandoned: closed at once
 *   and discarded by the pool, never reused. (mysql2 answers a timed-out statement's caller but keeps
 *   the connection busy with it, so the next statement on it would queue behind the silent one,
 *   forever if the server is frozen: with the uncovered PREPARE, the unbounded waits of issue 6.) The
 *   bound is checked by one coarse timer per executor, not a timer per statement.
 */
import { createHash } from 'node:crypto';
import knex from 'knex';
import { abandonConnection, type Database, type Dialect } from './connection.ts';
import { DatabaseTimeoutError } from './errors.ts';

export type Params = readonly (string | number)[];
export type Row = Record<string, unknown>;

export interface PreparedStatements {
  /** The rows a statement returns. `sql` uses `?` placeholders and is one of a few fixed texts. */
  readonly rows: (sql: string, params: Params) => Promise<Row[]>;
  /** Rows matched (MySQL with FOUND_ROWS), changed (SQLite; PostgreSQL: matched) or inserted. */
  readonly count: (sql: string, params: Params) => Promise<number>;
}

/** How often the executor's timer looks at its statements: the resolution of the bound. */
const TICK_MS = 250;
/** Ticks a kept connection may stay unused before it goes back to knex's pool (≈ 1 s). */
const IDLE_TICKS = 4;
const NO_PARAMS: Params = [];

// ---- knex's pool, as far as it is used here -----------------------------------------------------

interface TarnPool {
  release(conn: object): boolean;
  numPendingAcquires(): number;
  numFree(): number;
  numUsed(): number;
  numPendingCreates(): number;
  readonly max: number;
  readonly acquireTimeoutMillis: number;
  readonly destroyed: boolean;
  on(event: 'acquireRequest' | 'poolDestroyRequest', listener: () => void): void;
}

interface KnexPoolClient {
  readonly pool: TarnPool | undefined;
  acquireConnection(): Promise<object>;
  /** Synchronous for our three dialects (mysql2: the connection's state; pg, better-sqlite3: true). */
  validateConnection(conn: object): boolean;
}

// ---- One connection, one statement at a time ----------------------------------------------------

/** A statement waiting here for a connection. */
interface Waiter {
  readonly sql: string;
  readonly params: Params;
  readonly count: boolean;
  /** The lease's tick when it started waiting. */
  readonly since: number;
  readonly resolve: (value: unknown) => void;
  readonly reject: (reason: unknown) => void;
  /** Served, failed or timed out. */
  done: boolean;
  /** Also asked knex's pool for a connection (whichever comes first serves it). */
  inPool: boolean;
}

abstract class Slot {
  /** The lease's tick when the running statement got this connection; -1 while none runs. */
  busySince = -1;
  /** The lease's tick when it was last put aside. */
  idleSince = 0;
  /** Abandoned after a timeout: never used again. */
  dead = false;

  constructor(
    readonly lease: Lease,
    readonly conn: object,
    readonly pool: TarnPool,
  ) {}

  abstract run(sql: string, params: Params, count: boolean): Promise<unknown>;

  /** Run a waiting statement, answering it through its own promise. */
  abstract serve(waiter: Waiter): void;

  /** The bound passed: answer the caller now and drop the connection. */
  expire(): void {}
}

/** A connection over the network: the answer comes in a driver callback, and may never come. */
abstract class NetworkSlot extends Slot {
  protected sql = '';
  protected params: Params = NO_PARAMS;
  protected count = false;
  private resolve: ((value: unknown) => void) | null = null;
  private reject: ((reason: unknown) => void) | null = null;
  // Made once per connection, not per statement.
  private readonly start = (resolve: (value: unknown) => void, reject: (reason: unknown) => void): void => {
    this.resolve = resolve;
    this.reject = reject;
    try {
      this.send();
    } catch (err) {
      this.settle(err, undefined);
    }
  };

  run(sql: string, params: Params, count: boolean): Promise<unknown> {
    this.sql = sql;
    this.params = params;
    this.count = count;
    this.busySince = this.lease.tick;
    return new Promise(this.start);
  }

  serve(waiter: Waiter): void {
    waiter.done = true;
    this.sql = waiter.sql;
    this.params = waiter.params;
    this.count = waiter.count;
    this.busySince = this.lease.tick;
    this.start(waiter.resolve, waiter.reject);
  }

  /** Hand the statement to the driver, with a callback that calls settle(). */
  protected abstract send(): void;

  protected settle(err: unknown, value: unknown): void {
    const resolve = this.resolve;
    const reject = this.reject;
    if (resolve === null || reject === null) return; // already answered: a late reply after expire()
    this.resolve = this.reject = null;
    this.busySince = -1;
    this.params = NO_PARAMS;
    this.lease.release(this);
    if (err === null || err === undefined) resolve(value);
    else reject(err);
  }

  override expire(): void {
    const err = new DatabaseTimeoutError(this.lease.timeoutMs, this.sql);
    this.dead = true;
    abandonConnection(this.lease.dialect, this.conn, err);
    this.settle(err, undefined);
  }
}

interface MysqlConnection {
  execute(sql: string, values: Params, cb: (err: Error | null, result: unknown) => void): void;
}

class MysqlSlot extends NetworkSlot {
  private readonly onResult = (err: Error | null, result: unknown): void =>
    this.settle(err, err !== null ? undefined : this.count ? (result as { affectedRows: number }).affectedRows : result);

  protected send(): void {
    (this.conn as MysqlConnection).execute(this.sql, this.params, this.onResult);
  }
}

interface PgResult {
  rows: Row[];
  rowCount: number | null;
}
interface PgClient {
  query(config: { name: string; text: string; values: Params }, cb: (err: Error | null, res: PgResult) => void): void;
}
interface PgStatement {
  readonly name: string;
  readonly text: string;
}

/**
 * `?` placeholders become $1, $2… (no statement here has a literal '?'), and each distinct text is a
 * server-side prepared statement named by a hash of its text: pg reuses a name it has already prepared
 * on a connection without re-checking the text, so a name must never stand for two texts.
 */
class PgStatements {
  private readonly byText = new Map<string, PgStatement>();

  of(sql: string): PgStatement {
    let st = this.byText.get(sql);
    if (st === undefined) {
      let i = 0;
      const text = sql.replace(/\?/g, () => `$${++i}`);
      st = { name: `dsb_${createHash('sha256').update(text).digest('hex').slice(0, 24)}`, text };
      this.byText.set(sql, st);
    }
    return st;
  }
}

class PgSlot extends NetworkSlot {
  constructor(
    lease: Lease,
    conn: object,
    pool: TarnPool,
    private readonly statements: PgStatements,
  ) {
    super(lease, conn, pool);
  }

  private readonly onResult = (err: Error | null, res: PgResult): void =>
    this.settle(err, err !== null ? undefined : this.count ? (res.rowCount ?? 0) : res.rows);

  protected send(): void {
    const { name, text } = this.statements.of(this.sql);
    (this.conn as PgClient).query({ name, text, values: this.params }, this.onResult);
  }
}

interface SqliteStatement {
  all(...params: Params): Row[];
  run(...params: Params): { changes: number };
}
interface SqliteConnection {
  prepare(sql: string): SqliteStatement;
}

/** better-sqlite3 is synchronous and in-process: the statement is done before run() returns. */
class SqliteSlot extends Slot {
  private readonly statements = new Map<string, SqliteStatement>();

  run(sql: string, params: Params, count: boolean): Promise<unknown> {
    try {
      const value = this.execute(sql, params, count);
      this.lease.release(this);
      return Promise.resolve(value);
    } catch (err) {
      this.lease.release(this);
      return Promise.reject(err);
    }
  }

  serve(waiter: Waiter): void {
    waiter.done = true;
    this.run(waiter.sql, waiter.params, waiter.count).then(waiter.resolve, waiter.reject);
  }

  private execute(sql: string, params: Params, count: boolean): unknown {
    let st = this.statements.get(sql);
    if (st === undefined) this.statements.set(sql, (st = (this.conn as SqliteConnection).prepare(sql)));
    return count ? st.run(...params).changes : st.all(...params);
  }
}

// ---- The connections an executor holds ----------------------------------------------------------

type SlotFactory = (lease: Lease, conn: object, pool: TarnPool) => Slot;

class Lease {
  /** Counts TICK_MS periods while this lease holds connections or has statements waiting. */
  tick = 0;
  private timer: NodeJS.Timeout | undefined;
  /** Kept connections nobody is using, most recently used last. */
  private readonly idle: Slot[] = [];
  /** Every connection taken from the pool and not yet given back (idle or running a statement). */
  private readonly owned = new Set<Slot>();
  /** Statements waiting for one of the owned connections, first come first served. */
  private readonly waiters: Waiter[] = [];
  private readonly slots = new WeakMap<object, Slot>();
  private readonly hooked = new WeakSet<TarnPool>();
  private readonly statementTicks: number;
  private acquireTicks = Infinity;

  constructor(
    readonly dialect: Dialect,
    readonly timeoutMs: number,
    private readonly client: KnexPoolClient,
    private readonly makeSlot: SlotFactory,
  ) {
    this.statementTicks = timeoutMs > 0 ? Math.ceil(timeoutMs / TICK_MS) : Infinity; // 0: no bound
  }

  run(sql: string, params: Params, count: boolean): Promise<unknown> {
    const idle = this.idle;
    while (idle.length > 0) {
      const slot = idle.pop()!;
      if (this.usable(slot)) return slot.run(sql, params, count);
      this.giveBack(slot);
    }
    const pool = this.client.pool;
    if (pool !== undefined && this.owned.size > 0 && !this.poolHasOneNow(pool)) {
      // Every connection the pool may open is busy, ours among them: wait for the first of ours.
      return new Promise((resolve, reject) => {
        this.waiters.push({ sql, params, count, since: this.tick, resolve, reject, done: false, inPool: false });
      });
    }
    // Wait in knex's pool like any knex query (its acquire timeout applies).
    return this.client.acquireConnection().then((conn) => this.adopt(conn, pool!).run(sql, params, count));
  }

  /** A statement is done with `slot`: the pool's waiters first, then ours, else keep it. */
  release(slot: Slot): void {
    if (slot.dead || slot.pool.destroyed || slot.pool.numPendingAcquires() > 0) return this.giveBack(slot);
    const waiters = this.waiters;
    while (waiters.length > 0) {
      const waiter = waiters.shift()!;
      if (!waiter.done) return slot.serve(waiter);
    }
    slot.idleSince = this.tick;
    this.idle.push(slot);
  }

  /** Whether knex's pool has a free connection or may open one, so asking it does not queue. */
  private poolHasOneNow(pool: TarnPool): boolean {
    return pool.numFree() > 0 || pool.numUsed() + pool.numPendingCreates() < pool.max;
  }

  private usable(slot: Slot): boolean {
    const conn = slot.conn as { __knex__disposed?: unknown };
    return !slot.dead && !slot.pool.destroyed && conn.__knex__disposed === undefined && this.client.validateConnection(slot.conn);
  }

  private adopt(conn: object, pool: TarnPool): Slot {
    this.hook(pool);
    let slot = this.slots.get(conn);
    if (slot === undefined || slot.dead) this.slots.set(conn, (slot = this.makeSlot(this, conn, pool)));
    this.owned.add(slot);
    this.startTimer();
    return slot;
  }

  private giveBack(slot: Slot): void {
    this.owned.delete(slot);
    slot.pool.release(slot.conn);
    if (this.owned.size === 0) {
      // None of ours left to wait for (they timed out, or went to the pool's waiters): ask the pool.
      for (const waiter of this.waiters) if (!waiter.done && !waiter.inPool) this.askPool(waiter, slot.pool);
      this.stopTimerIfIdle();
    }
  }

  /** Ask knex's pool for a connection for `waiter`, which keeps its place (and deadline) here. */
  private askPool(waiter: Waiter, pool: TarnPool): void {
    waiter.inPool = true;
    this.client.acquireConnection().then(
      (conn) => {
        const slot = this.adopt(conn, pool);
        if (waiter.done) this.release(slot);
        else slot.serve(waiter);
      },
      (err: unknown) => {
        if (waiter.done) return;
        waiter.done = true;
        waiter.reject(err);
      },
    );
  }

  private hook(pool: TarnPool): void {
    if (this.hooked.has(pool)) return;
    this.hooked.add(pool);
    this.acquireTicks = Math.ceil(pool.acquireTimeoutMillis / TICK_MS);
    // Someone else (a knex query, a transaction) asks the pool: let it have a kept connection rather
    // than wait, or make the pool open one more. Emitted before the request queues, synchronously.
    pool.on('acquireRequest', () => {
      const i = this.idle.findIndex((slot) => slot.pool === pool);
      if (i >= 0) this.giveBack(this.idle.splice(i, 1)[0]!);
    });
    // knex.destroy(): tarn waits for every connection in use, kept ones included.
    pool.on('poolDestroyRequest', () => {
      for (const slot of this.idle.filter((s) => s.pool === pool)) {
        this.idle.splice(this.idle.indexOf(slot), 1);
        this.giveBack(slot);
      }
    });
  }

  // Not unref()'d: it is the only thing that ends a statement the server never answers, and the
  // process must not exit with that statement's caller still waiting. It stops once nothing is held.
  private startTimer(): void {
    if (this.timer === undefined) this.timer = setInterval(this.onTick, TICK_MS);
  }

  private stopTimerIfIdle(): void {
    if (this.timer === undefined || this.owned.size > 0 || this.waiters.length > 0) return;
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private readonly onTick = (): void => {
    const tick = ++this.tick;
    for (const slot of this.owned) {
      if (slot.busySince >= 0 && tick - slot.busySince > this.statementTicks) slot.expire();
    }
    const waiters = this.waiters;
    while (waiters.length > 0 && (waiters[0]!.done || tick - waiters[0]!.since > this.acquireTicks)) {
      const waiter = waiters.shift()!;
      if (waiter.done) continue;
      waiter.done = true;
      waiter.reject(new knex.KnexTimeoutError('Knex: Timeout acquiring a connection. The pool is probably full.'));
    }
    const idle = this.idle;
    while (idle.length > 0 && tick - idle[0]!.idleSince >= IDLE_TICKS) this.giveBack(idle.shift()!);
    this.stopTimerIfIdle();
  };
}

function slotFactory(dialect: Dialect): SlotFactory {
  switch (dialect) {
    case 'mysql':
      return (lease, conn, pool) => new MysqlSlot(lease, conn, pool);
    case 'postgres': {
      const statements = new PgStatements();
      return (lease, conn, pool) => new PgSlot(lease, conn, pool, statements);
    }
    case 'sqlite':
      return (lease, conn, pool) => new SqliteSlot(lease, conn, pool);
  }
}

const executors = new WeakMap<Database, PreparedStatements>();

/** The prepared-statement executor of `db` (one per Database, made on first use). */
export function preparedStatements(db: Database): PreparedStatements {
  let executor = executors.get(db);
  if (executor === undefined) {
    const lease = new Lease(db.dialect, db.queryTimeoutMillis, db.knex.client as KnexPoolClient, slotFactory(db.dialect));
    executor = {
      rows: (sql, params) => lease.run(sql, params, false) as Promise<Row[]>,
      count: (sql, params) => lease.run(sql, params, true) as Promise<number>,
    };
    executors.set(db, executor);
  }
  return executor;
}
