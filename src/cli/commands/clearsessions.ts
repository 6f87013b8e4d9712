/**
 * `clearsessions`: Django's `manage.py clearsessions`, for tables of millions of rows.
 *
 * Deletes exactly the rows Django's would (see src/sessions/clear-expired.ts), in short batches, with
 * a progress display and a summary. SIGINT/SIGTERM stop it after the batch in progress; a lost
 * connection stops it too. Either way it says how far it got, exits non-zero, and a new run carries on.
 */
import {
  CACHE_SESSION_ENGINE,
  CACHED_DB_SESSION_ENGINE,
  ConfigError,
  DB_SESSION_ENGINE,
  loadSettings,
  SIGNED_COOKIES_SESSION_ENGINE,
  type Environment,
  type Settings,
} from '../../config.ts';
import { openDatabase, type Database } from '../../db/connection.ts';
import { DateTimeError, DjangoTimezone, fromIsoformat, type PyDateTime } from '../../db/datetime.ts';
import { DatabaseConfigError } from '../../db/errors.ts';
import { SessionTable } from '../../sessions/backends/db-table.ts';
import {
  ClearExpiredError,
  DEFAULT_BATCH_SIZE,
  DEFAULT_CHUNK_TIME_MS,
  DEFAULT_NICE_RATIO,
  ExpiredSessionCleaner,
  isConnectFailure,
  MAX_BATCH_SIZE,
  type ClearExpiredResult,
  type ClearStrategy,
  type StatementKind,
} from '../../sessions/clear-expired.ts';
import { parseOptions, USAGE_EXIT } from '../args.ts';
import { CliError } from '../errors.ts';
import { createProgress, formatCount, formatDuration, quietDriverWarnings } from '../progress.ts';

export const summary = 'delete expired sessions in short batches (Django\'s clearsessions, safe on big tables)';

const HELP = `usage: django-session-bridge clearsessions [options]

Delete the expired rows of django_session: exactly the rows Django's \`manage.py clearsessions\`
deletes (expire_date before now, compared as Django compares it for this database, USE_TZ and
TIME_ZONE), but in many short statements instead of one, so the live site is never kept waiting.
"Now" is taken once, at the start. Progress goes to stderr (a bar on a terminal, a line every few
seconds otherwise); a summary goes to stdout.

Ctrl-C or SIGTERM stops it after the batch in progress (a second one stops it at once); a lost
database connection stops it too. Every finished batch is committed: run it again to carry on.

With SESSION_ENGINE cache or signed_cookies there is nothing to delete (expired sessions vanish on
their own), as with Django; db and cached_db clean the table.

Pacing: each batch is one short transaction. Batches that keep taking longer than --chunk-time
are made smaller (a single slow one is not: stalls are not the batch's doing); after each batch
it rests --nice-ratio times as long as the batch took, so the site's queries and the database's own
clean-up work (InnoDB purge, page flushing) get the database in between. Resting costs time: with
the default ratio of ${DEFAULT_NICE_RATIO} a run takes about ${1 + DEFAULT_NICE_RATIO}x as long as back to back (--nice-ratio 0).
docs/operators.md has measured figures for each setting.

options:
  --batch-size N        rows per statement at most, and the first batch's (default ${DEFAULT_BATCH_SIZE},
                        at most ${MAX_BATCH_SIZE}); with --chunk-time 0, every statement's
  --chunk-time MS       make batches smaller while they keep taking longer than MS ms (default
                        ${DEFAULT_CHUNK_TIME_MS}); 0: always --batch-size rows
  --nice-ratio R        after each batch, rest R ms per ms it took (default ${DEFAULT_NICE_RATIO}; 0: no rest;
                        0.5: the database is kept busy at most two thirds of the time)
  --pause MS            also wait MS milliseconds after every batch (e.g. to let replicas catch up;
                        default 0)
  --strategy S          how to walk the table (default auto):
                          index  expired rows in expire_date order, through Django's expire_date index
                          sweep  the whole table in storage order, deleting the expired rows it meets
                          auto   sweep when 10% or more of the table is expired, else index
  --dry-run             count the expired rows and say what would be done; delete nothing
  --expired-before T    delete only rows that expired before T, an ISO 8601 date-time in the past
                        (with an offset, or in TIME_ZONE; default: now)
  --log-slow MS         print each statement that takes MS ms or more on stderr (SELECT, BEGIN,
                        DELETE or COMMIT, and its time): which part of a batch is slow
  --quiet               no progress display (errors and the summary only)
  -h, --help            this text

environment (as for serve): DATABASE_URL (default sqlite:db.sqlite3), USE_TZ, TIME_ZONE,
SESSION_ENGINE, DJANGO_VERSION

exit status: 0 done (or nothing to do); 1 database error; 2 wrong option or setting;
130 / 143 stopped by SIGINT / SIGTERM

examples:
  DATABASE_URL=mysql://app:secret@db.internal/site npm run --silent cli -- clearsessions
  django-session-bridge clearsessions --dry-run
  django-session-bridge clearsessions --batch-size 200 --pause 50
  django-session-bridge clearsessions --nice-ratio 0        # as fast as it goes (quiet hours)
  django-session-bridge clearsessions --nice-ratio 3 --log-slow 100   # gentler; show slow statements
  # crontab: every night at 03:17, output mailed only on failure
  17 3 * * * cd /srv/app && DATABASE_URL=... npx django-session-bridge clearsessions --quiet >/dev/null
`;

