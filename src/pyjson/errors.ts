/**
 * Errors raised by the pyjson codec. One root (`PyJsonError`) so callers can catch "bad JSON" as a
 * whole; each subclass names the Python exception it stands for, so logs read like Django's.
 */
export class PyJsonError extends Error {
  override name = 'PyJsonError';
}

/** The Python exception a decode failure corresponds to. */
export type PyDecodeErrorType = 'JSONDecodeError' | 'ValueError' | 'RecursionError';

/**
 * `json.loads` failed. Mirrors Python's `json.JSONDecodeError`: `msg` is Python's message
 * ("Expecting value", "Extra data", ...); `pos` the offset in code points and `lineno`/`colno`
 * (1-based) exactly as Python computes them; `index` the same offset in UTF-16 units for JS
 * callers. The two only differ when the text holds characters beyond U+FFFF, which text that
 * Django decoded as latin-1 never does. The document itself is deliberately not kept: it may
 * be session data.
 */
export class PyJsonDecodeError extends PyJsonError {
  override name = 'PyJsonDecodeError';
  readonly msg: string;
  readonly pos: number;
  readonly index: number;
  readonly lineno: number;
  readonly colno: number;
  readonly pythonType: PyDecodeErrorType;

  constructor(msg: string, doc: string, index: number, pythonType: PyDecodeErrorType = 'JSONDecodeError') {
    // Same arithmetic as json.decoder.JSONDecodeError.__init__, counted in code points.
    let lineno = 1;
    for (let i = doc.indexOf('\n'); i !== -1 && i < index; i = doc.indexOf('\n', i + 1)) lineno++;
    const lineStart = index > 0 ? doc.lastIndexOf('\n', index - 1) + 1 : 0;
    const colno = codePointsIn(doc, lineStart, index) + 1;
    const pos = lineStart === 0 ? colno - 1 : codePointsIn(doc, 0, index);
    super(`${msg}: line ${lineno} column ${colno} (char ${pos})`);
    this.msg = msg;
    this.pos = pos;
    this.index = index;
    this.lineno = lineno;
    this.colno = colno;
    this.pythonType = pythonType;
  }
}

/** Number of code points in doc[from, to): a surrogate pair counts once, as in a Python str. */
function codePointsIn(doc: string, from: number, to: number): number {
  let count = to - from;
  for (let i = from; i < to - 1; i++) {
    const c = doc.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = doc.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        count--;
        i++;
      }
    }
  }
  return count;
}

/** The Python exception an encode failure corresponds to. */
export type PyEncodeErrorType = 'TypeError' | 'ValueError' | 'RecursionError';

/**
 * `json.dumps` would fail on this value. `message` is Python's wording (e.g. "Object of type Date
 * is not JSON serializable", "Circular reference detected"); `path` says where in the value the
 * offender sits (`$`, `$["user"][2]`), which Python does not tell but a JS caller needs.
 */
export class PyJsonEncodeError extends PyJsonError {
  override name = 'PyJsonEncodeError';
  readonly pythonType: PyEncodeErrorType;
  readonly path: string;

  constructor(message: string, pythonType: PyEncodeErrorType, path: string) {
    super(message);
    this.pythonType = pythonType;
    this.path = path;
  }
}
