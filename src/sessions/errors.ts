/**
 * The errors of Django's session machinery, as one small rooted hierarchy.
 *
 *   SessionError                root: anything a session store raises on purpose
 *   ├── KeyError                Python's KeyError on the session dict (`del s[k]`, `s.pop(k)`)
 *   ├── CreateError             save({mustCreate: true}) could not insert: the key is taken
 *   ├── UpdateError             save() matched no row: the session was deleted meanwhile
 *   ├── SessionExpiryError      a `_session_expiry` value Django itself could not use (TypeError/ValueError
 *   │                           in Django), or a datetime expiry on 3.2 with the JSON serializer
 *   ├── NotImplementedError     a backend lacks an operation (Django's NotImplementedError, e.g.
 *   │                           clear_expired(), which `clearsessions` turns into a CommandError)
 *   ├── SuspiciousOperation     django.core.exceptions.SuspiciousOperation; logged on
 *   │   │                       `django.security.<ClassName>`
 *   │   ├── InvalidSessionKey   django.contrib.sessions.exceptions.InvalidSessionKey
 *   │   └── SuspiciousSession   django.contrib.sessions.exceptions.SuspiciousSession
 *   └── SessionInterrupted      django.contrib.sessions.exceptions.SessionInterrupted, a BadRequest:
 *                               the middleware answers 400
 *
 * Session keys are carried for logs and tests; session data never is (it may hold secrets).
 */

export class SessionError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Python's `KeyError` raised by the session dict: `delete(key)`, `pop(key)` without default. */
export class KeyError extends SessionError {
  constructor(readonly key: string) {
    // Python's str(KeyError('k')) is "'k'"; the prefix makes it readable outside a traceback.
    super(`KeyError: '${key}'`);
  }
}

/** Django's `CreateError`: an INSERT for a new session key hit an existing row. */
export class CreateError extends SessionError {
  constructor(
    readonly sessionKey: string,
    options?: ErrorOptions,
  ) {
    super(`Session key is already in use`, options);
  }
}

/** Django's `UpdateError`: the UPDATE of an existing session matched no row, or failed. */
export class UpdateError extends SessionError {
  constructor(
    readonly sessionKey: string,
    message = 'Forced update did not affect any rows.',
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A `_session_expiry` value that Django would fail on (TypeError/ValueError there), or cannot store. */
export class SessionExpiryError extends SessionError {
  constructor(
    message: string,
    /** The offending value as stored or given, for diagnostics (never session data beyond this key). */
    readonly value: unknown,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** Python's NotImplementedError, with Django's messages (`subclasses of SessionBase must provide …`). */
export class NotImplementedError extends SessionError {}

/** django.core.exceptions.SuspiciousOperation: logged on `django.security.<name>`. */
export class SuspiciousOperation extends SessionError {
  /** The logger Django uses for this error: `django.security.` + the class name. */
  get loggerName(): string {
    return `django.security.${this.name}`;
  }
}

/** Django: "Invalid characters in session key" (only the file engine raises it). */
export class InvalidSessionKey extends SuspiciousOperation {}

/** Django: "The session may be tampered with" (e.g. "Session data corrupted"). */
export class SuspiciousSession extends SuspiciousOperation {}

/** The message Django's SessionMiddleware uses when save() raises UpdateError. */
export const SESSION_INTERRUPTED_MESSAGE =
  "The request's session was deleted before the request completed. The user may have logged out in a concurrent request, for example.";

/**
 * Django's `SessionInterrupted` (a `BadRequest`): the middleware turns an `UpdateError` into this,
 * and the HTTP layer answers 400.
 */
export class SessionInterrupted extends SessionError {
  readonly status = 400;
  constructor(message: string = SESSION_INTERRUPTED_MESSAGE, options?: ErrorOptions) {
    super(message, options);
  }
}
