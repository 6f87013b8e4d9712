/**
 * The value model shared by every module that touches session data.
 *
 * Python's json module (what Django's JSONSerializer uses) distinguishes things JavaScript's
 * JSON does not: int vs float (`1` vs `1.0`), integers of any size, NaN/Infinity, and dict
 * insertion order even for integer-like keys such as "10". A `PyValue` keeps all of that, so a
 * value Django wrote is written back with exactly the bytes Django wrote.
 *
 * Mapping (Python -> PyValue):
 *   None -> null, bool -> boolean, str -> string (may hold lone surrogates, as Python's can),
 *   int  -> number when |n| <= Number.MAX_SAFE_INTEGER, otherwise bigint,
 *   float -> number when not integral (1.5, 5e-324, NaN, ±Infinity),
 *            PyFloat when integral (1.0, 1e16, -0.0): a plain JS number there would read back as int,
 *   list -> PyValue[],
 *   dict -> PyDict (a plain object). When the parse order differs from what JS gives for
 *           Object.keys (integer-like keys are moved to the front by JS), the parse order is kept
 *           in the non-enumerable PY_KEY_ORDER property; the writer honours it for keys still present.
 *           Read a parsed dict in Python order with pyDictKeys()/pyDictToMap() (src/pyjson).
 *   Map<string, PyValue> is also accepted by the writer (insertion order), and is what the
 *   session codec uses for the top-level session dict.
 *
 * Writing JS values: an integral number is written as a Python int, a non-integral one as a
 * Python float (shortest repr, Python's exponent rules), -0 as `-0.0`; use `new PyFloat(2)` to
 * write `2.0`.
 */
export class PyFloat {
  constructor(readonly value: number) {}
  valueOf(): number {
    return this.value;
  }
  toJSON(): number {
    return this.value;
  }
}

/**
 * Brand on PyFloat.prototype, in the global symbol registry, so a PyFloat is recognised even when
 * this module was loaded twice (e.g. once through require and once through import under tsx)
 * and `instanceof` fails.
 */
const PY_FLOAT_BRAND: unique symbol = Symbol.for('django-session-bridge.pyjson.PyFloat');
Object.defineProperty(PyFloat.prototype, PY_FLOAT_BRAND, { value: true });

/** True for a PyFloat from any copy of this module. */
export function isPyFloat(value: unknown): value is PyFloat {
  return (
    value instanceof PyFloat ||
    (typeof value === 'object' && value !== null && (value as { [PY_FLOAT_BRAND]?: unknown })[PY_FLOAT_BRAND] === true)
  );
}

/** Non-enumerable property holding a dict's key order as parsed, when JS would reorder it. */
export const PY_KEY_ORDER: unique symbol = Symbol.for('django-session-bridge.pyjson.keyOrder');

export interface PyDict {
  [key: string]: PyValue;
}

export type PyValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | PyFloat
  | PyValue[]
  | PyDict
  | Map<string, PyValue>;

/** Ordered session dictionary: the top-level value of every session. */
export type SessionDict = Map<string, PyValue>;
