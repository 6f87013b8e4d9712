/**
 * `django.contrib.auth.get_user(request)` (spec §5.4): the user the session names, or
 * `AnonymousUser`.
 *
 *   1. read `_auth_user_id` (through the user model's `pk.to_python`) and `_auth_user_backend`;
 *      either missing: anonymous;
 *   2. a backend path not in AUTHENTICATION_BACKENDS: anonymous, the session left alone;
 *   3. `backend.getUser(id)`: a missing or inactive user is anonymous, the session left alone;
 *   4. verify `_auth_user_hash` against the user's password field, constant-time, with SECRET_KEY:
 *      - 4.2/5.2: else with each SECRET_KEY_FALLBACKS secret; a fallback match cycles the key and
 *        stores the current hash (the user stays logged in, now under the current secret);
 *      - 3.2: else the sha1 legacy hash, accepted as it is;
 *      - no match (or no hash): the session is **flushed** (row deleted, cookie deleted at the end
 *        of the response) and the user is anonymous.
 *
 * One deliberate difference: an `_auth_user_id` the key type cannot parse (Django raises
 * ValidationError out of get_user, a 500) reads as anonymous here, with a warning, and the session
 * is left alone.
 */
import { getLogger } from '../log.ts';
import { InvalidUserId } from './backend.ts';
import { authOf, type AuthRequest } from './context.ts';
import { currentSessionAuthHash, matchSessionAuthHash } from './session-hash.ts';
import { BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY } from './session-keys.ts';
import { AnonymousUser, type AuthUser, type RequestUser, type UserPk } from './users.ts';

const log = getLogger('django.contrib.auth');

export async function getUser(request: AuthRequest): Promise<RequestUser> {
  const auth = authOf(request);
  const session = request.session;

  // Django reads both keys inside one `try: … except KeyError`.
  if (!(await session.has(SESSION_KEY))) return new AnonymousUser();
  let userId: UserPk | null;
  try {
    userId = auth.pkFromSession(await session.getItem(SESSION_KEY));
  } catch (e) {
    if (!(e instanceof InvalidUserId)) throw e;
    log.warning('The session names a user id the user model cannot read; treating the request as anonymous', {
      session_key_present: session.sessionKey !== null,
      value_type: e.valueType,
    });
    return new AnonymousUser();
  }
  if (!(await session.has(BACKEND_SESSION_KEY))) return new AnonymousUser();
  const backendPath = await session.getItem(BACKEND_SESSION_KEY);
  const backend = typeof backendPath === 'string' && auth.backendPaths.includes(backendPath) ? auth.backend(backendPath) : undefined;
  if (backend === undefined) return new AnonymousUser();

  let user: AuthUser | null = userId === null ? null : await backend.getUser(userId);
  if (user !== null && typeof user.password === 'string') {
    const match = matchSessionAuthHash(await session.get(HASH_SESSION_KEY), user.password, auth.settings);
    if (match === 'fallback') {
      await session.cycleKey();
      await session.set(HASH_SESSION_KEY, currentSessionAuthHash(user.password, auth.settings));
    } else if (match === 'none') {
      await session.flush();
      user = null;
    }
  }
  return user ?? new AnonymousUser();
}
