/**
 * `npm run soak`: a bounded, loopback-only soak of both servers on one MariaDB database.
 *
 * Set-up (test/support/stack.ts): a scratch database, the Django reference site (gunicorn) and our
 * `serve` process on it; tutorial users with cheap bcrypt hashes (the tutorial's check uses the
 * stored cost and never re-hashes), a pool of durable tutorial sessions and two contrib.auth
 * sessions, logged in half on each server.
 *
 * Load: two wrk runs at once, one per server, both driven by bench/lua/soak.lua over the same pool,
 * so the same rows are read and written from both stacks: reads (test1, whoami), writes (a login
 * over a durable session: an UPDATE), logins (new sessions: INSERTs) and logouts (DELETEs).
 *
 * Afterwards every durable session, every scratch session a wrk thread still holds, and every other
 * row in the table is read back through Django's own decode (test/django/oracle.py): a missing row
 * is a lost session, a row that does not decode to its user is a corrupted one.
 *
 * Reported: requests served per server, errors (5xx, socket errors, timeouts; the goal is 0 of
 * everything that is not a 4xx, and every 4xx is listed too: none is expected), sessions lost and
 * corrupted (goal 0), our process's peak resident memory (VmHWM) and its RSS sampled each second.
 *
 * Env: SOAK_SECONDS (default 300), SOAK_DJANGO (5.2), SOAK_CONNECTIONS (wrk threads = connections
 * per server, default 6), SOAK_SESSIONS (durable sessions, default 200), SOAK_JSON=1 (print the
 * report as JSON only), MARIADB_URL (required: eval "$(scripts/db/start-all.sh)").
 * Exit status 0 when every goal is met, 1 otherwise.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startDjangoOracle } from '../test/support/django-oracle.ts';
import {
  REPO_ROOT,
  memoryOf,
  seedAuthUser,
  seedTutorialUser,
  send,
  setSessionKey,
  startStack,
  type Stack,
  type StackDjangoVersion,
} from '../test/support/stack.ts';

const LUA_SCRIPT = join(REPO_ROOT, 'bench', 'lua', 'soak.lua');

export interface SoakOptions {
  seconds: number;
  version: StackDjangoVersion;
  /** wrk threads and connections per server (one connection per thread). */
  connections: number;
  /** Durable tutorial sessions in the pool. */
  sessions: number;
  /** Progress lines (default: stderr). */
  log?: (line: string) => void;
}

/** What bench/lua/soak.lua's done() writes. */
export interface WrkReport {
  requests: number;
  durationUs: number;
  errors: { connect: number; read: number; write: number; status: number; timeout: number };
  latencyUs: { p50: number; p99: number; max: number };
  /** "<kind> <status>" (and a few "<kind> <problem>") → count. */
  counts: Record<string, number>;
  created: number;
  scratchLeft: string[];
}

export interface SoakReport {
  seconds: number;
  version: StackDjangoVersion;
  servers: Record<'django' | 'node', WrkReport & { requestsPerSecond: number }>;
  /** Requests served by both. */
  requests: number;
  /** 5xx answers, socket errors and timeouts (goal 0). */
  errors: number;
  /** Every answer that is not the expected 200 (4xx included), "<server> <kind> <status>" → count (goal: none). */
  unexpected: Record<string, number>;
  sessions: {
    /** Sessions that must still exist: the durable pool, the contrib.auth ones, the scratch ones still held. */
    expected: number;
    lost: number;
    corrupted: number;
    /** Rows in the table at the end, all decoded by Django. */
    rows: number;
    /** Rows Django could not decode (warned or got {}). */
    undecodable: number;
    created: number;
  };
  node: { peakRssKb: number; maxSampledRssKb: number; endRssKb: number };
  goalsMet: boolean;
}

interface PoolEntry {
  key: string;
  email: string;
  password: string;
  userId: number;
}

function runWrk(base: string, seconds: number, connections: number, pool: string, out: string): Promise<WrkReport> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      'wrk',
      ['-t', String(connections), '-c', String(connections), '-d', `${seconds}s`, '--timeout', '10s', '-s', LUA_SCRIPT, base],
      { env: { ...process.env, SOAK_POOL: pool, SOAK_OUT: out }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stdout.resume();
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`wrk exited ${code}: ${stderr}`));
      try {
        resolve(JSON.parse(readFileSync(out, 'utf8')) as WrkReport);
      } catch (e) {
        reject(new Error(`wrk wrote no report (${String(e)}): ${stderr}`));
      }
    });
  });
}

