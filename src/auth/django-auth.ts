/**
 * `createDjangoAuth()`: the configuration a Django site with `django.contrib.auth` has, in one call:
 * `auth_user` as the user model (integer keys), the backends of AUTHENTICATION_BACKENDS, the
 * version's PASSWORD_HASHERS, and `update_last_login` connected to `user_logged_in`.
 */
import type { Database } from '../db/connection.ts';
import { DjangoTimezone, type TimeSettings } from '../db/datetime.ts';
import { ImproperlyConfigured, MODEL_BACKEND, ALLOW_ALL_USERS_MODEL_BACKEND, type AuthBackend } from './backend.ts';
import { createAuth, DEFAULT_AUTHENTICATION_BACKENDS, type Auth, type AuthSignals } from './context.ts';
import type { PasswordHasher, PasswordHasherConfig } from './hashers/index.ts';
import { AllowAllUsersModelBackend, integerPkFromSession, ModelBackend } from './model-backend.ts';
import type { SessionHashSettings } from './session-hash.ts';
import { AuthUserTable } from './user-table.ts';
import { DjangoUser } from './users.ts';

export interface DjangoAuthSettings extends SessionHashSettings, TimeSettings {}

export interface DjangoAuthOptions {
  db: Database;
  settings: DjangoAuthSettings;
  /**
   * AUTHENTICATION_BACKENDS as Django's dotted paths, in order. The built-in `ModelBackend` and
   * `AllowAllUsersModelBackend` are known by path; pass other backends in `backends`.
   * Default: `['django.contrib.auth.backends.ModelBackend']`.
   */
  authenticationBackends?: readonly string[];
  /** Backend objects for paths that are not built in (looked up by their `path`). */
  backends?: readonly AuthBackend[];
  /** PASSWORD_HASHERS (dotted paths or hasher objects). Default: the version's global_settings list. */
  passwordHashers?: readonly (string | PasswordHasher)[];
  /** argon2-cffi's hash length on the Django side (16 or 32); see the hashers' registry. */
  argon2HashLength?: number;
  /** Default: from USE_TZ / TIME_ZONE with the system clock. */
  timezone?: DjangoTimezone;
  /** Receivers besides the built-in `update_last_login`. */
  signals?: AuthSignals;
}

/** Parse an AUTHENTICATION_BACKENDS environment value: comma-separated dotted paths. */
export function parseAuthenticationBackends(raw: string | undefined): string[] | undefined {
  if (raw === undefined || raw.trim() === '') return undefined;
  return raw
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
}

export function createDjangoAuth(options: DjangoAuthOptions): Auth {
  const { db, settings } = options;
  const timezone = options.timezone ?? new DjangoTimezone(settings);
  const hashers: PasswordHasherConfig = {
    djangoVersion: settings.DJANGO_VERSION,
    ...(options.passwordHashers === undefined ? {} : { passwordHashers: options.passwordHashers }),
    ...(options.argon2HashLength === undefined ? {} : { argon2HashLength: options.argon2HashLength }),
  };
  const users = new AuthUserTable(db, timezone);
  const modelBackendOptions = { users, hashers, timezone };
  const extra = new Map((options.backends ?? []).map((b) => [b.path, b] as const));
  const paths = options.authenticationBackends ?? DEFAULT_AUTHENTICATION_BACKENDS;
  const backends = paths.map((path): AuthBackend => {
    const given = extra.get(path);
    if (given !== undefined) return given;
    if (path === MODEL_BACKEND) return new ModelBackend(modelBackendOptions);
    if (path === ALLOW_ALL_USERS_MODEL_BACKEND) return new AllowAllUsersModelBackend(modelBackendOptions);
    throw new ImproperlyConfigured(
      `AUTHENTICATION_BACKENDS: no backend for '${path}' (built in: ${MODEL_BACKEND}, ${ALLOW_ALL_USERS_MODEL_BACKEND}; pass others in backends)`,
    );
  });
  const lastLoginWriter = new ModelBackend(modelBackendOptions);
  const custom = options.signals ?? {};

  return createAuth({
    settings,
    backends,
    pkFromSession: integerPkFromSession,
    hashers,
    signals: {
      ...custom,
      // Django's `update_last_login`, connected because auth.User has a last_login field.
      async userLoggedIn(request, user) {
        if (user instanceof DjangoUser) await lastLoginWriter.updateLastLogin(user);
        await custom.userLoggedIn?.(request, user);
      },
    },
  });
}
