/**
 * The pickle subset Django's Redis caches hold session dicts in, and nothing more.
 *
 * Django's cache engines do not store the signed JSON the `db` engine writes: the cache backend pickles
 * the session dict itself (django-redis: `pickle.dumps(value, pickle.DEFAULT_PROTOCOL)`, protocol 4;
 * Django's own `RedisCache`: `pickle.HIGHEST_PROTOCOL`, 5). So this module speaks pickle, but only the
 * part of it that can hold what a JSON session can hold:
 *
 *   dict (str keys) · list · tuple (read as a list) · str · int (any size) · float · bool · None
 *
 * **Writing** (`pickleDumps`) produces the bytes CPython's C pickler writes for the same dict as
 * `json.loads` returns it: the same opcodes, the same batching (MARK … SETITEMS / APPENDS in runs of
 * 1000, SETITEM / APPEND for a single item, an empty trailing SETITEMS batch after an exact multiple
 * of 1000 items, as `_pickle.c` does), the same protocol-4 framing (a frame is closed at the start of
 * the first object saved after it reached 64 KiB; strings of 64 KiB or more go unframed), and the same
 * memo references. Memo references follow object identity in Python, which JS cannot see, so we model
 * the identities `json.loads` gives: every dict key is one object per distinct text (the decoder
 * memoizes keys), and so are the empty string and one-character Latin-1 strings anywhere (CPython
 * singletons); any other value string is a fresh object. For other dicts (built by Python code) the
 * bytes may differ in those references only; Python reads both to equal values.
 *
 * **Reading** (`pickleLoads`) is an opcode machine for that subset only. It never looks anything up,
 * imports or calls anything: GLOBAL, STACK_GLOBAL, REDUCE, BUILD, INST, OBJ, NEWOBJ(_EX), EXT1/2/4,
 * PERSID/BINPERSID and every other opcode outside the subset are refused, as are the text opcodes of
 * protocols 0/1 (a pickle must start with PROTO 2..5, as every pickle Django's caches write does).
 * Lengths are checked against the bytes present before anything is allocated; truncation, a missing
 * STOP, trailing bytes, stack/mark underflow, unknown memo indexes, dict keys that are not str, APPEND
 * to a tuple, SETITEM on a list, integers longer than Python will print (4300 digits), nesting deeper
 * than Python's json can decode, reference cycles, and shared references that would expand past a
 * million nodes are all refused with UnpicklingError. Callers turn that into Django's "no session".
 *
 * Strings travel as UTF-8 with `surrogatepass`, as pickle does, so lone surrogates survive.
 */
import { pyDictKeys, pyDictToMap } from '../../pyjson/dict-order.ts';
import { MAX_DECODE_DEPTH, MAX_ENCODE_DEPTH, PY_INT_MAX_STR_DIGITS } from '../../pyjson/limits.ts';
import { isPyFloat, PY_KEY_ORDER, PyFloat, type PyDict, type PyValue, type SessionDict } from '../../pyjson/types.ts';

export type PickleProtocol = 2 | 3 | 4 | 5;

/** `pickle.DEFAULT_PROTOCOL` on Python 3.8+: what django-redis's PickleSerializer writes. */
export const DEFAULT_PROTOCOL: PickleProtocol = 4;
/** `pickle.HIGHEST_PROTOCOL` on Python 3.8+: what Django's built-in RedisSerializer writes. */
export const HIGHEST_PROTOCOL: PickleProtocol = 5;

// ---- Errors ------------------------------------------------------------------------------------

/** Root of the pickle errors. */
export class PickleError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A value outside the subset (or nested too deeply) was given to pickleDumps. */
export class PicklingError extends PickleError {
  constructor(
    message: string,
    /** Where in the value: keys and list indexes from the top. */
    readonly path: readonly (string | number)[],
  ) {
    super(path.length === 0 ? message : `${message} (at ${path.map((p) => JSON.stringify(p)).join(' → ')})`);
  }
}

/** Bytes that are not a pickle of the subset. Nothing was executed; the data is simply refused. */
export class UnpicklingError extends PickleError {
  constructor(
    message: string,
    /** Byte offset of the opcode (or of the problem) in the input. */
    readonly offset: number,
    /** The opcode byte, when the problem is one opcode. */
    readonly opcode: number | null = null,
  ) {
    super(`${message} at byte ${offset}${opcode === null ? '' : ` (opcode 0x${opcode.toString(16).padStart(2, '0')})`}`);
  }
}

