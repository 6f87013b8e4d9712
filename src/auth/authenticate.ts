/**
 * `django.contrib.auth.authenticate(request=None, **credentials)` (spec §5.7): ask each backend of
 * AUTHENTICATION_BACKENDS in order.
 *
 *   - a backend returning a user wins: the user gets `backend = <dotted path>` (what `login()`
 *     stores) and is returned;
 *   - null: the next backend tries;
 *   - `PermissionDenied`: stop at once;
 *   - nobody accepted: the `user_login_failed` signal with the credentials cleansed (every key
 *     matching api|token|key|secret|password|signature, any case, has its value replaced by
 *     `********************`), and null.
 */
import { PermissionDenied, type Credentials } from './backend.ts';
import { authOf, type Auth, type AuthRequest } from './context.ts';
import type { AuthUser } from './users.ts';

const SENSITIVE_CREDENTIALS = /api|token|key|secret|password|signature/i;
export const CLEANSED_SUBSTITUTE = '********************';

/** `_clean_credentials`: a copy with the sensitive values masked. */
export function cleanCredentials(credentials: Credentials): Credentials {
  const cleaned: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(credentials)) {
    cleaned[key] = SENSITIVE_CREDENTIALS.test(key) ? CLEANSED_SUBSTITUTE : value;
  }
  return cleaned;
}

/** `authenticate()` with an explicit configuration (for code that has no request). */
export async function authenticateWith(auth: Auth, credentials: Credentials, request: AuthRequest | null = null): Promise<AuthUser | null> {
  for (const backend of auth.backends) {
    let user: AuthUser | null;
    try {
      user = await backend.authenticate(credentials);
    } catch (e) {
      if (e instanceof PermissionDenied) break;
      throw e;
    }
    if (user === null) continue;
    user.backend = backend.path;
    return user;
  }
  await auth.signals.userLoginFailed?.(request, cleanCredentials(credentials));
  return null;
}

/** `authenticate(request, **credentials)`: the user the credentials name, or null. */
export function authenticate(request: AuthRequest, credentials: Credentials): Promise<AuthUser | null> {
  return authenticateWith(authOf(request), credentials, request);
}
