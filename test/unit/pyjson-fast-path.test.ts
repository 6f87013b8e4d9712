/**
 * The speed paths of src/pyjson must not change a single answer:
 * - pyDumps' JSON.stringify fast path (src/pyjson/fast-stringify.ts) must write exactly what the
 *   exact writer writes, and fail exactly as it fails. Each rule that sends a value to the exact
 *   writer is pinned by a value that JSON.stringify would get wrong, and random values mix all of them.
 * - pyLoads' JSON.parse fast path (src/pyjson/fast-parse.ts, texts of FAST_MIN_LENGTH characters
 *   and more) must build exactly what the exact parser builds, and leave every error to it. Each
 *   thing JSON.parse gets wrong is pinned inside a text long enough for the fast path, and random
 *   documents mix them.
 * - pyLoads offers each dict in a list its predecessor's keys; a dict must parse the same (value,
 *   key order, error) with that offer as on its own.
 * (What both do is checked against real Python in pyjson-python.test.ts.)
 *
 * Reproduce a random failure with PYJSON_FAST_SEED=<seed printed in the message>.
 */
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  PY_KEY_ORDER,
  PyFloat,
  PyJsonDecodeError,
  PyJsonEncodeError,
  pyDictKeys,
  pyDumps,
  pyLoads,
  type PyDict,
  type PyValue,
} from '../../src/pyjson/index.ts';
import { FAST_MIN_LENGTH, fastPyLoads } from '../../src/pyjson/fast-parse.ts';
import { pyLoadsExact } from '../../src/pyjson/parse.ts';
import { pyDumpsExact } from '../../src/pyjson/stringify.ts';

const SEED = Number(process.env.PYJSON_FAST_SEED ?? randomInt(2 ** 31));

type Outcome = { text: string } | { error: string };

function outcome(write: (v: PyValue) => string, value: PyValue): Outcome {
  try {
    return { text: write(value) };
  } catch (err) {
    assert.ok(err instanceof PyJsonEncodeError, `unexpected ${String(err)}`);
    return { error: `${err.pythonType}: ${err.message}` };
  }
}

function assertSame(value: PyValue, context = ''): void {
  assert.deepEqual(outcome(pyDumps, value), outcome(pyDumpsExact, value), context);
}

/** A dict as the parser leaves it when Python order differs from JS order. */
function ordered(entries: [string, PyValue][]): Record<string, PyValue> {
  const dict: Record<string, PyValue> = {};
  // defineProperty, as the parser does: a plain assignment to __proto__ would replace the prototype.
  for (const [k, v] of entries) Object.defineProperty(dict, k, { value: v, writable: true, enumerable: true, configurable: true });
  Object.defineProperty(dict, PY_KEY_ORDER, { value: entries.map(([k]) => k), writable: true, configurable: true });
  return dict;
}

