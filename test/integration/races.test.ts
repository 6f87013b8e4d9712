// Races across the stacks: the Django reference site (5.2, gunicorn, 4 workers) and our server on
// one MariaDB database, hit at the same time.
//
//   - many concurrent logins on both: no two sessions share a key, and every row they wrote decodes
//     in Django to the user who logged in;
//   - a logout that lands between a write's read and its UPDATE (made deterministic with a row lock
//     held by the test): Django answers 400 (SessionInterrupted), and so do we, with the same answer;
//     the row stays deleted;
//   - a storm of logouts and writes on the same sessions from both servers: a logout is never undone
//     (no deleted key ever comes back), every answer is one Django's rules allow, and both servers
//     produce the SessionInterrupted outcome;
//   - simultaneous contrib.auth logins over one session on both servers: two fresh keys, the old row
//     gone;
//   - at the end every row in the table decodes in Django without a warning (nothing half-written).
// Needs MARIADB_URL (eval "$(scripts/db/start-all.sh)") and Django 5.2 (scripts/setup-django.sh).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BAD_REQUEST_PAGE } from '../../src/app/responses.ts';
import { startDjangoOracle, type DjangoOracle } from '../support/django-oracle.ts';
import {
  DELETED_COOKIE,
  seedAuthUser,
  seedTutorialUser,
  send,
  setSessionKey,
  sleep,
  startStack,
  type Answer,
  type RequestSpec,
  type Stack,
} from '../support/stack.ts';
import { mulberry32 } from '../support/prng.ts';

const VERSION = '5.2' as const;
const ALICE = { username: 'alice', password: 'alice pw' };

interface TutorialAccount {
  id: number;
  email: string;
  password: string;
}

