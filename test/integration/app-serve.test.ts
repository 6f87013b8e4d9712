// `npm start` (the serve command) as an operator meets it: a child process, real HTTP.
// - no DATABASE_URL: the development SQLite database is created and migrated in the working
//   directory, the development secret is used, and both are announced;
// - one structured log line per request;
// - SIGTERM lets a request in flight finish, then the process exits 0;
// - DATABASE_URL without SECRET_KEY, or a database without django_session, stops it with a message.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TSX = join(ROOT, 'node_modules', '.bin', 'tsx');
const MAIN = join(ROOT, 'src', 'cli', 'main.ts');

interface Served {
  child: ChildProcessWithoutNullStreams;
  /** Parsed JSON log lines from stderr so far. */
  logs: Array<Record<string, unknown>>;
  stdout: string;
  exited: Promise<number | null>;
}

function serve(cwd: string, env: NodeJS.ProcessEnv): Served {
  const child = spawn(TSX, [MAIN, 'serve'], { cwd, env: { PATH: process.env.PATH, ...env } });
  const served: Served = { child, logs: [], stdout: '', exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))) };
  let pending = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      try {
        served.logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        served.logs.push({ raw: line });
      }
    }
  });
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => (served.stdout += chunk));
  return served;
}

async function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function messages(served: Served): string[] {
  return served.logs.map((l) => String(l.message ?? l.raw ?? ''));
}

describe('serve without DATABASE_URL (development)', { concurrency: 1 }, () => {
  let dir: string;
  let served: Served;
  let base: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dsb-serve-'));
    served = serve(dir, { PORT: '0', HOST: '127.0.0.1' });
    const listening = await waitFor('the listening line', () => served.logs.find((l) => String(l.message).startsWith('listening on')));
    base = `http://127.0.0.1:${String(listening.port)}`;
  });

  after(async () => {
    if (served.child.exitCode === null) {
      served.child.kill('SIGKILL');
      await served.exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('announces the development database and secret, and migrates the database', () => {
    const text = messages(served);
    assert.ok(text.some((m) => m.includes('DATABASE_URL is not set') && m.includes('sqlite:db.sqlite3')), text.join('\n'));
    assert.ok(text.some((m) => m.includes('SECRET_KEY is not set') && m.includes('never deploy')), text.join('\n'));
    assert.ok(text.some((m) => m.startsWith('development database migrated: 0001_django_session, 0002_user')));
    assert.ok(text.some((m) => m.includes('auth_user does not exist')), 'the missing Django auth tables are reported');
    assert.ok(existsSync(join(dir, 'db.sqlite3')));
    const listening = served.logs.find((l) => String(l.message).startsWith('listening on'));
    assert.equal(listening?.django_version, '5.2');
  });

  it('serves the tutorial routes and logs each request with method, path, status and time', async () => {
    const res = await fetch(`${base}/user/test1?secret=1`);
    assert.equal(res.status, 400);
    assert.equal(await res.text(), '');
    const line = await waitFor('the access line', () => served.logs.find((l) => l.logger === 'django.server' && l.path === '/user/test1'));
    assert.equal(line.method, 'GET');
    assert.equal(line.status, 400);
    assert.equal(line.level, 'warning');
    assert.equal(typeof line.ms, 'number');
    assert.ok(!JSON.stringify(line).includes('secret=1'), 'the query string is not logged');
  });

  it('on SIGTERM stops accepting, finishes the request in flight, then exits 0', async () => {
    // A registration whose body is only half sent when the signal comes: the server has the request
    // (headers parsed, handler waiting for the body) and must see it through.
    const body = Buffer.from(JSON.stringify({ name: 'n', email: 'inflight@x', password: 'pw' }));
    const url = new URL(`${base}/user/reg`);
    const answer = new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = httpRequest(
        { host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { 'content-length': body.length }, agent: false },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        },
      );
      req.on('error', reject);
      req.write(body.subarray(0, 10));
      setTimeout(() => {
        served.child.kill('SIGTERM');
        setTimeout(() => req.end(body.subarray(10)), 500);
      }, 500);
    });
    const shuttingDown = await waitFor('the shutdown line', () => served.logs.find((l) => String(l.message).startsWith('SIGTERM: shutting down')));
    assert.ok(shuttingDown);
    await assert.rejects(fetch(`${base}/user/test1`), 'no new connections once shutting down');
    const { status, text } = await answer;
    assert.equal(status, 201, text);
    assert.match(text, /^\{"user_id": \d+, "name": "n", "email": "inflight@x"\}$/);
    assert.equal(await served.exited, 0);
    assert.equal(messages(served).at(-1), 'stopped');
  });
});

describe('serve with DATABASE_URL', () => {
  it('refuses to start without SECRET_KEY (a shared database never gets the development secret)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dsb-serve-'));
    try {
      const served = serve(dir, { PORT: '0', DATABASE_URL: `sqlite:${join(dir, 'x.sqlite3')}` });
      assert.equal(await served.exited, 2);
      assert.ok(messages(served).some((m) => m.includes('SECRET_KEY')), messages(served).join('\n'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('does not migrate a named database: without django_session it stops and says how to fix it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dsb-serve-'));
    try {
      const served = serve(dir, { PORT: '0', SECRET_KEY: 's', DATABASE_URL: `sqlite:${join(dir, 'empty.sqlite3')}` });
      assert.equal(await served.exited, 1);
      assert.ok(messages(served).some((m) => m.includes('django_session does not exist') && m.includes('migrate')), messages(served).join('\n'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