// ---- Opcodes (Lib/pickle.py names) --------------------------------------------------------------

const MARK = 0x28; // (
const STOP = 0x2e; // .
const BININT = 0x4a; // J
const BININT1 = 0x4b; // K
const BININT2 = 0x4d; // M
const NONE = 0x4e; // N
const BINUNICODE = 0x58; // X
const APPEND = 0x61; // a
const EMPTY_DICT = 0x7d; // }
const APPENDS = 0x65; // e
const BINGET = 0x68; // h
const LONG_BINGET = 0x6a; // j
const EMPTY_LIST = 0x5d; // ]
const BINPUT = 0x71; // q
const LONG_BINPUT = 0x72; // r
const SETITEM = 0x73; // s
const TUPLE = 0x74; // t
const EMPTY_TUPLE = 0x29; // )
const SETITEMS = 0x75; // u
const BINFLOAT = 0x47; // G
const PROTO = 0x80;
const TUPLE1 = 0x85;
const TUPLE2 = 0x86;
const TUPLE3 = 0x87;
const NEWTRUE = 0x88;
const NEWFALSE = 0x89;
const LONG1 = 0x8a;
const LONG4 = 0x8b;
const SHORT_BINUNICODE = 0x8c;
const BINUNICODE8 = 0x8d;
const MEMOIZE = 0x94;
const FRAME = 0x95;

/** Names of the opcodes we refuse, for messages that say what was found. */
const REFUSED_NAMES: Readonly<Record<number, string>> = {
  0x63: 'GLOBAL',
  0x93: 'STACK_GLOBAL',
  0x52: 'REDUCE',
  0x62: 'BUILD',
  0x69: 'INST',
  0x6f: 'OBJ',
  0x81: 'NEWOBJ',
  0x92: 'NEWOBJ_EX',
  0x82: 'EXT1',
  0x83: 'EXT2',
  0x84: 'EXT4',
  0x50: 'PERSID',
  0x51: 'BINPERSID',
  0x30: 'POP',
  0x31: 'POP_MARK',
  0x32: 'DUP',
  0x46: 'FLOAT',
  0x49: 'INT',
  0x4c: 'LONG',
  0x53: 'STRING',
  0x54: 'BINSTRING',
  0x55: 'SHORT_BINSTRING',
  0x56: 'UNICODE',
  0x42: 'BINBYTES',
  0x43: 'SHORT_BINBYTES',
  0x8e: 'BINBYTES8',
  0x8f: 'EMPTY_SET',
  0x90: 'ADDITEMS',
  0x91: 'FROZENSET',
  0x96: 'BYTEARRAY8',
  0x97: 'NEXT_BUFFER',
  0x98: 'READONLY_BUFFER',
  0x64: 'DICT',
  0x6c: 'LIST',
  0x67: 'GET',
  0x70: 'PUT',
};

/** CPython's `_FRAME_SIZE_TARGET`: frames close once they hold this much; larger strings go unframed. */
const FRAME_SIZE_TARGET = 64 * 1024;
/** CPython's `_FRAME_SIZE_MIN`: a smaller frame is written without its FRAME header. */
const FRAME_SIZE_MIN = 4;
const FRAME_HEADER_SIZE = 9;
/** `BATCHSIZE` of both picklers. */
const BATCH_SIZE = 1000;

/** Nodes a loaded value may expand to through shared references (a tree has fewer nodes than bytes). */
export const MAX_EXPANDED_NODES = 1_000_000;

// ---- UTF-8 with surrogatepass -----------------------------------------------------------------

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** `s.encode('utf-8', 'surrogatepass')` for a string with lone surrogates (the rare, slow path). */
function encodeSurrogatePass(s: string): Buffer {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
      }
    }
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 0x3f));
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f));
    else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 0x3f), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f));
  }
  return Buffer.from(out);
}

/**
 * `data.decode('utf-8', 'surrogatepass')`: strict UTF-8 (no overlongs, nothing past U+10FFFF), except
 * that encoded surrogates (ED A0..BF xx) are accepted as the lone code units they encode. Null on
 * anything Python would refuse.
 */
