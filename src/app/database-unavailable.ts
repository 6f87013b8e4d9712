import { DatabaseTimeoutError } from '../db/errors.ts';

/**
 * Is this error "the database cannot be reached right now"? Such a request gets 503 Service
 * Unavailable (retry later) instead of Django's 500: a database that is down, restarting or out of
 * connections is not a bug in the request or in the code. A database that does not answer within
 * the bounds of src/db/connection.ts (frozen, partitioned away) is one of these too. Other database
 * errors (a missing table, a constraint) stay 500s.
 */
const UNAVAILABLE_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT', // mysql2: a knex statement got no answer within its timeout
  'ER_CON_COUNT_ERROR',
  'ER_SERVER_SHUTDOWN',
  'SQLITE_BUSY',
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
]);

export function isDatabaseUnavailable(err: unknown): boolean {
  const seen = new Set<unknown>();
  let current: unknown = err;
  while (current !== null && typeof current === 'object' && !seen.has(current)) {
    seen.add(current);
    const e = current as { name?: unknown; code?: unknown; fatal?: unknown; cause?: unknown; message?: unknown };
    if (current instanceof DatabaseTimeoutError) return true; // a prepared statement got no answer in time
    if (e.name === 'KnexTimeoutError') return true; // pool acquire timeout: no connection to be had
    if (e.fatal === true) return true; // mysql2: the connection itself is gone
    if (typeof e.code === 'string' && (UNAVAILABLE_CODES.has(e.code) || e.code.startsWith('08'))) return true; // pg class 08: connection exception
    if (typeof e.message === 'string' && /^Connection terminated|Timeout acquiring a connection/.test(e.message)) return true;
    current = e.cause;
  }
  return false;
}
