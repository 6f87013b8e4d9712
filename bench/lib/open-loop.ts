/**
 * An open-loop load generator (what wrk2 does; Debian has no wrk2): requests are *scheduled* at a
 * fixed arrival rate, whether or not earlier ones have been answered, and each latency is measured
 * from the request's scheduled time, not from when a free connection finally sent it. A server that
 * stalls therefore shows the stall in every request that arrived meanwhile (no coordinated
 * omission, which a closed-loop tool like wrk suffers from).
 *
 * Requests go over at most `connections` keep-alive connections (http1-connection.ts: far cheaper
 * per request than node:http, so the generator stays small next to the server); a request
 * scheduled while all are busy waits in a FIFO queue, and that wait counts as latency, as it would
 * for a real client. Latencies are recorded in microseconds in Node's HDR histogram.
 *
 * Run it in its own process on its own core (open-loop-main.ts), so its event loop is not the
 * server's.
 */
import { createHistogram, performance } from 'node:perf_hooks';
import { buildGetRequest, Http1Connection } from './http1-connection.ts';

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
  /**
   * The generator's own CPU time over its wall time while measuring (1 = a whole core). Near 1 the
   * generator, not the server, is the bottleneck, and the latencies say little about the server.
   */
  generatorCpuShare: number;
}

const US_PER_MS = 1000;

export async function runOpenLoop(options: OpenLoopOptions): Promise<OpenLoopResult> {
  if (!(options.rate > 0)) throw new Error(`rate must be positive, got ${options.rate}`);
  const url = new URL(options.url);
  if (url.protocol !== 'http:') throw new Error(`only http: URLs, got ${options.url}`);
  const request = buildGetRequest(url, options.headers);
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

  // Requests waiting for a free connection, FIFO: scheduled time, and whether it is measured
  // (warm-up requests are not). A request's latency runs from its scheduled time, so time spent
  // here counts, as it would for a real client.
  const queue: { scheduledAt: number; measured: boolean }[] = [];
  let queueHead = 0;
  const free: Http1Connection[] = [];
  const inFlight = new Map<Http1Connection, { scheduledAt: number; measured: boolean }>();

  const settle = (conn: Http1Connection): void => {
    inFlight.delete(conn);
    outstanding--;
    free.push(conn);
    dispatch();
    if (outstanding === 0 && drained) drained();
  };
  const connections = Array.from({ length: options.connections }, () => {
    const conn: Http1Connection = new Http1Connection(url.hostname, Number(url.port || 80), request, {
      onAnswer(status) {
        const req = inFlight.get(conn)!;
        if (req.measured) {
          if (status === options.expectStatus) {
            ok++;
            latency.record(Math.max(1, Math.round((performance.now() - req.scheduledAt) * US_PER_MS)));
          } else {
            wrongStatus++;
          }
        }
        settle(conn);
      },
      onError() {
        if (inFlight.get(conn)!.measured) errors++;
        settle(conn);
      },
    });
    return conn;
  });
  free.push(...connections);

  function dispatch(): void {
    while (queueHead < queue.length && free.length > 0) {
      const conn = free.pop()!;
      inFlight.set(conn, queue[queueHead++]!);
      conn.send();
    }
    if (queueHead > 4096 && queueHead * 2 > queue.length) {
      queue.splice(0, queueHead);
      queueHead = 0;
    }
  }

  const fire = (scheduledAt: number, measured: boolean): void => {
    outstanding++;
    queue.push({ scheduledAt, measured });
    dispatch();
  };

  const start = performance.now() + 50;
  const measureFrom = start + warmupCount * intervalMs;
  let cpuAtMeasureStart: NodeJS.CpuUsage | undefined;
  let next = 0;
  const tick = (): void => {
    const now = performance.now();
    while (next < total) {
      const due = start + next * intervalMs;
      if (due > now) break;
      const measured = next >= warmupCount;
      if (measured && cpuAtMeasureStart === undefined) cpuAtMeasureStart = process.cpuUsage();
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
  const cpu = process.cpuUsage(cpuAtMeasureStart);
  const wallMs = performance.now() - measureFrom;
  errors += outstanding;
  for (const conn of connections) conn.destroy();

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
    generatorCpuShare: (cpu.user + cpu.system) / 1000 / wallMs,
  };
}
