/**
 * `json.dumps(obj, separators=(",", ":"))` with every other option at Python's default
 * (ensure_ascii=True, allow_nan=True, check_circular=True), as Django's JSONSerializer calls it.
 * The result is pure ASCII, byte for byte what Python writes.
 */
import { pyDictKeys } from './dict-order.ts';
import { PyJsonEncodeError } from './errors.ts';
import { fastPyDumps } from './fast-stringify.ts';
import { pyFloatRepr, pyIntRepr } from './float-repr.ts';
import { MAX_ENCODE_DEPTH, PY_INT_MAX_STR_DIGITS } from './limits.ts';
import { PyFloat, isPyFloat, type PyDict, type PyValue } from './types.ts';

/** Any char that is not printable ASCII, or is `"` or `\`. */
const NEEDS_ESCAPE = /[^\x20\x21\x23-\x5b\x5d-\x7e]/;

/** Escapes for U+0000..U+00FF: short forms where Python has them, else lower-case `\u00xx`. */
const LATIN1_ESCAPES: string[] = Array.from({ length: 256 }, (_, c) => '\\u' + c.toString(16).padStart(4, '0'));
LATIN1_ESCAPES[0x22] = '\\"';
LATIN1_ESCAPES[0x5c] = '\\\\';
LATIN1_ESCAPES[0x0a] = '\\n';
LATIN1_ESCAPES[0x0d] = '\\r';
LATIN1_ESCAPES[0x09] = '\\t';
LATIN1_ESCAPES[0x08] = '\\b';
LATIN1_ESCAPES[0x0c] = '\\f';

/** Python's `encode_basestring_ascii`: the quoted, escaped string. */
export function pyQuote(s: string): string {
  if (!NEEDS_ESCAPE.test(s)) return '"' + s + '"';
  let out = '"';
  let runStart = 0;
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c <= 0x7e && c !== 0x22 && c !== 0x5c) continue;
    if (i > runStart) out += s.slice(runStart, i);
    // UTF-16 code units map 1:1 onto Python's escapes: astral chars are already surrogate pairs,
    // lone surrogates are escaped as themselves, just as Python does.
    out += c < 0x100 ? LATIN1_ESCAPES[c] : c < 0x1000 ? '\\u0' + c.toString(16) : '\\u' + c.toString(16);
    runStart = i + 1;
  }
  if (runStart < n) out += s.slice(runStart);
  return out + '"';
}

/**
 * Serialise a value exactly as Django's JSONSerializer would (the text, before latin-1 encoding).
 *
 * Arrays and objects that are plain data go through JSON.stringify (fast-stringify.ts), at the top
 * level or, for the session codec's top-level Map, as each entry's value; everything else, and
 * every error, through the writer below.
 */
export function pyDumps(value: PyValue): string {
  try {
    return encodeValue(value, 0, true);
  } catch (err) {
    if (err instanceof EncodeFailure) throw err.toPublic();
    throw err;
  }
}

/**
 * Internal failure that unwinds through the containers, each adding its key to the path and
 * itself to the ancestor list. This keeps the success path free of bookkeeping: no path or
 * "currently encoding" set is maintained unless something goes wrong.
 */
class EncodeFailure {
  readonly path: (string | number)[] = [];
  readonly ancestors: object[] = [];
  constructor(
    readonly kind: 'type' | 'key' | 'int-digits' | 'depth',
    readonly typeName: string,
  ) {}

  toPublic(): PyJsonEncodeError {
    if (this.kind === 'depth') {
      // Any cycle drives the depth past the limit. Ancestors were collected innermost first;
      // the first container that reappears closes the cycle: report the path to that reappearance.
      const outermostFirst = this.ancestors.slice().reverse();
      const seen = new Set<object>();
      for (let i = 0; i < outermostFirst.length; i++) {
        const container = outermostFirst[i] as object;
        if (seen.has(container)) {
          const path = formatPath(this.path.slice(0, i));
          return new PyJsonEncodeError('Circular reference detected', 'ValueError', path);
        }
        seen.add(container);
      }
    }
    const path = formatPath(this.path);
    switch (this.kind) {
      case 'type':
        return new PyJsonEncodeError(`Object of type ${this.typeName} is not JSON serializable`, 'TypeError', path);
      case 'key':
        // Python would also accept int/float/bool/None keys; our model only has str keys.
        return new PyJsonEncodeError(`keys must be str, not ${this.typeName}`, 'TypeError', path);
      case 'int-digits':
        return new PyJsonEncodeError(
          `Exceeds the limit (${PY_INT_MAX_STR_DIGITS} digits) for integer string conversion; ` +
            'use sys.set_int_max_str_digits() to increase the limit',
          'ValueError',
          path,
        );
      case 'depth':
        return new PyJsonEncodeError(
          `maximum recursion depth exceeded while encoding a JSON ${this.typeName}`,
          'RecursionError',
          path,
        );
    }
  }
}