/** Run `tasks` with at most `limit` in flight. */
async function pool<T>(tasks: ReadonlyArray<() => Promise<T>>, limit: number): Promise<T[]> {
  const results = new Array<T>(tasks.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await tasks[i]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  return results;
}

/** Fisher–Yates with a seeded PRNG, so a failing order can be replayed (RACES_SEED). */
function shuffle<T>(items: T[], seed: number): T[] {
  const random = mulberry32(seed);
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

const SEED = Number(process.env.RACES_SEED ?? Math.floor(Math.random() * 2 ** 31));

describe(`races: Django ${VERSION} and our server on one MariaDB (seed ${SEED})`, { concurrency: 1 }, () => {
  let stack: Stack;
  let oracle: DjangoOracle;
  let accounts: TutorialAccount[] = [];
  const bases = (): Record<'django' | 'node', string> => ({ django: stack.django.base, node: stack.node.base });
  /** Every key a login handed out in this file, to prove none is handed out twice. */
  const handedOut: string[] = [];
  const tally = { requests: 0, interrupted: { django: 0, node: 0 } };

  const login = async (base: string, account: TutorialAccount, cookie?: string): Promise<Answer> => {
    tally.requests++;
    const res = await send(base, { method: 'POST', path: '/user/login', json: { email: account.email, password: account.password }, ...(cookie ? { cookie } : {}) });
    const key = setSessionKey(res);
    if (key !== null && key !== cookie?.slice('sessionid='.length)) handedOut.push(key);
    return res;
  };

  before(async () => {
    stack = await startStack({ version: VERSION, workers: 4 });
    oracle = await startDjangoOracle(VERSION);
    await seedAuthUser(stack.db, VERSION, ALICE);
    accounts = [];
    for (let i = 0; i < 40; i++) {
      const account = { email: `racer${i}@example.com`, password: `pw ${i}` };
      accounts.push({ ...account, id: await seedTutorialUser(stack.db, { name: `racer ${i}`, ...account }) });
    }
  });

  after(async () => {
    await oracle?.close();
    await stack?.close();
    process.stderr.write(
      `races: ${tally.requests} requests; SessionInterrupted (400) answers: Django ${tally.interrupted.django}, ours ${tally.interrupted.node}; ${handedOut.length} keys handed out\n`,
    );
  });

  /** Every row decodes in Django without a warning; returns key → decoded JSON. */
  async function everyRowDecodesInDjango(): Promise<Map<string, Record<string, unknown>>> {
    const rows = (await stack.db.knex('django_session').select('session_key', 'session_data')) as Array<{ session_key: string; session_data: string }>;
    const decoded = await oracle.callMany('decode', rows.map((r) => ({ sessionData: r.session_data, secretKey: stack.secretKey })));
    const out = new Map<string, Record<string, unknown>>();
    rows.forEach((r, i) => {
      const d = decoded[i]!;
      assert.deepEqual(d.warnings, [], `row ${r.session_key}: Django warned`);
      assert.notEqual(d.json, '{}', `row ${r.session_key} decodes to {} in Django (half-written or corrupt)`);
      out.set(r.session_key, JSON.parse(d.json) as Record<string, unknown>);
    });
    return out;
  }

  it('120 concurrent tutorial logins and 2 contrib.auth logins, split over both servers: 122 distinct keys, each row holding its own user', async () => {
    const tasks: Array<() => Promise<{ answer: Answer; user: number | 'alice' }>> = [];
    for (let i = 0; i < 120; i++) {
      const account = accounts[i % accounts.length]!;
      const base = i % 2 ? stack.node.base : stack.django.base;
      tasks.push(async () => ({ answer: await login(base, account), user: account.id }));
    }
    for (let i = 0; i < 2; i++) {
      const base = i % 2 ? stack.node.base : stack.django.base;
      tasks.push(async () => {
        tally.requests++;
        const answer = await send(base, { method: 'POST', path: '/auth/login', json: ALICE });
        const key = setSessionKey(answer);
        if (key) handedOut.push(key);
        return { answer, user: 'alice' as const };
      });
    }
    const results = await pool(shuffle(tasks, SEED), 24);
    const keys = results.map((r) => {
      assert.equal(r.answer.status, 200, r.answer.body);
      const key = setSessionKey(r.answer);
      assert.ok(key !== null);
      return key;
    });
    assert.equal(new Set(keys).size, keys.length, 'no two logins share a key');
    const rows = await everyRowDecodesInDjango();
    const aliceId = String((await stack.db.knex('auth_user').where({ username: 'alice' }).first()).id);
    results.forEach((r, i) => {
      const data = rows.get(keys[i]!);
      assert.ok(data, `the row of login ${i} exists`);
      if (r.user === 'alice') assert.equal(data._auth_user_id, aliceId);
      else assert.equal(data.user_id, r.user);
    });
    await stack.db.knex('django_session').delete();
  });

  describe('a logout between a write\'s read and its UPDATE', () => {
    /** Wait until some connection is running an UPDATE of django_session (blocked on our lock). */
    async function updateIsWaiting(timeoutMs = 10_000): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const [rows] = (await stack.db.knex.raw('SHOW FULL PROCESSLIST')) as [Array<{ Info: string | null }>];
        if (rows.some((r) => r.Info !== null && /UPDATE\s+`?django_session`?/i.test(r.Info))) return;
        if (Date.now() > deadline) throw new Error('no UPDATE of django_session started waiting on the lock');
        await sleep(20);
      }
    }

    /**
     * A tutorial login over session S (an UPDATE of S's row at the end of the request) is held at its
     * UPDATE by a row lock the test takes; the test then deletes S (what either server's logout
     * runs) and commits. The write has read S, and now finds no row to update.
     */
    async function interruptedWrite(writer: string, account: TutorialAccount): Promise<{ answer: Answer; key: string }> {
      const first = await login(writer, account);
      const key = setSessionKey(first)!;
      const trx = await stack.db.knex.transaction();
      try {
        await trx.raw('SELECT session_key FROM django_session WHERE session_key = ? FOR UPDATE', [key]);
        const pending = login(writer, account, `sessionid=${key}`);
        await updateIsWaiting();
        await trx('django_session').where({ session_key: key }).delete();
        await trx.commit();
        return { answer: await pending, key };
      } catch (e) {
        await trx.rollback().catch(() => {});
        throw e;
      }
    }

    it('Django answers 400 SessionInterrupted, and so do we, with the same answer; the row stays deleted', async () => {
      const django = await interruptedWrite(stack.django.base, accounts[0]!);
      const node = await interruptedWrite(stack.node.base, accounts[1]!);
      const view = (a: Answer) => ({ status: a.status, body: a.body, contentType: a.headers['content-type'], setCookies: a.setCookies, vary: a.headers.vary });
      assert.deepEqual(view(django.answer), { status: 400, body: BAD_REQUEST_PAGE, contentType: 'text/html; charset=utf-8', setCookies: [], vary: undefined });
      assert.deepEqual(view(node.answer), view(django.answer));
      for (const { key } of [django, node]) {
        assert.equal(await stack.db.knex('django_session').where({ session_key: key }).first(), undefined, 'the logout stands');
        for (const base of Object.values(bases())) {
          const res = await send(base, { method: 'GET', path: '/user/test1', cookie: `sessionid=${key}` });
          assert.deepEqual([res.status, res.setCookies], [400, [DELETED_COOKIE]]);
        }
      }
    });
  });

  it('a storm of logouts and writes on the same sessions from both servers: no logout is ever undone', async () => {
    const SESSIONS = 40;
    // Each session: a tutorial login, then at once: its logout on one server (the tutorial's or
    // contrib.auth's) and three writes (logins over it) spread over both.
    const sessions = await pool(
      Array.from({ length: SESSIONS }, (_, i) => async () => {
        const account = accounts[i]!;
        const res = await login(i % 2 ? stack.node.base : stack.django.base, account);
        assert.equal(res.status, 200);
        return { account, key: setSessionKey(res)! };
      }),
      8,
    );
    type Outcome = { kind: 'logout' | 'write'; stack: 'django' | 'node'; session: number; answer: Answer; spec: RequestSpec };
    const tasks: Array<() => Promise<Outcome>> = [];
    sessions.forEach(({ account, key }, i) => {
      const cookie = `sessionid=${key}`;
      const logoutStack = i % 2 ? 'django' : 'node';
      const logoutSpec: RequestSpec = i % 4 < 2 ? { method: 'GET', path: '/user/logout', cookie } : { method: 'POST', path: '/auth/logout', cookie };
      tasks.push(async () => ({ kind: 'logout', stack: logoutStack, session: i, spec: logoutSpec, answer: await send(bases()[logoutStack], logoutSpec) }));
      for (const writer of ['django', 'node', i % 3 ? 'node' : 'django'] as const) {
        const spec: RequestSpec = { method: 'POST', path: '/user/login', cookie, json: { email: account.email, password: account.password } };
        tasks.push(async () => ({ kind: 'write', stack: writer, session: i, spec, answer: await login(bases()[writer], account, cookie) }));
      }
    });
    tally.requests += SESSIONS; // the logouts (writes are counted in login())
    const outcomes = await pool(shuffle(tasks, SEED + 1), 16);

    const seen = { django: new Set<string>(), node: new Set<string>() };
    for (const o of outcomes) {
      const { key, account } = sessions[o.session]!;
      const a = o.answer;
      let shape: string;
      if (o.kind === 'logout') {
        // The logout either found the session (200) or, for the tutorial's, lost the race to a
        // write that saw no row and made a fresh session: never a 5xx, never a resurrection.
        if (o.spec.path === '/user/logout') {
          assert.deepEqual([a.status, a.body, a.setCookies], [200, `${account.id} logout ok.`, [DELETED_COOKIE]], `logout of session ${o.session} on ${o.stack}`);
        } else {
          assert.deepEqual([a.status, a.body], [200, 'ok'], `logout of session ${o.session} on ${o.stack}`);
        }
        shape = 'logout';
      } else if (a.status === 400) {
        // Read S, then found it deleted at the UPDATE: Django's SessionInterrupted.
        assert.deepEqual([a.body, a.setCookies], [BAD_REQUEST_PAGE, []], `write on ${o.stack}`);
        tally.interrupted[o.stack]++;
        shape = 'interrupted';
      } else {
        assert.equal(a.status, 200, `write on ${o.stack}: ${a.status} ${a.body}`);
        const set = setSessionKey(a);
        // Before the logout: the same key (the tutorial does not rotate). After it: the row was
        // gone when the write read it, so a fresh session with a fresh key.
        shape = set === key ? 'before-logout' : 'after-logout';
        if (set !== key) assert.ok(set !== null && !sessions.some((s) => s.key === set), 'a fresh key');
      }
      seen[o.stack].add(shape);
    }
    // No logged-out key is in the table, whatever the order was.
    const stillThere = await stack.db.knex('django_session').whereIn('session_key', sessions.map((s) => s.key)).select('session_key');
    assert.deepEqual(stillThere, [], 'a logout was undone');
    // The storm exercised the interleavings it claims to, on both servers.
    for (const name of ['django', 'node'] as const) {
      assert.ok(seen[name].has('before-logout') || seen[name].has('after-logout'), `${name}: some writes succeeded (${[...seen[name]]})`);
    }
    assert.ok(tally.interrupted.django + tally.interrupted.node + outcomes.filter((o) => o.kind === 'write' && setSessionKey(o.answer) !== sessions[o.session]!.key).length > 0,
      'some writes lost the race to a logout');
    await everyRowDecodesInDjango();
  });

  it('contrib.auth logins over one session on both servers at once: two fresh keys, the old row gone, both rows alice\'s', async () => {
    const planted = setSessionKey(await login(stack.node.base, accounts[2]!))!;
    const [a, b] = await Promise.all(
      Object.values(bases()).map((base) => {
        tally.requests++;
        return send(base, { method: 'POST', path: '/auth/login', cookie: `sessionid=${planted}`, json: ALICE });
      }),
    );
    const keys = [a!, b!].map((r) => {
      assert.equal(r.status, 200, r.body);
      const k = setSessionKey(r)!;
      handedOut.push(k);
      return k;
    });
    assert.ok(keys[0] !== keys[1] && !keys.includes(planted), 'two fresh keys');
    assert.equal(await stack.db.knex('django_session').where({ session_key: planted }).first(), undefined);
    const rows = await everyRowDecodesInDjango();
    const aliceId = String((await stack.db.knex('auth_user').where({ username: 'alice' }).first()).id);
    for (const k of keys) {
      assert.equal(rows.get(k)?._auth_user_id, aliceId);
      // cycle_key carries the data over when the login read the old row before the other login
      // deleted it; a login that read it after finds no row and starts empty. Either is Django's.
      assert.ok([accounts[2]!.id, undefined].includes(rows.get(k)?.user_id as number | undefined));
    }
  });

  it('no key was handed out twice in this whole file', () => {
    assert.ok(handedOut.length > 150);
    assert.equal(new Set(handedOut).size, handedOut.length);
  });
});