/** Engines whose SessionStore.clear_expired() deletes rows of django_session (cached_db inherits db's). */
const TABLE_ENGINES: ReadonlySet<string> = new Set([DB_SESSION_ENGINE, CACHED_DB_SESSION_ENGINE]);
/** Engines whose SessionStore.clear_expired() is a no-op in Django: their entries expire by themselves. */
const SELF_EXPIRING_ENGINES: ReadonlySet<string> = new Set([CACHE_SESSION_ENGINE, SIGNED_COOKIES_SESSION_ENGINE]);

const SIGNAL_EXIT: Record<'SIGINT' | 'SIGTERM', number> = { SIGINT: 130, SIGTERM: 143 };
/** Client-side bound on one statement's answer (MySQL/MariaDB), ms. */
const STATEMENT_BOUND_MS = 120_000;

function loadClearSettings(env: Environment): Settings {
  try {
    // No secret is involved in deleting rows; without DATABASE_URL the development database is used.
    return loadSettings(env, { allowDevelopmentDefaults: true });
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(err.message, USAGE_EXIT);
    throw err;
  }
}

function parseWhole(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new CliError(`--${name} must be a whole number from ${min} to ${max}, got "${raw}"`, USAGE_EXIT);
  }
  return Number(raw);
}

function parseDecimal(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  if (!/^\d+(\.\d+)?$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new CliError(`--${name} must be a number from ${min} to ${max}, got "${raw}"`, USAGE_EXIT);
  }
  return Number(raw);
}

function parseStrategy(raw: string | undefined): ClearStrategy | 'auto' {
  if (raw === undefined) return 'auto';
  if (raw === 'auto' || raw === 'index' || raw === 'sweep') return raw;
  throw new CliError(`--strategy must be auto, index or sweep, got "${raw}"`, USAGE_EXIT);
}

/** `--expired-before`: a past instant, held as Django holds datetimes under these settings. */
function parseBefore(raw: string | undefined, tz: DjangoTimezone): PyDateTime {
  const now = tz.now();
  if (raw === undefined) return now;
  let value: PyDateTime;
  try {
    // Naive text is wall-clock time in TIME_ZONE, as Django reads a naive datetime.
    value = tz.coerce(fromIsoformat(raw));
  } catch (err) {
    if (err instanceof DateTimeError) throw new CliError(`--expired-before: ${err.message}`, USAGE_EXIT);
    throw err;
  }
  if (value.compare(now) > 0) {
    throw new CliError(`--expired-before must not be in the future (that would delete live sessions), got "${raw}"`, USAGE_EXIT);
  }
  return value;
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n', 1)[0] ?? '';
}

/** A failure before any row was touched: unreachable database, wrong credentials, no table. */
function preflightError(db: Database, err: unknown): CliError {
  const reason = firstLine(err);
  return new CliError(isConnectFailure(err) ? `cannot connect to the database ${db.redactedUrl}: ${reason}` : `${db.redactedUrl}: ${reason}`);
}

const KIND_NAMES: Record<StatementKind, string> = { select: 'SELECT', begin: 'BEGIN', delete: 'DELETE', commit: 'COMMIT' };

