/**
 * A small JSON face for `django.contrib.auth` (`/auth/*`), answering exactly as the reference site's
 * `dsb_site/auth_views.py`:
 *
 *   POST /auth/login     authenticate() + login(): 200 {"id", "username"}; 401 {"error": "invalid
 *                        username or password"}; 400 {"error": BAD_CREDENTIALS_BODY}
 *   GET  /auth/whoami    200 {"id", "username"} or 401 {"error": "not logged in"}
 *   POST /auth/logout    logout(): 200 "ok"
 *   POST /auth/password  (test hook) set_password() + save(): 200 {"id", "username"};
 *                        404 {"error": "no such user"}; the 400 above. The caller's session is left
 *                        alone, so every session of that user goes stale.
 *
 * The methods are enforced by the route table (405 with Allow).
 */
import type { Context } from 'koa';
import { z } from 'zod';
import { authenticate, authOf, login, logout, type AuthRequest, type AuthUser } from '../auth/index.ts';
import { makePassword } from '../auth/hashers/index.ts';
import { JsonBodyError, loadsJsonBody } from './json-body.ts';
import { requestBody } from './request-body.ts';
import { htmlResponse, jsonResponse } from './responses.ts';
import type { AuthUserTable } from '../auth/user-table.ts';
import { isPyDict } from './tutorial/validation.ts';

export const BAD_CREDENTIALS_BODY = 'request body must be a JSON object with string username and password';

// A lone surrogate (JSON allows "\ud800") has no UTF-8 form: Django's hashers raise
// UnicodeEncodeError on it (a 500). User input never earns a 5xx here, so such a body is refused as
// malformed, like a non-string.
const LONE_SURROGATE = /\p{Surrogate}/u;
const wellFormedString = z.string().refine((v) => !LONE_SURROGATE.test(v));
const credentialsSchema = z.object({ username: wellFormedString, password: wellFormedString });

/** `_credentials(request)`: the JSON body's string username and password, or null. */
async function credentials(ctx: Context): Promise<{ username: string; password: string } | null> {
  let payload;
  try {
    payload = loadsJsonBody(await requestBody(ctx));
  } catch (e) {
    if (e instanceof JsonBodyError) return null;
    throw e; // RequestDataTooBig: Django's 400 page, from the error handler
  }
  if (!isPyDict(payload)) return null;
  const parsed = credentialsSchema.safeParse(payload);
  return parsed.success ? parsed.data : null;
}

/** `_user_json(user)`. */
function userJson(ctx: Context, user: AuthUser): void {
  jsonResponse(ctx, 200, { id: user.pk, username: user.getUsername() });
}

function asRequest(ctx: Context): AuthRequest {
  return ctx as unknown as AuthRequest;
}

export interface AuthViews {
  login(ctx: Context): Promise<void>;
  whoami(ctx: Context): Promise<void>;
  logout(ctx: Context): Promise<void>;
  setPassword(ctx: Context): Promise<void>;
}

export function authViews(users: AuthUserTable): AuthViews {
  return {
    async login(ctx) {
      const given = await credentials(ctx);
      if (given === null) return jsonResponse(ctx, 400, { error: BAD_CREDENTIALS_BODY });
      const request = asRequest(ctx);
      const user = await authenticate(request, { username: given.username, password: given.password });
      if (user === null) return jsonResponse(ctx, 401, { error: 'invalid username or password' });
      await login(request, user);
      userJson(ctx, user);
    },

    async whoami(ctx) {
      const user = await asRequest(ctx).state.getUser!();
      if (!user.isAuthenticated) return jsonResponse(ctx, 401, { error: 'not logged in' });
      userJson(ctx, user);
    },

    async logout(ctx) {
      await logout(asRequest(ctx));
      htmlResponse(ctx, 200, 'ok');
    },

    async setPassword(ctx) {
      const given = await credentials(ctx);
      if (given === null) return jsonResponse(ctx, 400, { error: BAD_CREDENTIALS_BODY });
      const user = await users.getByUsername(given.username);
      if (user === null) return jsonResponse(ctx, 404, { error: 'no such user' });
      // user.set_password(): the default hasher of the configured PASSWORD_HASHERS.
      const auth = authOf(asRequest(ctx));
      user.password = await makePassword(given.password, auth.hashers ?? { djangoVersion: auth.settings.DJANGO_VERSION });
      await users.savePassword(user);
      userJson(ctx, user);
    },
  };
}
