/**
 * The tutorial's `user` table (`tutorial.models.User`: id, name, email, password; see
 * test/django_site/README.md) and the three queries its views run:
 *
 *   User.objects.get(pk=id)                 SELECT … WHERE id = ?
 *   User.objects.get(email=email)           SELECT … WHERE email = ?   (the column collation decides
 *   User.objects.filter(email=…).exists()   case, as in Django: on MariaDB `TOM@x.com` is `tom@x.com`)
 *   User(...).save()                        INSERT; a duplicate e-mail is an IntegrityError
 */
import type { Database } from '../../db/connection.ts';
import { isIntegrityError } from '../../sessions/backends/db-table.ts';
import { insertReturningId } from '../../auth/user-table.ts';

export const TUTORIAL_USER_TABLE = 'user';

export interface TutorialUser {
  readonly id: number;
  readonly name: string;
  readonly email: string;
  /** The bcrypt hash (`$2b$12$…`). */
  readonly password: string;
}

/** The e-mail is taken (Django: IntegrityError on the unique key). */
export class EmailTaken extends Error {
  constructor(options?: ErrorOptions) {
    super('email already registered', options);
    this.name = 'EmailTaken';
  }
}

function fromRow(row: Record<string, unknown>): TutorialUser {
  return { id: Number(row.id), name: String(row.name), email: String(row.email), password: String(row.password) };
}

export class TutorialUserTable {
  constructor(
    readonly db: Database,
    readonly tableName: string = TUTORIAL_USER_TABLE,
  ) {}

  async #one(where: Record<string, string | number>): Promise<TutorialUser | null> {
    const row = (await this.db.knex(this.tableName).select('id', 'name', 'email', 'password').where(where).first()) as
      | Record<string, unknown>
      | undefined;
    return row === undefined ? null : fromRow(row);
  }

  findById(id: number): Promise<TutorialUser | null> {
    return this.#one({ id });
  }

  findByEmail(email: string): Promise<TutorialUser | null> {
    return this.#one({ email });
  }

  async emailExists(email: string): Promise<boolean> {
    const row = await this.db.knex(this.tableName).select(this.db.knex.raw('1 AS a')).where({ email }).first();
    return row !== undefined;
  }

  /** INSERT the user; `EmailTaken` when the unique key refuses it. Returns the new id. */
  async create(fields: Omit<TutorialUser, 'id'>): Promise<TutorialUser> {
    try {
      const id = await insertReturningId(this.db, this.tableName, { ...fields });
      return { id, ...fields };
    } catch (e) {
      if (isIntegrityError(this.db.dialect, e)) throw new EmailTaken({ cause: e });
      throw e;
    }
  }
}
