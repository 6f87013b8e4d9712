/**
 * `json.loads(request.body)` as the Django views call it: on **bytes**, so Python first picks the
 * encoding (`json.detect_encoding`: a UTF-32/UTF-16/UTF-8 BOM, else the pattern of NUL bytes in the
 * first four bytes, else UTF-8) and decodes with `surrogatepass`, then parses. Every failure is a
 * `ValueError` in Python (JSONDecodeError, UnicodeDecodeError); here it is `JsonBodyError`, so a
 * view can treat "not JSON" as one case, as the Django views do.
 */
import { pyLoads, type PyValue } from '../pyjson/index.ts';

/** The body is not JSON in any encoding Python would accept (Python: ValueError). */
export class JsonBodyError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'JsonBodyError';
  }
}

type Encoding = 'utf-8' | 'utf-8-sig' | 'utf-16' | 'utf-16-be' | 'utf-16-le' | 'utf-32' | 'utf-32-be' | 'utf-32-le';

/** `json.detect_encoding(b)`. */
export function detectEncoding(b: Uint8Array): Encoding {
  const at = (i: number): number => b[i] ?? -1;
  const starts = (...bytes: number[]): boolean => bytes.every((v, i) => at(i) === v);
  if (starts(0x00, 0x00, 0xfe, 0xff) || starts(0xff, 0xfe, 0x00, 0x00)) return 'utf-32';
  if (starts(0xfe, 0xff) || starts(0xff, 0xfe)) return 'utf-16';
  if (starts(0xef, 0xbb, 0xbf)) return 'utf-8-sig';
  if (b.length >= 4) {
    if (!at(0)) return at(1) ? 'utf-16-be' : 'utf-32-be';
    if (!at(1)) return at(2) || at(3) ? 'utf-16-le' : 'utf-32-le';
  } else if (b.length === 2) {
    if (!at(0)) return 'utf-16-be';
    if (!at(1)) return 'utf-16-le';
  }
  return 'utf-8';
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * UTF-8 with `surrogatepass`: like strict UTF-8, except that encoded surrogates (ED A0 80 …
 * ED BF BF) decode to lone surrogates. Only used when the strict decoder refuses the bytes.
 */
function decodeUtf8SurrogatePass(b: Uint8Array): string {
  let out = '';
  let i = 0;
  const fail = (): never => {
    throw new JsonBodyError(`'utf-8' codec can't decode byte 0x${(b[i] ?? 0).toString(16).padStart(2, '0')} in position ${i}`);
  };
  const cont = (k: number): number => {
    const c = b[i + k];
    if (c === undefined || (c & 0xc0) !== 0x80) fail();
    return (c as number) & 0x3f;
  };
  while (i < b.length) {
    const c = b[i] as number;
    let cp: number;
    let size: number;
    if (c < 0x80) [cp, size] = [c, 1];
    else if (c >= 0xc2 && c <= 0xdf) [cp, size] = [((c & 0x1f) << 6) | cont(1), 2];
    else if (c >= 0xe0 && c <= 0xef) {
      cp = ((c & 0x0f) << 12) | (cont(1) << 6) | cont(2);
      if (cp < 0x800) fail();
      size = 3;
    } else if (c >= 0xf0 && c <= 0xf4) {
      cp = ((c & 0x07) << 18) | (cont(1) << 12) | (cont(2) << 6) | cont(3);
      if (cp < 0x10000 || cp > 0x10ffff) fail();
      size = 4;
    } else return fail();
    out += String.fromCodePoint(cp);
    i += size;
  }
  return out;
}

/** UTF-16 in one byte order, surrogates passed through as they are (surrogatepass). */
function decodeUtf16(b: Uint8Array, bigEndian: boolean, start: number): string {
  if ((b.length - start) % 2 !== 0) throw new JsonBodyError("'utf-16' codec can't decode: truncated data");
  const units = new Array<number>((b.length - start) / 2);
  for (let i = start, j = 0; i < b.length; i += 2, j++) {
    units[j] = bigEndian ? ((b[i] as number) << 8) | (b[i + 1] as number) : ((b[i + 1] as number) << 8) | (b[i] as number);
  }
  let out = '';
  for (let k = 0; k < units.length; k += 8192) out += String.fromCharCode(...units.slice(k, k + 8192));
  return out;
}

function decodeUtf32(b: Uint8Array, bigEndian: boolean, start: number): string {
  if ((b.length - start) % 4 !== 0) throw new JsonBodyError("'utf-32' codec can't decode: truncated data");
  let out = '';
  for (let i = start; i < b.length; i += 4) {
    const cp = bigEndian
      ? (((b[i] as number) << 24) | ((b[i + 1] as number) << 16) | ((b[i + 2] as number) << 8) | (b[i + 3] as number)) >>> 0
      : (((b[i + 3] as number) << 24) | ((b[i + 2] as number) << 16) | ((b[i + 1] as number) << 8) | (b[i] as number)) >>> 0;
    if (cp > 0x10ffff) throw new JsonBodyError(`'utf-32' codec can't decode bytes in position ${i}-${i + 3}: code point not in range(0x110000)`);
    // A lone surrogate code point is passed through (surrogatepass).
    out += cp >= 0xd800 && cp <= 0xdfff ? String.fromCharCode(cp) : String.fromCodePoint(cp);
  }
  return out;
}

/** `bytes.decode(encoding, 'surrogatepass')` for the encodings `detect_encoding` names. */
export function decodeJsonBytes(b: Uint8Array): string {
  const encoding = detectEncoding(b);
  switch (encoding) {
    case 'utf-8':
    case 'utf-8-sig': {
      const body = encoding === 'utf-8-sig' ? b.subarray(3) : b;
      try {
        return strictUtf8.decode(body);
      } catch {
        return decodeUtf8SurrogatePass(body);
      }
    }
    case 'utf-16':
      return decodeUtf16(b, b[0] === 0xfe, 2);
    case 'utf-16-be':
      return decodeUtf16(b, true, 0);
    case 'utf-16-le':
      return decodeUtf16(b, false, 0);
    case 'utf-32':
      return decodeUtf32(b, b[0] === 0x00, 4);
    case 'utf-32-be':
      return decodeUtf32(b, true, 0);
    case 'utf-32-le':
      return decodeUtf32(b, false, 0);
  }
}

/** `json.loads(body)` for a request body: the value, or JsonBodyError for what Python refuses. */
export function loadsJsonBody(body: Uint8Array): PyValue {
  const text = decodeJsonBytes(body);
  try {
    return pyLoads(text);
  } catch (e) {
    throw new JsonBodyError(e instanceof Error ? e.message : String(e), { cause: e });
  }
}
