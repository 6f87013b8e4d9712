/**
 * `json.loads` exactly as CPython's C scanner (Modules/_json.c, Python 3.11) behaves, producing
 * lossless `PyValue`s: same accepted grammar, same error messages and positions.
 *
 * Documents JSON.parse provably gets right (most sessions) take that native fast path
 * (fast-parse.ts); the rest, and every error, go through a hand-written single pass over char codes.
 * Its scanner state lives in module variables: parsing calls no user code, so it cannot be re-entered.
 */
import { PyJsonDecodeError } from './errors.ts';
import { fastPyLoads } from './fast-parse.ts';
import { MAX_DECODE_DEPTH, PY_INT_MAX_STR_DIGITS } from './limits.ts';
import { PY_KEY_ORDER, PyFloat, type PyDict, type PyValue } from './types.ts';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const MINUS = 0x2d;
const DIGIT_0 = 0x30;
const DIGIT_1 = 0x31;
const DIGIT_9 = 0x39;

/** Integers with at most this many digits are exact in a double: accumulate them directly. */
const FAST_INT_DIGITS = 15;
const MAX_SAFE_BIG = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE_BIG = -MAX_SAFE_BIG;

let src = '';
let len = 0;
let pos = 0;
/** Whether the last string parseString returned was spelled without escapes (raw text = value). */
let lastStringPlain = false;
/** The keys of the last dict parseObject parsed, in order; null where a key was not plain. */
let lastObjectKeys: (string | null)[] = [];

/** Parse a JSON document with Python's `json.loads` semantics. */
export function pyLoads(text: string): PyValue {
  if (typeof text !== 'string') {
    throw new TypeError(`the JSON object must be str, not ${text === null ? 'null' : typeof text}`);
  }
  if (text.charCodeAt(0) === 0xfeff) {
    throw new PyJsonDecodeError('Unexpected UTF-8 BOM (decode using utf-8-sig)', text, 0);
  }
  const fast = fastPyLoads(text); // never null: it only answers for containers
  return fast !== undefined ? fast : pyLoadsExact(text);
}

/**
 * The exact parser alone, without the JSON.parse fast path: the reference the fast path must match.
 * Same contract as pyLoads for strings.
 */
export function pyLoadsExact(text: string): PyValue {
  if (text.charCodeAt(0) === 0xfeff) {
    throw new PyJsonDecodeError('Unexpected UTF-8 BOM (decode using utf-8-sig)', text, 0);
  }
  src = text;
  len = text.length;
  pos = 0;
  try {
    skipWhitespace();
    const value = parseValue(0);
    skipWhitespace();
    if (pos !== len) throw fail('Extra data', pos);
    return value;
  } finally {
    src = ''; // do not keep session data reachable after the call
    lastObjectKeys = [];
  }
}

function fail(msg: string, at: number): PyJsonDecodeError {
  return new PyJsonDecodeError(msg, src, at);
}

/** Python's json whitespace is exactly space, tab, LF and CR. */
function skipWhitespace(): void {
  while (pos < len) {
    const c = src.charCodeAt(pos);
    if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) pos++;
    else return;
  }
}

function hasLiteral(word: string): boolean {
  return src.startsWith(word, pos);
}

function parseValue(depth: number): PyValue {
  // Out of input reads as NaN here and falls through to the number scanner, which reports
  // "Expecting value" at pos, as CPython's StopIteration does.
  switch (src.charCodeAt(pos)) {
    case QUOTE:
      pos++;
      return parseString(pos - 1);
    case OPEN_BRACE:
      return parseObject(depth + 1);
    case OPEN_BRACKET:
      return parseArray(depth + 1);
    case 0x6e: // n
      if (hasLiteral('null')) {
        pos += 4;
        return null;
      }
      break;
    case 0x74: // t
      if (hasLiteral('true')) {
        pos += 4;
        return true;
      }
      break;
    case 0x66: // f
      if (hasLiteral('false')) {
        pos += 5;
        return false;
      }
      break;
    case 0x4e: // N
      if (hasLiteral('NaN')) {
        pos += 3;
        return NaN;
      }
      break;
    case 0x49: // I
      if (hasLiteral('Infinity')) {
        pos += 8;
        return Infinity;
      }
      break;
    case MINUS:
      if (hasLiteral('-Infinity')) {
        pos += 9;
        return -Infinity;
      }
      break;
  }
  return parseNumber();
}

function isDigit(c: number): boolean {
  return c >= DIGIT_0 && c <= DIGIT_9;
}

/**
 * Python's number grammar: -?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)? . A '.' or exponent not
 * followed by digits is left unconsumed (so "1." is the int 1 followed by extra data).
 */
