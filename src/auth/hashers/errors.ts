/**
 * Errors raised by the password hashers. Django raises `ValueError`, `TypeError` or `AssertionError`
 * from `django.contrib.auth.hashers`; each of those cases maps to one class here, all rooted at
 * `PasswordHasherError`, so callers can catch the family or one member. No error ever carries a
 * password; the encoded hash is not carried either (it is a credential too).
 */

export type HasherErrorContext = Readonly<Record<string, string | number | boolean | undefined>>;

export class PasswordHasherError extends Error {
  readonly context: HasherErrorContext;

  constructor(message: string, context: HasherErrorContext = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PasswordHasherError';
    this.context = context;
  }
}

/**
 * Django's `ValueError("Unknown password hashing algorithm '<name>'. Did you specify it in the
 * PASSWORD_HASHERS setting?")`: the algorithm is not among the configured hashers.
 */
export class UnknownHasherError extends PasswordHasherError {
  readonly algorithm: string;

  constructor(algorithm: string) {
    super(
      `Unknown password hashing algorithm '${algorithm}'. Did you specify it in the PASSWORD_HASHERS setting?`,
      { algorithm },
    );
    this.name = 'UnknownHasherError';
    this.algorithm = algorithm;
  }
}

/**
 * An encoded hash that Django's hasher cannot decode (Django raises a `ValueError`, an
 * `AssertionError` or a library error out of `check_password` in these cases; it does not return
 * False). `reason` says which part was wrong.
 */
export class MalformedHashError extends PasswordHasherError {
  readonly algorithm: string;
  readonly reason: string;

  constructor(algorithm: string, reason: string, options?: { cause?: unknown }) {
    super(`Malformed ${algorithm} password hash: ${reason}`, { algorithm, reason }, options);
    this.name = 'MalformedHashError';
    this.algorithm = algorithm;
    this.reason = reason;
  }
}

/** Django's `ValueError("salt must be provided and cannot contain $.")` and its relatives. */
export class InvalidSaltError extends PasswordHasherError {
  readonly algorithm: string;

  constructor(algorithm: string, message: string, options?: { cause?: unknown }) {
    super(message, { algorithm }, options);
    this.name = 'InvalidSaltError';
    this.algorithm = algorithm;
  }
}

/**
 * A password the hasher cannot take: one that is not valid Unicode (a lone surrogate, which Python
 * cannot encode to UTF-8), or a NUL byte for plain bcrypt (pyca/bcrypt refuses it).
 */
export class InvalidPasswordError extends PasswordHasherError {
  readonly algorithm: string;

  constructor(algorithm: string, message: string) {
    super(message, { algorithm });
    this.name = 'InvalidPasswordError';
    this.algorithm = algorithm;
  }
}

/** A `PASSWORD_HASHERS` entry this Django version (or this port) does not have. */
export class HasherConfigError extends PasswordHasherError {
  readonly path: string;

  constructor(path: string, message: string, context: HasherErrorContext = {}) {
    super(message, { path, ...context });
    this.name = 'HasherConfigError';
    this.path = path;
  }
}
