/**
 * `django_session`, as Django's `sessions.0001_initial` creates it (spec 3.1).
 *
 * If the table exists (Django, or an earlier run, made it) nothing is touched. If we create it, we
 * also record `sessions 0001_initial` in `django_migrations`, exactly as Django's migrate would have:
 * otherwise a later `manage.py migrate` would try to create the table again and fail with "table
 * already exists" (Django only adopts existing tables with `migrate --fake-initial`). That migration
 * has no dependencies, so recording it alone keeps Django's history consistent.
 */
import type { Knex } from 'knex';
import { dateTimeType, quoteName, recordDjangoMigration, textType, type MigrationContext } from './django-ddl.ts';

export const name = '0001_django_session';

export async function up(knex: Knex, ctx: MigrationContext): Promise<void> {
  if (await knex.schema.hasTable('django_session')) {
    ctx.report('django_session already exists: left as it is');
    return;
  }
  const q = (n: string) => quoteName(ctx.dialect, n);
  await knex.raw(
    `CREATE TABLE ${q('django_session')} (${q('session_key')} varchar(40) NOT NULL PRIMARY KEY, ` +
      `${q('session_data')} ${textType(ctx.dialect)} NOT NULL, ` +
      `${q('expire_date')} ${dateTimeType(ctx.dialect)} NOT NULL)`,
  );
  if (ctx.dialect === 'postgres') {
    // Django adds a varchar_pattern_ops twin of every indexed varchar on PostgreSQL (LIKE lookups).
    await knex.raw(
      `CREATE INDEX ${q('django_session_session_key_c0390e0f_like')} ON ${q('django_session')} (${q('session_key')} varchar_pattern_ops)`,
    );
  }
  await knex.raw(`CREATE INDEX ${q('django_session_expire_date_a5c62663')} ON ${q('django_session')} (${q('expire_date')})`);
  await recordDjangoMigration(knex, ctx, 'sessions', '0001_initial');
  ctx.report('django_session created (recorded as sessions.0001_initial in django_migrations)');
}

export async function down(): Promise<void> {
  // The table may hold a live Django site's sessions; dropping it is a decision for a human.
  throw new Error('0001_django_session cannot be reversed: drop django_session by hand if you mean it');
}