describe('pyDumps fast path writes what the exact writer writes', () => {
  // Each value below is JSON.stringify-able, but JSON.stringify's text would differ from Python's.
  const cases: [string, PyValue][] = [
    ['integral PyFloat', { a: new PyFloat(2) }],
    ['-0', [-0]],
    ['-0.0 PyFloat', [new PyFloat(-0)]],
    ['int beyond 2^53', [2 ** 60]],
    ['MAX_SAFE_INTEGER', [Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER]],
    ['float below 1e-4', [0.00001234]],
    ['float at 1e-4', [1e-4, -1e-4]],
    ['float just below 1e16', [9999999999999998.5 - 0.5 + 0.25]],
    ['NaN and infinities', [NaN, Infinity, -Infinity]],
    ['bigint', { n: 12n }],
    ['nested Map', [new Map<string, PyValue>([['b', 1], ['a', 2]])]],
    ['recorded key order', { outer: ordered([['b', 1], ['10', 2], ['2', 3]]) }],
    ['integer-like keys without recorded order', { outer: { b: 1, 10: 2, 2: 3 } }],
    ['DEL and non-ASCII', ['\x7f', 'é', 'Ā', '\u0fff', '\u1000', '\u2028', '\uffff', '😀', 'a\ud800b', '\udfff']],
    ['control characters and escapes', ['\x00\x01\x1f"\\/\b\f\n\r\t']],
    ['non-ASCII keys', { 'é\n\x7f': 1, '😀': [true, null] }],
    ['__proto__ key', pyLoads('{"__proto__":{"x":1},"a":[1]}')],
    ['null-prototype dict', Object.assign(Object.create(null) as Record<string, PyValue>, { a: 1, b: [2] })],
    ['empty containers', [[], {}, new Map()]],
  ];
  for (const [name, inner] of cases) {
    test(name, () => {
      assertSame(inner);
      assertSame([inner]);
      assertSame(new Map<string, PyValue>([['_auth_user_id', '1'], ['x', inner]]));
    });
  }

  test('values the writer refuses fail the same way, with the same path', () => {
    const bad: unknown[] = [
      { a: [1, undefined] },
      { a: [1, () => 1] },
      { a: Symbol('s') },
      { a: new Date(0) },
      { a: { toJSON: () => 1 } },
      [1, , 3], // a hole
      { a: { b: 10n ** 5000n } },
      Object.assign([1, 2], { toJSON: () => 'x' }),
    ];
    for (const value of bad) {
      assertSame(value as PyValue);
      assertSame(new Map([['k', value as PyValue]]));
    }
    const cycle: PyValue[] = [];
    cycle.push({ again: cycle });
    assertSame(cycle);
    assertSame(new Map([['k', cycle]]));
  });

  test('nesting at and beyond the writer limit', () => {
    for (const depth of [899, 900, 901, 902]) {
      let value: PyValue = 1;
      for (let i = 0; i < depth; i++) value = i % 2 ? [value] : { k: value };
      assertSame(value, `depth ${depth}`);
      assertSame(new Map([['k', value]]), `depth ${depth} under a Map`);
    }
  });

  test('a polluted Object.prototype.toJSON is not called', () => {
    const proto = Object.prototype as { toJSON?: unknown };
    proto.toJSON = () => 'polluted';
    try {
      assertSame({ a: { b: 1 } });
      assertSame(new Map([['a', { b: 1 }]]));
    } finally {
      delete proto.toJSON;
    }
  });

  test(`random values (seed ${SEED})`, () => {
    const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));
    const text = fc.oneof(fc.string({ maxLength: 8 }), fc.string({ unit: codeUnit, maxLength: 8 }));
    const key = fc.oneof(text, fc.constantFrom('0', '10', '2', '01', '4294967295', '__proto__', ''));
    const double = fc.oneof(fc.double(), fc.constantFrom(1e-4, 1e16, -0, 0.1, 1.5, 1e21, 2 ** 53, 2 ** 53 + 2));
    const { value } = fc.letrec<{ value: PyValue }>((tie) => ({
      value: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        fc.constant(null),
        fc.boolean(),
        fc.integer(),
        fc.maxSafeInteger(),
        fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }),
        double,
        double.map((d) => new PyFloat(d)),
        text,
        fc.array(tie('value'), { maxLength: 4 }),
        fc.dictionary(key, tie('value'), { maxKeys: 4 }),
        fc.array(fc.tuple(key, tie('value')), { maxLength: 4 }).map((entries) => ordered(entries)),
        fc.array(fc.tuple(key, tie('value')), { maxLength: 4 }).map((entries) => new Map(entries)),
      ),
    }));
    const session = fc.array(fc.tuple(key, value), { maxLength: 5 }).map((entries) => new Map(entries));
    fc.assert(
      fc.property(fc.oneof(value, session), (v) => assertSame(v)),
      { seed: SEED, numRuns: 3000 },
    );
  });
});