function decodeSurrogatePass(data: Uint8Array, start: number, end: number): string | null {
  let out = '';
  let i = start;
  while (i < end) {
    const b0 = data[i]!;
    let cp: number;
    let need: number;
    let min: number;
    if (b0 < 0x80) {
      out += String.fromCharCode(b0);
      i++;
      continue;
    } else if (b0 >= 0xc2 && b0 <= 0xdf) {
      cp = b0 & 0x1f;
      need = 1;
      min = 0x80;
    } else if (b0 >= 0xe0 && b0 <= 0xef) {
      cp = b0 & 0x0f;
      need = 2;
      min = 0x800;
    } else if (b0 >= 0xf0 && b0 <= 0xf4) {
      cp = b0 & 0x07;
      need = 3;
      min = 0x10000;
    } else {
      return null;
    }
    if (i + need >= end) return null; // the continuation bytes are missing
    for (let k = 1; k <= need; k++) {
      const b = data[i + k]!;
      if ((b & 0xc0) !== 0x80) return null;
      cp = (cp << 6) | (b & 0x3f);
    }
    if (cp < min || cp > 0x10ffff) return null;
    out += String.fromCodePoint(cp);
    i += need + 1;
  }
  return out;
}

function utf8Decode(data: Uint8Array, start: number, end: number, offset: number): string {
  const buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const fast = buf.toString('utf8', start, end);
  // The fast decoder replaces anything invalid (and encoded surrogates) with U+FFFD; only then is
  // the strict decoder needed, to tell a real U+FFFD from bytes Python would refuse or pass.
  if (!fast.includes('\uFFFD')) return fast;
  const strict = decodeSurrogatePass(data, start, end);
  if (strict === null) throw new UnpicklingError("'utf-8' codec can't decode the string", offset);
  return strict;
}

// ---- Writer -------------------------------------------------------------------------------------

/** A `str` that CPython keeps as one shared object: '' and one-character Latin-1 strings. */
function isSingletonStr(s: string): boolean {
  return s.length === 0 || (s.length === 1 && s.charCodeAt(0) < 0x100);
}

type DictSource = { keys: readonly string[]; get: (key: string) => PyValue };

class PickleWriter {
  private buf: Buffer = Buffer.allocUnsafe(512);
  private pos = 0;
  private framing = false;
  private frameStart = -1;
  private memoSize = 0;
  /** Text → memo index, for the strings modelled as one shared object (dict keys and singletons). */
  private readonly sharedStrings = new Map<string, number>();
  private readonly path: (string | number)[] = [];

  constructor(private readonly protocol: PickleProtocol) {}

  dump(value: PyValue): Buffer {
    this.writeRaw(PROTO, this.protocol);
    if (this.protocol >= 4) this.framing = true;
    this.save(value, 0, false);
    this.byte(STOP);
    this.commitFrame();
    return this.buf.subarray(0, this.pos);
  }

  // -- buffer and framing (CPython's _Pickler_Write / _Pickler_CommitFrame)

