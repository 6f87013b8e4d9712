/**
 * The user objects of `django.contrib.auth`: `DjangoUser` (a row of `auth_user`, Django's
 * `auth.User`), `AnonymousUser`, and `AuthUser`, the little that `login()` / `getUser()` need from
 * any user object (Django's duck typing: a `pk`, and a `password` when the model has
 * `get_session_auth_hash`).
 */
import type { PyDateTime } from '../db/datetime.ts';

/** A primary key as Django's AutoField holds it (`int`); string keys for custom models. */
export type UserPk = number | string;

/** What `login()` and the session auth hash need from a user. */
export interface AuthUser {
  /** The primary key; the session stores `str(pk)`. */
  readonly pk: UserPk;
  /**
   * The encoded password field (`pbkdf2_sha256$…`). When the property exists the user model has
   * `get_session_auth_hash()` and the session carries an HMAC of this string; a model without
   * passwords leaves it out and sessions carry `""`.
   */
  readonly password?: string;
  /** Set by `authenticate()`: the dotted path of the backend that accepted the credentials. */
  backend?: string;
  readonly isAuthenticated: true;
  /** `user.get_username()`: the value of the USERNAME_FIELD. */
  getUsername(): string;
}

/** The columns of `auth_user` (spec §5.9), as the row reads. */
export interface DjangoUserFields {
  id: number;
  password: string;
  lastLogin: PyDateTime | null;
  isSuperuser: boolean;
  username: string;
  firstName: string;
  lastName: string;
  email: string;
  isStaff: boolean;
  isActive: boolean;
  dateJoined: PyDateTime;
}

/** `django.contrib.auth.models.User`: one row of `auth_user`. Mutable like a Django model instance. */
export class DjangoUser implements AuthUser, DjangoUserFields {
  static readonly USERNAME_FIELD = 'username';
  static readonly EMAIL_FIELD = 'email';

  id: number;
  password: string;
  lastLogin: PyDateTime | null;
  isSuperuser: boolean;
  username: string;
  firstName: string;
  lastName: string;
  email: string;
  isStaff: boolean;
  isActive: boolean;
  dateJoined: PyDateTime;
  backend?: string;
  readonly isAuthenticated = true as const;
  readonly isAnonymous = false as const;

  constructor(fields: DjangoUserFields) {
    this.id = fields.id;
    this.password = fields.password;
    this.lastLogin = fields.lastLogin;
    this.isSuperuser = fields.isSuperuser;
    this.username = fields.username;
    this.firstName = fields.firstName;
    this.lastName = fields.lastName;
    this.email = fields.email;
    this.isStaff = fields.isStaff;
    this.isActive = fields.isActive;
    this.dateJoined = fields.dateJoined;
  }

  get pk(): number {
    return this.id;
  }

  getUsername(): string {
    return this.username;
  }

  /** Django's `__str__`. */
  toString(): string {
    return this.username;
  }

  /** Never serialize the password hash by accident (logs, JSON answers). */
  toJSON(): Omit<DjangoUserFields, 'password' | 'lastLogin' | 'dateJoined'> & { lastLogin: string | null; dateJoined: string } {
    return {
      id: this.id,
      username: this.username,
      firstName: this.firstName,
      lastName: this.lastName,
      email: this.email,
      isSuperuser: this.isSuperuser,
      isStaff: this.isStaff,
      isActive: this.isActive,
      lastLogin: this.lastLogin === null ? null : this.lastLogin.isoformat(),
      dateJoined: this.dateJoined.isoformat(),
    };
  }
}

/** `django.contrib.auth.models.AnonymousUser`. */
export class AnonymousUser {
  readonly id = null;
  readonly pk = null;
  readonly username = '';
  readonly isStaff = false;
  readonly isActive = false;
  readonly isSuperuser = false;
  readonly isAuthenticated = false as const;
  readonly isAnonymous = true as const;

  getUsername(): string {
    return this.username;
  }

  toString(): string {
    return 'AnonymousUser';
  }
}

/** What `getUser()` hands back: a user some backend returned, or `AnonymousUser`. */
export type RequestUser<U extends AuthUser = AuthUser> = U | AnonymousUser;
