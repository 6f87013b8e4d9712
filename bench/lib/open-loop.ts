/**
 * An open-loop load generator (what wrk2 does; Debian has no wrk2): requests are *scheduled* at a
 * fixed arrival rate, whether or not earlier ones have been answered, and each latency is measured
 * from the request's scheduled time, not from when a free connection finally sent it. A server that
 * stalls therefore shows the stall in every request that arrived meanwhile (no coordinated
 * omission, which a closed-loop tool like wrk suffers from).
 *
 * Requests go over at most `connections` keep-alive connections (node:http Agent, FIFO); a request
 * scheduled while all are busy waits in the queue, and that wait counts as latency, as it would for
 * a real client. Latencies are recorded in microseconds in Node's HDR histogram.
 *
 * Run it in its own process on its own core (open-loop-main.ts), so its event loop is not the
 * server's.
 */
import { Agent, request } from 'node:http';
import { createHistogram, performance } from 'node:perf_hooks';

export interface OpenLoopOptions {
  url: string;
  headers?: Readonly<Record<string, string>>;
  /** Requests per second. */
  rate: number;
  /** Measured seconds (after the warm-up). */
  seconds: number;
  /** Seconds at the same rate before measuring (connections open, JIT warm), not recorded. */
  warmupSeconds: number;
  connections: number;
  /** The status every answer must have. */
  expectStatus: number;
}

export interface OpenLoopResult {
  rate: number;
  /** Requests scheduled in the measured window. */
  scheduled: number;
  /** Of those, answered with the expected status. */
  ok: number;
  /** Of those, answered with another status. */
  wrongStatus: number;
  /** Of those, failed (connection error) or unanswered by the deadline. */
  errors: number;
  /** ok / measured seconds. */
  achievedRate: number;
  /** Latency from the scheduled time to the end of the answer, ms. */
  latencyMs: { p50: number; p90: number; p99: number; p999: number; max: number; mean: number };
  /** How late the generator itself dispatched requests (its own event-loop lag), ms. */
  dispatchLagMs: { p99: number; max: number };
}

const US_PER_MS = 1000;

export async function runOpenLoop(options: OpenLoopOptions): Promise<OpenLoopResult> {
  if (!(options.rate > 0)) throw new Error(`rate must be positive, got ${options.rate}`);
  const agent = new Agent({ keepAlive: true, maxSockets: options.connections, scheduling: 'fifo' });
  const url = new URL(options.url);
  const requestOptions = {
    agent,
    host: url.hostname,
    port: url.port,
    path: url.pathname + url.search,
    method: 'GET',
    headers: { ...options.headers },
  };
  const latency = createHistogram({ lowest: 1, highest: 120_000_000, figures: 3 });
  const lag = createHistogram({ lowest: 1, highest: 120_000_000, figures: 3 });
  const intervalMs = 1000 / options.rate;
  const warmupCount = Math.round(options.rate * options.warmupSeconds);
  const total = warmupCount + Math.round(options.rate * options.seconds);
  let ok = 0;
  let wrongStatus = 0;
  let errors = 0;
  let outstanding = 0;
  let allSent!: () => void;
  const sentAll = new Promise<void>((resolve) => (allSent = resolve));
  let drained: (() => void) | undefined;

  const settle = (): void => {
    outstanding--;
    if (outstanding === 0 && drained) drained();
  };

  const fire = (scheduledAt: number, measured: boolean): void => {
    outstanding++;
    const req = request(requestOptions, (res) => {
      res.resume();
      res.once('end', () => {
        if (measured) {
          if (res.statusCode === options.expectStatus) {
            ok++;
            latency.record(Math.max(1, Math.round((performance.now() - scheduledAt) * US_PER_MS)));
          } else {
            wrongStatus++;
          }
        }
        settle();
      });
    });
    req.once('error', () => {
      if (measured) errors++;
      settle();
    });
    req.end();
  };

  const start = performance.now() + 50;
  let next = 0;
  const tick = (): void => {
    const now = performance.now();
    while (next < total) {
      const due = start + next * intervalMs;
      if (due > now) break;
      const measured = next >= warmupCount;
      if (measured) lag.record(Math.max(1, Math.round((now - due) * US_PER_MS)));
      fire(due, measured);
      next++;
    }
    if (next < total) setTimeout(tick, Math.max(0, start + next * intervalMs - performance.now()));
    else allSent();
  };
  setTimeout(tick, 50);
  await sentAll;

  // Wait for the answers still in flight, bounded: an unanswered request counts as an error.
  const finished = new Promise<void>((resolve) => {
    if (outstanding === 0) resolve();
    else drained = resolve;
  });
  const graceMs = 10_000;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([finished, new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)))]);
  clearTimeout(timer);
  errors += outstanding;
  agent.destroy();

  const ms = (us: number): number => us / US_PER_MS;
  const empty = latency.count === 0;
  return {
    rate: options.rate,
    scheduled: total - warmupCount,
    ok,
    wrongStatus,
    errors,
    achievedRate: ok / options.seconds,
    latencyMs: {
      p50: empty ? NaN : ms(latency.percentile(50)),
      p90: empty ? NaN : ms(latency.percentile(90)),
      p99: empty ? NaN : ms(latency.percentile(99)),
      p999: empty ? NaN : ms(latency.percentile(99.9)),
      max: empty ? NaN : ms(latency.max),
      mean: empty ? NaN : ms(latency.mean),
    },
    dispatchLagMs: { p99: lag.count === 0 ? 0 : ms(lag.percentile(99)), max: lag.count === 0 ? 0 : ms(lag.max) },
  };
}