  private reserve(n: number): void {
    const needed = this.pos + n;
    if (needed <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < needed) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** Make room for `n` bytes, opening a frame first when framing and none is open. */
  private begin(n: number): void {
    if (this.framing && this.frameStart < 0) {
      this.reserve(FRAME_HEADER_SIZE + n);
      this.frameStart = this.pos;
      this.pos += FRAME_HEADER_SIZE;
    } else {
      this.reserve(n);
    }
  }

  private writeRaw(a: number, b: number): void {
    this.reserve(2);
    this.buf[this.pos++] = a;
    this.buf[this.pos++] = b;
  }

  private byte(b: number): void {
    this.begin(1);
    this.buf[this.pos++] = b;
  }

  private opU8(op: number, v: number): void {
    this.begin(2);
    this.buf[this.pos++] = op;
    this.buf[this.pos++] = v;
  }

  private opU32(op: number, v: number): void {
    this.begin(5);
    this.buf[this.pos++] = op;
    this.buf.writeUInt32LE(v, this.pos);
    this.pos += 4;
  }

  private commitFrame(): void {
    if (this.frameStart < 0) return;
    const len = this.pos - this.frameStart - FRAME_HEADER_SIZE;
    if (len >= FRAME_SIZE_MIN) {
      this.buf[this.frameStart] = FRAME;
      this.buf.writeUInt32LE(len, this.frameStart + 1);
      this.buf.writeUInt32LE(0, this.frameStart + 5);
    } else {
      this.buf.copyWithin(this.frameStart, this.frameStart + FRAME_HEADER_SIZE, this.pos);
      this.pos -= FRAME_HEADER_SIZE;
    }
    this.frameStart = -1;
  }

  // -- memo

  private memoize(): number {
    const index = this.memoSize++;
    if (this.protocol >= 4) this.byte(MEMOIZE);
    else if (index < 256) this.opU8(BINPUT, index);
    else this.opU32(LONG_BINPUT, index);
    return index;
  }

  private memoGet(index: number): void {
    if (index < 256) this.opU8(BINGET, index);
    else this.opU32(LONG_BINGET, index);
  }

  // -- values

  private fail(message: string): never {
    throw new PicklingError(message, [...this.path]);
  }

  private save(value: PyValue, depth: number, isKey: boolean): void {
    // CPython closes a full frame at the start of each save(), so frames end on object boundaries.
    if (this.frameStart >= 0 && this.pos - this.frameStart - FRAME_HEADER_SIZE >= FRAME_SIZE_TARGET) this.commitFrame();
    switch (typeof value) {
      case 'string':
        return this.saveStr(value, isKey || isSingletonStr(value));
      case 'number':
        if (Number.isInteger(value) && !Object.is(value, -0)) return this.saveInt(value);
        return this.saveFloat(value);
      case 'bigint':
        return this.saveBigInt(value);
      case 'boolean':
        return this.byte(value ? NEWTRUE : NEWFALSE);
      case 'object':
        if (value === null) return this.byte(NONE);
        if (isPyFloat(value)) return this.saveFloat(value.value);
        if (depth >= MAX_ENCODE_DEPTH) this.fail(`nesting deeper than ${MAX_ENCODE_DEPTH} levels`);
        if (Array.isArray(value)) return this.saveList(value, depth + 1);
        if (value instanceof Map) {
          return this.saveDict({ keys: [...value.keys()], get: (k) => value.get(k) as PyValue }, depth + 1);
        }
        return this.saveDict({ keys: pyDictKeys(value), get: (k) => (value as PyDict)[k] as PyValue }, depth + 1);
      default:
        return this.fail(`a ${typeof value} cannot be pickled as session data`);
    }
  }

  private saveStr(s: string, shared: boolean): void {
    if (shared) {
      const index = this.sharedStrings.get(s);
      if (index !== undefined) return this.memoGet(index);
    }
    const wellFormed = !LONE_SURROGATE.test(s);
    const encoded = wellFormed ? null : encodeSurrogatePass(s);
    const n = encoded === null ? Buffer.byteLength(s, 'utf8') : encoded.length;
    if (n <= 0xff && this.protocol >= 4) {
      this.begin(2 + n);
      this.buf[this.pos++] = SHORT_BINUNICODE;
      this.buf[this.pos++] = n;
    } else if (n >= FRAME_SIZE_TARGET && this.framing) {
      // CPython's _Pickler_write_bytes: close the frame, write header and payload outside any frame.
      this.commitFrame();
      this.reserve(5 + n);
      this.buf[this.pos++] = BINUNICODE;
      this.buf.writeUInt32LE(n, this.pos);
      this.pos += 4;
    } else {
      this.begin(5 + n);
      this.buf[this.pos++] = BINUNICODE;
      this.buf.writeUInt32LE(n, this.pos);
      this.pos += 4;
    }
    if (encoded === null) this.pos += this.buf.write(s, this.pos, 'utf8');
    else this.pos += encoded.copy(this.buf, this.pos);
    const index = this.memoize();
    if (shared) this.sharedStrings.set(s, index);
  }

  private saveInt(n: number): void {
    if (n >= 0 && n < 0x100) return this.opU8(BININT1, n);
    if (n >= 0 && n < 0x10000) {
      this.begin(3);
      this.buf[this.pos++] = BININT2;
      this.buf.writeUInt16LE(n, this.pos);
      this.pos += 2;
      return;
    }
    if (n >= -0x80000000 && n <= 0x7fffffff) {
      this.begin(5);
      this.buf[this.pos++] = BININT;
      this.buf.writeInt32LE(n, this.pos);
      this.pos += 4;
      return;
    }
    this.saveLong(BigInt(n));
  }

  private saveBigInt(n: bigint): void {
    if (n >= -0x80000000n && n <= 0x7fffffffn) return this.saveInt(Number(n));
    this.saveLong(n);
  }

  /** LONG1/LONG4 with Python's `encode_long`: little-endian two's complement, minimal length. */
  private saveLong(n: bigint): void {
    const magnitude = n < 0n ? -n : n;
    const bits = magnitude.toString(2).length;
    if (Math.ceil(bits * Math.LOG10E * Math.LN2) > PY_INT_MAX_STR_DIGITS + 1) {
      // Python could pickle it, but no JSON session (and so no Django db/cached_db write) can hold it.
      this.fail(`an integer of more than ${PY_INT_MAX_STR_DIGITS} digits`);
    }
    let nbytes = (bits >> 3) + 1;
    let twos = n < 0n ? (1n << BigInt(nbytes * 8)) + n : n;
    const bytes = new Uint8Array(nbytes);
    for (let i = 0; i < nbytes; i++) {
      bytes[i] = Number(twos & 0xffn);
      twos >>= 8n;
    }
    if (n < 0n && nbytes > 1 && bytes[nbytes - 1] === 0xff && (bytes[nbytes - 2]! & 0x80) !== 0) nbytes--;
    if (nbytes < 256) {
      this.begin(2 + nbytes);
      this.buf[this.pos++] = LONG1;
      this.buf[this.pos++] = nbytes;
    } else {
      this.begin(5 + nbytes);
      this.buf[this.pos++] = LONG4;
      this.buf.writeInt32LE(nbytes, this.pos);
      this.pos += 4;
    }
    this.buf.set(bytes.subarray(0, nbytes), this.pos);
    this.pos += nbytes;
  }

  private saveFloat(x: number): void {
    this.begin(9);
    this.buf[this.pos++] = BINFLOAT;
    this.buf.writeDoubleBE(x, this.pos);
    this.pos += 8;
  }

  private saveList(list: readonly PyValue[], depth: number): void {
    this.byte(EMPTY_LIST);
    this.memoize();
    const n = list.length;
    if (n === 0) return;
    if (n === 1) {
      this.path.push(0);
      this.save(list[0] as PyValue, depth, false);
      this.path.pop();
      this.byte(APPEND);
      return;
    }
    let total = 0;
    while (total < n) {
      this.byte(MARK);
      let batch = 0;
      while (total < n) {
        this.path.push(total);
        this.save(list[total] as PyValue, depth, false);
        this.path.pop();
        total++;
        if (++batch === BATCH_SIZE) break;
      }
      this.byte(APPENDS);
    }
  }

  private saveDict(dict: DictSource, depth: number): void {
    this.byte(EMPTY_DICT);
    this.memoize();
    const { keys } = dict;
    const n = keys.length;
    if (n === 0) return;
    if (n === 1) {
      this.saveItem(keys[0]!, dict, depth);
      this.byte(SETITEM);
      return;
    }
    // _pickle.c's batch_dict_exact: loops while the last batch was full, so an exact multiple of
    // 1000 items ends with an empty MARK SETITEMS batch.
    let i = 0;
    let batch: number;
    do {
      this.byte(MARK);
      batch = 0;
      while (i < n) {
        this.saveItem(keys[i]!, dict, depth);
        i++;
        if (++batch === BATCH_SIZE) break;
      }
      this.byte(SETITEMS);
    } while (batch === BATCH_SIZE);
  }

  private saveItem(key: string, dict: DictSource, depth: number): void {
    if (typeof key !== 'string') this.fail('a dict key that is not a str');
    this.path.push(key);
    this.save(key, depth, true);
    this.save(dict.get(key), depth, false);
    this.path.pop();
  }
}

/**
 * `pickle.dumps(value, protocol)` for a session value: bytes CPython's pickler writes for the same
 * data (see the module comment for memo references). Throws PicklingError for anything outside the
 * subset (undefined, functions, symbols, nesting past MAX_ENCODE_DEPTH, ints past 4300 digits).
 */
export function pickleDumps(value: PyValue, protocol: PickleProtocol = DEFAULT_PROTOCOL): Buffer {
  if (protocol !== 2 && protocol !== 3 && protocol !== 4 && protocol !== 5) {
    throw new RangeError(`pickle protocol must be 2, 3, 4 or 5, got ${String(protocol)}`);
  }
  return new PickleWriter(protocol).dump(value);
}

// ---- Reader -------------------------------------------------------------------------------------

type Container = PyValue[] | PyDict;

function isContainer(v: PyValue): v is Container {
  return typeof v === 'object' && v !== null && !isPyFloat(v);
}

function isDict(v: PyValue): v is PyDict {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !isPyFloat(v) && !(v instanceof Map);
}

const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;
const hasOwn = Object.prototype.hasOwnProperty;

export interface UnpickleOptions {
  /** Deepest nesting accepted (default MAX_DECODE_DEPTH, what Python's json can decode). */
  maxDepth?: number;
  /** Most nodes the value may expand to through shared references (default MAX_EXPANDED_NODES). */
  maxNodes?: number;
}

class PickleReader {
  private pos = 0;
  private readonly stack: PyValue[] = [];
  /** Stack heights at each open MARK; the top one is CPython's "fence". */
  private readonly marks: number[] = [];
  private readonly memo = new Map<number, PyValue>();
  private readonly tuples = new WeakSet<PyValue[]>();
  /** Insertion order of dicts that received an integer-like key (JS would reorder those). */
  private readonly keyOrders = new Map<PyDict, string[]>();
  private readonly view: DataView;
  private opStart = 0;
  private op = 0;

