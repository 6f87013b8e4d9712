/**
 * Limits of the Python side, mirrored so that we never accept or emit what Django's Python
 * could not handle.
 */

/**
 * Python >= 3.11 (and the 3.7-3.10 security releases) refuses int<->str conversions of more than
 * 4300 decimal digits (sys.get_int_max_str_digits()); json.loads/json.dumps raise ValueError.
 */
export const PY_INT_MAX_STR_DIGITS = 4300;

/**
 * Nesting Python can decode. CPython's recursion limit is 1000 frames; a bare json.loads of
 * 1000 nested arrays fails, 995 succeed. Anything Django could have written fits under this.
 */
export const MAX_DECODE_DEPTH = 995;

/**
 * Nesting we agree to write. Lower than the decode limit because Django decodes a session some
 * tens of frames deep inside a request, where Python's headroom is smaller than in a bare script.
 */
export const MAX_ENCODE_DEPTH = 900;
