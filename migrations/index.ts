/**
 * Our schema migrations, run by knex with a bookkeeping table that cannot collide with Django's
 * (`dsb_knex_migrations`, plus knex's `dsb_knex_migrations_lock`).
 *
 * Every migration leaves alone a table that already exists, so running ours and Django's `migrate`
 * on one database works in either order (see 0001_django_session.ts for how Django is told).
 * The list is static (no directory scan), so it works the same under tsx, in a bundle, or from the
 * knex CLI.
 */
import type { Knex } from 'knex';
import type { DjangoVersion } from '../src/config.ts';
import type { Database } from '../src/db/connection.ts';
import type { MigrationContext } from './django-ddl.ts';
import * as djangoSession from './0001_django_session.ts';
import * as user from './0002_user.ts';

export const MIGRATIONS_TABLE = 'dsb_knex_migrations';

interface OurMigration {
  readonly name: string;
  up(knex: Knex, ctx: MigrationContext): Promise<void>;
  down(knex: Knex, ctx: MigrationContext): Promise<void>;
}

export const MIGRATIONS: readonly OurMigration[] = [djangoSession, user];

/** A knex MigrationSource over MIGRATIONS that hands each migration the context it needs. */
export function migrationSource(ctx: MigrationContext): Knex.MigrationSource<OurMigration> {
  return {
    getMigrations: async () => [...MIGRATIONS],
    getMigrationName: (m) => m.name,
    getMigration: async (m) => ({
      up: (knex: Knex) => m.up(knex, ctx),
      down: (knex: Knex) => m.down(knex, ctx),
    }),
  };
}

export interface RunMigrationsOptions {
  readonly djangoVersion: DjangoVersion;
  readonly report?: (line: string) => void;
}

/** knex migrator settings for our migrations on `db`. */
export function migratorConfig(db: Database, options: RunMigrationsOptions): Knex.MigratorConfig {
  const ctx: MigrationContext = { dialect: db.dialect, djangoVersion: options.djangoVersion, report: options.report ?? (() => {}) };
  return { tableName: MIGRATIONS_TABLE, migrationSource: migrationSource(ctx) };
}

/** Apply every pending migration; return the names applied by this call (empty if up to date). */
export async function runMigrations(db: Database, options: RunMigrationsOptions): Promise<string[]> {
  const [, applied] = (await db.knex.migrate.latest(migratorConfig(db, options))) as [number, string[]];
  return applied;
}

/** Names of applied and pending migrations. */
export async function listMigrations(
  db: Database,
  options: RunMigrationsOptions,
): Promise<{ applied: string[]; pending: string[] }> {
  const [completed, pending] = (await db.knex.migrate.list(migratorConfig(db, options))) as [
    Array<{ name: string }>,
    OurMigration[],
  ];
  return { applied: completed.map((c) => c.name), pending: pending.map((p) => p.name) };
}
