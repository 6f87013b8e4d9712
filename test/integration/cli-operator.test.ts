/**
 * The operator commands `inspect` and `createuser`, run as child processes the way support staff
 * run them, on MariaDB, SQLite and PostgreSQL:
 * - `createuser` (password from stdin, and from a terminal prompt without echo) writes a user that
 *   the app's real `/user/login` accepts; taken e-mails and invalid fields are refused;
 * - `inspect` shows sessions written by Django's SessionStore (test/python/store_oracle.py) and by
 *   ours: `--json` must be byte for byte `{"session_key", "expire_date", "data"}` with Django's own
 *   `expire_date.isoformat()` and `json.dumps(session)`; the text form names the user; missing,
 *   expired and undecodable sessions are refused with one clear line.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from '../../src/app/create-app.ts';
import { TutorialUserTable } from '../../src/app/tutorial/user-table.ts';
import { checkTutorialPassword } from '../../src/app/tutorial/views.ts';
import { loadSettings } from '../../src/config.ts';
import { DjangoTimezone } from '../../src/db/datetime.ts';
import { pyDumps } from '../../src/pyjson/index.ts';
import { PyFloat } from '../../src/pyjson/types.ts';
import { createSessionStoreFactory } from '../../src/sessions/backends/db.ts';
import { runMigrations } from '../../migrations/index.ts';
import { freshDatabase, testDatabases, type FreshDatabase, type TestDatabaseName } from '../support/databases.ts';
import { SYSTEM_PYTHON } from '../support/django-oracle.ts';
import { startStoreOracle, type StoreOracle } from '../support/store-oracle.ts';
import { CLI_MAIN as MAIN, runCli, type CliResult } from '../support/cli.ts';

const SECRET_KEY = 'cli-operator-test-secret-key';

/** Each database under other time settings, so expire_date is read and written every way. */
const TIME_SETTINGS: Record<TestDatabaseName, { useTz: boolean; timeZone: string }> = {
  sqlite: { useTz: true, timeZone: 'UTC' },
  mariadb: { useTz: false, timeZone: 'Europe/Paris' },
  postgres: { useTz: false, timeZone: 'America/New_York' },
};

function cli(args: string[], env: Record<string, string | undefined>, stdin = ''): Promise<CliResult> {
  return runCli(args, stdin, { LOG_LEVEL: undefined, ...env });
}

/**
 * Run our CLI on a pseudo-terminal (Python's pty), answer each prompt with `password`, and return
 * everything the terminal showed: the prompts must be there, the password never.
 */
async function cliOnTerminal(args: string[], env: Record<string, string>, password: string): Promise<{ status: number; screen: string }> {
  const driver = `
import json, os, pty, select, sys
argv, password = json.loads(sys.argv[1]), sys.argv[2].encode()
pid, fd = pty.fork()
if pid == 0:
    os.execvp(argv[0], argv)
screen, answered = b"", 0
while True:
    ready, _, _ = select.select([fd], [], [], 30)
    if not ready:
        break
    try:
        chunk = os.read(fd, 4096)
    except OSError:
        break
    if not chunk:
        break
    screen += chunk
    if screen.count(b": ") > answered and (screen.endswith(b"Password: ") or screen.endswith(b"Password (again): ")):
        answered = screen.count(b": ")
        os.write(fd, password + b"\\r")
_, status = os.waitpid(pid, 0)
print(json.dumps({"status": os.waitstatus_to_exitcode(status), "screen": screen.decode("utf-8", "replace")}))
`;
  const child = spawn(SYSTEM_PYTHON, ['-c', driver, JSON.stringify([process.execPath, '--import', 'tsx', MAIN, ...args]), password], {
    env: { ...process.env, ...env, PYTHONHOME: '' },
  });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  const [code] = (await once(child, 'close')) as [number];
  assert.equal(code, 0, `pty driver failed: ${out}`);
  return JSON.parse(out) as { status: number; screen: string };
}

