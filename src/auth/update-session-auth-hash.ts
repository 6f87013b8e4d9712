/**
 * `update_session_auth_hash(request, user)` (spec §5.6): after a password change, keep this session
 * logged in while every other session of the user goes stale.
 *
 *   1. always `session.cycleKey()`;
 *   2. then, if the user has a password field and `request.user == user` (same model, same pk),
 *      store the new session auth hash.
 *
 * `request.user` is Django's lazy object: if nothing resolved it before, it is resolved here, after
 * the cycle, against the new password, so it reads as anonymous (and flushes the session), exactly
 * as in Django. Resolve `await ctx.state.getUser()` before changing the password to avoid that.
 */
import { authOf, type AuthRequest } from './context.ts';
import { sessionAuthHashOf } from './login.ts';
import { HASH_SESSION_KEY } from './session-keys.ts';
import type { AuthUser, RequestUser } from './users.ts';

/** Django's `Model.__eq__`: the same model class and the same non-null pk. */
function sameUser(a: RequestUser | undefined, b: AuthUser): boolean {
  if (a === undefined || !a.isAuthenticated) return false;
  return a === b || (a.constructor === b.constructor && a.pk === b.pk);
}

export async function updateSessionAuthHash(request: AuthRequest, user: AuthUser): Promise<void> {
  const auth = authOf(request);
  await request.session.cycleKey();
  if (typeof user.password !== 'string') return;
  const current = request.state.getUser !== undefined ? await request.state.getUser() : request.state.user;
  if (sameUser(current, user)) await request.session.set(HASH_SESSION_KEY, sessionAuthHashOf(auth, user));
}
