/**
 * `clearsessions` for tables of millions of rows: delete exactly the rows Django's
 * `SessionStore.clear_expired()` deletes (`expire_date < now`, compared as Django compares it on each
 * database and USE_TZ setting, through the store's own datetime adapter), but in many short
 * statements instead of Django's one unbounded `DELETE`, so no statement holds locks for long.
 *
 * "Now" is read once, at the start: the run deletes the rows that were expired at that instant,
 * which is what Django's single statement does. Rows that expire while it runs are left for the next
 * run, as they would be by Django.
 *
 * Two ways to walk the table, both bounded per statement:
 *
 *   index  In expire_date order through Django's `expire_date` index, `batchSize` rows per DELETE:
 *            MariaDB     DELETE … WHERE expire_date < ? ORDER BY expire_date, session_key LIMIT n
 *            PostgreSQL  DELETE … WHERE ctid = ANY(ARRAY(SELECT ctid … ORDER BY expire_date LIMIT n))
 *                          AND expire_date < ?
 *            SQLite      DELETE … WHERE rowid IN (SELECT rowid … ORDER BY expire_date LIMIT n)
 *          Only expired rows are read and locked. But consecutive rows of that index live on random
 *          pages of the table, so when the expired rows are not in memory (a backlog of old sessions
 *          never is) each deleted row costs one random read: ~0.3 ms on an SSD-backed VM, i.e. hours
 *          for tens of millions of rows.
 *   sweep  In the table's physical order, `batchSize` rows of the table per DELETE, deleting the
 *          expired ones among them:
 *            MariaDB     primary-key ranges (InnoDB stores rows in key order): one non-locking
 *                          SELECT finds the end of the next range, then
 *                          DELETE … WHERE session_key > ? AND session_key <= ? AND expire_date < ?
 *                        Both bounds keep the plan on the primary key. (One `DELETE … WHERE
 *                        session_key > ? ORDER BY session_key LIMIT n RETURNING …` would save the
 *                        SELECT, but the optimizer may answer it through the expire_date index with
 *                        a sort of every expired row: 80 s for the first batch of a million, measured.)
 *            PostgreSQL  ranges of heap pages (a TID range scan, PostgreSQL 14+):
 *                          DELETE … WHERE ctid >= '(p,0)' AND ctid < '(q,0)' AND expire_date < ?
 *            SQLite      rowid ranges: DELETE … WHERE rowid > ? AND rowid <= ? AND expire_date < ?
 *          Reads the whole table, sequentially; the cost is the table's size, not the number of
 *          rows deleted. On MariaDB the statements run under READ COMMITTED, so the live rows of a
 *          range are not kept locked (InnoDB releases rows that fail the WHERE at once).
 *
 * `auto` (the default) takes `sweep` when at least SWEEP_THRESHOLD of the table is expired (the usual
 * backlog, or a daily cron on two-week sessions) and `index` for a few expired rows in a big table.
 *
 * Stopping: an AbortSignal is checked between statements, so an abort (Ctrl-C, SIGTERM) ends the run
 * after the current batch; a lost connection fails the batch. Either way every finished batch is
 * committed and a new run simply carries on.
 */
import type { Knex } from 'knex';
import type { Database, Dialect } from '../db/connection.ts';
import { type PyDateTime } from '../db/datetime.ts';
import { quoteIdentifier } from '../db/identifiers.ts';
import type { SessionTable } from './backends/db-table.ts';
import { BatchPacer } from './clear-pacing.ts';

export type ClearStrategy = 'index' | 'sweep';

/*
 * The defaults, measured on MariaDB (a sweep of 1,000,000 expired and 200,000 live rows, 128 MiB
 * buffer pool, 2-CPU VM shared with other work at load 2 to 13), with the settings compared in turns
 * of 3 s on the same table so that all met the same load. Statements of 100 ms or more per million
 * rows deleted: 500 rows back to back (the old default) 5 to 19; with a rest as long as each batch,
 * 0 to 16; 250 rows with that rest (fixed, or fitted to 15 ms): none in 1.2 million rows, longest
 * 95 ms, the site's p99 within 1.5x of idle. The price is time: the rest doubles it, the smaller
 * batches take about 1.4x the working time (each batch has its fixed cost: round trips, a commit's
 * log flush). docs/operators.md has the whole-run benchmark figures.
 */
