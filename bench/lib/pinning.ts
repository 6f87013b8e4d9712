/**
 * CPU pinning for HTTP benchmarks: the servers on one core, the load generator on another, so the
 * client never steals the server's CPU and every server gets the same one core (a 2-worker gunicorn
 * included: both workers share that core, as two Node processes would).
 *
 *   DSB_BENCH_SERVER_CPU  core for the servers (default 0)
 *   DSB_BENCH_LOAD_CPU    core for wrk and the open-loop generator (default 1)
 *   DSB_BENCH_PIN=0       no pinning (reported in the output)
 */
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';

export interface CpuPlan {
  /** Core for the servers, or null when unpinned. */
  readonly server: number | null;
  /** Core for the load generator, or null when unpinned. */
  readonly load: number | null;
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

export function planCpus(): CpuPlan {
  const cores = availableParallelism();
  if (process.env.DSB_BENCH_PIN === '0') {
    return { server: null, load: null, description: `not pinned (DSB_BENCH_PIN=0), ${cores} cores` };
  }
  if (cores < 2) return { server: null, load: null, description: `not pinned: only ${cores} core available` };
  if (!tasksetWorks()) return { server: null, load: null, description: 'not pinned: taskset is missing or not permitted' };
  const server = coreFromEnv('DSB_BENCH_SERVER_CPU', 0);
  const load = coreFromEnv('DSB_BENCH_LOAD_CPU', 1);
  if (server === load) throw new Error('DSB_BENCH_SERVER_CPU and DSB_BENCH_LOAD_CPU must differ');
  return { server, load, description: `servers on core ${server}, load generator on core ${load} (taskset), ${cores} cores` };
}

/** The command line that runs `command args` on `cpu` (or as it is when cpu is null). */
export function pinnedCommand(cpu: number | null, command: string, args: readonly string[]): { command: string; args: string[] } {
  return cpu === null ? { command, args: [...args] } : { command: 'taskset', args: ['-c', String(cpu), command, ...args] };
}