  constructor(private readonly data: Uint8Array) {
    this.view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  }

  private fail(message: string): never {
    throw new UnpicklingError(message, this.opStart, this.op);
  }

  private need(n: number): void {
    if (n > this.data.length - this.pos) this.fail('pickle data was truncated');
  }

  private u8(): number {
    this.need(1);
    return this.data[this.pos++]!;
  }

  private u16(): number {
    this.need(2);
    const v = this.data[this.pos]! | (this.data[this.pos + 1]! << 8);
    this.pos += 2;
    return v;
  }

  private i32(): number {
    this.need(4);
    const d = this.data;
    const p = this.pos;
    this.pos += 4;
    return d[p]! | (d[p + 1]! << 8) | (d[p + 2]! << 16) | (d[p + 3]! << 24);
  }

  private u32(): number {
    return this.i32() >>> 0;
  }

  /** An 8-byte length; anything past 2^53 is certainly more than the bytes present. */
  private u64(): number {
    const lo = this.u32();
    const hi = this.u32();
    return hi >= 0x200000 ? Number.MAX_SAFE_INTEGER : hi * 0x100000000 + lo;
  }

  private fence(): number {
    return this.marks.length === 0 ? 0 : this.marks[this.marks.length - 1]!;
  }

  private pop(): PyValue {
    if (this.stack.length <= this.fence()) this.fail('unpickling stack underflow');
    return this.stack.pop() as PyValue;
  }

