// Hostile input over real HTTP against both servers on one MariaDB database (the reference site on
// Django 3.2 under gunicorn, and our `serve` process): every request goes to Django, then to us,
// from the same database state, and
//   - our answer is never a 5xx, and leaves `django_session`, `user` and `auth_user` exactly as they
//     were (tables snapshotted before and after each request);
//   - where Django answers below 500, ours is the same answer (status, body, Content-Type, Vary,
//     Allow, Set-Cookie with keys and dates normalised); where Django fails with a 5xx (or gunicorn
//     drops the request), ours is a 4xx, and the case is listed in the test's diagnostics.
// Covered: session cookies (malformed, oversized, duplicated, injected, every wrong length and
// alphabet, SQL metacharacters, NUL, unicode, case and accent variants that MariaDB's _ci collation
// matches), tampered `session_data` rows written straight into the table, request bodies (not JSON,
// not UTF-8, deeply nested, huge, wrong types) to every route, and broken HTTP framing.
// Then: session fixation (which logins rotate the key, on both stacks) and timing (unknown user vs
// wrong password; constant-time MAC comparison).
//
// Django 3.2 on purpose: it still reads the pre-3.1 legacy session format (one more decoder to
// attack) and its PBKDF2 default (260 000 iterations) keeps the timing measurement short.
// Needs MARIADB_URL (eval "$(scripts/db/start-all.sh)").
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { constantTimeCompare as signingCompare } from '../../src/signing/crypto.ts';
import { constantTimeCompare as hasherCompare } from '../../src/auth/hashers/common.ts';
import { b64Encode, standardB64Encode } from '../../src/signing/base64.ts';
import { TimestampSigner } from '../../src/signing/timestamp-signer.ts';
import { SessionCodec, DEFAULT_SESSION_KEY_SALT } from '../../src/sessions/codec.ts';
import { legacyEncode } from '../../src/sessions/legacy.ts';
import { JSONSerializer } from '../../src/signing/serializer.ts';
import type { PyValue } from '../../src/pyjson/types.ts';
import {
  CookieJar,
  DELETED_COOKIE,
  isAlive,
  seedAuthUser,
  seedTutorialUser,
  send,
  sendRaw,
  setSessionKey,
  snapshotTables,
  startStack,
  type Answer,
  type RequestSpec,
  type Stack,
} from '../support/stack.ts';

const VERSION = '3.2' as const;
const TABLES = ['django_session', 'user', 'auth_user'] as const;
/** Requests in flight at once (pairs: one to each server). */
const CONCURRENCY = 6;
const ALICE = { username: 'alice', password: 'alice pässword' };
const TUT = { name: 'tut', email: 'tut@example.com', password: 'tut pw' };

/** A header value carrying the UTF-8 bytes of `text` (node:http sends header strings as latin-1). */
const utf8Header = (text: string): string => Buffer.from(text, 'utf8').toString('latin1');

/** What both servers' answers are compared on: cookie keys and dates replaced by placeholders. */
function view(a: Answer): object {
  const header = (name: string): string | null => {
    const v = a.headers[name];
    return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
  };
  return {
    status: a.status,
    body: a.body,
    contentType: header('content-type'),
    vary: header('vary'),
    allow: header('allow'),
    setCookies: a.setCookies.map((c) =>
      c
        .replace(/^sessionid=(?!"")[^;]+/, 'sessionid=<key>')
        .replace(/expires=(?!Thu, 01 Jan 1970)[^;]+/, 'expires=<date>'),
    ),
  };
}

const short = (s: string, n = 60): string => (s.length > n ? `${s.slice(0, n)}…(${s.length})` : s);

