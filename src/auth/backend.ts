/**
 * What an authentication backend is (Django's `BaseBackend` contract), and the errors of the auth
 * package.
 *
 * A backend is named by a dotted path, the string Django keeps in `AUTHENTICATION_BACKENDS` and in
 * the session under `_auth_user_backend`. A session written by Django names Django's path
 * (`django.contrib.auth.backends.ModelBackend`), so a backend here that reads the same users must
 * carry the same path, or Django and this app will not accept each other's logins.
 */
import type { AuthUser, UserPk } from './users.ts';

export const MODEL_BACKEND = 'django.contrib.auth.backends.ModelBackend';
export const ALLOW_ALL_USERS_MODEL_BACKEND = 'django.contrib.auth.backends.AllowAllUsersModelBackend';

/** Credentials as `authenticate(request, **credentials)` receives them. */
export type Credentials = Readonly<Record<string, unknown>>;

export interface AuthBackend<U extends AuthUser = AuthUser> {
  /** The dotted path stored in sessions (`django.contrib.auth.backends.ModelBackend`). */
  readonly path: string;
  /**
   * `backend.authenticate(request, **credentials)`: the user, or null to let the next backend try.
   * Throw `PermissionDenied` to stop every later backend.
   */
  authenticate(credentials: Credentials): Promise<U | null>;
  /** `backend.get_user(user_id)`: the user (if allowed to authenticate), or null. */
  getUser(userId: UserPk): Promise<U | null>;
}

/** Root of the auth errors. */
export class AuthError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** `django.core.exceptions.PermissionDenied` raised by a backend: stop trying the others. */
export class PermissionDenied extends AuthError {}

/** `django.core.exceptions.ImproperlyConfigured` for the auth machinery. */
export class ImproperlyConfigured extends AuthError {}

/**
 * The session's `_auth_user_id` is not a valid key for the user model (Django's `pk.to_python`
 * raises `ValidationError`, e.g. for `"abc"` with an integer key). Carries the offending value's type
 * only, never the session content.
 */
export class InvalidUserId extends AuthError {
  constructor(readonly valueType: string) {
    super(`_auth_user_id is not a valid user id (got a ${valueType})`);
  }
}

/** `login()` could not tell which backend to record (Django's ValueError/TypeError, same words). */
export class BackendChoiceError extends AuthError {}