/** Rows per statement at most (and the first batch's). */
export const DEFAULT_BATCH_SIZE = 250;
export const MAX_BATCH_SIZE = 100_000;
/** Target time of one batch, ms (see clear-pacing.ts); batches that keep taking longer are made smaller. */
export const DEFAULT_CHUNK_TIME_MS = 15;
/** Rest after each batch, in ms per ms the batch took (see clear-pacing.ts). */
export const DEFAULT_NICE_RATIO = 1;
/** `auto` sweeps the table when at least this share of its rows is expired. */
export const SWEEP_THRESHOLD = 0.1;
/** Attempts per batch when the database reports a deadlock, a lock timeout or a busy database. */
const TRANSIENT_ATTEMPTS = 4;

/**
 * The statements of a batch: `select` (a MariaDB sweep's, which finds where the range ends), `begin`
 * (PostgreSQL and SQLite; MariaDB's transactions begin with the DELETE), `delete`, `commit`.
 */
export type StatementKind = 'select' | 'begin' | 'delete' | 'commit';

export interface ClearProgress {
  /** Rows deleted so far. */
  readonly deleted: number;
  /** DELETE statements run so far. */
  readonly batches: number;
  /** All statements run so far (SELECT, BEGIN, DELETE, COMMIT). */
  readonly statements: number;
  readonly elapsedMs: number;
  /** The slowest single statement so far, in ms. */
  readonly longestStatementMs: number;
  /** The slowest statement of each kind so far, in ms (0: none of that kind ran). */
  readonly longestByKind: Readonly<Record<StatementKind, number>>;
  /**
   * The longest write so far, from the start of a DELETE to the end of its COMMIT, in ms: how long
   * the rows it deleted stayed locked, and what one autocommitted DELETE would have taken.
   */
  readonly longestTransactionMs: number;
  /** Rows the next batch will visit (sweep) or delete (index). */
  readonly batchSize: number;
  /** The smallest batch size so far (the pacer shrinks batches that run long). */
  readonly smallestBatchSize: number;
  /** Time spent resting between batches (nice ratio and pause), in ms. */
  readonly restMs: number;
}

export interface ClearExpiredResult extends ClearProgress {
  readonly strategy: ClearStrategy;
  /** The instant compared with: rows with `expire_date < before` were deleted. */
  readonly before: PyDateTime;
  /** False when the run was aborted before the end. */
  readonly completed: boolean;
  /** The 99th percentile of statement times, in ms. */
  readonly p99StatementMs: number;
}

export interface ClearExpiredOptions {
  /** Default: `timezone.now()` once, at the start. */
  before?: PyDateTime;
  /**
   * Rows per statement at most, and the first batch's (index: rows deleted; sweep: rows of the table
   * visited). Default DEFAULT_BATCH_SIZE. With `chunkTimeMs: 0`, every batch has exactly this many.
   */
  batchSize?: number;
  /**
   * Target time of one batch (its SELECT, DELETE and COMMIT), ms: a batch that takes longer makes the
   * next ones smaller, batches well under it grow back up to `batchSize`. 0: a fixed batch size.
   * Default DEFAULT_CHUNK_TIME_MS.
   */
  chunkTimeMs?: number;
  /**
   * Rest after each batch, in ms per ms the batch took: the database is kept busy at most
   * 1 / (1 + niceRatio) of the time. Default DEFAULT_NICE_RATIO; 0 runs the batches back to back.
   */
  niceRatio?: number;
  /** Default 'auto'. */
  strategy?: ClearStrategy | 'auto';
  /** A fixed rest after every batch, ms, on top of the nice ratio's (e.g. for replicas). Default 0. */
  pauseMs?: number;
  /** Checked between statements: stops the run after the batch in progress. */
  signal?: AbortSignal;
  /** Called after every batch. */
  onBatch?: (progress: ClearProgress) => void;
  /** Called after every statement that completed, with its kind and time (for tracing slow ones). */
  onStatement?: (kind: StatementKind, ms: number) => void;
  /** The expired-row count, if the caller already has it (auto uses it to choose). */
  expiredCount?: number;
}