  private top(): PyValue {
    if (this.stack.length <= this.fence()) this.fail('unpickling stack underflow');
    return this.stack[this.stack.length - 1] as PyValue;
  }

  /** Pop the topmost MARK; return the stack height it recorded. */
  private popMark(): number {
    const mark = this.marks.pop();
    if (mark === undefined) this.fail('could not find MARK');
    return mark;
  }

  private string(length: number): string {
    this.need(length);
    const start = this.pos;
    this.pos += length;
    return utf8Decode(this.data, start, start + length, this.opStart);
  }

  private long(nbytes: number): number | bigint {
    if (nbytes < 0) this.fail('LONG pickle has negative byte count');
    this.need(nbytes);
    const d = this.data;
    const start = this.pos;
    this.pos += nbytes;
    if (nbytes === 0) return 0;
    if (nbytes <= 6) {
      let v = 0;
      for (let i = nbytes - 1; i >= 0; i--) v = v * 256 + d[start + i]!;
      if (d[start + nbytes - 1]! & 0x80) v -= 2 ** (8 * nbytes);
      return v;
    }
    // More than 4300 decimal digits: Python refuses to print it, so no JSON session can hold it.
    if (nbytes > 1800) this.fail(`an integer of more than ${PY_INT_MAX_STR_DIGITS} digits`);
    let hex = '';
    for (let i = nbytes - 1; i >= 0; i--) hex += d[start + i]!.toString(16).padStart(2, '0');
    let v = BigInt('0x' + hex);
    if (d[start + nbytes - 1]! & 0x80) v -= 1n << BigInt(8 * nbytes);
    if (nbytes >= 1780 && (v < 0n ? -v : v).toString().length > PY_INT_MAX_STR_DIGITS) {
      this.fail(`an integer of more than ${PY_INT_MAX_STR_DIGITS} digits`);
    }
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  }

  private setItem(dict: PyValue, key: PyValue, value: PyValue): void {
    if (Array.isArray(dict) || !isDict(dict)) this.fail('SETITEM(S) on something that is not a dict');
    if (typeof key !== 'string') this.fail('a dict key that is not a str');
    const isNew = !hasOwn.call(dict, key);
    if (isNew) {
      let order = this.keyOrders.get(dict);
      if (order !== undefined) order.push(key);
      else {
        const k0 = key.charCodeAt(0);
        if (k0 >= DIGIT_0 && k0 <= DIGIT_9) {
          // Until now JS order and insertion order agreed, so Object.keys is the order so far.
          order = Object.keys(dict);
          order.push(key);
          this.keyOrders.set(dict, order);
        }
      }
    }
    if (key === '__proto__') {
      Object.defineProperty(dict, key, { value, writable: true, enumerable: true, configurable: true });
    } else {
      dict[key] = value;
    }
  }

