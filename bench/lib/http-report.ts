/**
 * The printed result of `npm run bench:http`: one table of every session engine and route (ours,
 * Django and the ceiling: rps, ratios, server CPU per request), then per-round detail, the open-loop
 * latencies, memory, the machine's load, and the goal verdicts per engine.
 */
import type { BenchEngine, EngineName } from './bench-engines.ts';
import type { OpenLoopResult } from './open-loop.ts';

export type ServerName = 'ours' | 'django' | 'ceiling';
export const SERVER_NAMES: readonly ServerName[] = ['ours', 'django', 'ceiling'];
export type RouteName = 'test1' | 'whoami';

export interface RouteSummary {
  readonly routeName: RouteName;
  readonly path: string;
  /** Medians of the rounds. */
  readonly rps: Record<ServerName, number>;
  /** (max − min) / median of the rounds. */
  readonly spread: Record<ServerName, number>;
  /** Median server CPU µs per answered request (user + system of the server's processes). */
  readonly cpuPerRequest: Record<ServerName, number>;
  /** Per round, ours ÷ the other server in that same round (drift between rounds cancels out). */
  readonly pairedVsDjango: readonly number[];
  readonly pairedVsCeiling: readonly number[];
  readonly openLoop: OpenLoopResult | null;
}

export interface EngineMemory {
  readonly oursPeakKiB: number | null;
  /** Our server's resident memory right after start-up (before any request), for the baseline. */
  readonly oursStartKiB: number | null;
  /** The ceiling process this engine's ceiling figures come from. */
  readonly ceilingPeakKiB: number | null;
  readonly djangoWorkerPeakKiB: readonly number[];
}

export interface EngineSummary {
  readonly engine: BenchEngine;
  /** Whose ceiling runs stand for this engine's (cached_db borrows cache's; see bench-engines.ts). */
  readonly ceilingOwner: EngineName;
  readonly seconds: number;
  readonly warmupSeconds: number;
  readonly routes: readonly RouteSummary[];
  readonly memory: EngineMemory;
}

export interface ReportContext {
  readonly django: string;
  readonly djangoWorkers: number;
  readonly mariadb: string;
  /** e.g. "Redis 7.0.15, Django's RedisCache, key prefix dsb_bench_http_…", or null without a cache engine. */
  readonly redis: string | null;
  readonly cpus: string;
  readonly wrk: { threads: number; connections: number; rounds: number };
  readonly loadBefore: string;
  readonly loadAfter: string;
  readonly notes: readonly string[];
}

/** The goals: issue 7's ours/Django per engine, issue 4's ours/ceiling (db only). */
const GOAL_VS_DJANGO = 5;
const GOAL_VS_CEILING = 0.85;

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const times = (x: number): string => `${x.toFixed(1)}×`;
const percent = (x: number): string => `${(x * 100).toFixed(0)}%`;
const mib = (kib: number | null): string => (kib === null ? 'n/a' : `${(kib / 1024).toFixed(1)} MiB`);
const list = (xs: readonly number[], f: (x: number) => string): string => xs.map(f).join(' ');

function table(head: readonly string[], widths: readonly number[], rows: readonly (readonly string[])[]): string[] {
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  return [line(head), ...rows.map(line)];
}

function timingLine(engines: readonly EngineSummary[]): string {
  const groups = new Map<string, string[]>();
  for (const e of engines) {
    const key = `${e.seconds} s after ${e.warmupSeconds} s warm-up`;
    groups.set(key, [...(groups.get(key) ?? []), e.engine.name]);
  }
  return [...groups].map(([timing, names]) => `${names.join(', ')}: ${timing}`).join('; ');
}

