/**
 * Errors of the database layer itself: a configuration we cannot use, and a database that did not
 * answer in time. (Other query failures surface as the driver's own errors; the session backend maps
 * those to Django's CreateError/UpdateError.)
 */

/** A DATABASE_URL we cannot use. `url` is the redacted URL (no password), safe to print or log. */
export class DatabaseConfigError extends Error {
  constructor(
    message: string,
    readonly url: string,
  ) {
    super(`${message} (DATABASE_URL ${url})`);
    this.name = 'DatabaseConfigError';
  }
}

/**
 * A statement got no answer within its bound (the server is frozen, partitioned away or hopelessly
 * slow). The connection it ran on has been closed, never to be reused: its answer may still arrive
 * later, and a pooled connection with a stale answer in flight would hand it to the next query.
 *
 * `sql` is the statement text (placeholders only, never the parameters: those can be session keys).
 * `code` is the errno name Node uses for a network timeout, so generic classifiers see a timeout.
 */
export class DatabaseTimeoutError extends Error {
  readonly code = 'ETIMEDOUT';

  constructor(
    readonly timeoutMs: number,
    readonly sql: string,
  ) {
    super(`no answer from the database within ${timeoutMs} ms; the connection was closed (statement: ${sql})`);
    this.name = 'DatabaseTimeoutError';
  }
}
