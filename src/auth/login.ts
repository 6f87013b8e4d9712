/**
 * `django.contrib.auth.login(request, user, backend=None)`, step for step (spec §5.3; identical in
 * 3.2, 4.2 and 5.2 for everything a session or a cookie shows):
 *
 *   1. the session auth hash of the user (`""` for a user model without passwords);
 *   2. if the session already holds `_auth_user_id` (this loads it): **flush** when it names another
 *      user, or when the hash is non-empty and the stored `_auth_user_hash` differs from it
 *      (constant-time); otherwise keep the session and its key as they are (the same user logging in
 *      again with the same password keeps the key);
 *   3. else **cycle the key**: a new key, the anonymous data kept, the old row deleted;
 *   4. pick the backend path (the argument, else `user.backend` from `authenticate()`, else the only
 *      configured backend, else Django's ValueError);
 *   5. write `_auth_user_id` (`str(pk)`), `_auth_user_backend`, `_auth_user_hash`, in that order;
 *   6. `request.user = user`;
 *   7. `rotate_token(request)` (`csrf.ts`: kept on `ctx.state.csrfToken`; no cookie and no session
 *      key, as on a Django site without CsrfViewMiddleware);
 *   8. the `user_logged_in` signal, whose Django receiver saves `last_login`.
 *
 * `login()` does not look at `is_active`; `authenticate()` does (Django tests this).
 *
 * One deliberate difference: a stored `_auth_user_id` that the user model's key cannot parse
 * (Django's `pk.to_python` raises ValidationError, a 500) counts here as "another user", so the
 * session is flushed and the login goes through.
 */
import { constantTimeCompare } from '../signing/crypto.ts';
import { BackendChoiceError, InvalidUserId, type AuthBackend } from './backend.ts';
import { authOf, setRequestUser, type Auth, type AuthRequest } from './context.ts';
import { rotateToken } from './csrf.ts';
import { currentSessionAuthHash } from './session-hash.ts';
import { BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY } from './session-keys.ts';
import type { AuthUser, UserPk } from './users.ts';

export const MULTIPLE_BACKENDS_MESSAGE =
  'You have multiple authentication backends configured and therefore must provide the `backend` argument or set the `backend` attribute on the user.';

/** `user.get_session_auth_hash()`, or `""` when the user model has no password field. */
export function sessionAuthHashOf(auth: Auth, user: AuthUser): string {
  return typeof user.password === 'string' ? currentSessionAuthHash(user.password, auth.settings) : '';
}

/** `_get_backend_from_user(user, backend)`. */
export function backendPathFor(auth: Auth, user: AuthUser, backend?: string | AuthBackend | null): string {
  // Python: `backend or user.backend`; a missing attribute (undefined here) falls to the configured list.
  const given = typeof backend === 'object' && backend !== null ? backend.path : backend;
  const chosen: unknown = given || user.backend;
  if (chosen === undefined) {
    if (auth.backendPaths.length === 1) return auth.backendPaths[0] as string;
    throw new BackendChoiceError(MULTIPLE_BACKENDS_MESSAGE);
  }
  if (typeof chosen !== 'string') {
    throw new BackendChoiceError(`backend must be a dotted import path string (got ${chosen === null ? 'None' : String(chosen)}).`);
  }
  return chosen;
}

/** Whether the stored `_auth_user_id` names `pk` (Django: `_get_user_session_key(request) != user.pk`). */
function namesUser(auth: Auth, stored: unknown, pk: UserPk): boolean {
  try {
    return auth.pkFromSession(stored) === pk;
  } catch (e) {
    if (e instanceof InvalidUserId) return false;
    throw e;
  }
}

/** Log `user` in on this request's session (see the module comment for the exact steps). */
export async function login(request: AuthRequest, user: AuthUser, backend?: string | AuthBackend | null): Promise<void> {
  const auth = authOf(request);
  const session = request.session;
  const sessionAuthHash = sessionAuthHashOf(auth, user);

  if (await session.has(SESSION_KEY)) {
    const storedHash = await session.get(HASH_SESSION_KEY, '');
    const hashDiffers =
      sessionAuthHash !== '' && !(typeof storedHash === 'string' && constantTimeCompare(storedHash, sessionAuthHash));
    // To avoid reusing another user's session, start a new, empty one.
    if (!namesUser(auth, await session.getItem(SESSION_KEY), user.pk) || hashDiffers) await session.flush();
  } else {
    await session.cycleKey();
  }

  const backendPath = backendPathFor(auth, user, backend);

  await session.set(SESSION_KEY, String(user.pk));
  await session.set(BACKEND_SESSION_KEY, backendPath);
  await session.set(HASH_SESSION_KEY, sessionAuthHash);
  setRequestUser(request, user);
  rotateToken(request, auth.settings.DJANGO_VERSION);
  await auth.signals.userLoggedIn?.(request, user);
}
