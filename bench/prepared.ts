/**
 * The prepared-statement executor's own CPU per query (src/db/prepared.ts) against the executor it
 * replaced (knex's `acquireConnection()`/`releaseConnection()` around each mysql2 `execute`, with
 * mysql2's per-query timeout: the code of db-table.ts and sql-rows.ts before), and against a bare
 * mysql2 pool (`pool.execute`, what bench/ceiling-server.ts uses). Same statement, same server, same
 * pool size, each on a pool of its own; rounds interleaved (the order alternating) so a busy machine
 * weighs on all alike; the figure is this process's CPU (user + system) per query, the server's not
 * included, at a few concurrencies: 1 and 4 leave connections free (the executor keeps them), 32
 * queues behind the pool's 10 (every query waits in tarn's queue).
 *
 *   node --import tsx bench/prepared.ts        # MARIADB_URL, or the test MariaDB
 *   DSB_BENCH_QUERIES=20000 DSB_BENCH_ROUNDS=7 node --import tsx bench/prepared.ts
 */
import mysql from 'mysql2';
import { openDatabase, knexConfig, type Database } from '../src/db/connection.ts';
import { preparedStatements, type Params, type Row } from '../src/db/prepared.ts';
import { mariadbServerUrl } from './lib/mariadb-scratch.ts';

const QUERIES = Number(process.env.DSB_BENCH_QUERIES ?? 10_000);
const ROUNDS = Number(process.env.DSB_BENCH_ROUNDS ?? 5);
const CONCURRENCIES = [1, 4, 32];
const SQL = 'SELECT ? AS session_data, ? AS expire_date';
const PARAMS: Params = ['k'.repeat(32), '2026-01-01 00:00:00.000000'];

type RowsQuery = (sql: string, params: Params) => Promise<Row[]>;

/** The executor before src/db/prepared.ts, as it was in db-table.ts and sql-rows.ts. */
function knexPoolRows(db: Database): RowsQuery {
  interface MysqlConnection {
    execute(options: { sql: string; timeout: number }, values: Params, cb: (err: Error | null, rows: unknown) => void): void;
  }
  const client = db.knex.client as { acquireConnection(): Promise<MysqlConnection>; releaseConnection(conn: MysqlConnection): Promise<void> };
  const withConnection = async <T>(work: (conn: MysqlConnection) => Promise<T>): Promise<T> => {
    const conn = await client.acquireConnection();
    try {
      return await work(conn);
    } finally {
      void client.releaseConnection(conn);
    }
  };
  return (sql, params) =>
    withConnection((conn) => new Promise((resolve, reject) => conn.execute({ sql, timeout: db.queryTimeoutMillis }, params, (err, rows) => (err ? reject(err) : resolve(rows as Row[])))));
}

function bareMysql2Rows(url: string): { rows: RowsQuery; close(): Promise<void> } {
  const config = knexConfig(url);
  const pool = mysql.createPool({ ...(config.connection as mysql.PoolOptions), connectionLimit: (config.pool as { max: number }).max });
  return {
    rows: (sql, params) => new Promise((resolve, reject) => pool.execute(sql, params as string[], (err, rows) => (err ? reject(err) : resolve(rows as Row[])))),
    close: () => new Promise((resolve) => pool.end(() => resolve())),
  };
}

/** CPU µs of this process per query, `queries` queries by `concurrency` loops. */
async function measure(rows: RowsQuery, queries: number, concurrency: number): Promise<number> {
  let left = queries;
  const before = process.cpuUsage();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (left-- > 0) await rows(SQL, PARAMS);
    }),
  );
  const used = process.cpuUsage(before);
  return (used.user + used.system) / queries;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const url = mariadbServerUrl('bench:prepared');
  const oldDb = openDatabase(url);
  const newDb = openDatabase(url);
  const bare = bareMysql2Rows(url);
  const variants: [string, RowsQuery][] = [
    ['old', knexPoolRows(oldDb)],
    ['new', preparedStatements(newDb).rows],
    ['bare', bare.rows],
  ];
  try {
    for (const [name, rows] of variants) {
      const answer = await rows(SQL, PARAMS);
      if (JSON.stringify(answer) !== JSON.stringify([{ session_data: PARAMS[0], expire_date: PARAMS[1] }])) {
        throw new Error(`${name}: unexpected answer ${JSON.stringify(answer)}`);
      }
      await measure(rows, 2_000, 32); // connections opened, statements prepared, JIT warm
    }
    process.stdout.write(`CPU µs per query (this process), ${QUERIES} queries × ${ROUNDS} rounds, medians; ratios per round\n`);
    for (const concurrency of CONCURRENCIES) {
      const cpu = new Map<string, number[]>(variants.map(([name]) => [name, []]));
      const ratios: number[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        const order = round % 2 === 0 ? variants : [...variants].reverse();
        const got = new Map<string, number>();
        for (const [name, rows] of order) got.set(name, await measure(rows, QUERIES, concurrency));
        for (const [name, value] of got) cpu.get(name)!.push(value);
        ratios.push(got.get('new')! / got.get('old')!);
      }
      const m = (name: string): string => median(cpu.get(name)!).toFixed(1).padStart(6);
      process.stdout.write(
        `concurrency ${String(concurrency).padStart(2)}: old ${m('old')}  new ${m('new')}  bare mysql2 ${m('bare')}   ` +
          `new/old ${median(ratios).toFixed(2)} (rounds ${ratios.map((r) => r.toFixed(2)).join(' ')}); ` +
          `saved ${(median(cpu.get('old')!) - median(cpu.get('new')!)).toFixed(1)} µs/query\n`,
      );
    }
  } finally {
    await Promise.all([oldDb.close(), newDb.close(), bare.close()]);
  }
}

await main();
