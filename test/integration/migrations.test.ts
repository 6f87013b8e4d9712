/**
 * Our migrations against real Django 3.2, 4.2 and 5.2 (Debian's packages, see
 * scripts/setup-django.sh), on MariaDB, SQLite and PostgreSQL:
 * - a database Django migrated and one we migrated have identical django_session, user and
 *   django_migrations tables (the catalog's own description of them, compared whole);
 * - Django first, then ours: nothing is altered, rows survive;
 * - ours first, then Django: `migrate sessions` has nothing to do (we recorded 0001_initial), the
 *   tutorial's `user` needs `--fake-initial` exactly as documented, and Django then uses our table;
 * - the migrate command: exit codes, output, redaction.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Database } from '../../src/db/connection.ts';
import { listMigrations, MIGRATIONS_TABLE, runMigrations } from '../../migrations/index.ts';
import { freshDatabase, testDatabases, type FreshDatabase, type TestDatabaseName } from '../support/databases.ts';
import {
  availableDjangoVersions,
  DJANGO_SERIES,
  DjangoNotSetUpError,
  djangoSitePackages,
  SYSTEM_PYTHON,
  type DjangoSeries,
} from '../support/django-oracle.ts';

const run = promisify(execFile);
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const DJANGO_PROJECT = join(ROOT, 'test', 'django_migrate');
const SHARED_TABLES = ['django_migrations', 'django_session', 'user'] as const;

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

/** Every Django series in CI (a missing one fails); on a developer machine, those set up. */
function djangoVersions(): DjangoSeries[] {
  const available = availableDjangoVersions();
  const missing = DJANGO_SERIES.filter((v) => !available.includes(v));
  if (missing.length > 0) {
    if (process.env.CI) throw new DjangoNotSetUpError(missing[0]!);
    process.stderr.write(`note: Django ${missing.join(', ')} not set up (scripts/setup-django.sh); left out of this run\n`);
  }
  return available;
}

