/**
 * SQL identifiers (table and column names) quoted for a dialect: backticks on MySQL/MariaDB, double
 * quotes on PostgreSQL and SQLite, the quote character doubled inside. Values never go this way:
 * they are always bound parameters.
 */
import type { Dialect } from './connection.ts';

export function quoteIdentifier(dialect: Dialect, name: string): string {
  return dialect === 'mysql' ? `\`${name.replace(/`/g, '``')}\`` : `"${name.replace(/"/g, '""')}"`;
}
