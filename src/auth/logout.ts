/**
 * `django.contrib.auth.logout(request)` (spec §5.5, the same in 3.2, 4.2 and 5.2):
 *
 *   1. the `user_logged_out` signal, with the logged-in user or null;
 *   2. `session.flush()`: the row is deleted, the key forgotten; the session middleware then
 *      deletes the cookie if the request carried one;
 *   3. `request.user = AnonymousUser()`.
 *
 * Django evaluates the lazy `request.user` in step 1 even when no receiver listens. Here it is
 * evaluated only when a `userLoggedOut` receiver is configured: without one the result is unused,
 * and skipping it changes nothing a client or the database ends up with (a hash mismatch would
 * flush, a fallback match would cycle the key; the flush of step 2 removes either outcome).
 */
import { authOf, setRequestUser, type AuthRequest } from './context.ts';
import { AnonymousUser, type AuthUser } from './users.ts';

export async function logout(request: AuthRequest): Promise<void> {
  const auth = authOf(request);
  const receiver = auth.signals.userLoggedOut;
  if (receiver !== undefined) {
    const current = request.state.getUser !== undefined ? await request.state.getUser() : request.state.user;
    const user = current !== undefined && current.isAuthenticated ? (current as AuthUser) : null;
    await receiver(request, user);
  }
  await request.session.flush();
  setRequestUser(request, new AnonymousUser());
}