export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const log = options.log ?? ((line: string) => process.stderr.write(`[soak] ${line}\n`));
  const workDir = join(REPO_ROOT, '.run', `soak-${randomBytes(4).toString('hex')}`);
  mkdirSync(workDir, { recursive: true });
  let stack: Stack | undefined;
  const oracle = await startDjangoOracle(options.version);
  const interrupt = (): void => {
    log('interrupted: cleaning up');
    void (async () => {
      await stack?.close();
      await oracle.close();
      rmSync(workDir, { recursive: true, force: true });
      process.exit(130);
    })();
  };
  process.once('SIGINT', interrupt);
  try {
    log(`starting Django ${options.version} and our server on a scratch MariaDB database`);
    stack = await startStack({ version: options.version, workers: 4 });
    const { django, node } = stack;

    // Users: the tutorial's (cheap bcrypt), and alice for contrib.auth.
    const durable: PoolEntry[] = [];
    const userIds = new Map<string, number>();
    for (let i = 0; i < Math.min(options.sessions, 50); i++) {
      const email = `soak${i}@example.com`;
      userIds.set(email, await seedTutorialUser(stack.db, { name: `soak ${i}`, email, password: `pw${i}` }));
    }
    const scratchUsers: Array<{ email: string; password: string }> = [];
    for (let i = 0; i < 5; i++) {
      const email = `scratch${i}@example.com`;
      userIds.set(email, await seedTutorialUser(stack.db, { name: `scratch ${i}`, email, password: `spw${i}` }));
      scratchUsers.push({ email, password: `spw${i}` });
    }
    const aliceId = await seedAuthUser(stack.db, options.version, { username: 'alice', password: 'alice pw' });

    // The pool: durable sessions logged in half on each server, two contrib.auth sessions.
    for (let i = 0; i < options.sessions; i++) {
      const n = i % Math.min(options.sessions, 50);
      const email = `soak${n}@example.com`;
      const res = await send(i % 2 ? node.base : django.base, { method: 'POST', path: '/user/login', json: { email, password: `pw${n}` } });
      const key = setSessionKey(res);
      if (res.status !== 200 || key === null) throw new Error(`pool login ${i}: ${res.status} ${res.body}`);
      durable.push({ key, email, password: `pw${n}`, userId: userIds.get(email)! });
    }
    const authKeys: string[] = [];
    for (const base of [django.base, node.base]) {
      const res = await send(base, { method: 'POST', path: '/auth/login', json: { username: 'alice', password: 'alice pw' } });
      const key = setSessionKey(res);
      if (res.status !== 200 || key === null) throw new Error(`auth login: ${res.status} ${res.body}`);
      authKeys.push(key);
    }
    const poolFile = join(workDir, 'pool.txt');
    writeFileSync(
      poolFile,
      [
        ...durable.map((d) => `durable ${d.key} ${d.email} ${d.password}`),
        ...authKeys.map((k) => `auth ${k}`),
        ...scratchUsers.map((u) => `scratch ${u.email} ${u.password}`),
      ].join('\n') + '\n',
    );

    log(`wrk on both servers for ${options.seconds} s (${options.connections} connections each, ${durable.length} durable sessions)`);
    const rssSamples: number[] = [];
    const sampler = setInterval(() => {
      const m = memoryOf(node.pid);
      if (m) rssSamples.push(m.rssKb);
    }, 1000);
    let wrkDjango: WrkReport;
    let wrkNode: WrkReport;
    try {
      [wrkDjango, wrkNode] = await Promise.all([
        runWrk(django.base, options.seconds, options.connections, poolFile, join(workDir, 'django.json')),
        runWrk(node.base, options.seconds, options.connections, poolFile, join(workDir, 'node.json')),
      ]);
    } finally {
      clearInterval(sampler);
    }
    const memory = memoryOf(node.pid) ?? { peakKb: NaN, rssKb: NaN };

    // Read every session back through Django.
    log('reading every session back through Django');
    const rows = (await stack.db.knex('django_session').select('session_key', 'session_data')) as Array<{ session_key: string; session_data: string }>;
    const decodedList = await oracle.callMany('decode', rows.map((r) => ({ sessionData: r.session_data, secretKey: stack!.secretKey })));
    const decoded = new Map<string, { data: Record<string, unknown>; warned: boolean }>();
    let undecodable = 0;
    rows.forEach((r, i) => {
      const d = decodedList[i]!;
      const data = JSON.parse(d.json) as Record<string, unknown>;
      const warned = d.warnings.length > 0;
      if (warned || d.json === '{}') undecodable++;
      decoded.set(r.session_key, { data, warned });
    });
    let lost = 0;
    let corrupted = 0;
    const expectSession = (key: string, check: (data: Record<string, unknown>) => boolean): void => {
      const row = decoded.get(key);
      if (row === undefined) lost++;
      else if (row.warned || !check(row.data)) corrupted++;
    };
    for (const d of durable) expectSession(d.key, (data) => data.user_id === d.userId && typeof data.user_info === 'string');
    for (const k of authKeys) expectSession(k, (data) => data._auth_user_id === String(aliceId));
    const scratchIds = new Set(scratchUsers.map((u) => userIds.get(u.email)));
    const scratchLeft = [...wrkDjango.scratchLeft, ...wrkNode.scratchLeft];
    for (const k of scratchLeft) expectSession(k, (data) => scratchIds.has(data.user_id as number));

    const unexpected: Record<string, number> = {};
    let errors = 0;
    for (const [name, w] of [['django', wrkDjango], ['node', wrkNode]] as const) {
      errors += w.errors.connect + w.errors.read + w.errors.write + w.errors.timeout;
      for (const [k, n] of Object.entries(w.counts)) {
        if (/ 200$/.test(k)) continue;
        unexpected[`${name} ${k}`] = n;
        if (/ 5\d\d$/.test(k)) errors += n;
      }
    }
    const perSecond = (w: WrkReport): number => Math.round(w.requests / (w.durationUs / 1e6));
    const report: SoakReport = {
      seconds: options.seconds,
      version: options.version,
      servers: {
        django: { ...wrkDjango, requestsPerSecond: perSecond(wrkDjango) },
        node: { ...wrkNode, requestsPerSecond: perSecond(wrkNode) },
      },
      requests: wrkDjango.requests + wrkNode.requests,
      errors,
      unexpected,
      sessions: {
        expected: durable.length + authKeys.length + scratchLeft.length,
        lost,
        corrupted,
        rows: rows.length,
        undecodable,
        created: wrkDjango.created + wrkNode.created,
      },
      node: { peakRssKb: memory.peakKb, maxSampledRssKb: Math.max(0, ...rssSamples), endRssKb: memory.rssKb },
      goalsMet: errors === 0 && Object.keys(unexpected).length === 0 && lost === 0 && corrupted === 0 && undecodable === 0,
    };
    return report;
  } finally {
    process.off('SIGINT', interrupt);
    await stack?.close();
    await oracle.close();
    rmSync(workDir, { recursive: true, force: true });
  }
}

