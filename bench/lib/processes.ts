/**
 * Server processes for HTTP benchmarks: start one (pinned, output to a log file), wait until it
 * answers HTTP, read its memory high-water mark, stop it by its own pid.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { onCleanup } from './cleanup.ts';
import { pinnedCommand } from './pinning.ts';

export class BenchProcessError extends Error {
  constructor(
    readonly processName: string,
    message: string,
    readonly logFile?: string,
  ) {
    super(`${processName}: ${message}${logFile ? ` (log: ${logFile})` : ''}`);
    this.name = 'BenchProcessError';
  }
}

export { freePort } from '../../test/support/free-port.ts';

/** True once `url` answers HTTP with any status. */
function answers(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(url, { agent: false, timeout: 2_000 }, (res) => {
      res.resume();
      resolve(true);
    });
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(false));
    req.end();
  });
}

/** Poll `url` until it answers; fail early when `alive()` says the server died. */
export async function waitForHttp(name: string, url: string, timeoutMs: number, alive: () => boolean, logFile?: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await answers(url))) {
    if (!alive()) throw new BenchProcessError(name, 'exited during start-up', logFile);
    if (Date.now() > deadline) throw new BenchProcessError(name, `no answer on ${url} after ${timeoutMs / 1000} s`, logFile);
    await sleep(100);
  }
}

export interface ServerProcess {
  readonly name: string;
  readonly pid: number;
  readonly url: string;
  readonly logFile: string;
  alive(): boolean;
  /** SIGTERM, wait up to `graceMs`, then SIGKILL. Safe to call twice. */
  stop(graceMs?: number): Promise<void>;
}

export interface StartServerOptions {
  name: string;
  command: string;
  args: readonly string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  cpu: number | null;
  /** Niceness (see pinning.ts), or null. */
  nice?: number | null;
  /** Base URL; `readyPath` is polled on it. */
  url: string;
  readyPath: string;
  logFile: string;
  timeoutMs?: number;
}

/**
 * Spawn a server (stdout and stderr to `logFile`, so its logging costs what a file costs, not what
 * a pipe read by this process would), register its stop for clean-up, and wait until it answers.
 */
export async function startServer(options: StartServerOptions): Promise<ServerProcess> {
  const { command, args } = pinnedCommand(options.cpu, options.command, options.args, options.nice ?? null);
  const fd = openSync(options.logFile, 'w');
  let child: ChildProcess;
  try {
    child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', fd, fd] });
  } finally {
    closeSync(fd);
  }
  if (child.pid === undefined) {
    await once(child, 'error').catch(() => undefined);
    throw new BenchProcessError(options.name, `could not spawn ${command}`);
  }
  const pid = child.pid;
  const alive = (): boolean => child.exitCode === null && child.signalCode === null;
  let stopping: Promise<void> | undefined;
  const stop = (graceMs = 10_000): Promise<void> => {
    stopping ??= (async () => {
      if (!alive()) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const timer = sleep(graceMs).then(() => 'timeout' as const);
      if ((await Promise.race([exited.then(() => 'exited' as const), timer])) === 'timeout' && alive()) {
        child.kill('SIGKILL');
        await exited;
      }
    })();
    return stopping;
  };
  onCleanup(`stop ${options.name}`, () => stop());
  await waitForHttp(options.name, options.url + options.readyPath, options.timeoutMs ?? 60_000, alive, options.logFile);
  return { name: options.name, pid, url: options.url, logFile: options.logFile, alive, stop };
}

/** A process's memory from /proc/<pid>/status, in KiB: peak resident (VmHWM) and current (VmRSS). */
export interface ProcessMemory {
  peakRssKiB: number;
  rssKiB: number;
}

export function processMemory(pid: number): ProcessMemory | null {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
  const field = (name: string): number | null => {
    const m = new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(status);
    return m ? Number(m[1]) : null;
  };
  const peak = field('VmHWM');
  const rss = field('VmRSS');
  return peak === null || rss === null ? null : { peakRssKiB: peak, rssKiB: rss };
}

/** The direct children of a process (e.g. gunicorn's workers), from /proc. */
export function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter((s) => s !== '')
      .map(Number);
  } catch {
    return [];
  }
}

export interface CommandResult {
  stdout: string;
  stderr: string;
}

/**
 * Run a command to completion without blocking the event loop (so Ctrl-C still cleans up), bounded
 * by `timeoutMs`; rejects with its stderr when it fails.
 */
export function runCommand(
  command: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number },
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const forget = onCleanup(`end ${command}`, () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const limit = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.once('error', (e) => {
      clearTimeout(limit);
      forget();
      reject(new BenchProcessError(command, e.message));
    });
    child.once('close', (code, signal) => {
      clearTimeout(limit);
      forget();
      if (code === 0) resolve({ stdout, stderr });
      else reject(new BenchProcessError(`${command} ${args.join(' ')}`, `exited with ${code ?? signal}:\n${stderr.trim()}`));
    });
  });
}

let clockTicks: number | undefined;

/** The kernel's clock ticks per second (`getconf CLK_TCK`; 100 on Linux unless configured otherwise). */
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    const out = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
    const n = Number(out.stdout?.trim());
    clockTicks = out.status === 0 && n > 0 ? n : 100;
  }
  return clockTicks;
}

/**
 * CPU seconds (user + system) the processes have used so far, from /proc/<pid>/stat. A process
 * that is gone counts 0. Resolution: one clock tick (10 ms).
 */
export function cpuSeconds(pids: readonly number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue;
    }
    // Fields after the command name (which may contain spaces), from field 3 on: utime is 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks / ticksPerSecond();
}
