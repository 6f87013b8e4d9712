/**
 * wrk (Debian's `wrk` 4.x) as a closed-loop load generator: `-t` threads keep `-c` connections
 * busy for `-d` seconds, each connection sending its next request as soon as the last answer
 * arrives. This measures peak throughput; for latency at a fixed rate see open-loop.ts (wrk's
 * closed loop hides queueing delay: coordinated omission).
 */
import { spawn } from 'node:child_process';
import { trackChild } from './cleanup.ts';
import { pinnedCommand } from './pinning.ts';

export interface WrkOptions {
  url: string;
  headers?: Readonly<Record<string, string>>;
  threads: number;
  connections: number;
  seconds: number;
  /** Core for wrk, or null. */
  cpu: number | null;
  /** Niceness (see pinning.ts), or null. */
  nice?: number | null;
  /** Per-request timeout (wrk's default is 2 s). */
  timeoutSeconds?: number;
}

export interface WrkResult {
  requests: number;
  seconds: number;
  requestsPerSecond: number;
  /** From `--latency` (closed-loop, so only indicative). */
  latencyMs: { p50: number; p75: number; p90: number; p99: number };
  /** Answers with a status outside 2xx/3xx. */
  non2xx: number;
  socketErrors: { connect: number; read: number; write: number; timeout: number };
}

export class WrkError extends Error {
  constructor(
    message: string,
    readonly output: string,
  ) {
    super(message);
    this.name = 'WrkError';
  }
}

const UNIT_MS: Record<string, number> = { us: 1e-3, ms: 1, s: 1e3, m: 60e3, h: 3600e3 };

function durationMs(text: string): number {
  const m = /^([\d.]+)(us|ms|s|m|h)$/.exec(text);
  if (!m) throw new Error(`not a wrk duration: ${text}`);
  return Number(m[1]) * UNIT_MS[m[2]!]!;
}

/** Parse wrk's report (run with --latency). */
export function parseWrkOutput(output: string): WrkResult {
  const fail = (what: string): never => {
    throw new WrkError(`wrk output has no ${what}:\n${output}`, output);
  };
  const total = /^\s*(\d+) requests in ([\d.]+)(us|ms|s|m|h),/m.exec(output) ?? fail('"N requests in T" line');
  const rps = /^Requests\/sec:\s+([\d.]+)/m.exec(output) ?? fail('Requests/sec line');
  const pct = (p: string): number => {
    const m = new RegExp(`^\\s+${p}%\\s+([\\d.]+(?:us|ms|s|m|h))\\s*$`, 'm').exec(output) ?? fail(`${p}% latency`);
    return durationMs(m[1]!);
  };
  const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(output);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
  return {
    requests: Number(total[1]),
    seconds: durationMs(`${total[2]}${total[3]}`) / 1000,
    requestsPerSecond: Number(rps[1]),
    latencyMs: { p50: pct('50'), p75: pct('75'), p90: pct('90'), p99: pct('99') },
    non2xx: non2xx ? Number(non2xx[1]) : 0,
    socketErrors: socket
      ? { connect: Number(socket[1]), read: Number(socket[2]), write: Number(socket[3]), timeout: Number(socket[4]) }
      : { connect: 0, read: 0, write: 0, timeout: 0 },
  };
}

export function wrkArgs(options: WrkOptions): string[] {
  const args = [
    `-t${options.threads}`,
    `-c${options.connections}`,
    `-d${options.seconds}s`,
    `--timeout`,
    `${options.timeoutSeconds ?? 2}s`,
    '--latency',
  ];
  for (const [name, value] of Object.entries(options.headers ?? {})) args.push('-H', `${name}: ${value}`);
  args.push(options.url);
  return args;
}

/** Run wrk once (bounded by its -d plus a margin) and parse its report. */
export function runWrk(options: WrkOptions): Promise<WrkResult> {
  const { command, args } = pinnedCommand(options.cpu, 'wrk', wrkArgs(options), options.nice ?? null);
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    trackChild('wrk', child);
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
    const limit = setTimeout(() => child.kill('SIGKILL'), (options.seconds + (options.timeoutSeconds ?? 2) + 15) * 1000);
    child.once('error', (e) => {
      clearTimeout(limit);
      reject(new WrkError(`cannot run wrk: ${e.message}`, ''));
    });
    child.once('close', (code, signal) => {
      clearTimeout(limit);
      if (code !== 0) {
        reject(new WrkError(`wrk exited with ${code ?? signal}: ${err.trim()}`, out + err));
        return;
      }
      try {
        resolve(parseWrkOutput(out));
      } catch (e) {
        reject(e);
      }
    });
  });
}
