/**
 * The pickle subset (src/sessions/backends/pickle.ts) against CPython's own pickle module.
 *
 * - Round trips for every value a JSON session can hold: random session dicts (fast-check, and the
 *   Django oracle's reproducible `random_sessions`, which covers lone surrogates, big ints, NaN, -0.0,
 *   integer-like keys…) are pickled by Python (`pickle.dumps(json.loads(text), protocol)`, protocols
 *   2–5) and by us: the bytes must be identical, and each side must read the other's to the same value.
 * - Hostile and broken pickles: what Python's pickler makes for code execution, objects and types
 *   outside the subset, plus hand-made huge lengths, truncation at every byte, deep nesting,
 *   self-reference, exponential sharing and random corruption — all refused with UnpicklingError,
 *   nothing executed, nothing else thrown. Where we accept a corrupted pickle, Python must read it to
 *   the same value.
 *
 * Python runs as one batch per check (test/python/engines_oracle.py in its Django-free `pickle` mode).
 * PICKLE_SEED=<n> replays the random parts.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { pyDumps } from '../../src/pyjson/index.ts';
import { PyFloat, type PyDict, type PyValue } from '../../src/pyjson/types.ts';
import {
  MAX_EXPANDED_NODES,
  pickleDumps,
  pickleLoads,
  PicklingError,
  unpickleSession,
  UnpicklingError,
  type PickleProtocol,
} from '../../src/sessions/backends/pickle.ts';
import { startDjangoOracle } from '../support/django-oracle.ts';

const PYTHON = '/usr/bin/python3';
const ORACLE = fileURLToPath(new URL('../python/engines_oracle.py', import.meta.url));
const SEED = Number(process.env.PICKLE_SEED ?? randomInt(2 ** 31));
const CONTEXT = `(PICKLE_SEED=${SEED})`;
const PROTOCOLS: PickleProtocol[] = [2, 3, 4, 5];

type Outcome<T> = { ok: true; result: T } | { ok: false; error: { type: string; message: string } };

/** Run a batch of requests through one Python process (pickle mode: no Django). */
function python<T>(requests: Record<string, unknown>[]): Outcome<T>[] {
  assert.ok(existsSync(PYTHON), `${PYTHON} is needed for the pickle differential tests`);
  const res = spawnSync(PYTHON, [ORACLE, 'pickle'], {
    input: JSON.stringify({ id: 1, cmd: 'batch', requests }) + '\n',
    maxBuffer: 512 * 1024 * 1024,
    env: { ...process.env, PYTHONHOME: undefined, PYTHONIOENCODING: 'utf-8' },
  });
  assert.equal(res.status, 0, `python failed: ${res.stderr?.toString()}`);
  const reply = JSON.parse(res.stdout.toString()) as Outcome<Outcome<T>[]>;
  assert.ok(reply.ok, JSON.stringify(reply));
  return reply.result;
}

function unwrap<T>(o: Outcome<T>, what: string): T {
  if (!o.ok) assert.fail(`${what}: Python ${o.error.type}: ${o.error.message}`);
  return o.result;
}

const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');
const unb64 = (s: string): Buffer => Buffer.from(s, 'base64');

// ---- Random session values (Python's value model) ------------------------------------------------

const text = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 12 }),
  // Any UTF-16 code units, so lone surrogates too (pickle's surrogatepass keeps them).
  fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 8 }).map((units) => String.fromCharCode(...units)),
  fc.constantFrom('', 'a', 'é', '€', '_auth_user_id', '10', '01', '4294967295', '__proto__', 'constructor'),
  fc.string({ maxLength: 300 }),
);
const intValue = fc.oneof(
  fc.integer(),
  fc.constantFrom(0, 255, 256, 65535, 65536, -1, 2 ** 31 - 1, 2 ** 31, -(2 ** 31), -(2 ** 31) - 1, 2 ** 53 - 1),
  fc.bigInt({ min: -(2n ** 400n), max: 2n ** 400n }).map((n) => (n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n)),
);
const floatValue = fc.double().map((x): PyValue => (Number.isInteger(x) || Object.is(x, -0) ? new PyFloat(x) : x));
const scalar: fc.Arbitrary<PyValue> = fc.oneof(text, intValue, floatValue, fc.boolean(), fc.constant(null));