function parseNumber(): PyValue {
  const start = pos;
  let i = pos;
  let c = src.charCodeAt(i);
  const negative = c === MINUS;
  if (negative) c = src.charCodeAt(++i);
  const intStart = i;
  if (c >= DIGIT_1 && c <= DIGIT_9) {
    i++;
    while (i < len && isDigit(src.charCodeAt(i))) i++;
  } else if (c === DIGIT_0) {
    i++;
  } else {
    throw fail('Expecting value', start);
  }
  const intEnd = i;
  let isFloat = false;
  if (src.charCodeAt(i) === 0x2e && isDigit(src.charCodeAt(i + 1))) {
    isFloat = true;
    i += 2;
    while (i < len && isDigit(src.charCodeAt(i))) i++;
  }
  c = src.charCodeAt(i);
  if (c === 0x65 || c === 0x45) {
    let j = i + 1;
    c = src.charCodeAt(j);
    if (c === 0x2b || c === MINUS) j++;
    const digitsStart = j;
    while (j < len && isDigit(src.charCodeAt(j))) j++;
    if (j > digitsStart) {
      isFloat = true;
      i = j;
    }
  }
  pos = i;

  if (isFloat) {
    const f = Number(src.slice(start, i)); // correctly rounded, like Python's float()
    // Integral floats (and -0.0, 1e-400 -> 0.0) would read back as ints: keep them marked.
    return Number.isInteger(f) ? new PyFloat(f) : f;
  }
  const digits = intEnd - intStart;
  if (digits <= FAST_INT_DIGITS) {
    let n = 0;
    for (let k = intStart; k < intEnd; k++) n = n * 10 + (src.charCodeAt(k) - DIGIT_0);
    return negative ? 0 - n : n; // 0 - 0 is +0: Python's int("-0") is 0
  }
  if (digits > PY_INT_MAX_STR_DIGITS) {
    throw new PyJsonDecodeError(
      `Exceeds the limit (${PY_INT_MAX_STR_DIGITS} digits) for integer string conversion: ` +
        `value has ${digits} digits; use sys.set_int_max_str_digits() to increase the limit`,
      src,
      start,
      'ValueError',
    );
  }
  const big = BigInt(src.slice(start, i));
  return big <= MAX_SAFE_BIG && big >= MIN_SAFE_BIG ? Number(big) : big;
}

