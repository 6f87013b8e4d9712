/** `django.contrib.auth` for Koa: login, logout, get_user, authenticate, and the `auth_user` model. */
export {
  ALLOW_ALL_USERS_MODEL_BACKEND,
  AuthError,
  BackendChoiceError,
  ImproperlyConfigured,
  InvalidUserId,
  MODEL_BACKEND,
  PermissionDenied,
  type AuthBackend,
  type Credentials,
} from './backend.ts';
export {
  authOf,
  bindAuth,
  createAuth,
  DEFAULT_AUTHENTICATION_BACKENDS,
  setRequestUser,
  type Auth,
  type AuthOptions,
  type AuthRequest,
  type AuthSignals,
  type AuthState,
} from './context.ts';
export { createDjangoAuth, parseAuthenticationBackends, type DjangoAuthOptions, type DjangoAuthSettings } from './django-auth.ts';
export { authenticate, authenticateWith, cleanCredentials, CLEANSED_SUBSTITUTE } from './authenticate.ts';
export { login, backendPathFor, sessionAuthHashOf, MULTIPLE_BACKENDS_MESSAGE } from './login.ts';
export { getUser } from './get-user.ts';
export { logout } from './logout.ts';
export { updateSessionAuthHash } from './update-session-auth-hash.ts';
export { AllowAllUsersModelBackend, ModelBackend, integerPkFromSession, type ModelBackendOptions } from './model-backend.ts';
export { AUTH_USER_TABLE, AuthUserTable, type NewUserFields } from './user-table.ts';
export { AnonymousUser, DjangoUser, type AuthUser, type DjangoUserFields, type RequestUser, type UserPk } from './users.ts';
export {
  currentSessionAuthHash,
  fallbackSessionAuthHashes,
  getSessionAuthHash,
  legacySessionAuthHash,
  matchSessionAuthHash,
  SESSION_AUTH_HASH_KEY_SALT,
  sessionHashAlgorithm,
  type SessionHashAlgorithm,
  type SessionHashMatch,
  type SessionHashSettings,
} from './session-hash.ts';
export { BACKEND_SESSION_KEY, HASH_SESSION_KEY, REDIRECT_FIELD_NAME, SESSION_KEY } from './session-keys.ts';
export {
  CSRF_ALLOWED_CHARS,
  CSRF_SECRET_LENGTH,
  CSRF_SESSION_KEY,
  CSRF_TOKEN_LENGTH,
  maskCipherSecret,
  newCsrfSecret,
  rotateToken,
  unmaskCipherToken,
} from './csrf.ts';
