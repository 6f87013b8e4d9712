/**
 * The tutorial's views (`/user/*`, any HTTP method), answering exactly as the reference site's
 * `tutorial/views.py` (test/django_site/README.md is the contract):
 *
 *   reg     201 {"user_id", "name", "email"}; 400 {"error": …} naming the first problem; 409 when the
 *           e-mail is taken. The session is not touched.
 *   login   bcrypt check by e-mail, then `set_expiry(300)`, `user_id` (an int), `user_info`; 200 with
 *           the user and `user_info`. Anything that goes wrong is a bare 400, as the tutorial's
 *           `except Exception` makes it. It does not cycle the session key (the tutorial does not).
 *   logout  behind `requireLogin`: 200 "<user_id> logout ok." and `session.flush()`.
 *   test1   200 "test1 ok" when the session's `user_id` is truthy, else a bare 400.
 */
import type { Context } from 'koa';
import { BCryptPasswordHasher } from '../../auth/hashers/bcrypt.ts';
import { constantTimeCompare } from '../../signing/crypto.ts';
import { pyTruthy } from '../../sessions/expiry.ts';
import { getLogger } from '../../log.ts';
import type { PyValue } from '../../pyjson/types.ts';
import { JsonBodyError, loadsJsonBody } from '../json-body.ts';
import { pyScalarStr } from '../python-str.ts';
import { requestBody } from '../request-body.ts';
import { htmlResponse, jsonResponse } from '../responses.ts';
import { EmailTaken, type TutorialUser, type TutorialUserTable } from './user-table.ts';
import { isPyDict, parseRegistration } from './validation.ts';

const log = getLogger('tutorial.views');

/** `bcrypt.gensalt()`'s cost, so a hash here costs what one costs in the reference site. */
export const BCRYPT_ROUNDS = 12;
/** The tutorial's login expiry: `s.set_expiry(300)`. */
export const LOGIN_EXPIRY_SECONDS = 300;

// pyca/bcrypt's hashpw/checkpw rules (NUL bytes, $2y$, "Invalid salt") live in Django's plain bcrypt
// hasher; its encode() is `"bcrypt$" + hashpw(password, salt)`.
const bcrypt = new BCryptPasswordHasher({ rounds: BCRYPT_ROUNDS });
const BCRYPT_PREFIX = 'bcrypt$';

/** `bcrypt.hashpw(password.encode(), bcrypt.gensalt())`. */
export async function hashTutorialPassword(password: string): Promise<string> {
  return (await bcrypt.encode(password, bcrypt.salt())).slice(BCRYPT_PREFIX.length);
}

/** `bcrypt.checkpw(password.encode(), stored.encode())`; throws where pyca/bcrypt raises. */
export async function checkTutorialPassword(password: string, stored: string): Promise<boolean> {
  return constantTimeCompare(await bcrypt.encode(password, stored), BCRYPT_PREFIX + stored);
}

/**
 * The value Django's `User.objects.get(email=value)` looks up: `CharField.to_python` is `str(value)`
 * for scalars; None finds nobody. Containers (whose Python repr nobody registers) find nobody here.
 */
function emailLookupValue(value: PyValue | undefined): string | null {
  if (value === null || value === undefined) return null;
  return pyScalarStr(value);
}

export interface TutorialViews {
  reg(ctx: Context): Promise<void>;
  login(ctx: Context): Promise<void>;
  logout(ctx: Context): Promise<void>;
  test1(ctx: Context): Promise<void>;
}

export function tutorialViews(users: TutorialUserTable): TutorialViews {
  async function reg(ctx: Context): Promise<void> {
    let payload: PyValue | undefined;
    try {
      payload = loadsJsonBody(await requestBody(ctx));
    } catch (e) {
      if (!(e instanceof JsonBodyError)) throw e; // RequestDataTooBig: the error handler's 400 page, as Django's
      payload = undefined;
    }
    const parsed = parseRegistration(payload);
    if (!parsed.ok) return jsonResponse(ctx, 400, { error: parsed.error });
    const { name, email, password } = parsed.value;
    if (await users.emailExists(email)) return jsonResponse(ctx, 409, { error: 'email already registered' });
    let user: TutorialUser;
    try {
      user = await users.create({ name, email, password: await hashTutorialPassword(password) });
    } catch (e) {
      // A concurrent registration took the e-mail between the check and the INSERT.
      if (e instanceof EmailTaken) return jsonResponse(ctx, 409, { error: 'email already registered' });
      throw e;
    }
    jsonResponse(ctx, 201, { user_id: user.id, name: user.name, email: user.email });
  }

  async function login(ctx: Context): Promise<void> {
    try {
      const payload = loadsJsonBody(await requestBody(ctx));
      // payload['email']: a KeyError/TypeError unless a dict with that key.
      if (!isPyDict(payload) || !Object.hasOwn(payload, 'email')) return htmlResponse(ctx, 400);
      const email = emailLookupValue(payload.email);
      const user = email === null ? null : await users.findByEmail(email);
      if (user === null) return htmlResponse(ctx, 400); // DoesNotExist
      const password = Object.hasOwn(payload, 'password') ? payload.password : undefined;
      if (typeof password !== 'string') return htmlResponse(ctx, 400); // KeyError / no .encode()
      if (!(await checkTutorialPassword(password, user.password))) return htmlResponse(ctx, 400);

      const session = ctx.session;
      await session.setExpiry(LOGIN_EXPIRY_SECONDS);
      await session.set('user_id', user.id);
      await session.set('user_info', `**${user.id} ${user.name} ${user.email}`);
      jsonResponse(ctx, 200, {
        user: { user_id: user.id, name: user.name, email: user.email },
        user_info: (await session.getItem('user_info')) as string,
      });
    } catch (e) {
      // The tutorial: `except Exception as e: print(e); return HttpResponseBadRequest()`.
      log.info(`login failed: ${e instanceof Error ? e.name : 'error'}`);
      htmlResponse(ctx, 400);
    }
  }

  async function logout(ctx: Context): Promise<void> {
    const text = `${pyScalarStr(await ctx.session.getItem('user_id'))} logout ok.`;
    // `del request.session['user_id']` would leave the row; flush() deletes it and drops the key.
    await ctx.session.flush();
    htmlResponse(ctx, 200, text);
  }

  async function test1(ctx: Context): Promise<void> {
    if (pyTruthy(await ctx.session.get('user_id'))) return htmlResponse(ctx, 200, 'test1 ok');
    htmlResponse(ctx, 400);
  }

  return { reg, login, logout, test1 };
}