export function formatSoakReport(r: SoakReport): string {
  const mb = (kb: number): string => `${(kb / 1024).toFixed(0)} MB`;
  const line = (name: string, w: SoakReport['servers']['node']): string =>
    `  ${name.padEnd(7)} ${String(w.requests).padStart(9)} requests  ${String(w.requestsPerSecond).padStart(6)}/s  ` +
    `p50 ${(w.latencyUs.p50 / 1000).toFixed(1)} ms  p99 ${(w.latencyUs.p99 / 1000).toFixed(1)} ms  ` +
    `socket errors ${w.errors.connect + w.errors.read + w.errors.write}  timeouts ${w.errors.timeout}  non-2xx ${w.errors.status}`;
  return [
    `soak: ${r.seconds} s, Django ${r.version} and our server on one MariaDB database, both under load at once`,
    line('django', r.servers.django),
    line('ours', r.servers.node),
    `  requests served: ${r.requests}; errors (5xx, socket, timeout): ${r.errors}; unexpected answers: ${
      Object.keys(r.unexpected).length === 0 ? 'none' : JSON.stringify(r.unexpected)
    }`,
    `  sessions: ${r.sessions.expected} expected to survive, lost ${r.sessions.lost}, corrupted ${r.sessions.corrupted}; ` +
      `${r.sessions.created} created during the run; ${r.sessions.rows} rows at the end, ${r.sessions.undecodable} Django could not decode`,
    `  our process: peak RSS ${mb(r.node.peakRssKb)} (VmHWM), highest sample ${mb(r.node.maxSampledRssKb)}, at the end ${mb(r.node.endRssKb)}`,
    `  goals (0 errors, 0 unexpected answers, 0 sessions lost or corrupted): ${r.goalsMet ? 'met' : 'NOT met'}`,
  ].join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const report = await runSoak({
    seconds: Number(process.env.SOAK_SECONDS ?? 300),
    version: (process.env.SOAK_DJANGO ?? '5.2') as StackDjangoVersion,
    connections: Number(process.env.SOAK_CONNECTIONS ?? 6),
    sessions: Number(process.env.SOAK_SESSIONS ?? 200),
  });
  process.stdout.write(process.env.SOAK_JSON ? `${JSON.stringify(report, null, 2)}\n` : `${formatSoakReport(report)}\n`);
  process.exitCode = report.goalsMet ? 0 : 1;
}
