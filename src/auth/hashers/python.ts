/**
 * The few pieces of Python's own semantics that Django's hashers lean on when they take an encoded
 * hash apart: `str.split(sep, maxsplit)`, `int(text)`, `base64.b64decode` (only the length of what
 * it yields, and whether it raises) and strict UTF-8 encoding. Reproducing them exactly is what
 * makes a malformed hash raise here exactly when it raises in Django, and nowhere else.
 */

/** Python's `text.split(sep, maxsplit)`: at most `maxsplit` splits, counted from the left. */
export function pySplit(text: string, sep: string, maxsplit: number = -1): string[] {
  const parts: string[] = [];
  let start = 0;
  while (maxsplit < 0 || parts.length < maxsplit) {
    const at = text.indexOf(sep, start);
    if (at < 0) break;
    parts.push(text.slice(start, at));
    start = at + sep.length;
  }
  parts.push(text.slice(start));
  return parts;
}

// str.isspace() in CPython 3.11 (Unicode 14): the characters int() strips around a number.
const PY_WHITESPACE = /^[\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+|[\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/g;
const DECIMAL_DIGIT = /^\p{Nd}$/u;
// CPython 3.11's default limit on the digits int() converts (sys.int_info.str_digits_check_threshold).
const PY_INT_MAX_STR_DIGITS = 4300;

/** Value of one Unicode decimal digit: every `Nd` block is a run of ten, starting at zero. */
function digitValue(codePoint: number): number {
  if (codePoint >= 0x30 && codePoint <= 0x39) return codePoint - 0x30;
  let start = codePoint;
  while (start > 0 && DECIMAL_DIGIT.test(String.fromCodePoint(start - 1))) start--;
  return (codePoint - start) % 10;
}

/**
 * Python's `int(text)` for a `str`: surrounding whitespace, a sign, any Unicode decimal digits and
 * single underscores between digits are accepted. Returns `null` where Python raises `ValueError`.
 * Values beyond 2^53 lose precision, which is harmless here: they only ever meet `!=` against a
 * small default, or a hash function that rejects them as Python's does.
 */
export function parsePythonInt(text: string): number | null {
  const body = text.replace(PY_WHITESPACE, '');
  let index = 0;
  let sign = 1;
  if (body[0] === '+' || body[0] === '-') {
    sign = body[0] === '-' ? -1 : 1;
    index = 1;
  }
  let value = 0;
  let digits = 0;
  let previousWasDigit = false;
  for (const char of body.slice(index)) {
    if (char === '_') {
      if (!previousWasDigit) return null;
      previousWasDigit = false;
      continue;
    }
    const codePoint = char.codePointAt(0) as number;
    if (!(codePoint >= 0x30 && codePoint <= 0x39) && !DECIMAL_DIGIT.test(char)) return null;
    value = value * 10 + digitValue(codePoint);
    digits++;
    previousWasDigit = true;
  }
  if (digits === 0 || !previousWasDigit || digits > PY_INT_MAX_STR_DIGITS) return null;
  return sign * value;
}

const B64_STANDARD = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const NON_ASCII = /[^\x00-\x7f]/;
const B64_INDEX = new Int8Array(128).fill(-1);
for (let i = 0; i < B64_STANDARD.length; i++) B64_INDEX[B64_STANDARD.charCodeAt(i)] = i;

/**
 * Number of bytes `base64.b64decode(text)` (non-validating, standard alphabet) returns, or `null`
 * where it raises: a non-ASCII `str`, or a data length that is 1 more than a multiple of 4, or
 * missing padding. Mirrors CPython 3.11's `binascii.a2b_base64` (characters outside the alphabet
 * are skipped; a complete pad sequence ends the input).
 */
export function pythonB64DecodedLength(text: string): number | null {
  let quadPos = 0;
  let pads = 0;
  let length = 0;
  // b64decode first encodes the str as ASCII, so a non-ASCII character anywhere raises.
  if (NON_ASCII.test(text)) return null;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 0x3d /* = */) {
      if (quadPos >= 2 && quadPos + ++pads >= 4) return length;
      continue;
    }
    if (B64_INDEX[code] === -1) continue;
    pads = 0;
    if (quadPos !== 0) length++;
    quadPos = (quadPos + 1) % 4;
  }
  return quadPos === 0 ? length : null;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Python's `text.encode()` (strict UTF-8): `null` for a lone surrogate, where Python raises. */
export function encodeUtf8Strict(text: string): Buffer | null {
  if (LONE_SURROGATE.test(text)) return null;
  return Buffer.from(text, 'utf8');
}

/** Python's `len(text)`: code points, not UTF-16 units. */
export function pyLen(text: string): number {
  let length = text.length;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        length--;
        i++;
      }
    }
  }
  return length;
}
