/**
 * Errors of the database layer that are about configuration, not about a query.
 * (Query failures surface as the driver's own errors; the session backend maps those to Django's
 * CreateError/UpdateError.)
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
