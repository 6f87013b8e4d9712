/**
 * For the knex CLI (`node --import tsx node_modules/knex/bin/cli.js --knexfile knexfile.ts migrate:list`).
 * The app itself runs migrations with `npm run --silent cli -- migrate`; both use the same static
 * migration list and the same bookkeeping table (dsb_knex_migrations), so they agree.
 * DATABASE_URL is read like the app reads it (development database when unset).
 */
import type { Knex } from 'knex';
import { loadSettings } from './src/config.ts';
import { knexConfig, parseDatabaseUrl } from './src/db/connection.ts';
import { MIGRATIONS_TABLE, migrationSource } from './migrations/index.ts';

const settings = loadSettings(process.env, { allowDevelopmentDefaults: true });
const url = settings.DATABASE_URL!;

const config: Knex.Config = {
  ...knexConfig(url, settings),
  migrations: {
    tableName: MIGRATIONS_TABLE,
    migrationSource: migrationSource({
      dialect: parseDatabaseUrl(url).dialect,
      djangoVersion: settings.DJANGO_VERSION,
      report: (line) => process.stdout.write(`  ${line}\n`),
    }),
  },
};

export default config;
