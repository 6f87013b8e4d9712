/**
 * `migrate`: create the tables we share with Django (django_session, the tutorial's user table) in
 * the DATABASE_URL database, leaving alone any that Django already created.
 */
import { ConfigError, loadSettings, type Environment } from '../../config.ts';
import { DatabaseConfigError } from '../../db/errors.ts';
import { openDatabase } from '../../db/connection.ts';
import { listMigrations, runMigrations } from '../../../migrations/index.ts';
import { CliError } from '../errors.ts';

export const summary = 'create django_session and user in DATABASE_URL (tables Django made are left alone)';

const HELP = `usage: django-session-bridge migrate [--list]

Create the tables this app shares with Django in the database named by DATABASE_URL:
  django_session  exactly as Django's sessions.0001_initial creates it; when we create it we also
                  record sessions.0001_initial in django_migrations, so Django's own migrate skips it
  user            the tutorial app's table; a Django site adopts it with
                  manage.py migrate user --fake-initial
A table that already exists (for example because Django created it) is never altered. Our own
bookkeeping lives in dsb_knex_migrations. Running it again is harmless.

With DATABASE_URL unset, the development database (sqlite:db.sqlite3) is migrated.

options:
  --list    show applied and pending migrations, change nothing
  --help    this text

examples:
  DATABASE_URL=mysql://app:secret@127.0.0.1:3306/site npm run --silent cli -- migrate
  DATABASE_URL=sqlite:db.sqlite3 npm run --silent cli -- migrate --list
`;

export async function run(argv: string[], env: Environment = process.env): Promise<number> {
  let listOnly = false;
  for (const arg of argv) {
    if (arg === '--help' || arg === '-h') {
      process.stdout.write(HELP);
      return 0;
    }
    if (arg === '--list') listOnly = true;
    else throw new CliError(`migrate: unknown option "${arg}" (see migrate --help)`, 2);
  }

  let settings;
  try {
    // SECRET_KEY plays no part in creating tables, so the development defaults are acceptable here.
    settings = loadSettings(env, { allowDevelopmentDefaults: true });
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(err.message, 2);
    throw err;
  }
  const url = settings.DATABASE_URL!;
  if (!env.DATABASE_URL) process.stderr.write(`DATABASE_URL is not set: using the development database ${url}\n`);

  let db;
  try {
    // A migration may rewrite a large table: no client-side statement bound (that bound is for web requests).
    db = openDatabase(url, settings, { max: 1, queryTimeoutMillis: 0 });
  } catch (err) {
    if (err instanceof DatabaseConfigError) throw new CliError(err.message, 2);
    throw err;
  }
  const options = { djangoVersion: settings.DJANGO_VERSION, report: (line: string) => process.stdout.write(`  ${line}\n`) };
  try {
    if (listOnly) {
      const { applied, pending } = await listMigrations(db, options);
      for (const name of applied) process.stdout.write(`[X] ${name}\n`);
      for (const name of pending) process.stdout.write(`[ ] ${name}\n`);
      return 0;
    }
    process.stdout.write(`Migrating ${db.redactedUrl}\n`);
    const applied = await runMigrations(db, options);
    process.stdout.write(applied.length ? `Applied: ${applied.join(', ')}\n` : 'No migrations to apply.\n');
    return 0;
  } catch (err) {
    // Driver errors (refused connection, bad password, missing rights) are expected operator errors.
    const message = err instanceof Error ? err.message : String(err);
    throw new CliError(`migrate failed on ${db.redactedUrl}: ${message.split('\n')[0]}`);
  } finally {
    await db.close();
  }
}
