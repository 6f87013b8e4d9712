// AuthUserTable and ModelBackend on every test database, over the auth_user table that Django's own
// `migrate` creates there (the reference site's settings, Debian's Django 3.2): reads, booleans, datetimes,
// the single-column saves, and the username lookup following each database's collation exactly as
// Django's query does (MariaDB's utf8mb4_general_ci matches `ALICE` to `alice`; SQLite and
// PostgreSQL do not).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makePassword } from '../../src/auth/hashers/index.ts';
import { ModelBackend } from '../../src/auth/model-backend.ts';
import { AuthUserTable } from '../../src/auth/user-table.ts';
import { DjangoTimezone } from '../../src/db/datetime.ts';
import { freshDatabase, testDatabases, type FreshDatabase } from '../support/databases.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const FROZEN_MICROS = 1_700_000_000_250_000;

/** Django's `migrate auth` on `url` (contenttypes and auth tables, as a real site has them). */
function djangoMigrate(url: string): void {
  const res = spawnSync(
    'bash',
    [join(ROOT, 'scripts', 'django-site.sh'), 'manage', '--version', '3.2', '--', 'migrate', 'auth', '--noinput', '--verbosity', '0'],
    { env: { ...process.env, SECRET_KEY: 'migrate-only', DATABASE_URL: url }, encoding: 'utf8', timeout: 120_000 },
  );
  assert.equal(res.status, 0, res.stderr);
}

for (const { name } of testDatabases()) {
  describe(`auth_user on ${name} (created by Django's migrate)`, { concurrency: 1 }, () => {
    let fresh: FreshDatabase;
    let table: AuthUserTable;
    const timezone = new DjangoTimezone({ USE_TZ: true, TIME_ZONE: 'UTC' }, () => FROZEN_MICROS);
    const hashers = { djangoVersion: '4.2' as const, passwordHashers: ['django.contrib.auth.hashers.MD5PasswordHasher'] };

    before(async () => {
      fresh = await freshDatabase(name);
      djangoMigrate(fresh.url);
      table = new AuthUserTable(fresh.db, timezone);
    });
    after(() => fresh.drop());

    it('creates and reads users with their booleans and datetimes', async () => {
      const created = await table.create({ username: 'alice', password: await makePassword('pw', hashers), email: 'a@x', isStaff: true });
      const byId = await table.getById(created.id);
      const byName = await table.getByUsername('alice');
      for (const user of [byId, byName]) {
        assert.ok(user);
        assert.equal(user.id, created.id);
        assert.equal(user.username, 'alice');
        assert.equal(user.email, 'a@x');
        assert.equal(user.isStaff, true);
        assert.equal(user.isActive, true);
        assert.equal(user.isSuperuser, false);
        assert.equal(user.lastLogin, null);
        assert.equal(user.dateJoined.isoformat(), '2023-11-14T22:13:20.250000+00:00');
      }
      assert.equal(await table.getById(created.id + 1000), null);
      assert.equal(await table.getByUsername('nobody'), null);
    });

    it('saves last_login and the password, one column each', async () => {
      const user = (await table.getByUsername('alice'))!;
      const backend = new ModelBackend({ users: table, hashers });
      await backend.updateLastLogin(user);
      await backend.setPassword(user, 'new');
      const again = (await table.getById(user.id))!;
      assert.equal(again.lastLogin?.isoformat(), '2023-11-14T22:13:20.250000+00:00');
      assert.equal(again.password, user.password);
      assert.ok(await backend.authenticate({ username: 'alice', password: 'new' }));
      assert.equal(again.email, 'a@x', 'other columns untouched');
    });

    it('looks usernames up as the database compares them', async () => {
      const upper = await table.getByUsername('ALICE');
      if (name === 'mariadb') assert.equal(upper?.username, 'alice', 'utf8mb4_general_ci is case-insensitive');
      else assert.equal(upper, null, `${name} compares exactly`);
    });
  });
}
