/**
 * Clean-up steps for a benchmark run: servers to stop, child processes to end, a scratch database to
 * drop. They run once, last registered first, on normal exit, on an error, and on Ctrl-C / SIGTERM,
 * so an interrupted run leaves no server listening and no database behind.
 */
import type { ChildProcess } from 'node:child_process';

type Step = () => Promise<void> | void;

interface Registered {
  readonly name: string;
  readonly step: Step;
}

const steps: Registered[] = [];
let running: Promise<void> | undefined;
let signalled: NodeJS.Signals | null = null;

/** The signal that interrupted the run, or null. (Work failing after it is expected, not news.) */
export function interruptedBy(): NodeJS.Signals | null {
  return signalled;
}

/** Register a step; the returned function unregisters it (when the thing was already cleaned up). */
export function onCleanup(name: string, step: Step): () => void {
  const entry: Registered = { name, step };
  steps.push(entry);
  return () => {
    const at = steps.indexOf(entry);
    if (at >= 0) steps.splice(at, 1);
  };
}

/** End a short-lived child (wrk, the load generator) if the run is interrupted while it runs. */
export function trackChild(name: string, child: ChildProcess): void {
  const forget = onCleanup(name, () => {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) child.kill('SIGKILL');
  });
  child.once('exit', forget);
}

/** Run every registered step once (later calls wait for the first). A failing step does not stop the rest. */
export function runCleanup(): Promise<void> {
  running ??= (async () => {
    while (steps.length > 0) {
      const { name, step } = steps.pop()!;
      try {
        await step();
      } catch (err) {
        process.stderr.write(`clean-up "${name}" failed: ${err instanceof Error ? err.message : String(err)}\n`);
      }
    }
  })();
  return running;
}

/** On SIGINT / SIGTERM: clean up, then exit 130 / 143. A second signal exits at once. */
export function cleanUpOnSignals(): void {
  const handle = (signal: NodeJS.Signals, code: number): void => {
    signalled = signal;
    process.stderr.write(`\n${signal}: stopping the servers and dropping the benchmark database\n`);
    const force = (): never => process.exit(code);
    process.once('SIGINT', force);
    process.once('SIGTERM', force);
    void runCleanup().finally(() => process.exit(code));
  };
  process.once('SIGINT', () => handle('SIGINT', 130));
  process.once('SIGTERM', () => handle('SIGTERM', 143));
}