export function formatReport(engines: readonly EngineSummary[], context: ReportContext): string {
  const out: string[] = [];
  const label = (e: EngineSummary, r: RouteSummary): string => `${e.engine.name.padEnd(15)} GET ${r.path}`;
  out.push('');
  out.push(
    `bench:http — ours (1 Node process) vs Django ${context.django} (gunicorn, ${context.djangoWorkers} sync workers) vs a bare ceiling, per session engine`,
  );
  out.push(`MariaDB ${context.mariadb}, one database${context.redis === null ? '' : `; ${context.redis}`}; ${context.cpus}`);
  out.push(
    `wrk -t${context.wrk.threads} -c${context.wrk.connections}, ${context.wrk.rounds} rounds, each measuring every engine, route and server ` +
      `(${timingLine(engines)}, per server and route); medians of the rounds`,
  );
  out.push('');
  const rows: string[][] = [];
  for (const e of engines) {
    for (const r of e.routes) {
      const c = r.cpuPerRequest;
      rows.push([
        e.engine.name,
        `GET ${r.path}`,
        fmt(r.rps.ours),
        fmt(r.rps.django),
        `${fmt(r.rps.ceiling)}${e.ceilingOwner === e.engine.name ? '' : '*'}`,
        times(r.rps.ours / r.rps.django),
        percent(r.rps.ours / r.rps.ceiling),
        `${fmt(c.ours)} µs`,
        `${fmt(c.django)} µs`,
        times(c.django / c.ours),
      ]);
    }
  }
  out.push(
    ...table(
      ['engine', 'route', 'ours rps', 'Django rps', 'ceiling rps', 'ours/Django', 'ours/ceiling', 'ours CPU', 'Django CPU', 'Django/ours CPU'],
      [14, 17, 9, 10, 11, 11, 12, 9, 10, 15],
      rows,
    ),
  );
  out.push('(CPU: server CPU per answered request, user + system of its processes during its wrk runs; the databases’ own CPU not included)');
  for (const e of engines) {
    if (e.ceilingOwner !== e.engine.name) out.push(`* ${e.engine.name}: the ${e.ceilingOwner} ceiling's runs (the same one Redis GET per session read)`);
  }
  out.push('');
  out.push('rounds: spread (max − min) / median of each server; ours ÷ the others within each round:');
  for (const e of engines) {
    for (const r of e.routes) {
      const s = r.spread;
      out.push(
        `  ${label(e, r).padEnd(34)} spread ours ${percent(s.ours)}, Django ${percent(s.django)}, ceiling ${percent(s.ceiling)}; ` +
          `ours/Django ${list(r.pairedVsDjango, times)}; ours/ceiling ${list(r.pairedVsCeiling, percent)}`,
      );
    }
  }
  out.push('ceiling CPU per request, and ceiling/ours:');
  for (const e of engines) {
    for (const r of e.routes) {
      out.push(`  ${label(e, r).padEnd(34)} ${fmt(r.cpuPerRequest.ceiling)} µs, ${percent(r.cpuPerRequest.ceiling / r.cpuPerRequest.ours)} of ours`);
    }
  }
  out.push('the ceiling per engine (besides the auth_user point query on /auth/whoami):');
  for (const e of engines) {
    const work = e.ceilingOwner === e.engine.name ? e.engine.ceilingWork : `the ${e.ceilingOwner} ceiling (${e.engine.ceilingWork})`;
    out.push(`  ${e.engine.name.padEnd(15)} ${work}`);
  }
  const openLoops = engines.some((e) => e.routes.some((r) => r.openLoop !== null));
  out.push(
    openLoops
      ? 'open loop (ours, half its peak, fixed arrival rate, latency from the scheduled send time):'
      : 'open loop: not run (DSB_BENCH_OPEN_LOOP_ENGINES names the engines that get one)',
  );
  for (const e of engines) {
    for (const r of e.routes) {
      const ol = r.openLoop;
      if (ol === null) continue;
      out.push(
        `  ${label(e, r).padEnd(34)} ${fmt(ol.achievedRate)}/s answered of ${fmt(ol.rate)}/s scheduled; ` +
          `p50 ${ol.latencyMs.p50.toFixed(2)} ms, p90 ${ol.latencyMs.p90.toFixed(2)} ms, p99 ${ol.latencyMs.p99.toFixed(2)} ms, ` +
          `p99.9 ${ol.latencyMs.p999.toFixed(2)} ms, max ${ol.latencyMs.max.toFixed(2)} ms; ` +
          `errors ${ol.errors + ol.wrongStatus}; generator lag p99 ${ol.dispatchLagMs.p99.toFixed(2)} ms, CPU ${percent(ol.generatorCpuShare)} of a core`,
      );
    }
  }
  out.push('peak RSS (VmHWM over the whole run):');
  for (const e of engines) {
    const m = e.memory;
    const djangoPeak = m.djangoWorkerPeakKiB.length ? Math.max(...m.djangoWorkerPeakKiB) : null;
    out.push(
      `  ${e.engine.name.padEnd(15)} ours ${mib(m.oursPeakKiB)} (${mib(m.oursStartKiB)} after start-up); ceiling ${mib(m.ceilingPeakKiB)}; ` +
        `Django ${m.djangoWorkerPeakKiB.length} workers, ${mib(djangoPeak)} each at most`,
    );
  }
  out.push(`machine load average (1, 5, 15 min): ${context.loadBefore} before, ${context.loadAfter} after (other processes share the cores; compare ratios)`);
  for (const note of context.notes) out.push(`note: ${note}`);
  out.push('');
  out.push(`goals: ours/Django ≥ ${GOAL_VS_DJANGO}× on every engine (issue 7); ours/ceiling ≥ ${percent(GOAL_VS_CEILING)} on db (issue 4; informative on the others):`);
  for (const e of engines) {
    for (const r of e.routes) {
      const vsDjango = r.rps.ours / r.rps.django;
      const vsCeiling = r.rps.ours / r.rps.ceiling;
      const ceilingVerdict = e.engine.name === 'db' ? ` (goal ≥ ${percent(GOAL_VS_CEILING)}) ${vsCeiling >= GOAL_VS_CEILING ? 'met' : 'NOT met'}` : '';
      out.push(
        `  ${label(e, r).padEnd(34)} ours/Django ${times(vsDjango)} (goal ≥ ${GOAL_VS_DJANGO}×) ${vsDjango >= GOAL_VS_DJANGO ? 'met' : 'NOT met'}, ` +
          `in CPU per request ${times(r.cpuPerRequest.django / r.cpuPerRequest.ours)}; ours/ceiling ${percent(vsCeiling)}${ceilingVerdict}`,
      );
    }
  }
  return out.join('\n');
}
