/**
 * openDatabase against real MariaDB, SQLite and PostgreSQL: the connection behaviours the session
 * store relies on (found-rows UPDATE counts, datetimes as text with microseconds, session time zone,
 * bounded waits: acquire, statements, a timed-out connection replaced), and DATABASE_URL
 * parsing/redaction.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addLogListener, type LogRecord } from '../../src/log.ts';
import { openDatabase, parseDatabaseUrl, redactDatabaseUrl } from '../../src/db/connection.ts';
import { DatabaseConfigError, DatabaseTimeoutError } from '../../src/db/errors.ts';
import { preparedStatements } from '../../src/db/prepared.ts';
import { runMigrations } from '../../migrations/index.ts';
import { freshDatabase, testDatabases, type FreshDatabase } from '../support/databases.ts';

describe('parseDatabaseUrl', () => {
  it('reads MySQL/MariaDB URLs, with percent-decoding and the default port', () => {
    assert.deepEqual(parseDatabaseUrl('mysql://dsb:p%40ss%3Aw@127.0.0.1:33306/dsb_test'), {
      dialect: 'mysql',
      host: '127.0.0.1',
      port: 33306,
      user: 'dsb',
      password: 'p@ss:w',
      database: 'dsb_test',
      tls: 'off',
    });
    const mariadb = parseDatabaseUrl('mariadb://u@db.example/site?ssl=true');
    assert.ok(mariadb.dialect === 'mysql');
    assert.equal(mariadb.port, 3306);
    assert.equal(mariadb.password, '');
    assert.equal(mariadb.tls, 'verify');
  });

  it('reads PostgreSQL URLs under both schemes, IPv6 hosts and sslmode', () => {
    const a = parseDatabaseUrl('postgres://u:p@[::1]/site');
    const b = parseDatabaseUrl('postgresql://u:p@localhost:6543/site?sslmode=require');
    assert.ok(a.dialect === 'postgres' && b.dialect === 'postgres');
    assert.equal(a.host, '::1');
    assert.equal(a.port, 5432);
    assert.equal(b.port, 6543);
    assert.equal(b.tls, 'encrypt');
  });

  it('reads every sqlite form', () => {
    assert.deepEqual(parseDatabaseUrl('sqlite::memory:'), { dialect: 'sqlite', filename: ':memory:' });
    assert.deepEqual(parseDatabaseUrl('sqlite:///abs/path.db'), { dialect: 'sqlite', filename: '/abs/path.db' });
    assert.deepEqual(parseDatabaseUrl('sqlite:////abs/path.db'), { dialect: 'sqlite', filename: '/abs/path.db' });
    assert.deepEqual(parseDatabaseUrl('sqlite:/abs/path.db'), { dialect: 'sqlite', filename: '/abs/path.db' });
    assert.deepEqual(parseDatabaseUrl('sqlite:relative.db'), { dialect: 'sqlite', filename: join(process.cwd(), 'relative.db') });
  });

  it('rejects unusable URLs with DatabaseConfigError, never showing the password', () => {
    const bad = [
      'oracle://u:hunter2@h/db',
      'not a url',
      'mysql://u:hunter2@h',
      'mysql://u:hunter2@h/a/b',
      'mysql://u:hunter2@h/db?charset=latin1',
      'postgres://u:hunter2@h/db?sslmode=prefer',
      'sqlite://host/file.db',
      'sqlite:',
      'sqlite:file.db?mode=ro',
      'mysql://u:hunter2@h/%E0%A4%A',
    ];
    for (const url of bad) {
      assert.throws(
        () => parseDatabaseUrl(url),
        (err: unknown) => {
          assert.ok(err instanceof DatabaseConfigError, url);
          assert.ok(!err.message.includes('hunter2'), err.message);
          assert.ok(!err.url.includes('hunter2'), err.url);
          return true;
        },
      );
    }
  });

  it('redacts only the password', () => {
    assert.equal(redactDatabaseUrl('mysql://dsb:secret@127.0.0.1:3306/db'), 'mysql://dsb:***@127.0.0.1:3306/db');
    assert.equal(redactDatabaseUrl('postgres://dsb@h/db'), 'postgres://dsb@h/db');
    assert.equal(redactDatabaseUrl('mysql://u:p@ss@h/db'), 'mysql://u:***@h/db');
    assert.equal(redactDatabaseUrl('sqlite:db.sqlite3'), 'sqlite:db.sqlite3');
  });

  it('refuses a sqlite file in a directory that does not exist', () => {
    assert.throws(() => openDatabase('sqlite:///nonexistent-dir-dsb/x.db'), DatabaseConfigError);
  });
});

describe('sqlite::memory:', () => {
  it('keeps its data across queries (one connection that the pool never reaps)', async () => {
    const db = openDatabase('sqlite::memory:');
    try {
      await db.knex.raw('CREATE TABLE t (x integer)');
      await db.knex('t').insert({ x: 1 });
      await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(await db.knex('t').select('x'), [{ x: 1 }]);
    } finally {
      await db.close();
    }
  });
});

// A Django datetime as it is written (spec 3.2) and as each database hands it back.
const STORED = '2026-12-09 21:16:24.891878';
const WRITTEN: Record<string, string> = { mariadb: STORED, sqlite: STORED, postgres: `${STORED}+00:00` };
const READ_BACK: Record<string, string> = { mariadb: STORED, sqlite: STORED, postgres: `${STORED}+00` };

for (const { name } of testDatabases()) {
  describe(`openDatabase on ${name}`, () => {
    let fresh: FreshDatabase;
    before(async () => {
      fresh = await freshDatabase(name);
      await runMigrations(fresh.db, { djangoVersion: '5.2' });
    });
    after(async () => {
      await fresh?.drop();
    });

    it('reports the dialect', () => {
      assert.equal(fresh.db.dialect, name === 'mariadb' ? 'mysql' : name);
    });

    it('counts an UPDATE that changes nothing as 1 row (Django connects MySQL with FOUND_ROWS)', async () => {
      const { knex } = fresh.db;
      await knex('django_session').insert({ session_key: 'foundrows0000000000000000000000a', session_data: 'x', expire_date: WRITTEN[name] });
      const first = await knex('django_session')
        .where({ session_key: 'foundrows0000000000000000000000a' })
        .update({ session_data: 'x', expire_date: WRITTEN[name] });
      assert.equal(first, 1);
      const missing = await knex('django_session').where({ session_key: 'nosuchkey' }).update({ session_data: 'x' });
      assert.equal(missing, 0);
    });

    it('returns datetimes as the database text, microseconds intact', async () => {
      const { knex } = fresh.db;
      await knex('django_session').insert({ session_key: 'datetimes000000000000000000000b', session_data: 'x', expire_date: WRITTEN[name] });
      const row = await knex('django_session').where({ session_key: 'datetimes000000000000000000000b' }).first('expire_date');
      assert.equal(row.expire_date, READ_BACK[name]);
    });

    it('compares against "now" in UTC with USE_TZ (session time zone / stored text)', async () => {
      const { knex } = fresh.db;
      if (name === 'postgres') {
        const res = await knex.raw("SELECT current_setting('TimeZone') AS tz, current_setting('statement_timeout') AS st");
        assert.deepEqual(res.rows[0], { tz: 'UTC', st: '30s' });
      } else {
        // MySQL and SQLite store naive text; the text we wrote is the text that is compared.
        const count = await knex('django_session').where('expire_date', '>', '2026-12-09 21:16:24.891877').count({ n: '*' });
        assert.ok(Number(count[0]!.n) >= 1);
      }
    });

    if (name === 'postgres') {
      it('uses TIME_ZONE as the session time zone when USE_TZ is False', async () => {
        const db = openDatabase(fresh.url, { USE_TZ: false, TIME_ZONE: 'Europe/Paris' });
        try {
          const res = await db.knex.raw("SELECT current_setting('TimeZone') AS tz, '2026-01-01 12:00:00+00'::timestamptz AS t");
          assert.deepEqual(res.rows[0], { tz: 'Europe/Paris', t: '2026-01-01 13:00:00+01' });
        } finally {
          await db.close();
        }
      });
    }

    if (name === 'mariadb') {
      it('returns BIGINT as a string, and the server default collation ignores case (spec 3.1)', async () => {
        const { knex } = fresh.db;
        const [rows] = await knex.raw('SELECT CAST(9007199254740993 AS SIGNED) AS n, @@collation_database AS c');
        assert.equal(rows[0].n, '9007199254740993');
        assert.match(rows[0].c, /_ci$/);
        await knex('django_session').insert({ session_key: 'casekey00000000000000000000000c', session_data: 'x', expire_date: STORED });
        const row = await knex('django_session').where({ session_key: 'CASEKEY00000000000000000000000C' }).first('session_key');
        assert.equal(row?.session_key, 'casekey00000000000000000000000c');
      });
    }

    if (name === 'sqlite') {
      it('uses WAL, a busy timeout and foreign keys on a file database', async () => {
        const { knex } = fresh.db;
        assert.deepEqual(await knex.raw('PRAGMA journal_mode'), [{ journal_mode: 'wal' }]);
        assert.deepEqual(await knex.raw('PRAGMA busy_timeout'), [{ timeout: 5000 }]);
        assert.deepEqual(await knex.raw('PRAGMA foreign_keys'), [{ foreign_keys: 1 }]);
      });
    }

    it('gives up waiting for a connection after the acquire timeout', async () => {
      const db = openDatabase(fresh.url, undefined, { max: 1, acquireTimeoutMillis: 300 });
      const trx = await db.knex.transaction();
      try {
        const started = Date.now();
        await assert.rejects(db.knex.raw('SELECT 1'), /Timeout acquiring a connection/);
        const waited = Date.now() - started;
        assert.ok(waited >= 250 && waited < 5000, `waited ${waited} ms`);
      } finally {
        await trx.rollback();
        await db.close();
      }
    });

    if (name !== 'sqlite') {
      it('a prepared statement that outlasts its bound fails with DatabaseTimeoutError; its connection is replaced, not reused', async () => {
        const db = openDatabase(fresh.url, undefined, { max: 1, queryTimeoutMillis: 300 });
        try {
          const exec = preparedStatements(db);
          const sleep = name === 'mariadb' ? 'SELECT SLEEP(?) AS a' : 'SELECT pg_sleep(?) AS a';
          const started = Date.now();
          await assert.rejects(exec.rows(sleep, [2]), (err: unknown) => err instanceof DatabaseTimeoutError && err.timeoutMs === 300);
          const waited = Date.now() - started;
          assert.ok(waited >= 290 && waited < 1_900, `gave up after ${waited} ms (bound 300 ms, the statement sleeps 2 s)`);
          // One connection at most: had the timed-out one been reused, this would wait behind the sleep.
          const next = Date.now();
          assert.deepEqual(await exec.rows('SELECT ? AS a', ['fresh']), [{ a: 'fresh' }]);
          assert.ok(Date.now() - next < 1_500, 'answered on a new connection');
        } finally {
          await db.close();
        }
      });
    }

    if (name === 'mariadb') {
      it('bounds every knex statement client-side, replaces the connection of one that ran out of time, and lets a statement set its own bound', async () => {
        const db = openDatabase(fresh.url, undefined, { max: 1, queryTimeoutMillis: 300 });
        try {
          const started = Date.now();
          await assert.rejects(db.knex.raw('SELECT SLEEP(2) AS a'), (err: { code?: string }) => err.code === 'PROTOCOL_SEQUENCE_TIMEOUT');
          assert.ok(Date.now() - started < 1_900, `gave up after ${Date.now() - started} ms`);
          const next = Date.now();
          const [rows] = await db.knex.raw('SELECT 1 AS a');
          assert.deepEqual(rows, [{ a: 1 }], 'its own answer, not the stale one of the abandoned statement');
          assert.ok(Date.now() - next < 1_500, 'answered on a new connection');
          const [slow] = await db.knex.raw('SELECT SLEEP(0.6) AS a').options({ timeout: 0 });
          assert.deepEqual(slow, [{ a: 0 }], 'timeout 0: no client-side bound for this statement');
        } finally {
          await db.close();
        }
      });
    }

    if (name !== 'sqlite') {
      it('never logs or throws the password of a refused login', async () => {
        const url = new URL(fresh.url);
        url.password = 'wrong-Pa55word';
        const records: LogRecord[] = [];
        const stop = addLogListener((r) => records.push(r));
        const db = openDatabase(url.toString());
        try {
          await assert.rejects(db.knex.raw('SELECT 1'), (err: Error) => {
            assert.ok(!err.message.includes('wrong-Pa55word'));
            return true;
          });
        } finally {
          stop();
          await db.close();
        }
        assert.ok(!JSON.stringify(records).includes('wrong-Pa55word'));
        assert.ok(!db.redactedUrl.includes('wrong-Pa55word'));
      });
    }
  });
}

describe('openDatabase on a SQLite file another process is writing', () => {
  it('waits for the other writer instead of failing at once (busy timeout)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dsb-busy-'));
    const file = join(dir, 'busy.sqlite3');
    const db = openDatabase(`sqlite://${file}`);
    try {
      await db.knex.raw('CREATE TABLE t (x integer)');
      // better-sqlite3 is synchronous, so the competing writer must be another process: it takes the
      // write lock, says so, and commits 300 ms later.
      const holder = spawn(
        process.execPath,
        [
          '-e',
          `const D = require('better-sqlite3'); const d = new D(process.argv[1]);
           d.exec('BEGIN IMMEDIATE'); d.prepare('INSERT INTO t VALUES (1)').run();
           process.stdout.write('locked\\n');
           setTimeout(() => { d.exec('COMMIT'); d.close(); }, 300);`,
          file,
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      const exited = once(holder, 'exit');
      await Promise.race([
        once(holder.stdout, 'data'),
        exited.then(([code]) => assert.fail(`the lock holder exited early (${String(code)})`)),
      ]);
      const started = Date.now();
      await db.knex('t').insert({ x: 2 });
      assert.ok(Date.now() - started >= 200, 'the insert should have waited for the lock');
      await exited;
      assert.deepEqual(await db.knex('t').select('x').orderBy('x'), [{ x: 1 }, { x: 2 }]);
    } finally {
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
