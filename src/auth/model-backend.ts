/**
 * `django.contrib.auth.backends.ModelBackend` over `auth_user` (spec §5.7), and its sibling
 * `AllowAllUsersModelBackend`.
 *
 * authenticate({username, password}):
 *   1. a missing username or password: null, with no query and no hashing (Django asserts this);
 *   2. `WHERE username = ?` (exact; the column collation decides case, as in Django);
 *   3. unknown user: run the default hasher once on the password (Django's
 *      `UserModel().set_password(password)`), so an unknown name costs what a wrong password costs;
 *   4. known user: `check_password` with Django's setter, which re-hashes with the default hasher
 *      and saves only `password` when the stored hash uses other work factors (this changes the
 *      session auth hash of every other session, as in Django). This runs before the `is_active`
 *      check, exactly as Django orders it: an inactive user with the right password is re-hashed too;
 *   5. the user if `user_can_authenticate(user)`.
 *
 * Hashes are written with the configured hashers of the configured Django version
 * (`PasswordHasherConfig`), i.e. with the live Django's own default work factor, so neither side
 * ever re-hashes what the other wrote.
 */
import { checkPassword, makePassword, runDummyHash, type PasswordHasherConfig } from './hashers/index.ts';
import { parsePythonInt } from './hashers/python.ts';
import type { DjangoTimezone } from '../db/datetime.ts';
import { isPyFloat } from '../pyjson/types.ts';
import {
  ALLOW_ALL_USERS_MODEL_BACKEND,
  InvalidUserId,
  MODEL_BACKEND,
  type AuthBackend,
  type Credentials,
} from './backend.ts';
import type { AuthUserTable } from './user-table.ts';
import { DjangoUser, type UserPk } from './users.ts';

export interface ModelBackendOptions {
  users: AuthUserTable;
  /** PASSWORD_HASHERS of the live Django (version and list); the first is the default hasher. */
  hashers: PasswordHasherConfig;
  /** For `last_login`; default: the table's. */
  timezone?: DjangoTimezone;
}

/** The type name Python would report for a session value, for error messages. */
function pyTypeName(value: unknown): string {
  if (value === null || value === undefined) return 'NoneType';
  if (Array.isArray(value)) return 'list';
  if (value instanceof Map) return 'dict';
  if (isPyFloat(value)) return 'float';
  if (typeof value === 'object') return 'dict';
  return typeof value === 'string' ? 'str' : typeof value;
}

/**
 * `AutoField.to_python(value)`, i.e. Python's `int(value)`: None stays None; a bool is 0/1; a float
 * is truncated; a string must be Python int syntax (blanks, sign, underscores and any Unicode
 * decimal digits allowed). Anything else is Django's ValidationError (`InvalidUserId`).
 */
export function integerPkFromSession(value: unknown): number | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'number' || isPyFloat(value)) {
    const n = Number(value);
    if (!Number.isFinite(n)) throw new InvalidUserId('float');
    return Math.trunc(n);
  }
  if (typeof value === 'string') {
    const n = parsePythonInt(value);
    if (n === null) throw new InvalidUserId('str');
    return n;
  }
  throw new InvalidUserId(pyTypeName(value));
}

export class ModelBackend implements AuthBackend<DjangoUser> {
  readonly path: string = MODEL_BACKEND;
  readonly users: AuthUserTable;
  readonly hashers: PasswordHasherConfig;
  readonly timezone: DjangoTimezone;

  constructor(options: ModelBackendOptions) {
    this.users = options.users;
    this.hashers = options.hashers;
    this.timezone = options.timezone ?? options.users.timezone;
  }

  async authenticate(credentials: Credentials): Promise<DjangoUser | null> {
    const username = credentials[DjangoUser.USERNAME_FIELD];
    const password = credentials.password;
    if (username === null || username === undefined || password === null || password === undefined) return null;
    // Our callers pass strings; anything else cannot name a user or be hashed (Django would raise
    // or look up its str()), so it is refused without a query.
    if (typeof username !== 'string' || typeof password !== 'string') return null;
    const user = await this.users.getByUsername(username);
    if (user === null) {
      await runDummyHash(password, this.hashers);
      return null;
    }
    const correct = await checkPassword(password, user.password, this.hashers, (raw) => this.setPassword(user, raw));
    return correct && this.userCanAuthenticate(user) ? user : null;
  }

  /** Reject inactive users (3.2's `is_active or is_active is None` is the same for a boolean column). */
  userCanAuthenticate(user: DjangoUser): boolean {
    return user.isActive;
  }

  async getUser(userId: UserPk): Promise<DjangoUser | null> {
    const id = typeof userId === 'number' ? userId : parsePythonInt(userId);
    // auth_user.id is a 32-bit integer: anything else names no row (Django's query finds none).
    if (id === null || !Number.isSafeInteger(id)) return null;
    const user = await this.users.getById(id);
    return user !== null && this.userCanAuthenticate(user) ? user : null;
  }

  /** `user.set_password(raw)` then `save(update_fields=['password'])`, with the default hasher. */
  async setPassword(user: DjangoUser, rawPassword: string): Promise<void> {
    user.password = await makePassword(rawPassword, this.hashers);
    await this.users.savePassword(user);
  }

  /** `update_last_login`: `last_login = timezone.now()`, saving only that column. */
  async updateLastLogin(user: DjangoUser): Promise<void> {
    user.lastLogin = this.timezone.now();
    await this.users.saveLastLogin(user);
  }
}

/** `AllowAllUsersModelBackend`: inactive users authenticate too. */
export class AllowAllUsersModelBackend extends ModelBackend {
  override readonly path: string = ALLOW_ALL_USERS_MODEL_BACKEND;

  override userCanAuthenticate(): boolean {
    return true;
  }
}