const { value: randomValue } = fc.letrec<{ value: PyValue; dict: PyDict; list: PyValue[] }>((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, scalar, scalar, tie('list'), tie('dict')),
  list: fc.array(tie('value'), { maxLength: 5 }),
  dict: fc.dictionary(text, tie('value'), { maxKeys: 5 }).map((d) => {
    // fc.dictionary makes "__proto__" an own property already; keep a plain PyDict.
    const out: PyDict = {};
    for (const k of Object.keys(d)) Object.defineProperty(out, k, { value: d[k], enumerable: true, writable: true, configurable: true });
    return out;
  }),
}));
const sessionDict = fc.dictionary(text, randomValue, { maxKeys: 8 }).map((d) => {
  const map = new Map<string, PyValue>();
  for (const k of Object.keys(d)) map.set(k, d[k] as PyValue);
  return map;
});

/** The random sessions of the Django oracle (json text), when Django 3.2 is set up (it is in CI). */
async function oracleSessions(n: number): Promise<string[]> {
  const django = await startDjangoOracle('3.2');
  try {
    return await django.randomSessions(SEED, n);
  } finally {
    await django.close();
  }
}

// ---- Round trips ---------------------------------------------------------------------------------

describe('pickle subset: round trips with CPython', () => {
  it(`fast-check sessions: identical bytes for protocols 2–5, each side reads the other ${CONTEXT}`, () => {
    const sessions = fc.sample(sessionDict, { seed: SEED, numRuns: 300 });
    const texts = sessions.map((s) => pyDumps(s));
    const requests = texts.flatMap((json) => PROTOCOLS.map((protocol) => ({ cmd: 'pickle_dumps', json, protocol })));
    const pyBytes = python<string>(requests);
    const ours: Buffer[] = sessions.flatMap((s) => PROTOCOLS.map((p) => pickleDumps(s, p)));
    const readBack = python<string>(ours.map((b) => ({ cmd: 'pickle_loads', value: b64(b) })));
    for (let i = 0; i < requests.length; i++) {
      const json = texts[Math.floor(i / PROTOCOLS.length)]!;
      const protocol = PROTOCOLS[i % PROTOCOLS.length];
      const theirs = unb64(unwrap(pyBytes[i]!, `pickle.dumps #${i}`));
      assert.equal(b64(ours[i]!), b64(theirs), `protocol ${protocol}, ${json.slice(0, 200)} ${CONTEXT}`);
      assert.equal(unwrap(readBack[i]!, `pickle.loads #${i}`), json, `Python reads ours ${CONTEXT}`);
      assert.equal(pyDumps(unpickleSession(theirs)), json, `we read Python's ${CONTEXT}`);
    }
  });

  it(`the Django oracle's random sessions (seed ${SEED}) round-trip byte for byte`, async () => {
    const texts = await oracleSessions(200);
    const pyBytes = python<string>(texts.flatMap((json) => [4, 5].map((protocol) => ({ cmd: 'pickle_dumps', json, protocol }))));
    texts.forEach((json, i) => {
      for (const [j, protocol] of ([4, 5] as const).entries()) {
        const theirs = unb64(unwrap(pyBytes[i * 2 + j]!, `pickle.dumps #${i}`));
        const session = unpickleSession(theirs);
        assert.equal(pyDumps(session), json, `read ${CONTEXT}`);
        assert.equal(b64(pickleDumps(session, protocol)), b64(theirs), `re-pickled, protocol ${protocol} ${CONTEXT}`);
      }
    });
  });

  it('batching, framing and memo references at the edges CPython has them', () => {
    const row = (i: number): string => 'v'.repeat(100) + i;
    const cases: PyValue[] = [
      {},
      { a: 1 },
      Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`k${i}`, i])), // empty trailing SETITEMS
      Object.fromEntries(Array.from({ length: 1001 }, (_, i) => [`k${i}`, i])),
      Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [String(i), row(i)])), // > 64 KiB: two frames
      { l: Array.from({ length: 1000 }, (_, i) => i), m: Array.from({ length: 1001 }, (_, i) => i), n: [1] },
      { a: { c: Array.from({ length: 700 }, (_, i) => [row(i)]) }, b: 1 }, // a frame closed after APPEND
      { a: 'x'.repeat(70000), b: 'é'.repeat(40000), c: 'y'.repeat(65535), d: 1 }, // unframed large strings
      { x: { a: 1 }, y: { a: 'a', b: ['', '', 'é', 'é', '€', '€'] }, a: 'a' }, // shared keys and singletons
      Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`k${i}`, { [`k${i}`]: 'a' }])), // LONG_BINGET
    ];
    const texts = cases.map((c) => pyDumps(c));
    const pyBytes = python<string>(texts.flatMap((json) => PROTOCOLS.map((protocol) => ({ cmd: 'pickle_dumps', json, protocol }))));
    cases.forEach((value, i) => {
      for (const [j, protocol] of PROTOCOLS.entries()) {
        const theirs = unb64(unwrap(pyBytes[i * PROTOCOLS.length + j]!, `case ${i}`));
        assert.ok(pickleDumps(value, protocol).equals(theirs), `case ${i}, protocol ${protocol}`);
        assert.equal(pyDumps(pickleLoads(theirs)), texts[i]);
      }
    });
  });

  it('values outside the subset are refused when writing, with where they are', () => {
    assert.throws(() => pickleDumps(new Map<string, PyValue>([['f', (() => 1) as unknown as PyValue]])), (e) => e instanceof PicklingError && /"f"/.test(e.message));
    let deep: PyValue = [];
    for (let i = 0; i < 950; i++) deep = [deep];
    assert.throws(() => pickleDumps({ deep }), PicklingError);
    assert.throws(() => pickleDumps({ huge: 10n ** 5000n }), PicklingError);
    assert.throws(() => pickleDumps({}, 1 as PickleProtocol), RangeError);
  });
});

