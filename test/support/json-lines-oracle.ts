/**
 * What every JSON-lines oracle client shares: one long-lived Python process (the other end is
 * test/python/jsonlines_server.py) that reads one JSON request per line on stdin and answers each,
 * strictly in order, with one JSON line on stdout:
 *
 *   request:  {"id": N, "cmd": NAME, ...params}         batch: {"id": N, "cmd": "batch", "requests": [...]}
 *   response: {"id": N, "ok": true, "result": ...}  |  {"id": N, "ok": false, "error": {type, message}}
 *
 * A subclass fixes the command table (name -> [params, result]) and the error class, and adds typed
 * shorthands; this class matches answers to requests, turns a dead process into rejections that carry
 * the end of its stderr, and shuts the process down.
 */
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';

/** A Python exception raised in the oracle, by type name (`BadSignature`, `KeyError`, …). */
export interface PythonError {
  type: string;
  message: string;
}
export type Outcome<T> = { ok: true; result: T } | { ok: false; error: PythonError };

/** Command name -> [params, result]. */
export type CommandTable<C> = { [K in keyof C]: [object, unknown] };

/** How a client speaks of itself in errors; each oracle has its own error class. */
export interface OracleIdentity {
  /** The process in messages: "oracle", "store oracle", … */
  label: string;
  /** What a failed command is attributed to, e.g. "Django 5.2". */
  owner: string;
  error(message: string, pythonType?: string): Error;
}

type WireResponse = { id: number | null } & Outcome<unknown>;

interface Pending {
  resolve: (r: WireResponse) => void;
  reject: (e: Error) => void;
}

export class JsonLinesOracle<C extends CommandTable<C>> {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private stderrTail = '';
  private exited: Error | undefined;

  constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    private readonly identity: OracleIdentity,
  ) {
    const { label } = identity;
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      this.stderrTail = (this.stderrTail + chunk).slice(-4000);
    });
    createInterface({ input: child.stdout }).on('line', (line) => this.onLine(line));
    child.on('error', (err) => this.fail(identity.error(`${label} process error: ${err.message}`)));
    child.on('exit', (code, signal) =>
      this.fail(
        identity.error(`${label} exited (code ${code}, signal ${signal})${this.stderrTail ? `: ${this.stderrTail}` : ''}`),
      ),
    );
  }

  private onLine(line: string): void {
    let msg: WireResponse;
    try {
      msg = JSON.parse(line) as WireResponse;
    } catch {
      this.fail(this.identity.error(`${this.identity.label} wrote a non-JSON line: ${line.slice(0, 200)}`));
      return;
    }
    const waiter = msg.id === null ? undefined : this.pending.get(msg.id);
    if (!waiter) {
      this.fail(this.identity.error(`${this.identity.label} answered an unknown request: ${line.slice(0, 200)}`));
      return;
    }
    this.pending.delete(msg.id as number);
    waiter.resolve(msg);
  }

  private fail(err: Error): void {
    this.exited ??= err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  private send(request: Record<string, unknown>): Promise<WireResponse> {
    if (this.exited) return Promise.reject(this.exited);
    const id = this.nextId++;
    return new Promise<WireResponse>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.child.stdin.write(JSON.stringify({ ...request, id }) + '\n');
    });
  }

  /** Run one command; a Python exception becomes `{ ok: false, error }`. */
  async try<K extends keyof C & string>(cmd: K, params: C[K][0]): Promise<Outcome<C[K][1]>> {
    const { id: _id, ...outcome } = await this.send({ ...params, cmd });
    return outcome as Outcome<C[K][1]>;
  }

  /** Run one command; a Python exception rejects with the oracle's error class. */
  async call<K extends keyof C & string>(cmd: K, params: C[K][0]): Promise<C[K][1]> {
    return this.unwrap(cmd, await this.try(cmd, params));
  }

  /** Run the same command for many parameter sets in one round trip. */
  async tryMany<K extends keyof C & string>(cmd: K, paramsList: readonly C[K][0][]): Promise<Outcome<C[K][1]>[]> {
    const resp = await this.send({ cmd: 'batch', requests: paramsList.map((p) => ({ ...p, cmd })) });
    const outcomes = this.unwrap('batch', resp as Outcome<unknown>) as Outcome<C[K][1]>[];
    if (outcomes.length !== paramsList.length) {
      throw this.identity.error(`batch answered ${outcomes.length} of ${paramsList.length}`);
    }
    return outcomes;
  }

  /** Like tryMany, but rejects on the first Python exception. */
  async callMany<K extends keyof C & string>(cmd: K, paramsList: readonly C[K][0][]): Promise<C[K][1][]> {
    const outcomes = await this.tryMany(cmd, paramsList);
    return outcomes.map((o, i) => this.unwrap(`${cmd} #${i}`, o));
  }

  private unwrap<T>(what: string, outcome: Outcome<T>): T {
    if (outcome.ok) return outcome.result;
    const { type, message } = outcome.error;
    throw this.identity.error(`${this.identity.owner} ${what}: ${type}: ${message}`, type);
  }

  /**
   * `work` (typically: ask `version` and check it) on a process just started; if it fails, the
   * process is closed before the error propagates, so a refused start leaves nothing running.
   */
  async closeOnFailure<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      await this.close();
      throw err;
    }
  }

  /** End the process (closes stdin; the oracle exits at EOF, or is killed after 5 s). */
  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const done = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.exited ??= this.identity.error(`${this.identity.label} closed`);
    this.child.stdin.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await done;
    clearTimeout(timer);
  }
}
