/**
 * Python's `json.dumps`/`json.loads` exactly as Django's JSONSerializer uses them: the bytes
 * Django writes, and values that survive a read/write round trip unchanged.
 */
export { pyLoads } from './parse.ts';
export { pyDumps, pyQuote } from './stringify.ts';
export { pyFloatRepr, pyIntRepr } from './float-repr.ts';
export { pyDictKeys, pyDictToMap } from './dict-order.ts';
export { PY_INT_MAX_STR_DIGITS, MAX_DECODE_DEPTH, MAX_ENCODE_DEPTH } from './limits.ts';
export {
  PyJsonError,
  PyJsonDecodeError,
  PyJsonEncodeError,
  type PyDecodeErrorType,
  type PyEncodeErrorType,
} from './errors.ts';
export { PyFloat, isPyFloat, PY_KEY_ORDER, type PyDict, type PyValue, type SessionDict } from './types.ts';