describe('pyLoads: a dict after a dict in a list parses as it does alone', () => {
  type Parsed = { dump: string; keys: string[] } | { error: string; pos: number };
  function parse(text: string, pick: (v: PyValue) => PyValue, offset: number): Parsed {
    try {
      const value = pick(pyLoads(text));
      return { dump: pyDumps(value), keys: pyDictKeys(value as PyDict) };
    } catch (err) {
      assert.ok(err instanceof PyJsonDecodeError, `unexpected ${String(err)}`);
      return { error: err.msg, pos: err.pos - offset };
    }
  }
  const pairs: [string, string][] = [
    ['{"a":1,"b":2}', '{"a":3,"b":4}'],
    ['{"a":1,"b":2}', '{"b":3,"a":4}'],
    ['{"a":1,"b":2}', '{"a":3}'],
    ['{"a":1}', '{"a":3,"b":4,"c":5}'],
    ['{"ab":1}', '{"abc":2}'],
    ['{"abc":1}', '{"ab":2}'],
    ['{"a":1}', '{"\\u0061":2}'],
    ['{"\\u0061":1}', '{"a":2}'],
    ['{"a\\"b":1}', '{"a\\"b":2}'],
    ['{"a\\\\":1}', '{"a\\\\":2}'],
    ['{"a\\n":1}', '{"a\\n":2}'],
    ['{"a":1,"a":2}', '{"a":3,"a":4}'],
    ['{"b":1,"10":2,"2":3}', '{"b":1,"10":2,"2":3}'],
    ['{"10":1,"b":2}', '{"b":1,"10":2}'],
    ['{"__proto__":1}', '{"__proto__":{"x":2}}'],
    ['{"":1}', '{"":2}'],
    ['{"a":{"x":1},"b":2}', '{"a":{"x":3},"b":4}'],
    ['{"a":[{"x":1}],"b":2}', '{"a":[{"y":1},{"y":2}],"b":4}'],
    ['{}', '{"a":1}'],
    ['{"a":1}', '{}'],
    // Invalid dicts fail at the same place with the same message.
    ['{"a":1}', '{"a"}'],
    ['{"a":1}', '{"a:1}'],
    ['{"a":1}', '{"a" 1}'],
    ['{"a":1}', '{"a":}'],
    ['{"a":1}', '{"a":1,}'],
    ['{"a":1}', '{"a\u0001":1}'],
    // A key that needed escapes must not be matched against raw text spelling its decoded form.
    ['{"a\\\\":1}', '{"a\\":1}'],
    ['{"a\\"":1}', '{"a"":1}'],
    ['{"a\\n":1}', '{"a\n":1}'],
    ['{"\\u0001":1}', '{"\u0001":1}'],
  ];
  for (const [first, second] of pairs) {
    test(`${first} then ${second}`, () => {
      const offset = first.length + 2;
      const inList = parse(`[${first},${second}]`, (v) => (v as PyValue[])[1] as PyValue, offset);
      assert.deepEqual(inList, parse(second, (v) => v, 0));
      // and again as the third of three, after a dict that itself had a predecessor
      const third = parse(`[${first},${first},${second}]`, (v) => (v as PyValue[])[2] as PyValue, 2 * first.length + 3);
      assert.deepEqual(third, parse(second, (v) => v, 0));
    });
  }
});