async function django(series: DjangoSeries, url: string, args: string[]): Promise<Outcome> {
  const path = series === '3.2' ? DJANGO_PROJECT : `${DJANGO_PROJECT}:${djangoSitePackages(series)}`;
  try {
    const { stdout, stderr } = await run(SYSTEM_PYTHON, ['-m', 'django', ...args, '--settings=settings'], {
      cwd: DJANGO_PROJECT,
      env: { ...process.env, PYTHONPATH: path, PYTHONDONTWRITEBYTECODE: '1', DSB_DJANGO_DATABASE_URL: url },
      timeout: 120_000,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw err;
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

async function djangoOk(series: DjangoSeries, url: string, args: string[]): Promise<string> {
  const out = await django(series, url, args);
  assert.equal(out.code, 0, `Django ${series}: ${args.join(' ')} failed:\n${out.stderr}`);
  return out.stdout;
}

/** The catalog's description of the shared tables: columns, types, keys, indexes, constraints. */
async function describeTables(db: Database): Promise<unknown> {
  const { knex } = db;
  if (db.dialect === 'sqlite') {
    return knex('sqlite_master')
      .whereIn('tbl_name', SHARED_TABLES)
      .orderBy(['tbl_name', 'name'])
      .select('type', 'name', 'tbl_name', 'sql');
  }
  if (db.dialect === 'mysql') {
    const out: Record<string, string> = {};
    for (const table of SHARED_TABLES) {
      const [rows] = await knex.raw('SHOW CREATE TABLE ??', [table]);
      // The AUTO_INCREMENT counter reflects how many rows were inserted, not the schema.
      out[table] = String(rows[0]['Create Table']).replace(/ AUTO_INCREMENT=\d+/, '');
    }
    return out;
  }
  const columns = await knex.raw(
    `SELECT table_name, column_name, data_type, character_maximum_length, is_nullable, column_default,
            is_identity, identity_generation, collation_name
       FROM information_schema.columns
      WHERE table_schema = current_schema() AND table_name = ANY(?)
      ORDER BY table_name, ordinal_position`,
    [[...SHARED_TABLES]],
  );
  const indexes = await knex.raw(
    `SELECT tablename, indexname, indexdef FROM pg_indexes
      WHERE schemaname = current_schema() AND tablename = ANY(?) ORDER BY tablename, indexname`,
    [[...SHARED_TABLES]],
  );
  const constraints = await knex.raw(
    `SELECT c.relname, con.conname, con.contype, pg_get_constraintdef(con.oid) AS def
       FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid
      WHERE c.relname = ANY(?) AND c.relnamespace = current_schema()::regnamespace
      ORDER BY c.relname, con.conname`,
    [[...SHARED_TABLES]],
  );
  return { columns: columns.rows, indexes: indexes.rows, constraints: constraints.rows };
}

async function djangoMigrationRows(db: Database, app: string): Promise<string[]> {
  const rows = await db.knex('django_migrations').where({ app }).orderBy('id').select('name');
  return rows.map((r: { name: string }) => r.name);
}

/** Django creates a session through its own db engine and returns the key. */
async function djangoCreatesSession(series: DjangoSeries, url: string): Promise<string> {
  // 5.2's shell announces its automatic imports on stdout, so the key is marked.
  const out = await djangoOk(series, url, [
    'shell',
    '-c',
    "from django.contrib.sessions.backends.db import SessionStore as S; s = S(); s['answer'] = 42; s.create(); print('KEY=' + s.session_key)",
  ]);
  const key = /^KEY=(\w+)$/m.exec(out)?.[1];
  assert.ok(key, `no session key in Django's output: ${out}`);
  return key;
}

async function cli(args: string[], env: Record<string, string | undefined>): Promise<Outcome> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), ...args], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: undefined, ...env },
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw err;
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

const DATABASES = testDatabases();

for (const { name } of DATABASES) {
  for (const series of djangoVersions()) {
    describe(`migrations on ${name} with Django ${series}`, () => {
      const options = { djangoVersion: series };
      const created: FreshDatabase[] = [];
      async function fresh(dbName: TestDatabaseName): Promise<FreshDatabase> {
        const f = await freshDatabase(dbName);
        created.push(f);
        return f;
      }
      after(async () => {
        for (const f of created) await f.drop();
      });

      let djangoFirst: FreshDatabase;
      let djangoSchema: unknown;
      before(async () => {
        djangoFirst = await fresh(name);
        await djangoOk(series, djangoFirst.url, ['migrate', '--no-input']);
        djangoSchema = await describeTables(djangoFirst.db);
      });

      it('creates the tables exactly as Django does, and is idempotent', async () => {
        const ours = await fresh(name);
        const lines: string[] = [];
        assert.deepEqual(await runMigrations(ours.db, { ...options, report: (l) => lines.push(l) }), [
          '0001_django_session',
          '0002_user',
        ]);
        assert.deepEqual(await describeTables(ours.db), djangoSchema);
        assert.deepEqual(await djangoMigrationRows(ours.db, 'sessions'), ['0001_initial']);
        assert.equal(lines.length, 2);

        assert.deepEqual(await runMigrations(ours.db, options), []);
        assert.deepEqual(await listMigrations(ours.db, options), { applied: ['0001_django_session', '0002_user'], pending: [] });
        assert.deepEqual(await describeTables(ours.db), djangoSchema);
      });

      it('after Django: leaves its tables and rows alone', async () => {
        const key = await djangoCreatesSession(series, djangoFirst.url);
        const rowsBefore = await djangoFirst.db.knex('django_session').select();
        const history = await djangoFirst.db.knex('django_migrations').count({ n: '*' });
        const lines: string[] = [];
        assert.deepEqual(await runMigrations(djangoFirst.db, { ...options, report: (l) => lines.push(l) }), [
          '0001_django_session',
          '0002_user',
        ]);
        assert.deepEqual(lines, ['django_session already exists: left as it is', 'user already exists: left as it is']);
        assert.deepEqual(await describeTables(djangoFirst.db), djangoSchema);
        assert.deepEqual(await djangoFirst.db.knex('django_session').select(), rowsBefore);
        assert.ok(rowsBefore.some((r: { session_key: string }) => r.session_key === key));
        assert.deepEqual(await djangoFirst.db.knex('django_migrations').count({ n: '*' }), history);
        assert.deepEqual(await djangoMigrationRows(djangoFirst.db, 'sessions'), ['0001_initial']);
        assert.ok(await djangoFirst.db.knex.schema.hasTable(MIGRATIONS_TABLE));
        // And Django still has nothing to do.
        assert.match(await djangoOk(series, djangoFirst.url, ['migrate', '--no-input']), /No migrations to apply/);
      });

      it('before Django: migrate sessions has nothing to do, user is adopted with --fake-initial', async () => {
        const ours = await fresh(name);
        await runMigrations(ours.db, options);

        assert.match(await djangoOk(series, ours.url, ['migrate', 'sessions', '--no-input']), /No migrations to apply/);

        // Documented: Django cannot know we created the tutorial's table, so a plain migrate stops there…
        const plain = await django(series, ours.url, ['migrate', '--no-input']);
        assert.notEqual(plain.code, 0);
        assert.match(plain.stderr, /already exists/);
        // …and --fake-initial adopts it, since its columns are the model's.
        const adopted = await djangoOk(series, ours.url, ['migrate', '--fake-initial', '--no-input']);
        assert.match(adopted, /Applying user\.0001_initial\.\.\. FAKED/);
        assert.doesNotMatch(adopted, /sessions\.0001_initial/);

        assert.deepEqual(await djangoMigrationRows(ours.db, 'sessions'), ['0001_initial']);
        assert.deepEqual(await describeTables(ours.db), djangoSchema);
        // Django works with the table we made.
        const key = await djangoCreatesSession(series, ours.url);
        assert.equal(key.length, 32);
        const row = await ours.db.knex('django_session').where({ session_key: key }).first('session_key');
        assert.equal(row?.session_key, key);
        // Our migrations are still satisfied.
        assert.deepEqual(await runMigrations(ours.db, options), []);
      });
    });
  }
}

describe('migrate command', () => {
  it('migrates DATABASE_URL, then has nothing to do; --list shows the state', async () => {
    const target = await freshDatabase('sqlite');
    try {
      await target.db.close();
      const first = await cli(['migrate'], { DATABASE_URL: target.url });
      assert.equal(first.code, 0, first.stderr);
      assert.match(first.stdout, /django_session created/);
      assert.match(first.stdout, /Applied: 0001_django_session, 0002_user/);
      const second = await cli(['migrate'], { DATABASE_URL: target.url });
      assert.equal(second.code, 0, second.stderr);
      assert.match(second.stdout, /No migrations to apply/);
      const list = await cli(['migrate', '--list'], { DATABASE_URL: target.url });
      assert.equal(list.stdout, '[X] 0001_django_session\n[X] 0002_user\n');
    } finally {
      await target.drop();
    }
  });

  it('fails with one line, exit 2, for a bad setting or URL, and never prints the password', async () => {
    const badUrl = await cli(['migrate'], { DATABASE_URL: 'oracle://u:hunter2@h/db' });
    assert.equal(badUrl.code, 2);
    assert.equal(badUrl.stderr.trim().split('\n').length, 1);
    assert.match(badUrl.stderr, /^error: unsupported scheme "oracle:"/);
    assert.doesNotMatch(badUrl.stderr + badUrl.stdout, /hunter2/);

    const badSetting = await cli(['migrate'], { DATABASE_URL: 'sqlite::memory:', DJANGO_VERSION: '2.2' });
    assert.equal(badSetting.code, 2);
    assert.match(badSetting.stderr, /^error: DJANGO_VERSION: expected one of 3\.2, 4\.2, 5\.2, got "2\.2"\n$/);

    const badOption = await cli(['migrate', '--fake'], { DATABASE_URL: 'sqlite::memory:' });
    assert.equal(badOption.code, 2);
  });

  for (const server of DATABASES.filter((d) => d.name !== 'sqlite')) {
    it(`reports a refused login to ${server.name} in one line, without the password`, async () => {
      const url = new URL(server.url);
      url.password = 'not-the-Pa55word';
      const out = await cli(['migrate'], { DATABASE_URL: url.toString() });
      assert.equal(out.code, 1);
      assert.match(out.stderr, /^error: migrate failed on .*:\*\*\*@.*\n$/m);
      assert.doesNotMatch(out.stderr + out.stdout, /not-the-Pa55word/);
    });
  }
});