/** A batch failed; `progress` says how far the run got (everything in it is committed). */
export class ClearExpiredError extends Error {
  constructor(
    message: string,
    readonly progress: ClearExpiredResult,
    /** The database went away (connection refused, reset, server shut down). */
    readonly connectionLost: boolean,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'ClearExpiredError';
  }
}

// ---- Driver results and errors --------------------------------------------------------------------

/** Rows affected by a knex.raw() DELETE, whatever the driver. */
function affectedRows(dialect: Dialect, result: unknown): number {
  switch (dialect) {
    case 'mysql':
      return Number((result as [{ affectedRows: number }])[0].affectedRows);
    case 'postgres':
      return Number((result as { rowCount: number | null }).rowCount ?? 0);
    case 'sqlite':
      return Number((result as { changes: number }).changes);
  }
}

/** The rows of a knex.raw() SELECT, whatever the driver. */
function resultRows(dialect: Dialect, result: unknown): Record<string, unknown>[] {
  switch (dialect) {
    case 'mysql':
      return (result as [Record<string, unknown>[]])[0];
    case 'postgres':
      return (result as { rows: Record<string, unknown>[] }).rows;
    case 'sqlite':
      return result as Record<string, unknown>[];
  }
}

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_SERVER_SHUTDOWN',
  'ER_CON_COUNT_ERROR',
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
]);

/** Whether `err` means the database cannot be reached or went away (as opposed to a bad statement). */
export function isConnectionError(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { code?: unknown; errno?: unknown; name?: unknown; message?: unknown };
  if (typeof e.code === 'string' && (CONNECTION_CODES.has(e.code) || e.code.startsWith('08'))) return true;
  if (e.errno === 2006 || e.errno === 2013) return true; // MySQL: server has gone away / lost connection
  if (e.name === 'KnexTimeoutError') return true; // no connection could be had from the pool
  const message = typeof e.message === 'string' ? e.message : '';
  return /Connection terminated|connection is closed|not queryable|Cannot enqueue|Can't add new command when connection is in closed state/i.test(message);
}

/**
 * Whether `err` means no connection could be had at all: unreachable, refused, wrong credentials or
 * no such database. (A superset of isConnectionError, for the messages of a command's first query.)
 */
export function isConnectFailure(err: unknown): boolean {
  if (isConnectionError(err)) return true;
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { code?: unknown; errno?: unknown };
  // MySQL: access denied (1044, 1045, 1698), unknown database (1049).
  if (e.errno === 1044 || e.errno === 1045 || e.errno === 1698 || e.errno === 1049) return true;
  // PostgreSQL: class 28 (invalid authorization), 3D000 (no such database).
  return typeof e.code === 'string' && (e.code.startsWith('28') || e.code === '3D000');
}

