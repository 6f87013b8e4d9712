/**
 * Unit tests for src/pyjson: each rule of Python's json module as Django uses it, stated once.
 * The broad random coverage against real Python is in pyjson-python.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  MAX_DECODE_DEPTH,
  MAX_ENCODE_DEPTH,
  PY_KEY_ORDER,
  PyFloat,
  PyJsonDecodeError,
  PyJsonEncodeError,
  PyJsonError,
  isPyFloat,
  pyDictKeys,
  pyDictToMap,
  pyDumps,
  pyFloatRepr,
  pyLoads,
  type PyDict,
  type PyValue,
} from '../../src/pyjson/index.ts';

/** Loads then dumps: what Django would write back after reading `text`. */
const redump = (text: string): string => pyDumps(pyLoads(text));

function decodeError(text: string): PyJsonDecodeError {
  try {
    pyLoads(text);
  } catch (err) {
    assert.ok(err instanceof PyJsonDecodeError, `unexpected ${String(err)}`);
    assert.ok(err instanceof PyJsonError);
    return err;
  }
  assert.fail(`pyLoads accepted ${JSON.stringify(text)}`);
}

function encodeError(value: unknown): PyJsonEncodeError {
  try {
    pyDumps(value as PyValue);
  } catch (err) {
    assert.ok(err instanceof PyJsonEncodeError, `unexpected ${String(err)}`);
    assert.ok(err instanceof PyJsonError);
    return err;
  }
  assert.fail('pyDumps accepted the value');
}

describe('string escaping (ensure_ascii=True)', () => {
  test('printable ASCII is written as is, "/" included', () => {
    assert.equal(pyDumps("abc XYZ 09 ~!#$%&'()*+,-./:;<=>?@[]^_`{|}"), `"abc XYZ 09 ~!#$%&'()*+,-./:;<=>?@[]^_\`{|}"`);
  });
  test('short escapes for " \\ \\n \\r \\t \\b \\f', () => {
    assert.equal(pyDumps('"\\\n\r\t\b\f'), String.raw`"\"\\\n\r\t\b\f"`);
  });
  test('other control characters and DEL as lower-case \\u00xx', () => {
    assert.equal(pyDumps('\x00\x01\x0b\x1f\x7f'), String.raw`"\u0000\u0001\u000b\u001f\u007f"`);
  });
  test('non-ASCII as lower-case \\uxxxx, astral chars as surrogate pairs', () => {
    assert.equal(pyDumps('é\u00ff\u0100\u0abc\u2028\ufeff\uffff'), String.raw`"\u00e9\u00ff\u0100\u0abc\u2028\ufeff\uffff"`);
    assert.equal(pyDumps('😀'), String.raw`"\ud83d\ude00"`);
  });
  test('lone surrogates are escaped as themselves', () => {
    assert.equal(pyDumps('a\ud800b\udfff'), String.raw`"a\ud800b\udfff"`);
  });
  test('dict keys are escaped the same way', () => {
    assert.equal(pyDumps({ 'é\n': 1 }), String.raw`{"\u00e9\n":1}`);
  });
});