describe('pyLoads fast path builds what the exact parser builds', () => {
  type Parsed = { dump: string } | { error: string };
  function parsed(parse: (text: string) => PyValue, text: string): Parsed {
    try {
      // The exact writer shows int vs float, big ints, -0, and key order (it honours PY_KEY_ORDER).
      return { dump: pyDumpsExact(parse(text)) };
    } catch (err) {
      assert.ok(err instanceof PyJsonDecodeError, `unexpected ${String(err)}`);
      return { error: `${err.pythonType} ${err.msg} at ${err.pos}` };
    }
  }
  /** `inner` inside a dict padded beyond FAST_MIN_LENGTH, so the fast path is tried. */
  function long(inner: string): string {
    return `{"_auth_user_id":"42","pad":"${'x'.repeat(FAST_MIN_LENGTH)}","v":${inner},"tail":[1,2.5,"z"]}`;
  }
  function assertSameParse(text: string): void {
    assert.deepEqual(parsed(pyLoads, text), parsed(pyLoadsExact, text), text.length > 200 ? text.slice(0, 100) + '…' + text.slice(-100) : text);
  }

  test('plain documents do take the fast path', () => {
    const text = long('[{"a":1.5,"b":"\\u00e9\\ud800","c":[true,false,null],"d":-12,"e":0.30000000000000004}]');
    assert.notEqual(fastPyLoads(text), undefined);
    assertSameParse(text);
  });

  const risky = [
    '1.0', '-1.0', '0.0', '-0.0', '-0', '1.50', '2.000', '1e5', '1E5', '1e+16', '1.5e3', '1.5E+3', '15e-1', '1e-05', '5e-324',
    '1e-400', '0.' + '0'.repeat(400) + '1', '1e400', '-1e400', '999999999999999.01', '999999999999999.9999', '0.9999999999999999999',
    '123456789012345', '1234567890123456', '9007199254740993', '-9007199254740993', '1' + '0'.repeat(30), '9'.repeat(4300),
    '9'.repeat(4301), '12345678901234567.5', '[1.0,2.5]', '{"x":1.0}',
    '{"10":1,"b":2}', '{"b":1,"10":2}', '{"b":1,"2":2,"10":3}', '{"\\u0031":1,"b":2}', '{"b":1,"\\u0031":2}', '{"01":1,"b":2}',
    '{"__proto__":{"a":1}}', '{"a":1,"a":2}', '{"b":1,"a":2,"b":3}',
    'NaN', 'Infinity', '-Infinity', '[NaN]',
    '"a" x', '1.', '.5', '01', '+1', '1e', '"\\x"', '"\u0001"', '[1,]', '{"a":1,}', '"\\ud800"',
    '[' + '['.repeat(994) + ']'.repeat(994) + ']', '[' + '['.repeat(995) + ']'.repeat(995) + ']',
  ];
  for (const inner of risky) {
    test(`pinned: ${inner.length > 40 ? inner.slice(0, 40) + '…' : inner}`, () => {
      assertSameParse(long(inner));
      assertSameParse(`[${long(inner)}]`);
      assertSameParse(' \n' + long(inner) + '\t ');
    });
  }

  test('numbers and words in strings are only a reason to be careful', () => {
    // number-like text in strings, hex that looks like exponents: fast path or not, same answer
    for (const inner of ['"v1.0"', '"1e5"', '"x 1e5"', '"9f3c2a7b1e5d4c8a"', '"SKU-1E5A"', '"a:1.0"', '"-0"', '"10":1']) {
      assertSameParse(long(inner));
    }
  });

  test('a text made longer by whitespace only', () => {
    assertSameParse(' '.repeat(FAST_MIN_LENGTH) + '{"a":1.0}');
    assertSameParse(' '.repeat(FAST_MIN_LENGTH) + '{"a":1.5}');
    assertSameParse('\ufeff' + long('1'));
  });

  test(`random documents (seed ${SEED})`, () => {
    const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));
    const text = fc.oneof(fc.string({ maxLength: 8 }), fc.string({ unit: codeUnit, maxLength: 8 }), fc.constantFrom('1.0', '1e5', 'a"b', '\\'));
    const key = fc.oneof(text, fc.constantFrom('0', '10', '2', '01', '4294967295', '__proto__', '', 'a', 'b'));
    const double = fc.oneof(fc.double(), fc.constantFrom(1e-4, 1e16, -0, 0.1, 1.5, 1e21, 2 ** 53, 2 ** 53 + 2, 1e15, 999999999999999.9));
    const { value } = fc.letrec<{ value: PyValue }>((tie) => ({
      value: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        fc.constant(null),
        fc.boolean(),
        fc.integer(),
        fc.maxSafeInteger(),
        fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }),
        double,
        double.map((d) => new PyFloat(d)),
        text,
        fc.array(tie('value'), { maxLength: 5 }),
        fc.dictionary(key, tie('value'), { maxKeys: 5 }),
      ),
    }));
    // Python's own spellings (from the exact writer), plus spellings Python never writes but accepts.
    const respell = fc.constantFrom<[RegExp, string][]>(
      [],
      [[/(\d)\.0\b/g, '$1.0e0']],
      [[/(\d)\.(\d)/g, '$1.$2E+0']],
      [[/:(\d+)([,}])/g, ':$1e0$2']],
      [[/([,[:])/g, '$1 ']],
    );
    fc.assert(
      fc.property(fc.array(value, { minLength: 1, maxLength: 40 }), respell, (values, rules) => {
        let doc = pyDumpsExact(values);
        for (const [pattern, replacement] of rules) doc = doc.replace(pattern, replacement);
        assertSameParse(doc);
        assertSameParse(long(doc));
      }),
      { seed: SEED, numRuns: 1500 },
    );
  });
});