// ---- Hostile and broken input --------------------------------------------------------------------

function refused(data: Uint8Array, what: string): UnpicklingError {
  try {
    pickleLoads(data);
  } catch (e) {
    assert.ok(e instanceof UnpicklingError, `${what}: expected UnpicklingError, got ${String(e)}`);
    return e;
  }
  return assert.fail(`${what}: accepted`);
}

describe('pickle subset: hostile and broken input', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dsb-pickle-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('what CPython pickles for code, objects and non-JSON types is refused, and nothing runs', () => {
    const marker = join(dir, 'pwned');
    const [out] = python<Record<string, string>>([{ cmd: 'hostile', marker }]);
    const hostile = unwrap(out!, 'hostile');
    assert.ok(Object.keys(hostile).length >= 20);
    const reasons = new Map<string, string>();
    for (const [name, data] of Object.entries(hostile)) reasons.set(name, refused(unb64(data), name).message);
    assert.equal(existsSync(marker), false, 'the marker file must not exist');
    assert.match(reasons.get('reduce os.system p0')!, /PROTO/);
    assert.match(reasons.get('reduce os.system p2')!, /GLOBAL/);
    assert.match(reasons.get('reduce os.system p4')!, /STACK_GLOBAL/);
    assert.match(reasons.get('reduce inside a session dict p4')!, /STACK_GLOBAL/);
    assert.match(reasons.get('EXT1 p2')!, /EXT1/);
    assert.match(reasons.get('PERSID p2')!, /PERSID/);
    assert.match(reasons.get('set p4')!, /EMPTY_SET/);
    assert.match(reasons.get('bytes p4')!, /BINBYTES/);
    assert.match(reasons.get('int key p4')!, /not a str/);
    assert.match(reasons.get('self-containing list p4')!, /contains itself/);
    assert.match(reasons.get('self-containing dict p4')!, /contains itself/);
  });

  it('truncation at every byte is refused', () => {
    const whole = pickleDumps(new Map<string, PyValue>([['a', [1, 'é', { b: 2n ** 70n }]], ['c', new PyFloat(1)]]));
    for (let n = 0; n < whole.length; n++) refused(whole.subarray(0, n), `first ${n} bytes`);
    refused(Buffer.concat([whole, Buffer.from('N')]), 'bytes after STOP');
  });

  it('lengths past the data are refused before anything is allocated', () => {
    const p4 = (...bytes: number[]): Buffer => Buffer.from([0x80, 0x04, ...bytes]);
    const cases: [string, Buffer, RegExp][] = [
      ['BINUNICODE 4 GiB', p4(0x58, 0xff, 0xff, 0xff, 0xff, 0x61), /truncated/],
      ['BINUNICODE8 2^63', p4(0x8d, 0, 0, 0, 0, 0, 0, 0, 0x80, 0x61), /truncated/],
      ['SHORT_BINUNICODE 255', p4(0x8c, 0xff, 0x61, 0x2e), /truncated/],
      ['LONG4 2^31-1 bytes', p4(0x8b, 0xff, 0xff, 0xff, 0x7f, 0x2e), /truncated/],
      ['LONG4 negative', p4(0x8b, 0xff, 0xff, 0xff, 0xff, 0x2e), /negative byte count/],
      ['FRAME 2^64-1', p4(0x95, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x4e, 0x2e), /truncated/],
      ['BINFLOAT short', p4(0x47, 0x40, 0x2e), /truncated/],
      ['memo index not there', p4(0x68, 0x07, 0x2e), /Memo value not found/],
      ['negative LONG_BINPUT', p4(0x4e, 0x72, 0xff, 0xff, 0xff, 0xff, 0x2e), /negative LONG_BINPUT/],
      ['stack underflow', p4(0x2e), /underflow/],
      ['APPEND past MARK', p4(0x5d, 0x28, 0x4e, 0x61, 0x2e), /underflow/],
      ['odd SETITEMS', p4(0x7d, 0x28, 0x4e, 0x75, 0x2e), /odd number/],
      ['SETITEM on a list', p4(0x5d, 0x8c, 0x01, 0x61, 0x4e, 0x73, 0x2e), /not a dict/],
      ['APPEND to a tuple', p4(0x29, 0x4e, 0x61, 0x2e), /not a list/],
      ['APPEND to a dict', p4(0x7d, 0x4e, 0x61, 0x2e), /not a list/],
      ['no MARK for TUPLE', p4(0x74, 0x2e), /could not find MARK/],
      ['two values at STOP', p4(0x4e, 0x4e, 0x2e), /more than one value/],
      ['open MARK at STOP', p4(0x28, 0x4e, 0x2e), /open MARK/],
      ['protocol 6', Buffer.from([0x80, 0x06, 0x4e, 0x2e]), /unsupported pickle protocol/],
      ['second PROTO', p4(0x80, 0x04, 0x4e, 0x2e), /PROTO after the start/],
      ['invalid UTF-8', p4(0x8c, 0x02, 0xc3, 0x28, 0x2e), /utf-8/],
      ['overlong UTF-8', p4(0x8c, 0x02, 0xc0, 0xaf, 0x2e), /utf-8/],
      ['past U+10FFFF', p4(0x8c, 0x04, 0xf4, 0x90, 0x80, 0x80, 0x2e), /utf-8/],
      ['int of 5000 digits', Buffer.concat([p4(0x8b), Buffer.from([0xe0, 0x07, 0, 0]), Buffer.alloc(2016, 0x11), Buffer.from([0x2e])]), /4300 digits/],
      ['unknown opcode', p4(0xff), /unknown opcode/],
      ['empty input', Buffer.alloc(0), /PROTO/],
    ];
    for (const [name, data, reason] of cases) assert.match(refused(data, name).message, reason, name);
    // An encoded lone surrogate is what surrogatepass writes: accepted, as Python does.
    assert.equal(pickleLoads(p4(0x8c, 0x03, 0xed, 0xa0, 0x80, 0x2e)), '\ud800');
  });

  it('nesting: what Python json can decode is read, deeper is refused, without recursion', () => {
    const nested = (depth: number): Buffer => {
      const body = [0x80, 0x04];
      for (let i = 0; i < depth; i++) body.push(0x5d); // EMPTY_LIST, no memo
      for (let i = 1; i < depth; i++) body.push(0x61); // APPEND each into its parent
      body.push(0x2e);
      return Buffer.from(body);
    };
    let v = pickleLoads(nested(995));
    let depth = 0;
    while (Array.isArray(v)) {
      depth++;
      v = v[0] as PyValue;
    }
    assert.equal(depth, 995);
    assert.match(refused(nested(996), '996 levels').message, /deeper than 995/);
    assert.match(refused(nested(20_000), '20000 levels').message, /deeper/);
  });

  it('exponential sharing through the memo is refused quickly', () => {
    // holder = [l0, l1, …, l40] with l0 = [None] and l(i+1) = [l(i), l(i)]: 2^41 values if expanded.
    const program: number[] = [0x80, 0x04, 0x5d, 0x28, 0x5d, 0x94, 0x4e, 0x61]; // holder, MARK, l0 (memo 0)
    for (let i = 0; i < 40; i++) program.push(0x5d, 0x94, 0x28, 0x68, i, 0x68, i, 0x65); // l(i+1) (memo i+1)
    program.push(0x65, 0x2e); // APPENDS into the holder, STOP
    const start = performance.now();
    assert.match(refused(Buffer.from(program), 'billion laughs').message, /expand to more than/);
    assert.ok(performance.now() - start < 1000, 'refused quickly');
    // The same sharing kept small is read (Python shares the list too).
    const small = Buffer.from([0x80, 0x04, 0x7d, 0x28, 0x8c, 0x01, 0x61, 0x5d, 0x94, 0x4b, 0x01, 0x61, 0x8c, 0x01, 0x62, 0x68, 0x00, 0x75, 0x2e]);
    assert.equal(pyDumps(pickleLoads(small)), '{"a":[1],"b":[1]}');
    assert.ok(MAX_EXPANDED_NODES >= 100_000);
  });

  it(`random corruption: refused, or read exactly as Python reads it ${CONTEXT}`, () => {
    const seeds = fc.sample(sessionDict, { seed: SEED + 1, numRuns: 40 });
    const accepted: { data: Buffer; json: string }[] = [];
    let refusedCount = 0;
    let rng = SEED >>> 0;
    const next = (n: number): number => {
      rng = (Math.imul(rng, 1664525) + 1013904223) >>> 0;
      return rng % n;
    };
    for (const s of seeds) {
      const good = pickleDumps(s, 4);
      for (let k = 0; k < 50; k++) {
        const bad = Buffer.from(good);
        const flips = 1 + next(3);
        for (let f = 0; f < flips; f++) bad[next(bad.length)] = next(256);
        try {
          accepted.push({ data: bad, json: pyDumps(pickleLoads(bad)) });
        } catch (e) {
          if (!(e instanceof UnpicklingError)) throw new Error(`${String(e)} ${CONTEXT}`, { cause: e });
          refusedCount++;
        }
      }
    }
    assert.ok(refusedCount > 0);
    // Every pickle we accepted is inside the subset, so it is safe to hand to Python's unpickler.
    const theirs = python<string>(accepted.map((a) => ({ cmd: 'pickle_loads', value: b64(a.data) })));
    accepted.forEach((a, i) => {
      const o = theirs[i]!;
      // Python may refuse what we read only for reasons it alone has (none are known); then fail loudly.
      assert.ok(o.ok, `we accepted ${b64(a.data)} but Python refused it: ${o.ok ? '' : o.error.message} ${CONTEXT}`);
      assert.equal(o.result, a.json, `${b64(a.data)} ${CONTEXT}`);
    });
  });
});