describe('numbers', () => {
  test('float repr as Python writes it', () => {
    const cases: [number, string][] = [
      [1.0, '1.0'],
      [-1.0, '-1.0'],
      [1e16, '1e+16'],
      [1e15, '1000000000000000.0'],
      [9999999999999998, '9999999999999998.0'],
      [1e-4, '0.0001'],
      [9.999e-5, '9.999e-05'],
      [1e-5, '1e-05'],
      [1e-7, '1e-07'],
      [1.5e-7, '1.5e-07'],
      [-0.0, '-0.0'],
      [0, '0.0'],
      [123456789012345678.0, '1.2345678901234568e+17'],
      [5e-324, '5e-324'],
      [1e100, '1e+100'],
      [1.7976931348623157e308, '1.7976931348623157e+308'],
      [0.1, '0.1'],
      [1 / 3, '0.3333333333333333'],
      [1e21, '1e+21'],
      [NaN, 'NaN'],
      [Infinity, 'Infinity'],
      [-Infinity, '-Infinity'],
    ];
    for (const [n, repr] of cases) assert.equal(pyFloatRepr(n), repr, `repr of ${n}`);
  });
  test('integral JS numbers are ints, never in exponent form', () => {
    assert.equal(pyDumps(1), '1');
    assert.equal(pyDumps(-42), '-42');
    assert.equal(pyDumps(Number.MAX_SAFE_INTEGER), '9007199254740991');
    assert.equal(pyDumps(1e21), '1000000000000000000000');
    assert.equal(pyDumps(-1e21), '-1000000000000000000000');
    assert.equal(pyDumps(2 ** 64), '18446744073709551616');
    assert.equal(pyDumps(2 ** 53 + 2), '9007199254740994');
    assert.equal(pyDumps(-(2 ** 70)), '-1180591620717411303424');
    assert.equal(pyDumps(1.7976931348623157e308), BigInt(1.7976931348623157e308).toString());
  });
  test('non-integral numbers, -0 and PyFloat are floats', () => {
    assert.equal(pyDumps(1.5), '1.5');
    assert.equal(pyDumps(-0), '-0.0');
    assert.equal(pyDumps(new PyFloat(2)), '2.0');
    assert.equal(pyDumps(new PyFloat(1e16)), '1e+16');
    assert.equal(pyDumps([NaN, Infinity, -Infinity]), '[NaN,Infinity,-Infinity]');
  });
  test('a PyFloat from a second copy of the module is still a float', async () => {
    // A different URL makes a separate module instance, as a require/import mix under tsx can.
    const url = new URL('../../src/pyjson/types.ts?second-copy', import.meta.url).href;
    const copy = (await import(url)) as typeof import('../../src/pyjson/types.ts');
    assert.notEqual(copy.PyFloat, PyFloat);
    assert.equal(pyDumps(new copy.PyFloat(2) as PyValue), '2.0');
    assert.ok(isPyFloat(new copy.PyFloat(2)));
    assert.equal(isPyFloat({ value: 2 }), false);
  });
  test('bigints of any size are exact', () => {
    assert.equal(pyDumps(2n ** 64n), '18446744073709551616');
    assert.equal(pyDumps(-(10n ** 40n)), '-1' + '0'.repeat(40));
  });
  test('int literals: number when safe, bigint beyond, "-0" is the int 0', () => {
    assert.equal(pyLoads('9007199254740991'), 9007199254740991);
    assert.equal(pyLoads('-9007199254740991'), -9007199254740991);
    assert.equal(pyLoads('9007199254740992'), 9007199254740992n);
    assert.equal(pyLoads('-18446744073709551616'), -18446744073709551616n);
    assert.ok(Object.is(pyLoads('-0'), 0));
    assert.equal(redump('-0'), '0');
  });
  test('float literals: number unless integral, which stays a PyFloat', () => {
    assert.equal(pyLoads('1.5'), 1.5);
    assert.equal(pyLoads('1e-7'), 1e-7);
    assert.deepEqual(pyLoads('1.0'), new PyFloat(1));
    assert.deepEqual(pyLoads('1E5'), new PyFloat(100000));
    const negZero = pyLoads('-0.0');
    assert.ok(negZero instanceof PyFloat && Object.is(negZero.value, -0));
    assert.equal(pyLoads('1e400'), Infinity);
    assert.equal(pyLoads('-1e400'), -Infinity);
    assert.deepEqual(pyLoads('1e-400'), new PyFloat(0));
    assert.ok(Number.isNaN(pyLoads('NaN')));
    assert.equal(redump('[1.0,1.50,1E5,1e16,-0.0,1e-400]'), '[1.0,1.5,100000.0,1e+16,-0.0,0.0]');
  });
  test('ints beyond 4300 digits are refused both ways, as Python 3.11 does', () => {
    assert.equal(redump('9'.repeat(4300)), '9'.repeat(4300));
    const err = decodeError('-' + '9'.repeat(4301));
    assert.equal(err.pythonType, 'ValueError');
    assert.match(err.msg, /Exceeds the limit \(4300 digits\).*value has 4301 digits/);
    assert.equal(pyDumps(-(10n ** 4300n - 1n)).length, 4301);
    const enc = encodeError(10n ** 4300n);
    assert.equal(enc.pythonType, 'ValueError');
    assert.match(enc.message, /^Exceeds the limit \(4300 digits\)/);
  });
});