/** `$["user"][2]`: JSONPath-like, keys quoted with JSON escapes. */
function formatPath(segments: readonly (string | number)[]): string {
  let out = '$';
  for (const s of segments) out += '[' + (typeof s === 'number' ? String(s) : JSON.stringify(s)) + ']';
  return out;
}

function typeNameOf(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v !== 'object') return typeof v;
  const ctor = (v as { constructor?: unknown }).constructor;
  return typeof ctor === 'function' && ctor.name ? ctor.name : 'object';
}

/** The exact writer alone, without the JSON.stringify fast path: the reference the fast path must match. */
export function pyDumpsExact(value: PyValue): string {
  try {
    return encodeValue(value, 0, false);
  } catch (err) {
    if (err instanceof EncodeFailure) throw err.toPublic();
    throw err;
  }
}

/**
 * `fast`: try JSON.stringify for an array or object here (pyDumps passes it for the top level and
 * the top-level Map passes it on to its values; deeper down a failed try would only be repeated).
 */
function encodeValue(value: PyValue, depth: number, fast = false): string {
  switch (typeof value) {
    case 'string':
      return pyQuote(value);
    case 'number':
      if (!Number.isInteger(value)) return pyFloatRepr(value);
      return value === 0 && 1 / value < 0 ? '-0.0' : pyIntRepr(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'bigint':
      return encodeBigInt(value);
    case 'object': {
      if (value === null) return 'null';
      if (value instanceof PyFloat) return pyFloatRepr(value.value);
      if (fast && !(value instanceof Map)) {
        const json = fastPyDumps(value, depth + 1);
        if (json !== undefined) return json;
      }
      if (Array.isArray(value)) return encodeList(value, depth + 1);
      if (value instanceof Map) return encodeMap(value, depth + 1, fast);
      const proto: unknown = Object.getPrototypeOf(value);
      if (proto === Object.prototype || proto === null) return encodeDict(value as PyDict, depth + 1);
      if (isPyFloat(value)) return pyFloatRepr(value.value); // a PyFloat from another module copy
      throw new EncodeFailure('type', typeNameOf(value));
    }
    default:
      throw new EncodeFailure('type', typeNameOf(value));
  }
}

function tooDeep(container: object, kind: string): EncodeFailure {
  const failure = new EncodeFailure('depth', kind);
  failure.ancestors.push(container);
  return failure;
}

function encodeBigInt(n: bigint): string {
  const s = n.toString();
  const digits = n < 0n ? s.length - 1 : s.length;
  if (digits > PY_INT_MAX_STR_DIGITS) throw new EncodeFailure('int-digits', 'int');
  return s;
}

function encodeList(list: PyValue[], depth: number): string {
  if (depth > MAX_ENCODE_DEPTH) throw tooDeep(list, 'array');
  const n = list.length;
  if (n === 0) return '[]';
  let i = 0;
  try {
    let out = '[' + encodeValue(list[0] as PyValue, depth);
    for (i = 1; i < n; i++) out += ',' + encodeValue(list[i] as PyValue, depth);
    return out + ']';
  } catch (err) {
    if (err instanceof EncodeFailure) {
      err.path.unshift(i);
      err.ancestors.push(list);
    }
    throw err;
  }
}

function encodeDict(dict: PyDict, depth: number): string {
  if (depth > MAX_ENCODE_DEPTH) throw tooDeep(dict, 'object');
  const keys = pyDictKeys(dict);
  const n = keys.length;
  if (n === 0) return '{}';
  let key = '';
  try {
    let out = '{';
    for (let i = 0; i < n; i++) {
      key = keys[i] as string;
      out += (i === 0 ? '' : ',') + pyQuote(key) + ':' + encodeValue(dict[key] as PyValue, depth);
    }
    return out + '}';
  } catch (err) {
    if (err instanceof EncodeFailure) {
      err.path.unshift(key);
      err.ancestors.push(dict);
    }
    throw err;
  }
}

function encodeMap(map: Map<string, PyValue>, depth: number, fast: boolean): string {
  if (depth > MAX_ENCODE_DEPTH) throw tooDeep(map, 'object');
  if (map.size === 0) return '{}';
  let key = '';
  let badKey = false;
  try {
    let out = '{';
    let first = true;
    for (const [k, v] of map) {
      if (typeof k !== 'string') {
        badKey = true;
        throw new EncodeFailure('key', typeNameOf(k));
      }
      key = k;
      out += (first ? '' : ',') + pyQuote(k) + ':' + encodeValue(v, depth, fast && depth === 1);
      first = false;
    }
    return out + '}';
  } catch (err) {
    if (err instanceof EncodeFailure) {
      // A bad key is reported at the map itself, a bad value at its entry.
      if (!badKey) err.path.unshift(key);
      err.ancestors.push(map);
    }
    throw err;
  }
}
