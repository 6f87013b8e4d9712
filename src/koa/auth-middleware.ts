/**
 * Django's `AuthenticationMiddleware` for Koa: a lazy `request.user`.
 *
 *   app.use(sessionMiddleware({ settings, createStore }));
 *   app.use(authMiddleware(auth));
 *   router.get('/me', async (ctx) => {
 *     const user = await ctx.state.getUser();      // loads the session on first call only
 *     if (!user.isAuthenticated) ctx.throw(401);
 *   });
 *
 * Why `await ctx.state.getUser()` and not a `ctx.state.user` getter: the user comes from the
 * database, so reading it is asynchronous. A getter would have to return a Promise, and
 * `if (ctx.state.user)` would then be true for anonymous visitors too. An explicit async call
 * cannot be misread, and it is Django 5's own async spelling (`await request.auser()`). Once
 * resolved (or after `login()` / `logout()`), `ctx.state.user` holds the user for synchronous reads.
 *
 * Like Django's SimpleLazyObject, nothing happens until the first call: a handler that never asks
 * costs no query, and the session is not marked accessed (so no `Vary: Cookie` because of us).
 * Concurrent first calls share one lookup.
 */
import type { DefaultContext, DefaultState, Middleware } from 'koa';
import { bindAuth, getUser, ImproperlyConfigured, type Auth, type AuthRequest, type RequestUser } from '../auth/index.ts';

export const MISSING_SESSION_MESSAGE =
  'The authentication middleware requires the session middleware to be installed. Mount sessionMiddleware() before authMiddleware().';

export function authMiddleware(auth: Auth): Middleware<DefaultState, DefaultContext> {
  // Not an async function: it has nothing to do after next(), so it hands back next()'s promise
  // instead of wrapping it in one more (a promise and a microtask fewer on every request).
  return function authentication(ctx, next) {
    // Django: ImproperlyConfigured when there is no request.session.
    if (ctx.session === undefined) return Promise.reject(new ImproperlyConfigured(MISSING_SESSION_MESSAGE));
    const request = ctx as unknown as AuthRequest;
    bindAuth(request, auth);
    let pending: Promise<RequestUser> | undefined;
    request.state.getUser = () =>
      (pending ??= getUser(request).then((user) => {
        // login()/logout() may have replaced getUser meanwhile; theirs is newer.
        if (request.state.user === undefined) request.state.user = user;
        return request.state.user;
      }));
    return next();
  };
}