/** Deadlocks, lock timeouts, serialization failures and a busy SQLite file: worth another try. */
function isTransient(dialect: Dialect, err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { code?: unknown; errno?: unknown };
  switch (dialect) {
    case 'mysql':
      return e.errno === 1213 || e.errno === 1205;
    case 'postgres':
      return e.code === '40001' || e.code === '40P01' || e.code === '55P03';
    case 'sqlite':
      return typeof e.code === 'string' && (e.code.startsWith('SQLITE_BUSY') || e.code.startsWith('SQLITE_LOCKED'));
  }
}

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (ms <= 0 || signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

// ---- The cleaner ----------------------------------------------------------------------------------

export interface ExpiredSessionCleanerOptions {
  /** Default `django_session`; must be the table `table` was built for. */
  tableName?: string;
}

/** One statement to run: SQL with `?` placeholders and its bindings. */
export interface CleanupStatement {
  sql: string;
  bindings: readonly (string | number)[];
}

/** A walk over the table: each call deletes one batch of `size` rows; null once the walk is over. */
type Walk = (run: StatementRunner, size: number) => Promise<number | null>;

interface StatementRunner {
  /** The DELETE in a transaction of its own, committed before it resolves; rows deleted. */
  delete(statement: CleanupStatement): Promise<number>;
  /** A plain read, outside any write. */
  select(statement: CleanupStatement): Promise<Record<string, unknown>[]>;
}

export class ExpiredSessionCleaner {
  readonly db: Database;
  readonly dialect: Dialect;
  readonly tableName: string;
  private readonly t: string;

  constructor(
    readonly table: SessionTable,
    options: ExpiredSessionCleanerOptions = {},
  ) {
    this.db = table.db;
    this.dialect = table.dialect;
    this.tableName = options.tableName ?? 'django_session';
    this.t = this.quote(this.tableName);
  }

  private quote(name: string): string {
    return quoteIdentifier(this.dialect, name);
  }

  /** `expire_date < ?`'s parameter: `before` exactly as Django's adapter sends it. */
  private beforeParam(before: PyDateTime): string {
    return this.table.dates.toParam(before);
  }

  /** Whether the table exists. */
  tableExists(): Promise<boolean> {
    return this.db.knex.schema.hasTable(this.tableName);
  }

  /** Rows with `expire_date < before` (Django's now by default): what a run would delete. */
  async countExpired(before: PyDateTime = this.table.timezone.now()): Promise<number> {
    const sql = `SELECT COUNT(*) AS n FROM ${this.t} WHERE expire_date < ?`;
    const bindings = [this.beforeParam(before)];
    let result: unknown;
    // A plain read that takes no row locks, but on a huge table it can outlast the bound the
    // connection puts on a statement (meant for the site's point queries): lift it for this one query.
    if (this.dialect === 'postgres') {
      result = await this.db.knex.transaction(async (trx) => {
        await trx.raw('SET LOCAL statement_timeout = 0');
        return trx.raw(sql, bindings);
      });
    } else {
      result = await this.unbounded(this.db.knex.raw(sql, bindings));
    }
    return Number(resultRows(this.dialect, result)[0]?.n ?? 0);
  }

  /** On MySQL, `query` without the client-side bound on its answer (src/db/connection.ts). */
  private unbounded(query: Knex.Raw): Knex.Raw {
    return this.dialect === 'mysql' ? query.options({ timeout: 0 }) : query;
  }

  /**
   * Rows in the table: the server's estimate where counting would read the whole table
   * (MariaDB's TABLE_ROWS, PostgreSQL's reltuples), an exact count on SQLite or when no estimate exists.
   */
  async estimateRows(): Promise<number> {
    const { knex } = this.db;
    if (this.dialect === 'mysql') {
      const rows = resultRows(
        'mysql',
        await knex.raw('SELECT TABLE_ROWS AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?', [
          this.tableName,
        ]),
      );
      const n = Number(rows[0]?.n ?? -1);
      if (n > 0) return n;
    } else if (this.dialect === 'postgres') {
      const rows = resultRows('postgres', await knex.raw('SELECT reltuples AS n FROM pg_class WHERE oid = to_regclass(?)', [this.t]));
      const n = Number(rows[0]?.n ?? -1);
      if (n > 0) return n;
    }
    const rows = resultRows(this.dialect, await this.unbounded(knex.raw(`SELECT COUNT(*) AS n FROM ${this.t}`)));
    return Number(rows[0]?.n ?? 0);
  }

  /** The strategy `auto` takes for `expired` rows out of the table's (estimated) size. */
  async chooseStrategy(expired: number): Promise<ClearStrategy> {
    if (expired === 0) return 'index';
    if (this.dialect === 'postgres' && !(await this.postgresHasTidRangeScan())) return 'index';
    const total = await this.estimateRows();
    return expired >= SWEEP_THRESHOLD * Math.max(total, expired) ? 'sweep' : 'index';
  }

  private async postgresHasTidRangeScan(): Promise<boolean> {
    const rows = resultRows('postgres', await this.db.knex.raw('SHOW server_version_num'));
    return Number(rows[0]?.server_version_num ?? 0) >= 140000;
  }

  /** The statements one batch of `strategy` runs (the first batch), for EXPLAIN: tests check the plans. */
  sampleStatements(strategy: ClearStrategy, before: PyDateTime, batchSize = DEFAULT_BATCH_SIZE): CleanupStatement[] {
    const p = this.beforeParam(before);
    if (strategy === 'index') return [this.indexDelete(p, batchSize)];
    switch (this.dialect) {
      case 'mysql':
        return [this.keyRangeEnd('', batchSize), this.keyRangeDelete(p, '', '\u{10FFFF}')];
      case 'postgres':
        return [this.pageRangeDelete(p, 0, Math.max(1, Math.round(batchSize / 30)))];
      case 'sqlite':
        return [this.rowidRangeDelete(p, 0, batchSize)];
    }
  }

  private indexDelete(p: string, n: number): CleanupStatement {
    const t = this.t;
    switch (this.dialect) {
      case 'mysql':
        // session_key makes the order total, so the statement is deterministic (statement-based binlog).
        return { sql: `DELETE FROM ${t} WHERE expire_date < ? ORDER BY expire_date, session_key LIMIT ?`, bindings: [p, n] };
      case 'postgres':
        // Row addresses from the index, then a TID scan (no second index lookup). A row that a
        // concurrent save renewed meanwhile has moved, and is re-checked against expire_date.
        return {
          sql: `DELETE FROM ${t} WHERE ctid = ANY(ARRAY(SELECT ctid FROM ${t} WHERE expire_date < ? ORDER BY expire_date LIMIT ?)) AND expire_date < ?`,
          bindings: [p, n, p],
        };
      case 'sqlite':
        return { sql: `DELETE FROM ${t} WHERE rowid IN (SELECT rowid FROM ${t} WHERE expire_date < ? ORDER BY expire_date LIMIT ?)`, bindings: [p, n] };
    }
  }

  /** MariaDB sweep: the key `n` rows after `lower` (null: from the start), which ends the next range. */
  private keyRangeEnd(lower: string | null, n: number): CleanupStatement {
    return lower === null
      ? { sql: `SELECT session_key FROM ${this.t} ORDER BY session_key LIMIT 1 OFFSET ?`, bindings: [n - 1] }
      : { sql: `SELECT session_key FROM ${this.t} WHERE session_key > ? ORDER BY session_key LIMIT 1 OFFSET ?`, bindings: [lower, n - 1] };
  }

  /** MariaDB sweep: the expired rows with lower < session_key <= upper (null: unbounded on that side). */
  private keyRangeDelete(p: string, lower: string | null, upper: string | null): CleanupStatement {
    let sql = `DELETE FROM ${this.t} WHERE expire_date < ?`;
    const bindings: (string | number)[] = [p];
    if (lower !== null) {
      sql += ' AND session_key > ?';
      bindings.push(lower);
    }
    if (upper !== null) {
      sql += ' AND session_key <= ?';
      bindings.push(upper);
    }
    return { sql, bindings };
  }

  /** PostgreSQL sweep: pages fromPage..toPage-1 (toPage null: to the end, pages added meanwhile included). */
  private pageRangeDelete(p: string, fromPage: number, toPage: number | null): CleanupStatement {
    if (toPage === null) {
      return { sql: `DELETE FROM ${this.t} WHERE ctid >= ?::tid AND expire_date < ?`, bindings: [`(${fromPage},0)`, p] };
    }
    return {
      sql: `DELETE FROM ${this.t} WHERE ctid >= ?::tid AND ctid < ?::tid AND expire_date < ?`,
      bindings: [`(${fromPage},0)`, `(${toPage},0)`, p],
    };
  }

  /** SQLite sweep: the expired rows with lower < rowid <= upper. */
  private rowidRangeDelete(p: string, lower: number, upper: number): CleanupStatement {
    return { sql: `DELETE FROM ${this.t} WHERE rowid > ? AND rowid <= ? AND expire_date < ?`, bindings: [lower, upper, p] };
  }

  private indexWalk(p: string): Walk {
    let done = false;
    return async (run, size) => {
      if (done) return null;
      const deleted = await run.delete(this.indexDelete(p, size));
      // A short batch means nothing expired is left (as of `before`).
      if (deleted < size) done = true;
      return deleted;
    };
  }

  private async sweepWalk(p: string, run: StatementRunner): Promise<Walk> {
    const t = this.t;
    switch (this.dialect) {
      case 'mysql': {
        let lower: string | null = null;
        let done = false;
        return async (r, size) => {
          if (done) return null;
          // A plain SELECT: a consistent read that locks nothing. No key means: the rest of the table.
          const found = await r.select(this.keyRangeEnd(lower, size));
          const upper = found[0] === undefined ? null : String(found[0].session_key);
          const deleted = await r.delete(this.keyRangeDelete(p, lower, upper));
          if (upper === null) done = true;
          lower = upper;
          return deleted;
        };
      }
      case 'postgres': {
        // Ranges over the pages the table has now; the last range is open-ended.
        const rows = await run.select({
          sql: `SELECT pg_relation_size(to_regclass(?)) / current_setting('block_size')::int AS pages, reltuples, relpages FROM pg_class WHERE oid = to_regclass(?)`,
          bindings: [t, t],
        });
        const pages = Number(rows[0]?.pages ?? 0);
        const relpages = Number(rows[0]?.relpages ?? 0);
        const reltuples = Number(rows[0]?.reltuples ?? -1);
        // Rows per page from the statistics when there are some; ~30 is typical for session rows.
        const perPage = relpages > 0 && reltuples > 0 ? Math.max(1, reltuples / relpages) : 30;
        let page = 0;
        let finished = false;
        return async (r, size) => {
          if (finished) return null;
          const to = page + Math.max(1, Math.round(size / perPage));
          if (to >= pages) {
            finished = true;
            return r.delete(this.pageRangeDelete(p, page, null));
          }
          const deleted = await r.delete(this.pageRangeDelete(p, page, to));
          page = to;
          return deleted;
        };
      }
      case 'sqlite': {
        // Rows written later get higher rowids: new sessions, not expired ones.
        const rows = await run.select({ sql: `SELECT MIN(rowid) AS lo, MAX(rowid) AS hi FROM ${t}`, bindings: [] });
        const hi = rows[0]?.hi === null || rows[0]?.hi === undefined ? null : Number(rows[0].hi);
        let lower = hi === null ? 0 : Number(rows[0]!.lo) - 1;
        return async (r, size) => {
          if (hi === null || lower >= hi) return null;
          const upper = Math.min(hi, lower + size);
          const deleted = await r.delete(this.rowidRangeDelete(p, lower, upper));
          lower = upper;
          return deleted;
        };
      }
    }
  }

  /**
   * Delete every row with `expire_date < before`, batch by batch. Resolves when done or aborted
   * (`completed` says which); rejects with ClearExpiredError when a batch fails.
   */
  async clear(options: ClearExpiredOptions = {}): Promise<ClearExpiredResult> {
    const before = options.before ?? this.table.timezone.now();
    const pacer = new BatchPacer({
      maxBatchSize: checkedOption('batchSize', options.batchSize ?? DEFAULT_BATCH_SIZE, 1, MAX_BATCH_SIZE, true),
      chunkTimeMs: checkedOption('chunkTimeMs', options.chunkTimeMs ?? DEFAULT_CHUNK_TIME_MS, 0, 600_000),
      niceRatio: checkedOption('niceRatio', options.niceRatio ?? DEFAULT_NICE_RATIO, 0, 1000),
      pauseMs: checkedOption('pauseMs', options.pauseMs ?? 0, 0, 600_000),
    });
    const p = this.beforeParam(before);
    const started = performance.now();
    const stats = new StatementStats(options.onStatement);
    let deleted = 0;
    let batches = 0;
    let restMs = 0;
    let strategy: ClearStrategy = options.strategy === 'auto' || options.strategy === undefined ? 'index' : options.strategy;
    const progress = (): ClearProgress => ({
      deleted,
      batches,
      statements: stats.count,
      elapsedMs: performance.now() - started,
      longestStatementMs: stats.longest,
      longestByKind: { ...stats.longestByKind },
      longestTransactionMs: stats.longestTransaction,
      batchSize: pacer.batchSize,
      smallestBatchSize: pacer.smallestBatchSize,
      restMs,
    });
    const snapshot = (completed: boolean): ClearExpiredResult => ({ ...progress(), p99StatementMs: stats.p99(), strategy, before, completed });

    // One connection for the whole run: session settings (MariaDB's isolation level) stay with it,
    // and the run never waits in the pool behind the live site between two batches.
    const client = this.db.knex.client as { acquireConnection(): Promise<unknown>; releaseConnection(conn: unknown): Promise<void> };
    let conn: unknown;
    let restoreSession: string[] = [];
    const exec = (sql: string, bindings: readonly (string | number)[] = []): Promise<unknown> =>
      (this.db.knex.raw(sql, bindings as Knex.RawBinding[]) as Knex.Raw).connection(conn) as Promise<unknown>;
    const timed = async (kind: StatementKind, sql: string, bindings?: readonly (string | number)[]): Promise<unknown> => {
      const t0 = performance.now();
      const result = await stats.counting(exec(sql, bindings));
      stats.record(kind, performance.now() - t0);
      return result;
    };
    const retrying = async <T>(attempt: () => Promise<T>): Promise<T> => {
      for (let n = 1; ; n++) {
        try {
          return await attempt();
        } catch (err) {
          if (n >= TRANSIENT_ATTEMPTS || !isTransient(this.dialect, err)) throw err;
          await sleep(50 * 2 ** n);
        }
      }
    };
    // The COMMIT is a statement of its own, so a slow one (the log flush) shows as such. MariaDB's
    // connection runs with autocommit off (one round trip fewer per batch than BEGIN … COMMIT).
    const begin = this.dialect === 'mysql' ? null : 'BEGIN';
    const runner: StatementRunner = {
      select: (statement) => retrying(async () => resultRows(this.dialect, await timed('select', statement.sql, statement.bindings))),
      delete: async (statement) => {
        const n = await retrying(async () => {
          try {
            if (begin !== null) await timed('begin', begin);
            const t0 = performance.now();
            const rows = affectedRows(this.dialect, await timed('delete', statement.sql, statement.bindings));
            await timed('commit', 'COMMIT');
            stats.transactionDone(performance.now() - t0);
            return rows;
          } catch (err) {
            await exec('ROLLBACK').catch(() => {});
            throw err;
          }
        });
        batches++;
        return n;
      },
    };

    try {
      try {
        // Through the pool, before pinning a connection: SQLite's pool has only one.
        if (options.strategy === 'auto' || options.strategy === undefined) {
          strategy = await this.chooseStrategy(options.expiredCount ?? (await this.countExpired(before)));
        }
        conn = await client.acquireConnection();
        if (this.dialect === 'mysql') restoreSession = await this.prepareMysqlSession(conn);
      } catch (err) {
        throw new ClearExpiredError(`cannot start: ${firstLine(err)}`, snapshot(false), isConnectionError(err), { cause: err });
      }
      try {
        const walk = strategy === 'index' ? this.indexWalk(p) : await this.sweepWalk(p, runner);
        for (;;) {
          if (options.signal?.aborted) return snapshot(false);
          const t0 = performance.now();
          const n = await walk(runner, pacer.batchSize);
          if (n === null) break;
          deleted += n;
          const rest = pacer.batchDone(performance.now() - t0);
          options.onBatch?.(progress());
          if (rest > 0) {
            const r0 = performance.now();
            await sleep(rest, options.signal);
            restMs += performance.now() - r0;
          }
        }
        return snapshot(true);
      } catch (err) {
        throw new ClearExpiredError(firstLine(err), snapshot(false), isConnectionError(err), { cause: err });
      }
    } finally {
      if (conn !== undefined) {
        for (const sql of restoreSession) await exec(sql).catch(() => {});
        await client.releaseConnection(conn);
      }
    }
  }

  /**
   * Prepare this connection for the run and return the statements that undo it, since the connection
   * goes back to a pool that may be the live site's:
   * - READ COMMITTED: InnoDB then neither keeps rows that fail the WHERE locked nor takes gap locks;
   * - autocommit off: each DELETE opens a transaction the runner's COMMIT ends (timed on its own).
   */
  private async prepareMysqlSession(conn: unknown): Promise<string[]> {
    const { knex } = this.db;
    const query = async (sql: string): Promise<Record<string, unknown>[]> => resultRows('mysql', await (knex.raw(sql) as Knex.Raw).connection(conn));
    // Anything left open (an aborted run's read) is rolled back before the settings are put back.
    const restore = ['ROLLBACK'];
    let isolation: string | null = null;
    for (const variable of ['@@SESSION.transaction_isolation', '@@SESSION.tx_isolation']) {
      try {
        isolation = String((await query(`SELECT ${variable} AS level`))[0]?.level ?? '');
        break;
      } catch {
        // MySQL 8 knows only transaction_isolation, MariaDB before 11.1 only tx_isolation.
      }
    }
    if (isolation !== null && /^[A-Z-]+$/.test(isolation) && isolation !== 'READ-COMMITTED') {
      await query('SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED');
      restore.push(`SET SESSION TRANSACTION ISOLATION LEVEL ${isolation.replace(/-/g, ' ')}`);
    }
    if (Number((await query('SELECT @@autocommit AS ac'))[0]?.ac) !== 0) {
      await query('SET autocommit = 0');
      restore.push('SET autocommit = 1');
    }
    return restore;
  }
}

/** Statement counts and times of one run: longest of each kind, the p99, the longest transaction. */
class StatementStats {
  count = 0;
  longest = 0;
  longestTransaction = 0;
  readonly longestByKind: Record<StatementKind, number> = { select: 0, begin: 0, delete: 0, commit: 0 };
  // Every statement's time (8 bytes each: 4.8 MB for 100 million rows in batches of 500).
  private readonly times: number[] = [];

  constructor(private readonly onStatement?: (kind: StatementKind, ms: number) => void) {}

  /** Counts the statement whether it succeeds or fails. */
  counting<T>(running: Promise<T>): Promise<T> {
    this.count++;
    return running;
  }

  record(kind: StatementKind, ms: number): void {
    this.times.push(ms);
    if (ms > this.longest) this.longest = ms;
    if (ms > this.longestByKind[kind]) this.longestByKind[kind] = ms;
    this.onStatement?.(kind, ms);
  }

  transactionDone(ms: number): void {
    if (ms > this.longestTransaction) this.longestTransaction = ms;
  }

  p99(): number {
    if (this.times.length === 0) return 0;
    const sorted = Float64Array.from(this.times).sort();
    return sorted[Math.min(sorted.length - 1, Math.floor(0.99 * sorted.length))]!;
  }
}

/** A numeric option in [min, max] (whole if asked), or a RangeError naming it. */
function checkedOption(name: string, value: number, min: number, max: number, whole = false): number {
  if (!Number.isFinite(value) || value < min || value > max || (whole && !Number.isSafeInteger(value))) {
    throw new RangeError(`${name} must be ${whole ? 'a whole number' : 'a number'} from ${min} to ${max}, got ${value}`);
  }
  return value;
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n', 1)[0] ?? '';
}