  private appendTo(list: PyValue, items: PyValue[]): void {
    if (!Array.isArray(list) || this.tuples.has(list)) this.fail('APPEND(S) to something that is not a list');
    for (const item of items) list.push(item);
  }

  private tuple(items: PyValue[]): void {
    this.tuples.add(items);
    this.stack.push(items);
  }

  load(): PyValue {
    const d = this.data;
    this.op = d[0] ?? -1;
    if (d.length < 2 || d[0] !== PROTO) {
      throw new UnpicklingError('not a pickle of protocol 2 or later (no PROTO opcode)', 0, d.length > 0 ? d[0]! : null);
    }
    for (;;) {
      this.opStart = this.pos;
      if (this.pos >= d.length) this.fail('pickle data was truncated (no STOP)');
      const op = (this.op = d[this.pos++]!);
      switch (op) {
        case PROTO: {
          const version = this.u8();
          if (this.opStart !== 0) this.fail('PROTO after the start');
          if (version < 2 || version > 5) this.fail(`unsupported pickle protocol: ${version}`);
          break;
        }
        case FRAME: {
          const length = this.u64();
          // CPython only checks that the frame's bytes are there.
          this.need(length);
          break;
        }
        case STOP: {
          const value = this.pop();
          if (this.stack.length !== 0 || this.marks.length !== 0) this.fail('STOP with more than one value or an open MARK');
          if (this.pos !== d.length) this.fail('bytes after STOP');
          return value;
        }
        case MARK:
          this.marks.push(this.stack.length);
          break;
        case NONE:
          this.stack.push(null);
          break;
        case NEWTRUE:
          this.stack.push(true);
          break;
        case NEWFALSE:
          this.stack.push(false);
          break;
        case BININT1:
          this.stack.push(this.u8());
          break;
        case BININT2:
          this.stack.push(this.u16());
          break;
        case BININT:
          this.stack.push(this.i32());
          break;
        case LONG1:
          this.stack.push(this.long(this.u8()));
          break;
        case LONG4:
          this.stack.push(this.long(this.i32()));
          break;
        case BINFLOAT: {
          this.need(8);
          const x = this.view.getFloat64(this.pos, false);
          this.pos += 8;
          // Integral floats (1.0, -0.0, 1e16) must stay floats; other numbers read back as floats anyway.
          this.stack.push(Number.isInteger(x) || Object.is(x, -0) ? new PyFloat(x) : x);
          break;
        }
        case SHORT_BINUNICODE:
          this.stack.push(this.string(this.u8()));
          break;
        case BINUNICODE:
          this.stack.push(this.string(this.u32()));
          break;
        case BINUNICODE8:
          this.stack.push(this.string(this.u64()));
          break;
        case EMPTY_LIST:
          this.stack.push([]);
          break;
        case EMPTY_DICT:
          this.stack.push({});
          break;
        case EMPTY_TUPLE:
          this.tuple([]);
          break;
        case TUPLE1: {
          const a = this.pop();
          this.tuple([a]);
          break;
        }
        case TUPLE2: {
          const b = this.pop();
          const a = this.pop();
          this.tuple([a, b]);
          break;
        }
        case TUPLE3: {
          const c = this.pop();
          const b = this.pop();
          const a = this.pop();
          this.tuple([a, b, c]);
          break;
        }
        case TUPLE: {
          const mark = this.popMark();
          this.tuple(this.stack.splice(mark));
          break;
        }
        case APPEND: {
          const value = this.pop();
          this.appendTo(this.top(), [value]);
          break;
        }
        case APPENDS: {
          const mark = this.popMark();
          const items = this.stack.splice(mark);
          this.appendTo(this.top(), items);
          break;
        }
        case SETITEM: {
          const value = this.pop();
          const key = this.pop();
          this.setItem(this.top(), key, value);
          break;
        }
        case SETITEMS: {
          const mark = this.popMark();
          const items = this.stack.splice(mark);
          if (items.length % 2 !== 0) this.fail('odd number of items for SETITEMS');
          const dict = this.top();
          if (items.length === 0 && !isDict(dict)) this.fail('SETITEM(S) on something that is not a dict');
          for (let i = 0; i < items.length; i += 2) this.setItem(dict, items[i] as PyValue, items[i + 1] as PyValue);
          break;
        }
        case MEMOIZE:
          this.memo.set(this.memo.size, this.top());
          break;
        case BINPUT:
          this.memo.set(this.u8(), this.top());
          break;
        case LONG_BINPUT: {
          const index = this.i32();
          if (index < 0) this.fail('negative LONG_BINPUT argument');
          this.memo.set(index, this.top());
          break;
        }
        case BINGET:
          this.memoGet(this.u8());
          break;
        case LONG_BINGET:
          this.memoGet(this.u32());
          break;
        default: {
          const name = REFUSED_NAMES[op];
          this.fail(name === undefined ? 'unknown opcode' : `opcode ${name} is outside the session data subset`);
        }
      }
    }
  }