describe('dicts', () => {
  test('__proto__ is an own data property, never the prototype', () => {
    const dict = pyLoads('{"__proto__":{"polluted":1},"a":2}') as PyDict;
    assert.equal(Object.getPrototypeOf(dict), Object.prototype);
    assert.deepEqual(Object.keys(dict), ['__proto__', 'a']);
    assert.deepEqual(Object.getOwnPropertyDescriptor(dict, '__proto__')?.value, { polluted: 1 });
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
    assert.equal(pyDumps(dict), '{"__proto__":{"polluted":1},"a":2}');
  });
  test('the last duplicate wins but keeps the first position', () => {
    assert.deepEqual(pyLoads('{"a":1,"b":2,"a":3}'), { a: 3, b: 2 });
    assert.equal(redump('{"a":1,"b":2,"a":3}'), '{"a":3,"b":2}');
    assert.equal(redump('{"__proto__":1,"x":0,"__proto__":2}'), '{"__proto__":2,"x":0}');
    assert.equal(redump('{"b":1,"10":2,"b":3,"10":4}'), '{"b":3,"10":4}');
  });
  test('integer-like keys keep the parse order through PY_KEY_ORDER', () => {
    const dict = pyLoads('{"b":1,"10":2}') as PyDict;
    assert.deepEqual(Object.keys(dict), ['10', 'b']); // what JS does on its own
    assert.deepEqual(pyDictKeys(dict), ['b', '10']);
    assert.equal(pyDumps(dict), '{"b":1,"10":2}');
    assert.equal(Object.getOwnPropertyDescriptor(dict, PY_KEY_ORDER)?.enumerable, false);
    assert.equal(JSON.stringify(dict), '{"10":2,"b":1}', 'the order must not leak as data');
  });
  test('keys deleted after parsing drop out of the order, new ones follow in JS order', () => {
    const dict = pyLoads('{"b":1,"10":2}') as PyDict;
    delete dict['b'];
    dict['c'] = 3;
    assert.equal(pyDumps(dict), '{"10":2,"c":3}');
    dict['2'] = 4;
    assert.equal(pyDumps(dict), '{"10":2,"2":4,"c":3}');
  });
  test('PY_KEY_ORDER is attached only when JS would reorder', () => {
    for (const text of ['{"a":1,"b":2}', '{"1":1,"2":2,"a":3}', '{"01":1,"a":2}', '{"a":1,"4294967295":2}', '{}']) {
      const dict = pyLoads(text) as PyDict;
      assert.equal(Object.getOwnPropertyDescriptor(dict, PY_KEY_ORDER), undefined, text);
      assert.equal(pyDumps(dict), text);
    }
    for (const text of ['{"a":1,"0":2}', '{"10":1,"2":2}', '{"x":{"y":1,"3":2}}']) {
      assert.equal(redump(text), text);
    }
    assert.deepEqual((pyLoads('{"10":1,"2":2,"x":3}') as Record<symbol, unknown>)[PY_KEY_ORDER], ['10', '2', 'x']);
  });
  test('nested dicts keep their own orders', () => {
    const text = '{"z":{"b":1,"7":[{"q":1,"0":2}]},"5":null}';
    assert.equal(redump(text), text);
  });
  test('pyDictToMap copies a dict in Python order', () => {
    const map = pyDictToMap(pyLoads('{"b":1,"10":2,"a":3}') as PyDict);
    assert.deepEqual([...map.keys()], ['b', '10', 'a']);
  });
  test('a Map is written as a dict in insertion order', () => {
    const map = new Map<string, PyValue>([
      ['b', 1],
      ['10', new PyFloat(2)],
      ['a', new Map([['x', [true, null]]])],
    ]);
    assert.equal(pyDumps(map), '{"b":1,"10":2.0,"a":{"x":[true,null]}}');
    assert.equal(pyDumps(new Map()), '{}');
  });
  test('null-prototype objects are dicts too', () => {
    const dict = Object.create(null) as PyDict;
    dict['k'] = 'v';
    assert.equal(pyDumps(dict), '{"k":"v"}');
  });
});

