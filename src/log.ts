/**
 * Minimal structured logging with Django's logger names (e.g. `django.security.SuspiciousSession`),
 * so operators can route our warnings exactly like Django's. One JSON object per line on stderr.
 * Secrets and cookie values must never be passed in `fields`.
 */
export type LogLevel = 'debug' | 'info' | 'warning' | 'error';

export interface LogRecord {
  logger: string;
  level: LogLevel;
  message: string;
  fields?: Record<string, unknown>;
}

export type LogSink = (record: LogRecord) => void;

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warning: 30, error: 40 };

let threshold: number = LEVELS[(process.env.LOG_LEVEL?.toLowerCase() as LogLevel) ?? 'info'] ?? LEVELS.info;
const listeners = new Set<LogSink>();

/** One JSON line, without the trailing newline. */
export function formatLogLine(record: LogRecord): string {
  const base = { time: new Date().toISOString(), level: record.level, logger: record.logger, message: record.message };
  return JSON.stringify(record.fields === undefined ? base : Object.assign(base, record.fields));
}

// Buffered writes (a server's access log): lines of one event-loop turn leave in one write.
// Why: a synchronous write per request line cost ~20 µs of our ~200 µs per request under load
// (a write(2) each, measured with bench:http's profile); one write per turn costs the same syscall
// shared by every request of that turn. Lines still leave within the turn's setImmediate, and
// whatever is pending is written synchronously on exit, so nothing is lost on a crash that exits.
let buffering = false;
let pending: string[] = [];
let flushScheduled = false;
let exitHookInstalled = false;

/** Write pending lines now (synchronously for files and pipes, as process.stderr is on POSIX). */
export function flushLog(): void {
  flushScheduled = false;
  if (pending.length === 0) return;
  const text = pending.join('');
  pending = [];
  process.stderr.write(text);
}

/**
 * Batch log lines per event-loop turn instead of one write each (the `serve` command turns it on).
 * Off by default so that a CLI's own stderr messages and its log lines keep their order.
 */
export function setLogBuffering(on: boolean): void {
  if (!on) flushLog();
  if (on && !exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', flushLog);
  }
  buffering = on;
}

function defaultSink(record: LogRecord): void {
  const line = formatLogLine(record) + '\n';
  if (!buffering) {
    process.stderr.write(line);
    return;
  }
  pending.push(line);
  if (!flushScheduled) {
    flushScheduled = true;
    setImmediate(flushLog);
  }
}

let sink: LogSink = defaultSink;

export interface Logger {
  readonly name: string;
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warning(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export function getLogger(name: string): Logger {
  const emit = (level: LogLevel, message: string, fields?: Record<string, unknown>): void => {
    const record: LogRecord = fields ? { logger: name, level, message, fields } : { logger: name, level, message };
    for (const l of listeners) l(record);
    if (LEVELS[level] >= threshold) sink(record);
  };
  return {
    name,
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warning: (m, f) => emit('warning', m, f),
    error: (m, f) => emit('error', m, f),
  };
}

/** Replace where records go (tests, or an app's own logger). Returns the previous sink. */
export function setLogSink(next: LogSink): LogSink {
  const prev = sink;
  sink = next;
  return prev;
}

export function setLogLevel(level: LogLevel): void {
  threshold = LEVELS[level];
}

/** Observe every record regardless of level (used by tests to assert Django's warnings). */
export function addLogListener(listener: LogSink): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}