async function listen(server: Server): Promise<string> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('operator CLI: createuser and inspect', { concurrency: 3 }, () => {
  for (const { name } of testDatabases()) {
    describe(name, { concurrency: 1 }, () => {
      const time = TIME_SETTINGS[name];
      let fresh: FreshDatabase;
      let django: StoreOracle;
      let env: Record<string, string>;
      let tz: DjangoTimezone;
      let annId: number;

      before(async () => {
        fresh = await freshDatabase(name, { USE_TZ: time.useTz, TIME_ZONE: time.timeZone });
        await runMigrations(fresh.db, { djangoVersion: '5.2' });
        env = {
          DATABASE_URL: fresh.url,
          SECRET_KEY,
          DJANGO_VERSION: '5.2',
          USE_TZ: time.useTz ? 'True' : 'False',
          TIME_ZONE: time.timeZone,
        };
        tz = new DjangoTimezone({ USE_TZ: time.useTz, TIME_ZONE: time.timeZone });
        django = await startStoreOracle({ series: '5.2', databaseUrl: fresh.url, ...time, secretKey: SECRET_KEY });
      });
      after(async () => {
        await django?.close();
        await fresh?.drop();
      });

      it('createuser (password on stdin) writes a user /user/login accepts; a taken e-mail is refused', async () => {
        const password = 'correct horse ÄØ battery';
        const out = await cli(['createuser', '--email', 'ann@example.com', '--name', 'Ann Smith'], env, `${password}\n`);
        assert.equal(out.code, 0, out.stderr);
        const m = /^Created user (\d+): Ann Smith <ann@example.com>\n$/.exec(out.stdout);
        assert.ok(m, out.stdout);
        annId = Number(m[1]);

        const user = await new TutorialUserTable(fresh.db).findByEmail('ann@example.com');
        assert.ok(user);
        assert.equal(user.id, annId);
        assert.match(user.password, /^\$2b\$12\$/); // the hash /user/reg writes: bcrypt.gensalt()'s cost
        assert.equal(await checkTutorialPassword(password, user.password), true);

        // The app's own /user/login, over HTTP.
        const settings = loadSettings({ ...env });
        const server = createServer(createApp({ settings, db: fresh.db, accessLog: false }).callback());
        const base = await listen(server);
        try {
          const login = await fetch(`${base}/user/login`, { method: 'POST', body: JSON.stringify({ email: 'ann@example.com', password }) });
          assert.equal(login.status, 200);
          assert.deepEqual(((await login.json()) as { user: unknown }).user, { user_id: annId, name: 'Ann Smith', email: 'ann@example.com' });
          const cookie = /sessionid=([^;]+)/.exec(login.headers.get('set-cookie') ?? '')?.[1];
          assert.ok(cookie);
          const test1 = await fetch(`${base}/user/test1`, { headers: { cookie: `sessionid=${cookie}` } });
          assert.equal(await test1.text(), 'test1 ok');
          const wrong = await fetch(`${base}/user/login`, { method: 'POST', body: JSON.stringify({ email: 'ann@example.com', password: 'nope' }) });
          assert.equal(wrong.status, 400);

          // The session that login wrote, inspected: it names Ann.
          const shown = await cli(['inspect', decodeURIComponent(cookie)], env);
          assert.equal(shown.code, 0, shown.stderr);
          assert.match(shown.stdout, new RegExp(`^user {9}user_id ${annId}: Ann Smith <ann@example.com> \\(table user\\)$`, 'm'));
          assert.match(shown.stdout, /^expire_date .* \(in [45] min( \d\d s)?\)$/m); // set_expiry(300)
        } finally {
          server.close();
          server.closeAllConnections();
        }

        const again = await cli(['createuser', '--email', 'ann@example.com', '--name', 'Ann Again'], env, 'another password\n');
        assert.equal(again.code, 1);
        assert.equal(again.stderr, 'error: email already registered: ann@example.com\n');
      });

      it("inspect --json of a session Django wrote is {session_key, expire_date, data} exactly as Django sees them", async () => {
        const data = `{"user_id":${annId},"f":1.0,"big":18446744073709551616,"10":[null,true],"s":"\\u00e9\\ud83d\\ude00"}`;
        const key = await django.create(data, 600);
        const row = await django.row(key);
        const state = await django.load({ sessionKey: key });
        assert.ok(row);
        // set_expiry(600) stored its value in the session too.
        assert.equal(state.json, `${data.slice(0, -1)},"_session_expiry":600}`);
        const out = await cli(['inspect', key, '--json'], env);
        assert.equal(out.code, 0, out.stderr);
        assert.equal(out.stdout, `{"session_key":"${key}","expire_date":"${row.expireDate}","data":${state.json}}\n`);
      });

      it('inspect of a session we wrote: Django reads the same data; the text form shows expiry and user', async () => {
        const sessions = createSessionStoreFactory({
          db: fresh.db,
          settings: {
            SECRET_KEY,
            USE_TZ: time.useTz,
            TIME_ZONE: time.timeZone,
            SESSION_COOKIE_AGE: 1_209_600,
            SESSION_EXPIRE_AT_BROWSER_CLOSE: false,
            DJANGO_VERSION: '5.2',
          },
          timezone: tz,
        });
        const store = sessions(null);
        await store.set('_auth_user_id', '7');
        await store.set('_auth_user_backend', 'django.contrib.auth.backends.ModelBackend');
        await store.set('cart', [1, new PyFloat(2), 2.5]);
        await store.setExpiry(3600);
        await store.save();
        const key = store.sessionKey!;
        const state = await django.load({ sessionKey: key });
        const row = await django.row(key);
        assert.ok(row);

        if (name === 'sqlite') {
          // (--json is checked on every database with Django's rows above.)
          const json = await cli(['inspect', key, '--json'], env);
          assert.equal(json.code, 0, json.stderr);
          assert.equal(json.stdout, `{"session_key":"${key}","expire_date":"${row.expireDate}","data":${state.json}}\n`);
        }

        const text = await cli(['inspect', key], env);
        assert.equal(text.code, 0, text.stderr);
        const lines = text.stdout.split('\n');
        assert.equal(lines[0], `session_key  ${key}`);
        const zone = time.useTz ? '' : ` ${time.timeZone}`;
        assert.match(lines[1]!, new RegExp(`^expire_date  ${row.expireDate.replace('T', ' ').replace('+', '\\+')}${zone} \\(in (59 min \\d\\d s|1 h 00 min)\\)$`));
        // There is no auth_user table here: the lookup says so instead of failing.
        assert.match(lines[2]!, /^user {9}_auth_user_id "7": \(cannot look it up: .*\)$/);
        assert.equal(lines[3], `data         ${pyDumps(await store.items().then((items) => new Map(items)))}`);
        assert.equal(lines[3], `data         ${state.json}`);
      });

      it('inspect refuses an expired session unless asked (Django treats it as missing)', async () => {
        const key = await django.create('{"a":1}', -30);
        const out = await cli(['inspect', key], env);
        assert.equal(out.code, 1);
        assert.match(out.stderr, new RegExp(`^error: session ${key} expired at .* \\(expired [^)]+ ago\\): Django treats it as missing \\(--include-expired shows it anyway\\)\\n$`));
        assert.equal(out.stdout, '');
      });

      if (name === 'sqlite') {
        it('inspect: --include-expired, no such session, a wrong SECRET_KEY', async () => {
          const key = await django.create('{"a":1}', -30);
          const shown = await cli(['inspect', key, '--include-expired'], env);
          assert.equal(shown.code, 0, shown.stderr);
          assert.match(shown.stdout, /^expire_date .* \(expired \d+ s ago\)$/m);
          assert.match(shown.stdout, /^user {9}none \(no user_id or _auth_user_id in the session\)$/m);

          const missing = await cli(['inspect', 'nosuchsessionkeyatall0000000000'], env);
          assert.equal(missing.code, 1);
          assert.equal(missing.stderr, 'error: no such session: nosuchsessionkeyatall0000000000\n');

          const live = await django.create('{"a":1}', 600);
          const wrongKey = await cli(['inspect', live], { ...env, SECRET_KEY: 'some-other-secret' });
          assert.equal(wrongKey.code, 1);
          assert.match(wrongKey.stderr, new RegExp(`^error: session ${live} exists but its data cannot be decoded: bad signature .*\\n$`));
        });

        it('createuser: invalid fields are refused before any prompt; a terminal prompt does not echo', async () => {
          const long = await cli(['createuser', '--email', 'bob@example.com', '--name', 'B'.repeat(49)], env, 'pw\n');
          assert.equal(long.code, 2);
          assert.equal(long.stderr, 'error: name must be a non-empty string of at most 48 characters\n');
          const empty = await cli(['createuser', '--email', 'bob@example.com', '--name', 'Bob'], env, '\n');
          assert.equal(empty.code, 2);
          assert.match(empty.stderr, /^error: password must be a non-empty string/);

          const secret = 'tty-Secret-42';
          const { status, screen } = await cliOnTerminal(['createuser', '--email', 'tty@example.com', '--name', 'Tty'], env, secret);
          assert.equal(status, 0, screen);
          assert.match(screen, /Password: \r?\nPassword \(again\): \r?\nCreated user \d+: Tty <tty@example.com>/);
          assert.ok(!screen.includes(secret), `the password was echoed:\n${screen}`);
          const user = await new TutorialUserTable(fresh.db).findByEmail('tty@example.com');
          assert.ok(user && (await checkTutorialPassword(secret, user.password)));
        });
      }
    });
  }
});
