/**
 * The tutorial app's `user` table (its Django model: `User` with `db_table = 'user'`, fields
 * `id = AutoField(primary_key=True)`, `name = CharField(max_length=48)`,
 * `email = CharField(max_length=64, unique=True)`, `password = CharField(max_length=128)`; the model
 * is reproduced in test/django_migrate/user/models.py), with the DDL Django emits for it.
 *
 * If the table exists nothing is touched. Unlike django_session we do not record the app's Django
 * migration: we cannot know the name and content of the site's own `user` migrations. A site that
 * lets us create the table first adopts it with `manage.py migrate user --fake-initial`.
 */
import type { Knex } from 'knex';
import { autoFieldPrimaryKey, quoteName, type MigrationContext } from './django-ddl.ts';

export const name = '0002_user';

export async function up(knex: Knex, ctx: MigrationContext): Promise<void> {
  if (await knex.schema.hasTable('user')) {
    ctx.report('user already exists: left as it is');
    return;
  }
  const q = (n: string) => quoteName(ctx.dialect, n);
  await knex.raw(
    `CREATE TABLE ${q('user')} (${q('id')} ${autoFieldPrimaryKey(ctx)}, ${q('name')} varchar(48) NOT NULL, ` +
      `${q('email')} varchar(64) NOT NULL UNIQUE, ${q('password')} varchar(128) NOT NULL)`,
  );
  if (ctx.dialect === 'postgres') {
    await knex.raw(`CREATE INDEX ${q('user_email_54dc62b2_like')} ON ${q('user')} (${q('email')} varchar_pattern_ops)`);
  }
  ctx.report('user created (a Django site adopts it with: manage.py migrate user --fake-initial)');
}

export async function down(): Promise<void> {
  throw new Error('0002_user cannot be reversed: drop the user table by hand if you mean it');
}