describe('reader strictness', () => {
  test('whitespace is only space, tab, LF, CR', () => {
    assert.deepEqual(pyLoads(' \t\r\n[ 1 ,\t2 ]\n'), [1, 2]);
    assert.equal(decodeError('\f1').msg, 'Expecting value');
    assert.equal(decodeError('\u00a01').msg, 'Expecting value');
  });
  test('raw control characters inside strings are rejected, DEL and latin-1 are not', () => {
    const err = decodeError('"ab\u0001"');
    assert.equal(err.msg, 'Invalid control character at');
    assert.equal(err.pos, 3);
    assert.equal(pyLoads('"\u007f\u00e9\u00ff"'), '\u007f\u00e9\u00ff');
  });
  test('escapes: \\/ and upper-case hex are accepted, surrogate pairs join', () => {
    assert.equal(pyLoads(String.raw`"\/\u00E9\uD83D\uDE00\ud800"`), '/é😀\ud800');
    assert.equal(redump(String.raw`"\/\u00E9"`), String.raw`"/\u00e9"`);
  });
  test('a UTF-8 BOM is rejected with Python message', () => {
    assert.equal(decodeError('\ufeff{}').msg, 'Unexpected UTF-8 BOM (decode using utf-8-sig)');
  });
  test('Python keywords other than NaN/Infinity are not JSON', () => {
    for (const text of ['True', 'None', 'nan', 'inf', '-inf', 'undefined']) assert.equal(decodeError(text).msg, 'Expecting value');
  });
});

describe('decode errors', () => {
  test('carry Python message, position, line and column', () => {
    const err = decodeError('{\n  "a": 1,\n  "b" 2\n}');
    assert.equal(err.msg, "Expecting ':' delimiter");
    assert.equal(err.pos, 18);
    assert.equal(err.index, 18);
    assert.equal(err.lineno, 3);
    assert.equal(err.colno, 7);
    assert.equal(err.pythonType, 'JSONDecodeError');
    assert.equal(err.message, "Expecting ':' delimiter: line 3 column 7 (char 18)");
  });
  test('positions count code points, as Python does', () => {
    const err = decodeError('["😀", x]');
    assert.equal(err.index, 7);
    assert.equal(err.pos, 6);
    assert.equal(err.colno, 7);
  });
  test('the usual mistakes', () => {
    const cases: [string, string, number][] = [
      ['', 'Expecting value', 0],
      ['[1,]', 'Expecting value', 3],
      ['{"a":1,}', 'Expecting property name enclosed in double quotes', 7],
      ['[1 2]', "Expecting ',' delimiter", 3],
      ['"abc', 'Unterminated string starting at', 0],
      ['"\\x"', 'Invalid \\escape', 1],
      ['"\\u12"', 'Invalid \\uXXXX escape', 2],
      ['01', 'Extra data', 1],
      ['1.', 'Extra data', 1],
      ['{"a":1}}', 'Extra data', 7],
    ];
    for (const [text, msg, pos] of cases) {
      const err = decodeError(text);
      assert.deepEqual([err.msg, err.pos], [msg, pos], text);
    }
  });
  test('nesting deeper than Python can decode is a RecursionError, not a stack overflow', () => {
    let value = pyLoads('['.repeat(MAX_DECODE_DEPTH) + ']'.repeat(MAX_DECODE_DEPTH));
    let depth = 0;
    for (; Array.isArray(value); depth++) value = value[0] as PyValue;
    assert.equal(depth, MAX_DECODE_DEPTH);
    const err = decodeError('['.repeat(MAX_DECODE_DEPTH + 1) + ']'.repeat(MAX_DECODE_DEPTH + 1));
    assert.equal(err.pythonType, 'RecursionError');
    assert.equal(decodeError('[{"a":'.repeat(100_000)).pythonType, 'RecursionError');
  });
});