  private memoGet(index: number): void {
    const value = this.memo.get(index);
    if (value === undefined) this.fail(`Memo value not found at index ${index}`);
    this.stack.push(value);
  }

  /** Record Python key order where JS would reorder integer-like keys (as the JSON parser does). */
  finishKeyOrders(): void {
    for (const [dict, order] of this.keyOrders) {
      const keys = Object.keys(dict);
      let same = keys.length === order.length;
      for (let i = 0; same && i < keys.length; i++) same = keys[i] === order[i];
      if (!same) Object.defineProperty(dict, PY_KEY_ORDER, { value: order, writable: true, configurable: true });
    }
  }
}

interface Measure {
  height: number;
  size: number;
}
const PENDING: Measure = { height: -1, size: -1 };

function childrenOf(c: Container): PyValue[] {
  return Array.isArray(c) ? c : Object.values(c);
}

/**
 * Refuse cycles, nesting past `maxDepth`, and shared references expanding past `maxNodes` (each
 * shared container is measured once, so this is linear in the distinct containers).
 */
function checkShape(root: PyValue, maxDepth: number, maxNodes: number, length: number): void {
  if (!isContainer(root)) return;
  const measured = new Map<Container, Measure>([[root, PENDING]]);
  const nodes: Container[] = [root];
  const children: PyValue[][] = [childrenOf(root)];
  const next: number[] = [0];
  while (nodes.length > 0) {
    const top = nodes.length - 1;
    const list = children[top]!;
    const i = next[top]!;
    if (i < list.length) {
      next[top] = i + 1;
      const child = list[i] as PyValue;
      if (!isContainer(child)) continue;
      const seen = measured.get(child);
      if (seen === PENDING) throw new UnpicklingError('a container that contains itself', length);
      if (seen !== undefined) continue;
      if (nodes.length >= maxDepth) throw new UnpicklingError(`nesting deeper than ${maxDepth} levels`, length);
      measured.set(child, PENDING);
      nodes.push(child);
      children.push(childrenOf(child));
      next.push(0);
      continue;
    }
    let height = 0;
    let size = 1;
    for (const c of list) {
      if (isContainer(c)) {
        const m = measured.get(c)!;
        if (m.height > height) height = m.height;
        size += m.size;
      } else {
        size += 1;
      }
    }
    height += 1;
    if (height > maxDepth) throw new UnpicklingError(`nesting deeper than ${maxDepth} levels`, length);
    if (size > maxNodes) throw new UnpicklingError(`shared references expand to more than ${maxNodes} values`, length);
    measured.set(nodes[top]!, { height, size });
    nodes.pop();
    children.pop();
    next.pop();
  }
}

/**
 * `pickle.loads(data)` restricted to the session data subset (see the module comment): dicts come back
 * as PyDicts (Python key order kept), tuples as arrays, integral floats as PyFloat. Throws
 * UnpicklingError for anything else; never executes or looks up anything.
 */
export function pickleLoads(data: Uint8Array, options: UnpickleOptions = {}): PyValue {
  const reader = new PickleReader(data);
  const value = reader.load();
  checkShape(value, options.maxDepth ?? MAX_DECODE_DEPTH, options.maxNodes ?? MAX_EXPANDED_NODES, data.length);
  reader.finishKeyOrders();
  return value;
}

/** The session dict in a pickle: `pickleLoads` plus "the top level is a dict", as a Map in Python order. */
export function unpickleSession(data: Uint8Array, options: UnpickleOptions = {}): SessionDict {
  const value = pickleLoads(data, options);
  if (!isDict(value)) throw new UnpicklingError('the pickled value is not a dict', 0);
  return pyDictToMap(value);
}
