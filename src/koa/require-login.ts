/**
 * The tutorial's `authenticate` decorator as Koa middleware:
 *
 *   def authenticate(viewfunc):
 *       def wrapper(request):
 *           try:
 *               user = User.objects.get(pk=request.session['user_id'])
 *               request.user = user
 *           except Exception:
 *               return HttpResponse(status=401)
 *           return viewfunc(request)
 *
 * So: 401 with an empty body unless the session's `user_id` names an existing user, looked up the
 * way Django's `pk=` lookup converts the value (Python's `int()`: `1`, `"1"`, `" 1 "` and `1.5` all
 * name user 1; `"abc"`, a list or null name nobody). On success the user is put on
 * `ctx.state.sessionUser` and the handler runs.
 *
 * Where the user goes: Django's decorator assigns `request.user`, shadowing contrib.auth's lazy user
 * for that request. Here it has its own name, so `ctx.state.getUser()` / `ctx.state.user` keep their
 * contrib.auth meaning and their types.
 *
 * Like the decorator, any failure of the lookup (including a database error) answers 401; failures
 * other than "no such user" are logged as warnings so an outage does not hide behind 401s.
 */
import type { DefaultContext, DefaultState, Middleware } from 'koa';
import { InvalidUserId } from '../auth/backend.ts';
import { integerPkFromSession } from '../auth/model-backend.ts';
import { KeyError } from '../sessions/errors.ts';
import { getLogger } from '../log.ts';

const log = getLogger('django.request');

export interface RequireLoginOptions<U> {
  /** `User.objects.get(pk=id)`: the user, or null when there is none. */
  findUser(id: number): Promise<U | null>;
  /** The session key holding the id (the tutorial's `user_id`). */
  sessionKey?: string;
}

/** What `requireLogin` leaves on `ctx.state`. */
export interface RequireLoginState<U> {
  sessionUser: U;
}

export function requireLogin<U>(options: RequireLoginOptions<U>): Middleware<DefaultState, DefaultContext> {
  const sessionKey = options.sessionKey ?? 'user_id';
  return async function authenticate(ctx, next) {
    let user: U | null = null;
    try {
      const id = integerPkFromSession(await ctx.session.getItem(sessionKey));
      if (id !== null && Number.isSafeInteger(id)) user = await options.findUser(id);
    } catch (e) {
      if (!(e instanceof KeyError) && !(e instanceof InvalidUserId)) {
        log.warning(`requireLogin: user lookup failed: ${e instanceof Error ? e.message : String(e)}`, { path: ctx.path });
      }
    }
    if (user === null) {
      ctx.status = 401;
      ctx.set('Content-Type', 'text/html; charset=utf-8');
      ctx.body = '';
      return;
    }
    (ctx.state as RequireLoginState<U>).sessionUser = user;
    await next();
  };
}