describe('encode errors', () => {
  class Point {
    x = 1;
  }
  test("values Python could not serialise, in Python's words", () => {
    const cases: [unknown, string][] = [
      [undefined, 'undefined'],
      [() => 1, 'function'],
      [Symbol('s'), 'symbol'],
      [new Date(0), 'Date'],
      [new Set([1]), 'Set'],
      [new Point(), 'Point'],
      [new String('boxed'), 'String'],
      [new Uint8Array(2), 'Uint8Array'],
    ];
    for (const [value, type] of cases) {
      const err = encodeError(value);
      assert.equal(err.message, `Object of type ${type} is not JSON serializable`);
      assert.equal(err.pythonType, 'TypeError');
      assert.equal(err.path, '$');
    }
  });
  test('the path says where the bad value sits', () => {
    assert.equal(encodeError({ a: [1, { b: undefined }] }).path, '$["a"][1]["b"]');
    assert.equal(encodeError(new Map([['m', [0, new Date()]]])).path, '$["m"][1]');
    assert.equal(encodeError([1, , 3]).path, '$[1]'); // a hole is undefined, not null
  });
  test('Map keys must be strings', () => {
    const err = encodeError({ x: new Map<unknown, PyValue>([[1, 'one']]) });
    assert.equal(err.message, 'keys must be str, not number');
    assert.equal(err.path, '$["x"]');
  });
  test('cycles are "Circular reference detected", with the path to where the cycle closes', () => {
    const list: PyValue[] = [];
    list.push(list);
    assert.deepEqual([encodeError(list).message, encodeError(list).path], ['Circular reference detected', '$[0]']);
    const dict: PyDict = { a: 1 };
    dict['self'] = { inner: [dict] };
    const err = encodeError({ root: dict });
    assert.equal(err.pythonType, 'ValueError');
    assert.equal(err.path, '$["root"]["self"]["inner"][0]');
    const map = new Map<string, PyValue>();
    map.set('m', map);
    assert.equal(encodeError(map).message, 'Circular reference detected');
  });
  test('the same value twice without a cycle is fine', () => {
    const shared = [1, 2];
    assert.equal(pyDumps({ a: shared, b: shared }), '{"a":[1,2],"b":[1,2]}');
  });
  test('nesting deeper than Django could read back is refused', () => {
    let deep: PyValue = [];
    for (let i = 1; i < MAX_ENCODE_DEPTH; i++) deep = [deep];
    assert.equal(pyDumps(deep).length, 2 * MAX_ENCODE_DEPTH);
    const err = encodeError([deep]);
    assert.equal(err.pythonType, 'RecursionError');
  });
});

describe('round trips', () => {
  test('a typical session decodes and re-encodes to the same bytes', () => {
    const text =
      '{"_auth_user_id":"1","_auth_user_backend":"django.contrib.auth.backends.ModelBackend",' +
      '"_auth_user_hash":"1f8d3c0a6e","_session_expiry":1209600,"cart":{"12":2,"3":1.0},"score":-0.0}';
    assert.equal(redump(text), text);
  });
  test('getters and Map values are read, not copied', () => {
    const dict = {
      get lazy(): PyValue {
        return pyDumps([1]); // re-entrant use from inside a dump is safe
      },
    } as PyDict;
    assert.equal(pyDumps(dict), '{"lazy":"[1]"}');
  });
});