describe(`hostile input: Django ${VERSION} and our server on one MariaDB`, { concurrency: 1 }, () => {
  let stack: Stack;
  let aliceId = 0;
  let tutId = 0;
  /** alice's contrib.auth session, written by Django. */
  let aliceKey = '';
  let aliceData = '';
  /** The tutorial user's session, written by us. */
  let tutKey = '';
  const tally = { cookies: 0, rows: 0, bodies: 0, framing: 0, requests: 0 };
  const djangoFailures: string[] = [];
  const departures: string[] = [];
  const closedEarly: string[] = [];
  const djangoUnread: string[] = [];
  const slowest: Array<[number, string]> = [];

  const snap = (): Promise<string> => snapshotTables(stack.db, TABLES);

  before(async () => {
    stack = await startStack({ version: VERSION });
    aliceId = await seedAuthUser(stack.db, VERSION, ALICE);
    tutId = await seedTutorialUser(stack.db, TUT);
    const login = await send(stack.django.base, { method: 'POST', path: '/auth/login', json: ALICE });
    assert.equal(login.status, 200, login.body);
    aliceKey = setSessionKey(login)!;
    aliceData = String((await stack.db.knex('django_session').where({ session_key: aliceKey }).first()).session_data);
    const tut = await send(stack.node.base, { method: 'POST', path: '/user/login', json: { email: TUT.email, password: TUT.password } });
    assert.equal(tut.status, 200, tut.body);
    tutKey = setSessionKey(tut)!;
  });

  after(async () => {
    await stack?.close();
  });

  interface Case {
    label: string;
    spec: RequestSpec;
    /** A documented, deliberate difference from Django (both refuse, in different words). */
    departure?: string;
  }

  const trySend = async (base: string, spec: RequestSpec): Promise<Answer | Error> => {
    try {
      return await send(base, spec);
    } catch (e) {
      return e as Error;
    }
  };

  /** Our answer must be a 4xx or Django's answer; returns ours. */
  function judge(c: Case, django: Answer | Error, ours: Answer | Error): Answer | null {
    const { label } = c;
    if (ours instanceof Error) {
      // A server may answer before reading a body it does not need and close while the client
      // still writes it (EPIPE/ECONNRESET): a refusal, as long as the process lives on.
      const code = (ours as NodeJS.ErrnoException).code;
      assert.ok(code === 'EPIPE' || code === 'ECONNRESET', `${label}: ${String(ours)}`);
      assert.ok(isAlive(stack.node.pid), `${label}: our server died`);
      closedEarly.push(label);
      return null;
    }
    tally.requests++;
    assert.ok(ours.status < 500, `${label}: we answered ${ours.status}: ${short(ours.body, 300)}`);
    if (django instanceof Error) {
      // gunicorn closed while the client was still sending (it may have answered first): nothing to
      // compare with; ours was judged above (never a 5xx).
      djangoUnread.push(`${label}: ${django.message}; ours ${ours.status}`);
    } else if (django.status >= 500) {
      assert.ok(ours.status >= 400, `${label}: Django failed, we answered ${ours.status}`);
      djangoFailures.push(`${label}: Django ${django.status}, ours ${ours.status}`);
    } else if (c.departure !== undefined && !isDeepStrictEqual(view(ours), view(django))) {
      assert.ok(django.status >= 400 && ours.status >= 400, `${label}: ${c.departure}: Django ${django.status}, ours ${ours.status}`);
      departures.push(`${label}: Django ${django.status}, ours ${ours.status} (${c.departure})`);
    } else {
      assert.deepEqual(view(ours), view(django), `${label}: our answer differs from Django's`);
    }
    return ours;
  }

  /**
   * Cases that must leave the database as it is, sent to both servers. They run several at a time
   * (every one is meant to change nothing, so one snapshot before and after the batch proves it for
   * all); HOSTILE_SEQUENTIAL=1 runs them one by one with a snapshot around each request, Django's
   * first, to name the request that changed something.
   */
  async function runCases(cases: readonly Case[]): Promise<Map<string, Answer | null>> {
    const out = new Map<string, Answer | null>();
    if (process.env.HOSTILE_SEQUENTIAL) {
      for (const c of cases) {
        const before = await snap();
        const django = await trySend(stack.django.base, c.spec);
        assert.equal(await snap(), before, `${c.label}: Django changed the database (a case that should not)`);
        const ours = await trySend(stack.node.base, c.spec);
        assert.equal(await snap(), before, `${c.label}: our answer changed the database`);
        out.set(c.label, judge(c, django, ours));
      }
      return out;
    }
    const before = await snap();
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < cases.length) {
        const c = cases[next++]!;
        const started = performance.now();
        const [django, ours] = await Promise.all([trySend(stack.django.base, c.spec), trySend(stack.node.base, c.spec)]);
        slowest.push([performance.now() - started, c.label]);
        out.set(c.label, judge(c, django, ours));
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    assert.equal(await snap(), before, `one of ${cases.length} requests (${cases[0]?.label} …) changed the database: rerun with HOSTILE_SEQUENTIAL=1 to name it`);
    return out;
  }

  describe('session cookies', () => {
    interface CookieCase {
      label: string;
      header: () => string;
      /** Names alice's live session (a case or accent variant MariaDB matches): read-only routes only. */
      matches?: boolean;
    }
    const cookieCases = (): CookieCase[] => {
      const c = (label: string, header: () => string, matches = false): CookieCase => ({ label, header, matches });
      const v = (label: string, value: () => string, matches = false): CookieCase => c(label, () => `sessionid=${value()}`, matches);
      const cases: CookieCase[] = [
        c('an empty Cookie header', () => ''),
        c('the name alone', () => 'sessionid'),
        v('an empty value', () => ''),
        v('an empty quoted value', () => '""'),
        v('a lone quote', () => '"'),
        ...[1, 2, 7, 8, 9, 31, 32, 33, 39, 40, 41, 64, 255, 1024, 4000].map((n) => v(`${n} random key characters`, () => randomBytes(n).toString('base64url').slice(0, n).toLowerCase().padEnd(n, 'z'))),
        v('alice\'s key minus its last character', () => aliceKey.slice(0, -1)),
        v('alice\'s key plus one character', () => `${aliceKey}a`),
        v('alice\'s key in capitals (MariaDB _ci matches it, as for Django)', () => aliceKey.toUpperCase(), true),
        v('alice\'s key in mixed case', () => [...aliceKey].map((ch, i) => (i % 2 ? ch.toUpperCase() : ch)).join(''), true),
        v('alice\'s key with accented letters (utf8mb4_general_ci ignores accents)', () => utf8Header(aliceKey.replace(/a/g, 'á').replace(/e/g, 'é').replace(/o/g, 'ö')), true),
        v('alice\'s key with fullwidth letters', () => utf8Header(aliceKey.replace(/[a-z]/g, (ch) => String.fromCodePoint(ch.charCodeAt(0) + 0xfee0)))),
        v('alice\'s key with trailing blanks inside quotes (PAD SPACE collation)', () => `"${aliceKey}   "`, true),
        v('alice\'s key with leading blanks inside quotes', () => `"   ${aliceKey}"`),
        v('alice\'s key with an escaped NUL after it', () => `"${aliceKey}\\000"`),
        v('alice\'s key, octal-escaped in quotes', () => `"${[...aliceKey].map((ch) => `\\${ch.charCodeAt(0).toString(8).padStart(3, '0')}`).join('')}"`, true),
        v('eight escaped NULs', () => `"${'\\000'.repeat(8)}"`),
        v('escaped control characters', () => `"${'\\001\\002\\033\\177'.repeat(3)}"`),
        v('latin-1 bytes that are not UTF-8', () => '\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8\xf7'),
        v('an overlong UTF-8 slash', () => '\xc0\xaf'.repeat(8)),
        v('eight emoji (8 code points, 16 UTF-16 units)', () => utf8Header('😀'.repeat(8))),
        v('seven emoji (7 code points: too short for Django, 14 UTF-16 units)', () => utf8Header('😀'.repeat(7))),
        v('CJK characters', () => utf8Header('会话密钥会话密钥会话')),
        v('a right-to-left override', () => utf8Header(`\u202e${aliceKey}`)),
        v("SQL: ' OR '1'='1", () => `' OR '1'='1' -- `),
        v('SQL: a stacked DROP TABLE', () => `abcdefgh'; DROP TABLE django_session; --`),
        v('SQL: UNION SELECT', () => `x' UNION SELECT session_data FROM django_session WHERE '1'='1`),
        v('SQL: LIKE wildcards', () => '%%%%%%%%%%%%'),
        v('SQL: 32 underscores', () => '_'.repeat(32)),
        v('backslashes', () => '\\\\\\\\\\\\\\\\\\\\'),
        v('a comment opener', () => '/*!50000 SELECT*/ 1 #'),
        v('path traversal', () => '../../../../etc/passwd'),
        v('a JSON object', () => '{"_auth_user_id":"1"}'),
        v('session_data instead of a key', () => aliceData.slice(0, 3000)),
        c('two session cookies, the live one first (the last wins)', () => `sessionid=${aliceKey}; sessionid=bogusbogusbogus`),
        c('two session cookies, the live one last', () => `sessionid=bogusbogusbogus; sessionid=${aliceKey}`, true),
        c('the live one, then an empty one', () => `sessionid=${aliceKey}; sessionid=`),
        c('the name in capitals (names are case-sensitive)', () => `SESSIONID=${aliceKey}`),
        c('blanks around name and value', () => ` \t sessionid  =  ${aliceKey}  `, true),
        c('attributes injected after the value', () => `sessionid=${aliceKey}; Path=/; Domain=evil.example; HttpOnly; Max-Age=999999999`, true),
        c('a comma instead of a semicolon', () => `sessionid=${aliceKey}, csrftoken=x`),
        c('a chunk without "="', () => `${aliceKey}; sessionid`),
        c('500 other cookies first', () => `${Array.from({ length: 500 }, (_, i) => `c${i}=${i}`).join('; ')}; sessionid=${aliceKey}`, true),
        c('the tutorial session under an unrelated name', () => `session=${tutKey}`),
      ];
      return cases;
    };

    for (const path of ['/user/test1', '/auth/whoami', '/user/logout', '/auth/logout']) {
      const method = path === '/auth/logout' ? 'POST' : 'GET';
      const writes = path.endsWith('logout');
      it(`${method} ${path}: every cookie gets Django's answer or a 4xx, and the database is unchanged`, async () => {
        // A logout with a cookie that names a live session is a real logout: not hostile input.
        const cases = cookieCases().filter((cc) => !(writes && cc.matches));
        tally.cookies += cases.length;
        await runCases(cases.map((cc) => ({ label: `${method} ${path} with ${cc.label}`, spec: { method, path, cookie: cc.header() } })));
      });
    }

    it('the case and accent variants really do name alice on both servers (so the equality above is not vacuous)', async () => {
      for (const variant of [aliceKey.toUpperCase(), utf8Header(aliceKey.replace(/a/g, 'á'))]) {
        for (const base of [stack.django.base, stack.node.base]) {
          const res = await send(base, { method: 'GET', path: '/auth/whoami', cookie: `sessionid=${variant}` });
          assert.deepEqual([res.status, res.body], [200, `{"id": ${aliceId}, "username": "alice"}`]);
        }
      }
    });

    it('a tutorial login over a capitalised key updates the one row on both servers and sends the key back as the client spelled it', async () => {
      for (const base of [stack.django.base, stack.node.base]) {
        const login = await send(base, { method: 'POST', path: '/user/login', json: { email: TUT.email, password: TUT.password } });
        const key = setSessionKey(login)!;
        const upper = key.toUpperCase();
        const again = await send(base, { method: 'POST', path: '/user/login', cookie: `sessionid=${upper}`, json: { email: TUT.email, password: TUT.password } });
        assert.equal(again.status, 200);
        assert.equal(setSessionKey(again), upper, base);
        const rows = await stack.db.knex('django_session').whereRaw('LOWER(session_key) = ?', [key]).select('session_key');
        assert.deepEqual(rows.map((r: { session_key: string }) => r.session_key), [key], 'one row, under the key as first written');
        await stack.db.knex('django_session').where({ session_key: key }).delete();
      }
    });
  });

  describe('tampered session_data rows', () => {
    const signer = (key: string, salt = DEFAULT_SESSION_KEY_SALT): TimestampSigner => new TimestampSigner({ key, salt, algorithm: 'sha256' });
    /** A correctly signed session_data holding exactly `text` (what only a secret holder could write). */
    const signedText = (text: string, compressed = false): string => {
      const payload = compressed ? `.${b64Encode(Buffer.from(text))}` : b64Encode(Buffer.from(text));
      return signer(stack.secretKey).signAt(payload, Math.floor(Date.now() / 1000));
    };
    const flip = (s: string, i: number): string => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);

    function variants(): Array<[string, () => string, 'signed'?]> {
      const data = aliceData;
      const [payload = '', ts = '', sig = ''] = (() => {
        const last = data.lastIndexOf(':');
        const mid = data.lastIndexOf(':', last - 1);
        return [data.slice(0, mid), data.slice(mid + 1, last), data.slice(last + 1)];
      })();
      const otherSecret = new SessionCodec({ secretKey: 'not-the-secret', djangoVersion: VERSION });
      const forged = new Map<string, PyValue>([
        ['_auth_user_id', String(aliceId)],
        ['_auth_user_backend', 'django.contrib.auth.backends.ModelBackend'],
        ['_auth_user_hash', 'x'],
        ['user_id', tutId],
      ]);
      return [
        ['one payload character changed', () => flip(data, Math.floor(payload.length / 2))],
        ['the compression flag removed', () => data.slice(1)],
        ['a compression flag added', () => `.${data}`],
        ['the timestamp changed', () => `${payload}:${ts.slice(0, -1)}${ts.endsWith('a') ? 'b' : 'a'}:${sig}`],
        ['the timestamp moved far into the future', () => `${payload}:zzzzzzzz:${sig}`],
        ['the first signature character changed', () => `${payload}:${ts}:${flip(sig, 0)}`],
        ['the last signature character changed', () => `${payload}:${ts}:${flip(sig, sig.length - 1)}`],
        ['the signature in capitals', () => `${payload}:${ts}:${sig.toUpperCase()}`],
        ['the signature removed', () => `${payload}:${ts}`],
        ['an empty signature', () => `${payload}:${ts}:`],
        ['a colon appended', () => `${data}:`],
        ['the signature doubled', () => `${data}${sig}`],
        ['base64 padding added to the payload', () => `${payload}==:${ts}:${sig}`],
        ['signed with another secret', () => otherSecret.encode(forged)],
        ['signed with the secret under another salt', () => signer(stack.secretKey, 'django.core.signing').signAt(b64Encode(Buffer.from('{"_auth_user_id":"1"}')), 1)],
        ['a sha1 signature made with another secret', () => new TimestampSigner({ key: 'nope', salt: DEFAULT_SESSION_KEY_SALT, algorithm: 'sha1' }).signAt(payload, 1)],
        ['legacy format with a wrong hash', () => standardB64Encode(Buffer.from(`${'0'.repeat(40)}:{"_auth_user_id":"${aliceId}"}`))],
        ['legacy format made with another secret', () => legacyEncode(forged, JSONSerializer, 'not-the-secret', 'django.contrib.sessionsSessionStore')],
        ['legacy-looking base64 without a colon', () => standardB64Encode(Buffer.from('no colon here at all'))],
        ['truncated to one character', () => data.slice(0, 1)],
        ['truncated to half', () => data.slice(0, Math.floor(data.length / 2))],
        ['truncated by one character', () => data.slice(0, -1)],
        ['empty', () => ''],
        ['a NUL in the middle', () => `${payload.slice(0, 5)}\u0000${payload.slice(5)}:${ts}:${sig}`],
        ['non-ASCII characters', () => `ä€😀${data}`],
        ['one megabyte of garbage', () => randomBytes(768 * 1024).toString('base64')],
        ['another session’s signature on this payload', () => `${payload}:${ts}:${signer('x').signAt('y', 1).split(':')[2]}`],
        // Correctly signed (only a secret holder can write these), but not what Django ever writes.
        ['signed garbage that is not base64 JSON', () => signer(stack.secretKey).signAt('!!!not base64!!!', 1), 'signed'],
        ['a signed JSON list', () => signedText('[1, 2, 3]'), 'signed'],
        ['a signed JSON string', () => signedText('"alice"'), 'signed'],
        ['a signed object with a non-numeric user id', () => signedText('{"_auth_user_id": "abc", "user_id": "abc"}'), 'signed'],
        ['a signed object with an object as user id', () => signedText('{"_auth_user_id": {"a": 1}, "user_id": {"a": 1}}'), 'signed'],
        ['a signed object with a 5000-digit user id', () => signedText(`{"_auth_user_id": ${'9'.repeat(5000)}, "user_id": ${'9'.repeat(5000)}}`), 'signed'],
        ['a signed object with a 40-digit user id', () => signedText(`{"_auth_user_id": "${'9'.repeat(40)}", "user_id": ${'9'.repeat(40)}}`), 'signed'],
        ['signed data nested 5000 deep', () => signedText(`{"a": ${'['.repeat(5000)}${']'.repeat(5000)}}`), 'signed'],
        ['signed data flagged compressed that is not zlib', () => signedText('{"user_id": 1}', true), 'signed'],
      ];
    }

    it('every tampered row reads as Django reads it (anonymous where Django fails), and stays untouched', async () => {
      const cookie = `sessionid=${aliceKey}`;
      try {
        for (const [label, make, signed] of variants()) {
          await stack.db.knex('django_session').where({ session_key: aliceKey }).update({ session_data: make() });
          const paths = ['/auth/whoami', '/user/test1', '/user/logout'];
          tally.rows += paths.length;
          const answers = await runCases(paths.map((path) => ({ label: `GET ${path} with session_data: ${label}`, spec: { method: 'GET', path, cookie } })));
          // Only a secret holder can write the 'signed' ones; every other variant must read as anonymous.
          if (signed === undefined) {
            for (const [l, a] of answers) assert.notEqual(a?.status, 200, `${l}: a tampered row was accepted`);
          }
        }
      } finally {
        await stack.db.knex('django_session').where({ session_key: aliceKey }).update({ session_data: aliceData });
      }
      const intact = await send(stack.node.base, { method: 'GET', path: '/auth/whoami', cookie });
      assert.equal(intact.status, 200, 'the untampered row still reads');
    });

    it('an expired row is anonymous on both servers, and neither deletes nor extends it', async () => {
      const row = await stack.db.knex('django_session').where({ session_key: aliceKey }).first();
      await stack.db.knex('django_session').where({ session_key: aliceKey }).update({ expire_date: '2001-01-01 00:00:00' });
      try {
        tally.rows += 2;
        const answers = await runCases(['/auth/whoami', '/user/test1'].map((path) => ({ label: `GET ${path} with an expired row`, spec: { method: 'GET', path, cookie: `sessionid=${aliceKey}` } })));
        for (const a of answers.values()) assert.deepEqual(a?.setCookies, [DELETED_COOKIE]);
      } finally {
        await stack.db.knex('django_session').where({ session_key: aliceKey }).update({ expire_date: row.expire_date });
      }
    });
  });

  describe('request bodies', () => {
    const nested = (open: string, close: string, n: number): string => open.repeat(n) + close.repeat(n);
    const bodies = (): Array<[string, Omit<RequestSpec, 'method' | 'path'>]> => [
      ['no body', {}],
      ['plain text', { body: 'hello' }],
      ['half an object', { body: '{"username": "alice", "password": ' }],
      ['a form encoding', { body: 'username=alice&password=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } }],
      ['JSON with a form content type', { json: { username: 'nobody', password: 'x' }, headers: { 'content-type': 'multipart/form-data; boundary=x' } }],
      ['NaN', { body: 'NaN' }],
      ['a 5000-digit integer (over Python\'s int limit)', { body: '9'.repeat(5000) }],
      ['1e999999', { body: '1e999999' }],
      ['bytes that are not UTF-8', { body: Buffer.from([0xff, 0xfe, 0xfd, 0x7b, 0x7d]) }],
      ['latin-1 text in an object', { body: Buffer.from('{"username": "\xe9\xe8", "password": "x"}', 'latin1') }],
      ['an overlong UTF-8 encoding', { body: Buffer.from([0x7b, 0x22, 0xc0, 0xaf, 0x22, 0x3a, 0x31, 0x7d]) }],
      ['UTF-8 encoded surrogates', { body: Buffer.from([0x22, 0xed, 0xa0, 0x80, 0x22]) }],
      ['UTF-16 of odd length', { body: Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('{}', 'utf16le'), Buffer.from([0x00])]) }],
      ['UTF-32 with a code point over U+10FFFF', { body: Buffer.from([0x00, 0x00, 0xfe, 0xff, 0x00, 0x11, 0x00, 0x00]) }],
      ['NUL bytes', { body: Buffer.alloc(64) }],
      ['100 000 nested arrays', { body: nested('[', ']', 100_000) }],
      ['50 000 nested objects', { body: nested('{"a":', '}', 50_000) }],
      ['990 nested arrays (about Python\'s limit)', { body: nested('[', ']', 990) }],
      ['an unclosed 100 000-deep array', { body: '['.repeat(100_000) }],
      ['a JSON array', { json: [ALICE] }],
      ['a JSON string', { json: 'alice' }],
      ['a number', { json: 12 }],
      ['null', { json: null }],
      ['true', { json: true }],
      ['numbers as credentials', { json: { username: 1, password: 2, email: 3, name: 4 } }],
      ['arrays as credentials', { json: { username: ['alice'], password: ['x'], email: ['tut@example.com'], name: ['n'] } }],
      ['operator objects (NoSQL-style)', { json: { username: { $ne: null }, password: { $gt: '' }, email: { $gt: '' }, name: 'n' } }],
      ['null credentials', { json: { username: null, password: null, email: null, name: null } }],
      ['booleans', { json: { username: true, password: false, email: true, name: false } }],
      ['SQL in the credentials', { json: { username: "alice' OR '1'='1' -- ", password: "' OR 1=1 #", email: "x' OR '1'='1", name: '' } }],
      ['a NUL in the username', { json: { username: 'alice\u0000', password: 'x', email: 'tut@example.com\u0000', name: '' } }],
      ['a lone surrogate', { body: '{"username": "\\ud800", "password": "\\udfff", "email": "\\ud800@x", "name": "\\ud800"}' }],
      ['a lone surrogate in the password only', { body: `{"username": "alice", "password": "\\udfff", "email": "${TUT.email}", "name": "n"}` }],
      ['a 100 000-character username', { json: { username: 'a'.repeat(100_000), password: 'x', email: `${'e'.repeat(100_000)}@x`, name: 'n' } }],
      ['a 1 MB password for a known e-mail (bcrypt reads 72 bytes)', { json: { email: TUT.email, password: 'p'.repeat(1 << 20) } }],
      ['duplicate keys (the last wins)', { body: '{"username": "alice", "username": ["x"], "password": "x", "email": "tut@example.com", "email": 5}' }],
      ['__proto__ keys', { body: '{"__proto__": {"username": "alice", "password": "x", "email": "tut@example.com"}, "constructor": {"prototype": {"admin": true}}}' }],
      ['a declared 2.5 MiB + 1 byte, not sent', { announceOnly: 2_621_441 }],
      ['a declared 10 GB, not sent', { announceOnly: 10_000_000_000 }],
      ['3 MiB chunked', { chunks: [Buffer.alloc(1 << 20, 0x20), Buffer.alloc(1 << 20, 0x20), Buffer.alloc(1 << 20, 0x20)] }],
      ['2.5 MiB of blanks around an object (exactly the limit)', { body: Buffer.concat([Buffer.from('{}'), Buffer.alloc(2_621_438, 0x20)]) }],
    ];
    /** Bodies where we refuse on purpose what Django 3.2 reads (src/app/request-body.ts). */
    const DEPARTURES: Record<string, string> = {
      '3 MiB chunked': 'a chunked body over DATA_UPLOAD_MAX_MEMORY_SIZE is refused; Django 3.2 reads any chunked body whole',
    };
    const routes: Array<[string, string[]]> = [
      ['/user/reg', ['POST']],
      ['/user/login', ['POST']],
      ['/user/logout', ['POST']],
      ['/user/test1', ['POST']],
      ['/auth/login', ['POST']],
      ['/auth/logout', ['POST']],
      ['/auth/password', ['POST']],
      ['/auth/whoami', ['GET', 'POST']],
    ];
    for (const [path, methods] of routes) {
      it(`${methods.join('/')} ${path}: every hostile body gets Django's answer or a 4xx, and the database is unchanged`, async () => {
        const cases: Case[] = [];
        for (const method of methods) {
          for (const [label, spec] of bodies()) {
            // With a cookie naming no session, so the logout views run their whole path.
            const cookie = path === '/user/logout' ? `sessionid=bogus${randomBytes(8).toString('hex')}` : undefined;
            const c: Case = { label: `${method} ${path} with ${label}`, spec: { method, path, ...spec, ...(cookie ? { cookie } : {}) } };
            if (DEPARTURES[label] !== undefined) c.departure = DEPARTURES[label];
            cases.push(c);
          }
        }
        tally.bodies += cases.length;
        await runCases(cases);
      });
    }

    it('SQL in a registration is stored as plain text by both servers', async () => {
      const sql = { name: "Robert'); DROP TABLE user;--", email: "x' OR '1'='1", password: "' OR 1=1 #" };
      for (const base of [stack.django.base, stack.node.base]) {
        const res = await send(base, { method: 'POST', path: '/user/reg', json: sql });
        assert.equal(res.status, 201, res.body);
        const row = await stack.db.knex('user').where({ email: sql.email }).first();
        assert.deepEqual([row.name, row.email], [sql.name, sql.email]);
        const login = await send(base, { method: 'POST', path: '/user/login', json: { email: sql.email, password: sql.password } });
        assert.equal(login.status, 200);
        await stack.db.knex('django_session').where({ session_key: setSessionKey(login)! }).delete();
        await stack.db.knex('user').where({ email: sql.email }).delete();
      }
      assert.equal(Number((await stack.db.knex('user').count({ n: '*' }))[0]?.n), 1, 'the table is still there, with the tutorial user alone');
    });

    it('a credential in capitals logs in on both servers (MariaDB _ci collation), as Django does', async () => {
      // Not an attack that works: the password must still be right. Stated because it surprises.
      for (const base of [stack.django.base, stack.node.base]) {
        const res = await send(base, { method: 'POST', path: '/auth/login', json: { username: 'ALICE', password: ALICE.password } });
        assert.deepEqual([res.status, res.body], [200, `{"id": ${aliceId}, "username": "alice"}`]);
      }
    });
  });

  describe('broken HTTP framing and oversized requests (our server only: each server frames differently)', () => {
    const raw = (text: string): Buffer => Buffer.from(text, 'latin1');
    const cases = (): Array<[string, Buffer]> => [
      ['a NUL in the Cookie header', raw(`GET /auth/whoami HTTP/1.1\r\nHost: x\r\nCookie: sessionid=${aliceKey}\x00x\r\nConnection: close\r\n\r\n`)],
      ['a bare CR in the Cookie header', raw(`GET /auth/whoami HTTP/1.1\r\nHost: x\r\nCookie: sessionid=${aliceKey}\rSet-Cookie: x=1\r\nConnection: close\r\n\r\n`)],
      ['a header line folded onto the Cookie header', raw(`GET /auth/whoami HTTP/1.1\r\nHost: x\r\nCookie: a=b\r\n sessionid=${aliceKey}\r\nConnection: close\r\n\r\n`)],
      ['Content-Length and chunked together', raw('POST /auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n')],
      ['a negative Content-Length', raw('POST /auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\nConnection: close\r\n\r\n')],
      ['two different Content-Lengths', raw('POST /auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\nConnection: close\r\n\r\n{}x')],
      ['a 30-digit Content-Length', raw(`POST /auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: ${'9'.repeat(30)}\r\nConnection: close\r\n\r\n`)],
      ['a bad chunk size', raw('POST /auth/login HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\n{}\r\n0\r\n\r\n')],
      ['a 20 KB Cookie header', raw(`GET /auth/whoami HTTP/1.1\r\nHost: x\r\nCookie: sessionid=${'a'.repeat(20_000)}\r\nConnection: close\r\n\r\n`)],
      ['a 20 KB path', raw(`GET /${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`)],
      ['200 Cookie headers', raw(`GET /auth/whoami HTTP/1.1\r\nHost: x\r\n${`Cookie: sessionid=${aliceKey}\r\n`.repeat(200)}Connection: close\r\n\r\n`)],
      ['not HTTP at all', raw('\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 TLS hello\r\n\r\n')],
      ['HTTP/0.9', raw('GET /auth/whoami\r\n\r\n')],
      ['a request line in UTF-8', Buffer.from('GET /auth/whoämi HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')],
    ];

    it('each is refused with a 4xx or a closed connection, never a 5xx, and the server carries on', async () => {
      const before = await snap();
      for (const [label, bytes] of cases()) {
        tally.framing++;
        const ours = await sendRaw(stack.node.base, bytes);
        assert.ok(ours.status === null || (ours.status >= 400 && ours.status < 500) || ours.status === 200,
          `${label}: ${ours.status} ${short(ours.text, 200)}`);
        if (ours.status === 200) {
          // Only the folded header and the repeated Cookie headers may pass; they read alice's session
          // as Node joins repeated Cookie headers with "; " (the last sessionid wins).
          assert.ok(/folded|Cookie headers/.test(label), `${label} was answered 200`);
        }
      }
      assert.ok(isAlive(stack.node.pid), 'our server is still running');
      const ok = await send(stack.node.base, { method: 'GET', path: '/auth/whoami', cookie: `sessionid=${aliceKey}` });
      assert.equal(ok.status, 200);
      assert.equal(await snap(), before, 'the database is unchanged');
    });

    it('a cookie header just under the 16 KiB header limit is read; over it gets 431', async () => {
      const under = await send(stack.node.base, { method: 'GET', path: '/auth/whoami', cookie: `pad=${'x'.repeat(15_000)}; sessionid=${aliceKey}` });
      assert.equal(under.status, 200);
      const over = await send(stack.node.base, { method: 'GET', path: '/auth/whoami', cookie: `pad=${'x'.repeat(17_000)}; sessionid=${aliceKey}` });
      assert.equal(over.status, 431);
    });
  });

  describe('session fixation: which logins give a new key, on both servers', () => {
    const stacks = (): Array<[string, string]> => [['django', stack.django.base], ['node', stack.node.base]];

    it('/auth/login never adopts a key the client made up: a fresh key is set and the planted one is never stored', async () => {
      for (const [name, base] of stacks()) {
        const planted = `attacker${randomBytes(12).toString('hex')}`;
        const login = await send(base, { method: 'POST', path: '/auth/login', cookie: `sessionid=${planted}`, json: ALICE });
        assert.equal(login.status, 200, name);
        const key = setSessionKey(login);
        assert.ok(key && key !== planted && /^[a-z0-9]{32}$/.test(key), `${name}: a new key`);
        assert.equal(await stack.db.knex('django_session').where({ session_key: planted }).first(), undefined, name);
        await stack.db.knex('django_session').where({ session_key: key! }).delete();
      }
    });

    it('/auth/login over an existing anonymous or other-user session rotates the key and deletes the old row', async () => {
      for (const [name, base] of stacks()) {
        // The attacker's own live session (a tutorial login), planted in the victim's browser.
        const attacker = await send(base, { method: 'POST', path: '/user/login', json: { email: TUT.email, password: TUT.password } });
        const planted = setSessionKey(attacker)!;
        const login = await send(base, { method: 'POST', path: '/auth/login', cookie: `sessionid=${planted}`, json: ALICE });
        assert.equal(login.status, 200, name);
        const key = setSessionKey(login);
        assert.ok(key && key !== planted, `${name}: the key rotated`);
        assert.equal(await stack.db.knex('django_session').where({ session_key: planted }).first(), undefined, `${name}: the planted row is gone`);
        // The planted key is now worthless on both servers.
        for (const [, b] of stacks()) {
          assert.equal((await send(b, { method: 'GET', path: '/auth/whoami', cookie: `sessionid=${planted}` })).status, 401);
        }
        await stack.db.knex('django_session').where({ session_key: key! }).delete();
      }
    });

    it("/auth/login again as the same user keeps the key on both (Django's rule: the session already belongs to that user)", async () => {
      for (const [name, base] of stacks()) {
        const jar = new CookieJar().take(await send(base, { method: 'POST', path: '/auth/login', json: ALICE }));
        const first = jar.value!;
        const again = await send(base, { method: 'POST', path: '/auth/login', cookie: jar.header, json: ALICE });
        assert.equal(again.status, 200, name);
        assert.equal(setSessionKey(again), first, name);
        await stack.db.knex('django_session').where({ session_key: first }).delete();
      }
    });

    it("the tutorial's /user/login does not rotate a live key on either server (faithful to the tutorial; see SECURITY.md), and never adopts a made-up one", async () => {
      const victim = { name: 'victim', email: `victim-${randomBytes(3).toString('hex')}@x`, password: 'victim pw' };
      const victimId = await seedTutorialUser(stack.db, victim);
      for (const [name, base] of stacks()) {
        const planted = `attacker${randomBytes(12).toString('hex')}`;
        const fresh = await send(base, { method: 'POST', path: '/user/login', cookie: `sessionid=${planted}`, json: { email: victim.email, password: victim.password } });
        const freshKey = setSessionKey(fresh);
        assert.ok(freshKey && freshKey !== planted, `${name}: a made-up key is not adopted`);
        assert.equal(await stack.db.knex('django_session').where({ session_key: planted }).first(), undefined);

        const attacker = await send(base, { method: 'POST', path: '/user/login', json: { email: TUT.email, password: TUT.password } });
        const plantedLive = setSessionKey(attacker)!;
        const victimLogin = await send(base, { method: 'POST', path: '/user/login', cookie: `sessionid=${plantedLive}`, json: { email: victim.email, password: victim.password } });
        assert.equal(victimLogin.status, 200);
        assert.equal(setSessionKey(victimLogin), plantedLive, `${name}: the tutorial keeps the key (a fixation exposure, as in the reference site)`);
        const asAttacker = await send(base, { method: 'GET', path: '/user/logout', cookie: `sessionid=${plantedLive}` });
        assert.equal(asAttacker.body, `${victimId} logout ok.`, `${name}: the planted key now carries the victim`);
        await stack.db.knex('django_session').whereIn('session_key', [freshKey!, plantedLive]).delete();
      }
    });
  });

  describe('timing', () => {
    const median = (xs: number[]): number => {
      const s = [...xs].sort((a, b) => a - b);
      return s[Math.floor(s.length / 2)]!;
    };

    it('/auth/login costs the same for an unknown username as for a wrong password (measured on our server)', async (t) => {
      const N = 9;
      const unknown: number[] = [];
      const known: number[] = [];
      const noHash: number[] = [];
      const time = async (json: unknown, expected: number, into: number[]): Promise<void> => {
        const res = await send(stack.node.base, { method: 'POST', path: '/auth/login', json });
        assert.equal(res.status, expected);
        into.push(res.ms);
      };
      // Warm-up, then interleaved so load on the machine hits all three alike.
      await time({ username: 'alice', password: 'wrong' }, 401, []);
      for (let i = 0; i < N; i++) {
        await time({ username: `nobody-${i}`, password: 'wrong' }, 401, unknown);
        await time({ username: 'alice', password: 'wrong' }, 401, known);
        await time({ username: 'alice' }, 400, noHash);
      }
      const [u, k, z] = [median(unknown), median(known), median(noHash)];
      t.diagnostic(`median ms: unknown user ${u.toFixed(1)}, wrong password ${k.toFixed(1)}, no hashing at all ${z.toFixed(1)}`);
      // The measurement can tell hashing from no hashing (else the comparison below would prove nothing) …
      assert.ok(k > 4 * z, `a wrong password (${k.toFixed(1)} ms) must cost clearly more than a refused body (${z.toFixed(1)} ms)`);
      // … and an unknown user costs a wrong password's hashing, not a refused body's nothing.
      assert.ok(u > 0.6 * k && u < 1.6 * k, `unknown user ${u.toFixed(1)} ms vs wrong password ${k.toFixed(1)} ms`);
    });

    it('MAC and hash comparisons take the same time wherever the inputs differ (with a control that an early-exit compare fails)', (t) => {
      // A 256 KiB input makes any early exit measurable in microseconds; our MACs are 43 characters,
      // where nothing is measurable over a network, so the property is shown on the primitive itself.
      const size = 1 << 18;
      const a = randomBytes(size).toString('base64url').slice(0, size);
      const differsFirst = (a[0] === 'A' ? 'B' : 'A') + a.slice(1);
      const differsLast = a.slice(0, -1) + (a.endsWith('A') ? 'B' : 'A');
      const earlyExit = (x: string, y: string): boolean => {
        if (x.length !== y.length) return false;
        for (let i = 0; i < x.length; i++) if (x.charCodeAt(i) !== y.charCodeAt(i)) return false;
        return true;
      };
      const ratio = (compare: (x: string, y: string) => boolean): number => {
        const first: number[] = [];
        const last: number[] = [];
        for (let i = 0; i < 41; i++) {
          let t0 = performance.now();
          compare(a, differsFirst);
          first.push(performance.now() - t0);
          t0 = performance.now();
          compare(a, differsLast);
          last.push(performance.now() - t0);
        }
        return median(last) / median(first);
      };
      const control = ratio(earlyExit);
      const signing = ratio(signingCompare);
      const hashers = ratio(hasherCompare);
      t.diagnostic(`time(differs at the end) / time(differs at the start): early-exit ${control.toFixed(1)}, signing ${signing.toFixed(2)}, hashers ${hashers.toFixed(2)}`);
      assert.ok(control > 20, `the control should expose an early exit (ratio ${control.toFixed(1)})`);
      for (const [name, r] of [['signing/crypto constantTimeCompare', signing], ['auth/hashers constantTimeCompare', hashers]] as const) {
        assert.ok(r > 0.5 && r < 2, `${name}: ratio ${r.toFixed(2)}`);
      }
    });
  });

  after(() => {
    process.stderr.write(
      `hostile-input: ${tally.requests} request pairs (cookies ${tally.cookies}, tampered rows ${tally.rows}, bodies ${tally.bodies}), ` +
        `${tally.framing} raw framing cases; Django failed where we answered 4xx: ${djangoFailures.length}; deliberate departures: ${departures.length}\n` +
        [...djangoFailures, ...departures].map((f) => `  - ${f}\n`).join('') +
        (closedEarly.length ? `closed by our server while the client was still sending: ${closedEarly.join('; ')}\n` : '') +
        (djangoUnread.length ? `Django's answer unreadable (connection closed while sending): ${djangoUnread.join('; ')}\n` : '') +
        (process.env.HOSTILE_SLOWEST ? slowest.sort((a, b) => b[0] - a[0]).slice(0, 25).map(([ms, l]) => `  ${ms.toFixed(0)} ms ${l}\n`).join('') : ''),
    );
  });
});