/**
 * "1,000 of 3,334 expired sessions in 4.2 s: 238 rows/s, 2 batches of up to 500 rows (strategy sweep),
 * statements p99 3 ms, longest 12 ms (a DELETE; DELETE to COMMIT 14 ms), 2.1 s of it resting".
 */
function describeRun(result: ClearExpiredResult, expected: number, batchSize: number, chunkTimeMs: number): string {
  const seconds = result.elapsedMs / 1000;
  const rate = seconds > 0 ? result.deleted / seconds : result.deleted;
  const count = result.deleted === expected ? formatCount(expected) : `${formatCount(result.deleted)} of ${formatCount(expected)}`;
  const shrunk =
    result.smallestBatchSize < batchSize ? `; down to ${formatCount(result.smallestBatchSize)} rows to keep batches near ${chunkTimeMs} ms` : '';
  const kinds = Object.entries(result.longestByKind) as [StatementKind, number][];
  const slowest = kinds.reduce((a, b) => (b[1] > a[1] ? b : a));
  const longest =
    result.statements === 0
      ? ''
      : `, statements p99 ${Math.round(result.p99StatementMs)} ms, longest ${Math.round(result.longestStatementMs)} ms ` +
        `(a ${KIND_NAMES[slowest[0]]}; DELETE to COMMIT ${Math.round(result.longestTransactionMs)} ms at most)`;
  const rest = result.restMs >= 1 ? `, ${formatDuration(result.restMs)} of it resting` : '';
  return (
    `${count} expired sessions in ${formatDuration(result.elapsedMs)}: ${formatCount(rate)} rows/s, ` +
    `${formatCount(result.batches)} batches of up to ${formatCount(batchSize)} rows (strategy ${result.strategy}${shrunk})${longest}${rest}`
  );
}

