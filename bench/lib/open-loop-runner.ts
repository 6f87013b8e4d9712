/** Run the open-loop generator (open-loop-main.ts) in its own process, pinned to a core. */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { trackChild } from './cleanup.ts';
import type { OpenLoopOptions, OpenLoopResult } from './open-loop.ts';
import { pinnedCommand } from './pinning.ts';

const MAIN = fileURLToPath(new URL('./open-loop-main.ts', import.meta.url));

export function runOpenLoopProcess(options: OpenLoopOptions, cpu: number | null, nice: number | null = null): Promise<OpenLoopResult> {
  const { command, args } = pinnedCommand(cpu, process.execPath, ['--import', 'tsx', MAIN, JSON.stringify(options)], nice);
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    trackChild('open-loop generator', child);
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
    const limit = setTimeout(() => child.kill('SIGKILL'), (options.warmupSeconds + options.seconds + 30) * 1000);
    child.once('error', (e) => {
      clearTimeout(limit);
      reject(new Error(`cannot start the open-loop generator: ${e.message}`));
    });
    child.once('close', (code, signal) => {
      clearTimeout(limit);
      if (code !== 0) {
        reject(new Error(`open-loop generator exited with ${code ?? signal}: ${err.trim()}`));
        return;
      }
      try {
        resolve(JSON.parse(out) as OpenLoopResult);
      } catch {
        reject(new Error(`open-loop generator printed no result: ${out.slice(0, 200)} ${err.slice(0, 500)}`));
      }
    });
  });
}