/** A run of string chars that need no attention: not `"`, not `\`, not a control char. */
const PLAIN_RUN = /[^"\\\x00-\x1f]*/y;

function hexValue(c: number): number {
  if (c >= DIGIT_0 && c <= DIGIT_9) return c - DIGIT_0;
  if (c >= 0x61 && c <= 0x66) return c - 0x57; // a-f
  if (c >= 0x41 && c <= 0x46) return c - 0x37; // A-F
  return -1;
}

/**
 * Scan a string whose opening quote is at `quoteAt`; `pos` is just past it. Strict mode: raw
 * control characters are errors. `\uXXXX` escapes become UTF-16 code units one by one, which is
 * exactly what Python's surrogate-pair joining amounts to in a UTF-16 string.
 */
function parseString(quoteAt: number): string {
  let out = '';
  let chunkStart = pos;
  for (;;) {
    // The regex engine skips a run of plain chars about twice as fast as a charCodeAt loop.
    PLAIN_RUN.lastIndex = pos;
    PLAIN_RUN.test(src);
    const i = PLAIN_RUN.lastIndex;
    if (i >= len) throw fail('Unterminated string starting at', quoteAt);
    const c = src.charCodeAt(i);
    if (c === QUOTE) {
      pos = i + 1;
      if (out === '') {
        lastStringPlain = true;
        return src.slice(chunkStart, i);
      }
      lastStringPlain = false;
      return out + src.slice(chunkStart, i);
    }
    if (c !== BACKSLASH) throw fail('Invalid control character at', i);

    out += src.slice(chunkStart, i);
    const escAt = i + 1;
    if (escAt >= len) throw fail('Unterminated string starting at', quoteAt);
    const e = src.charCodeAt(escAt);
    if (e === 0x75) {
      // u: CPython needs 4 hex digits *and* at least one more char after them.
      if (escAt + 5 >= len) throw fail('Invalid \\uXXXX escape', escAt);
      const unit =
        (hexValue(src.charCodeAt(escAt + 1)) << 12) |
        (hexValue(src.charCodeAt(escAt + 2)) << 8) |
        (hexValue(src.charCodeAt(escAt + 3)) << 4) |
        hexValue(src.charCodeAt(escAt + 4));
      // Any -1 from hexValue sets the sign bit of the combined value.
      if (unit < 0) throw fail('Invalid \\uXXXX escape', escAt);
      out += String.fromCharCode(unit);
      pos = escAt + 5;
    } else {
      switch (e) {
        case QUOTE:
          out += '"';
          break;
        case BACKSLASH:
          out += '\\';
          break;
        case 0x2f:
          out += '/';
          break;
        case 0x62:
          out += '\b';
          break;
        case 0x66:
          out += '\f';
          break;
        case 0x6e:
          out += '\n';
          break;
        case 0x72:
          out += '\r';
          break;
        case 0x74:
          out += '\t';
          break;
        default:
          throw fail('Invalid \\escape', i);
      }
      pos = escAt + 1;
    }
    chunkStart = pos;
  }
}

function tooDeep(kind: string): PyJsonDecodeError {
  return new PyJsonDecodeError(
    `maximum recursion depth exceeded while decoding a JSON ${kind} from a unicode string`,
    src,
    pos,
    'RecursionError',
  );
}

function parseArray(depth: number): PyValue[] {
  if (depth > MAX_DECODE_DEPTH) throw tooDeep('array');
  pos++;
  skipWhitespace();
  const list: PyValue[] = [];
  if (src.charCodeAt(pos) === CLOSE_BRACKET) {
    pos++;
    return list;
  }
  let siblingKeys: (string | null)[] | null = null;
  for (;;) {
    // Lists of dicts usually repeat one set of keys: each dict is offered its predecessor's.
    if (src.charCodeAt(pos) === OPEN_BRACE) {
      list.push(parseObject(depth + 1, siblingKeys));
      siblingKeys = lastObjectKeys;
    } else {
      list.push(parseValue(depth));
    }
    skipWhitespace();
    const c = src.charCodeAt(pos);
    if (c === CLOSE_BRACKET) {
      pos++;
      return list;
    }
    if (c !== COMMA) throw fail("Expecting ',' delimiter", pos);
    pos++;
    skipWhitespace();
  }
}

const hasOwn = Object.prototype.hasOwnProperty;

/**
 * Parse a dict into a plain object. Re-assigning a duplicate key keeps its first position, which
 * is Python's dict semantics. JS lists integer-like keys first; when a key starting with a digit
 * shows up we start recording the parse order and attach it (PY_KEY_ORDER) only if JS's order
 * really differs. Objects without such keys pay nothing.
 */
function parseObject(depth: number, expectedKeys: readonly (string | null)[] | null = null): PyDict {
  if (depth > MAX_DECODE_DEPTH) throw tooDeep('object');
  pos++;
  skipWhitespace();
  const dict: PyDict = {};
  const keys: (string | null)[] = [];
  lastObjectKeys = keys;
  if (src.charCodeAt(pos) === CLOSE_BRACE) {
    pos++;
    return dict;
  }
  let order: string[] | null = null;
  for (;;) {
    if (src.charCodeAt(pos) !== QUOTE) {
      throw fail('Expecting property name enclosed in double quotes', pos);
    }
    pos++;
    // The expected key, when it is spelled here verbatim, is this key: plain keys have no escapes and
    // no character that could end or escape a string early. Reusing it skips the scan, the slice and
    // V8's internalizing of a fresh key string.
    const expected = expectedKeys === null ? undefined : expectedKeys[keys.length];
    let key: string;
    if (typeof expected === 'string' && src.startsWith(expected, pos) && src.charCodeAt(pos + expected.length) === QUOTE) {
      key = expected;
      pos += expected.length + 1;
      keys.push(key);
    } else {
      key = parseString(pos - 1);
      keys.push(lastStringPlain ? key : null);
    }
    skipWhitespace();
    if (src.charCodeAt(pos) !== COLON) throw fail("Expecting ':' delimiter", pos);
    pos++;
    skipWhitespace();
    const value = parseValue(depth);
    lastObjectKeys = keys; // nested dicts in the value overwrote it

    if (order !== null) {
      if (!hasOwn.call(dict, key)) order.push(key);
    } else {
      const k0 = key.charCodeAt(0);
      if (k0 >= DIGIT_0 && k0 <= DIGIT_9 && !hasOwn.call(dict, key)) {
        // Up to here JS order and parse order agreed, so Object.keys is the parse order so far.
        order = Object.keys(dict);
        order.push(key);
      }
    }
    if (key === '__proto__') {
      // Plain assignment would replace the prototype instead of storing data.
      Object.defineProperty(dict, key, { value, writable: true, enumerable: true, configurable: true });
    } else {
      dict[key] = value;
    }

    skipWhitespace();
    const c = src.charCodeAt(pos);
    if (c === CLOSE_BRACE) {
      pos++;
      break;
    }
    if (c !== COMMA) throw fail("Expecting ',' delimiter", pos);
    pos++;
    skipWhitespace();
  }
  if (order !== null && !sameKeys(order, Object.keys(dict))) {
    Object.defineProperty(dict, PY_KEY_ORDER, { value: order, writable: true, configurable: true });
  }
  return dict;
}

function sameKeys(a: string[], b: string[]): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
