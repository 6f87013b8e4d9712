/**
 * What an operator command shows on stderr besides its errors.
 *
 * Progress of a long job: a bar redrawn in place on a terminal, plain lines at a
 * steady pace otherwise (cron mail, log files and CI logs get no carriage returns), or nothing.
 *
 *   const progress = createProgress({ total: 1_000_000, unit: 'rows' });
 *   progress.update(412_000);   // as often as you like: output is throttled
 *   progress.finish();          // clears the bar; the caller prints its summary
 */
import { setLogLevel } from '../log.ts';

export type ProgressMode = 'bar' | 'lines' | 'none';

export interface ProgressOptions {
  /** The amount expected (the bar's 100%). May be exceeded; the display caps at 100%. */
  total: number;
  /** What is counted, in the plural ("rows"). */
  unit: string;
  /** Prefix of every line. */
  label?: string;
  /** Default: a bar when the stream is a TTY, else lines. */
  mode?: ProgressMode;
  /** Default process.stderr. */
  stream?: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  /** Lines mode: one line at the first update, then at most one per interval. Default 5000 ms. */
  lineIntervalMs?: number;
  /** Milliseconds clock (tests). */
  now?: () => number;
}

export interface Progress {
  update(done: number): void;
  finish(): void;
}

const BAR_REDRAW_MS = 100;

/** 1234567 → "1,234,567". */
export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** Seconds as "4.2 s", "3 min 05 s", "2 h 07 min". */
export function formatDuration(ms: number): string {
  const s = ms / 1000;
  if (s < 60) return `${s < 10 ? s.toFixed(1) : Math.round(s)} s`;
  const whole = Math.round(s);
  if (whole < 3600) return `${Math.floor(whole / 60)} min ${String(whole % 60).padStart(2, '0')} s`;
  return `${Math.floor(whole / 3600)} h ${String(Math.floor((whole % 3600) / 60)).padStart(2, '0')} min`;
}

class ProgressDisplay implements Progress {
  private readonly started: number;
  private lastDraw = -Infinity;
  private drawn = false;
  private done = 0;

  constructor(
    private readonly options: Required<Omit<ProgressOptions, 'label'>> & { label: string },
    private readonly mode: Exclude<ProgressMode, 'none'>,
  ) {
    this.started = options.now();
  }

  update(done: number): void {
    this.done = done;
    const now = this.options.now();
    const interval = this.mode === 'bar' ? BAR_REDRAW_MS : this.options.lineIntervalMs;
    if (this.drawn && now - this.lastDraw < interval) return;
    this.lastDraw = now;
    this.drawn = true;
    const text = this.describe(now);
    if (this.mode === 'lines') {
      this.options.stream.write(`${this.options.label}${text}\n`);
      return;
    }
    const width = Math.max(40, this.options.stream.columns ?? 80);
    const barWidth = Math.max(10, Math.min(40, width - text.length - this.options.label.length - 4));
    const filled = Math.round(this.fraction() * barWidth);
    const bar = `[${'#'.repeat(filled)}${'-'.repeat(barWidth - filled)}]`;
    // \x1b[K clears what a longer previous line left behind.
    this.options.stream.write(`\r${this.options.label}${bar} ${text}\x1b[K`);
  }

  finish(): void {
    if (this.mode === 'bar' && this.drawn) this.options.stream.write('\r\x1b[K');
  }

  private fraction(): number {
    const { total } = this.options;
    return total <= 0 ? 1 : Math.min(1, this.done / total);
  }

  private describe(now: number): string {
    const elapsed = now - this.started;
    const rate = elapsed > 0 ? (this.done / elapsed) * 1000 : 0;
    const { total, unit } = this.options;
    let text = `${Math.floor(this.fraction() * 100)}% ${formatCount(this.done)}/${formatCount(total)} ${unit}`;
    if (rate > 0) {
      text += `, ${formatCount(rate)} ${unit}/s`;
      const left = Math.max(0, total - this.done);
      if (left > 0) text += `, about ${formatDuration((left / rate) * 1000)} left`;
    }
    return text;
  }
}

const SILENT: Progress = { update() {}, finish() {} };

export function createProgress(options: ProgressOptions): Progress {
  const stream = options.stream ?? process.stderr;
  const mode = options.mode ?? (stream.isTTY ? 'bar' : 'lines');
  if (mode === 'none') return SILENT;
  return new ProgressDisplay(
    {
      total: options.total,
      unit: options.unit,
      label: options.label ?? '',
      mode,
      stream,
      lineIntervalMs: options.lineIntervalMs ?? 5000,
      now: options.now ?? (() => performance.now()),
    },
    mode,
  );
}

/**
 * An operator command reports a database failure itself, in one line; the driver's own warnings
 * about the same failure (knex's "Acquire connection error") would only repeat it as JSON noise.
 * LOG_LEVEL, when set, still decides.
 */
export function quietDriverWarnings(env: Readonly<Record<string, string | undefined>>): void {
  if (!env.LOG_LEVEL) setLogLevel('error');
}
