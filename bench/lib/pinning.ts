/**
 * CPU pinning for HTTP benchmarks: the servers on one core, the load generator on another, so the
 * client never steals the server's CPU and every server gets the same one core (a 2-worker gunicorn
 * included: both workers share that core, as two Node processes would).
 *
 *   DSB_BENCH_SERVER_CPU  core for the servers (default 0)
 *   DSB_BENCH_LOAD_CPU    core for wrk and the open-loop generator (default 1)
 *   DSB_BENCH_PIN=0       no pinning (reported in the output)
 *   DSB_BENCH_NICE=N      run servers and load generators under `nice -n N` (e.g. -10, as root) so
 *                         other work on a shared machine takes less of their cores; off by default,
 *                         because it slows everything else down while the benchmark runs
 */
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';

export interface CpuPlan {
  /** Core for the servers, or null when unpinned. */
  readonly server: number | null;
  /** Core for the load generator, or null when unpinned. */
  readonly load: number | null;
  /** Niceness for servers and load generators, or null to leave it alone. */
  readonly nice: number | null;
  /** One line for the report. */
  readonly description: string;
}

function tasksetWorks(): boolean {
  const probe = spawnSync('taskset', ['-c', '0', 'true'], { stdio: 'ignore' });
  return probe.status === 0;
}

function coreFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) throw new Error(`${name} must be a CPU number, got "${raw}"`);
  return Number(raw);
}

function niceFromEnv(): number | null {
  const raw = process.env.DSB_BENCH_NICE;
  if (raw === undefined || raw === '') return null;
  if (!/^-?\d+$/.test(raw) || Number(raw) < -20 || Number(raw) > 19) throw new Error(`DSB_BENCH_NICE must be an integer from -20 to 19, got "${raw}"`);
  const probe = spawnSync('nice', ['-n', raw, 'true'], { encoding: 'utf8' });
  // nice only warns (and runs the command unchanged) when it may not lower the niceness.
  if (probe.status !== 0 || /cannot set niceness/i.test(probe.stderr ?? '')) throw new Error(`nice -n ${raw} is not permitted here`);
  return Number(raw);
}

export function planCpus(): CpuPlan {
  const cores = availableParallelism();
  const nice = niceFromEnv();
  const niceNote = nice === null ? '' : `; servers and load generators at nice ${nice}`;
  if (process.env.DSB_BENCH_PIN === '0') {
    return { server: null, load: null, nice, description: `not pinned (DSB_BENCH_PIN=0), ${cores} cores${niceNote}` };
  }
  if (cores < 2) return { server: null, load: null, nice, description: `not pinned: only ${cores} core available${niceNote}` };
  if (!tasksetWorks()) return { server: null, load: null, nice, description: `not pinned: taskset is missing or not permitted${niceNote}` };
  const server = coreFromEnv('DSB_BENCH_SERVER_CPU', 0);
  const load = coreFromEnv('DSB_BENCH_LOAD_CPU', 1);
  if (server === load) throw new Error('DSB_BENCH_SERVER_CPU and DSB_BENCH_LOAD_CPU must differ');
  return { server, load, nice, description: `servers on core ${server}, load generator on core ${load} (taskset), ${cores} cores${niceNote}` };
}

/** The command line that runs `command args` on `cpu` (or anywhere when null), at `nice` when given. */
export function pinnedCommand(
  cpu: number | null,
  command: string,
  args: readonly string[],
  nice: number | null = null,
): { command: string; args: string[] } {
  const niced = nice === null ? [command, ...args] : ['nice', '-n', String(nice), command, ...args];
  return cpu === null ? { command: niced[0]!, args: niced.slice(1) } : { command: 'taskset', args: ['-c', String(cpu), ...niced] };
}

/**
 * Pin processes that are already running to `cpu` (nothing when null): every thread they have now
 * (`taskset -a`), and so every thread or child they start later, which inherits the affinity. For
 * servers that start faster spread over all cores (imports, compilation, migrations) than
 * squeezed onto the one they are measured on.
 */
export function pinRunningProcesses(cpu: number | null, pids: readonly number[]): void {
  if (cpu === null) return;
  for (const pid of pids) {
    const result = spawnSync('taskset', ['-a', '-p', '-c', String(cpu), String(pid)], { encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`taskset -a -p -c ${cpu} ${pid} failed: ${(result.stderr ?? '').trim()}`);
  }
}