/** SIGINT/SIGTERM → abort after the current batch; a second signal exits at once. */
function trapSignals(controller: AbortController): { received(): 'SIGINT' | 'SIGTERM' | null; release(): void } {
  let received: 'SIGINT' | 'SIGTERM' | null = null;
  const onSignal = (signal: 'SIGINT' | 'SIGTERM'): void => {
    if (received !== null) {
      process.stderr.write(`\n${signal} again: stopping now (the statement in progress is committed or rolled back whole, never half-done)\n`);
      process.exit(SIGNAL_EXIT[signal]);
    }
    received = signal;
    process.stderr.write(`\n${signal}: stopping after the batch in progress (send it again to stop at once)\n`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    received: () => received,
    release() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

export async function run(argv: string[], env: Environment = process.env): Promise<number> {
  const values = parseOptions(argv, {
    'batch-size': { type: 'string' },
    'chunk-time': { type: 'string' },
    'nice-ratio': { type: 'string' },
    strategy: { type: 'string' },
    'dry-run': { type: 'boolean' },
    pause: { type: 'string' },
    'expired-before': { type: 'string' },
    'log-slow': { type: 'string' },
    quiet: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  quietDriverWarnings(env);
  const batchSize = parseWhole('batch-size', values['batch-size'], DEFAULT_BATCH_SIZE, 1, MAX_BATCH_SIZE);
  const chunkTimeMs = parseWhole('chunk-time', values['chunk-time'], DEFAULT_CHUNK_TIME_MS, 0, 600_000);
  const niceRatio = parseDecimal('nice-ratio', values['nice-ratio'], DEFAULT_NICE_RATIO, 0, 1000);
  const pauseMs = parseWhole('pause', values.pause, 0, 0, 600_000);
  const logSlowMs = values['log-slow'] === undefined ? null : parseWhole('log-slow', values['log-slow'], 0, 0, 600_000);
  const strategyOption = parseStrategy(values.strategy);
  const settings = loadClearSettings(env);

  const engine: string = settings.SESSION_ENGINE;
  if (SELF_EXPIRING_ENGINES.has(engine)) {
    process.stdout.write(`Nothing to do for ${engine}: its sessions expire by themselves (Django's clearsessions does nothing either).\n`);
    return 0;
  }
  if (!TABLE_ENGINES.has(engine)) {
    throw new CliError(`Session engine '${engine}' doesn't support clearing expired sessions.`);
  }

  const tz = new DjangoTimezone(settings);
  const before = parseBefore(values['expired-before'], tz);
  const url = settings.DATABASE_URL!;
  if (!env.DATABASE_URL) process.stderr.write(`DATABASE_URL is not set: using the development database ${url}\n`);
  let db: Database;
  try {
    // A batch may rightly wait for a row lock the site holds (InnoDB gives up after
    // innodb_lock_wait_timeout, 50 s by default, and the batch is retried), so the bound on a
    // statement's answer is well above that rather than the site's 5 s; the count has none.
    db = openDatabase(url, settings, { max: 2, queryTimeoutMillis: STATEMENT_BOUND_MS });
  } catch (err) {
    if (err instanceof DatabaseConfigError) throw new CliError(err.message, USAGE_EXIT);
    throw err;
  }

  try {
    const cleaner = new ExpiredSessionCleaner(new SessionTable(db, tz));
    let expected: number;
    let strategy: ClearStrategy;
    try {
      if (!(await cleaner.tableExists())) {
        throw new CliError(`${cleaner.tableName} does not exist in ${db.redactedUrl}: run \`django-session-bridge migrate\` or Django's manage.py migrate`);
      }
      expected = await cleaner.countExpired(before);
      strategy = strategyOption === 'auto' ? await cleaner.chooseStrategy(expected) : strategyOption;
    } catch (err) {
      if (err instanceof CliError) throw err;
      throw preflightError(db, err);
    }
    const cutoff = `expire_date before ${before.isoformat(' ')}${before.aware ? '' : ` (${settings.TIME_ZONE})`}`;

    if (values['dry-run']) {
      process.stdout.write(
        `Dry run: ${formatCount(expected)} expired sessions (${cutoff}) in ${cleaner.tableName} of ${db.redactedUrl}; ` +
          `a run would delete them with strategy ${strategy}, up to ${formatCount(batchSize)} rows per statement. Nothing was deleted.\n`,
      );
      return 0;
    }
    if (expected === 0) {
      process.stdout.write(`No expired sessions (${cutoff}) in ${cleaner.tableName} of ${db.redactedUrl}.\n`);
      return 0;
    }

    const controller = new AbortController();
    const signals = trapSignals(controller);
    const progress = createProgress({
      total: expected,
      unit: 'rows',
      label: 'clearsessions: ',
      ...(values.quiet ? { mode: 'none' as const } : {}),
    });
    // A slow statement's line clears the progress bar first (the next update redraws it).
    const clearBar = !values.quiet && process.stderr.isTTY ? '\r\x1b[K' : '';
    let result: ClearExpiredResult;
    try {
      result = await cleaner.clear({
        before,
        batchSize,
        chunkTimeMs,
        niceRatio,
        strategy,
        pauseMs,
        signal: controller.signal,
        expiredCount: expected,
        onBatch: (p) => progress.update(p.deleted),
        ...(logSlowMs === null
          ? {}
          : {
              onStatement: (kind: StatementKind, ms: number) => {
                if (ms >= logSlowMs) process.stderr.write(`${clearBar}slow statement: ${KIND_NAMES[kind]} took ${Math.round(ms)} ms\n`);
              },
            }),
      });
    } catch (err) {
      progress.finish();
      if (!(err instanceof ClearExpiredError)) throw err;
      const what = err.connectionLost ? `lost the connection to ${db.redactedUrl}` : `database error on ${db.redactedUrl}`;
      throw new CliError(
        `${what} after deleting ${describeRun(err.progress, expected, batchSize, chunkTimeMs)}: ${err.message}. ` +
          'Finished batches are committed; run clearsessions again to carry on.',
      );
    } finally {
      signals.release();
    }
    progress.finish();

    const signal = signals.received();
    if (!result.completed) {
      process.stderr.write(
        `clearsessions stopped by ${signal ?? 'request'} after deleting ${describeRun(result, expected, batchSize, chunkTimeMs)}. ` +
          'The rest are still there; run clearsessions again to carry on.\n',
      );
      return signal === null ? 1 : SIGNAL_EXIT[signal];
    }
    process.stdout.write(`Deleted ${describeRun(result, expected, batchSize, chunkTimeMs)}; ${cutoff}.\n`);
    return 0;
  } finally {
    await db.close();
  }
}
