/**
 * The fast path of `pyLoads`: V8's JSON.parse (native, about 1.8x faster than the exact parser on
 * session data), used only for documents where its result is provably the one the exact parser
 * builds. Where JSON.parse and Python differ:
 *
 *   - integral floats (`1.0`, `1.5e3`, `1E5`, `-0.0`, `1e-400` that underflows to 0.0): JSON.parse
 *     gives an int-like number, Python a float (our PyFloat). Spotted in the text: every number
 *     token with a `.` or an exponent is read, and an integral one sends the text to the exact parser;
 *   - integers of 16+ digits (maybe beyond 2^53, maybe beyond Python's digit limit), the int `-0`,
 *     and numbers that overflow: spotted in JSON.parse's result (|n| >= 1e15, -0, or Infinity);
 *   - dict keys starting with a digit (JS lists integer-like keys first, Python keeps parse order):
 *     spotted in the result;
 *   - nesting deeper than MAX_DECODE_DEPTH (Python raises RecursionError): spotted in the result;
 *   - NaN, Infinity, -Infinity, and every error: JSON.parse throws, and the exact parser gives
 *     Python's value or Python's error message.
 *
 * Everything else agrees: the grammar (numbers, the escape set, raw control characters refused,
 * JSON's four whitespace characters), lone surrogates from `\u` escapes, duplicate keys (first
 * position, last value, as in a Python dict), `__proto__` as an ordinary own key, Object.prototype
 * as every dict's prototype.
 *
 * The text checks are conservative: a string that merely contains something number-like
 * (`"v1.0"`, `"x 1e5"`) also sends the text to the exact parser. That costs time, never correctness.
 */
import { MAX_DECODE_DEPTH } from './limits.ts';
import type { PyValue } from './types.ts';

/**
 * Below this many characters the checks cost more than JSON.parse saves (a 200-byte login session
 * parses faster exactly); from about 500 on the fast path wins, by ~25% at 10 KB (bench/codec.ts).
 */
export const FAST_MIN_LENGTH = 512;

/** A digit, then an exponent: where number tokens without a `.` may still be floats. */
const EXPONENT = /\d[eE][-+]?\d/g;

/** `{` or `[` after optional JSON whitespace: the only top levels the fast path takes. */
const CONTAINER_START = /^[ \t\n\r]*[{[]/;

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** A character that may occur in a number token: digits, `.`, `e`, `E`, `+`, `-`. */
function isNumberChar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x65 || c === 0x45 || c === 0x2b || c === 0x2d;
}

/**
 * True when the run of number characters around `at` stands where a JSON number can (after
 * `:`, `,`, `[`, whitespace, or at the start) and reads as an integral double. Runs inside
 * strings that fit these rules count too (conservative); runs glued to letters (hex digits,
 * `SKU-1e5a`) cannot be number tokens in valid JSON and are ignored.
 */
function integralTokenAt(text: string, at: number): boolean {
  let start = at;
  while (start > 0 && isNumberChar(text.charCodeAt(start - 1))) start--;
  if (start > 0) {
    const before = text.charCodeAt(start - 1);
    if (before !== 0x3a && before !== 0x2c && before !== 0x5b && before !== 0x20 && before !== 0x0a && before !== 0x0d && before !== 0x09) {
      return false;
    }
  }
  let end = at;
  while (end < text.length && isNumberChar(text.charCodeAt(end))) end++;
  return Number.isInteger(Number(text.slice(start, end)));
}

/**
 * True when the digits around the `.` at `dot` certainly make a non-integral double: a non-zero
 * fraction, no exponent, at most 15 digits in all. (A non-integer decimal of at most 15 significant
 * digits is at least 10^-f from every integer, f its fraction digits, while it is below 10^(15-f), so
 * its double is off by less than 10^(15-f) * 2^-53 < 10^-f and cannot be an integer.)
 * This answers the common case (prices and the like) without converting the token.
 */
function plainlyFractional(text: string, dot: number): boolean {
  let digits = 0;
  for (let i = dot - 1; i >= 0 && isDigit(text.charCodeAt(i)); i--) digits++;
  let nonZero = false;
  let i = dot + 1;
  for (; isDigit(text.charCodeAt(i)); i++) {
    digits++;
    if (text.charCodeAt(i) !== 0x30) nonZero = true;
  }
  const next = text.charCodeAt(i);
  return nonZero && digits <= 15 && next !== 0x65 && next !== 0x45;
}

/** True when some float token in the text (with `.` or an exponent) is integral. */
function hasIntegralFloat(text: string): boolean {
  for (let dot = text.indexOf('.'); dot >= 0; dot = text.indexOf('.', dot + 1)) {
    if (!isDigit(text.charCodeAt(dot - 1)) || !isDigit(text.charCodeAt(dot + 1))) continue;
    if (!plainlyFractional(text, dot) && integralTokenAt(text, dot)) return true;
  }
  EXPONENT.lastIndex = 0;
  for (let m = EXPONENT.exec(text); m !== null; m = EXPONENT.exec(text)) {
    if (integralTokenAt(text, m.index)) return true;
    EXPONENT.lastIndex = m.index + 1; // tokens may overlap the match
  }
  return false;
}

/** Whether JSON.parse's value (a container at `depth`) is what the exact parser builds. */
function faithfulContainer(value: object, depth: number): boolean {
  if (depth > MAX_DECODE_DEPTH) return false;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (!faithful(value[i], depth)) return false;
    return true;
  }
  const dict = value as Record<string, unknown>;
  for (const key in dict) {
    if (isDigit(key.charCodeAt(0)) || !faithful(dict[key], depth)) return false;
  }
  return true;
}

function faithful(value: unknown, depth: number): boolean {
  if (typeof value === 'number') {
    // Integers of 16+ digits (all >= 1e15, or Infinity once beyond the double range), -0, and any
    // overflow to Infinity need the exact parser; the other numbers are exact.
    if (!Number.isInteger(value)) return Number.isFinite(value);
    return value !== 0 ? value < 1e15 && value > -1e15 : 1 / value > 0;
  }
  return typeof value !== 'object' || value === null || faithfulContainer(value, depth + 1);
}

/**
 * The parsed value when JSON.parse gets this text exactly right, otherwise undefined (the caller then
 * runs the exact parser, which also produces every error).
 */
export function fastPyLoads(text: string): PyValue | undefined {
  if (text.length < FAST_MIN_LENGTH || !CONTAINER_START.test(text) || hasIntegralFloat(text)) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  return faithfulContainer(value as object, 1) ? (value as PyValue) : undefined;
}
