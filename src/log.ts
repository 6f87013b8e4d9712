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

function defaultSink(record: LogRecord): void {
  const line = JSON.stringify({
    time: new Date().toISOString(),
    level: record.level,
    logger: record.logger,
    message: record.message,
    ...record.fields,
  });
  process.stderr.write(line + '\n');
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
