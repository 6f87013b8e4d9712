/**
 * Base64 exactly as Django uses it.
 *
 * - `b64Encode` / `b64Decode` are `django.core.signing.b64_encode` / `b64_decode`: the URL-safe alphabet,
 *   padding stripped on the way out and re-added on the way in.
 * - Python decodes leniently (`binascii.a2b_base64` with strict_mode off): characters outside the alphabet
 *   are skipped, `=` ends the input once a quad is complete, and only an impossible length
 *   (1 data character over a multiple of 4) or missing padding is an error. A signed value that Django
 *   accepts must be accepted here, byte for byte, so `pythonB64Decode` reproduces that state machine.
 *   The common case (only alphabet characters) takes Node's native decoder, which agrees there.
 * - `standardB64Encode` / `pythonB64Decode(…, 'standard')` serve the pre-3.1 legacy session format,
 *   which uses `base64.b64encode` / `base64.b64decode` (standard alphabet, with padding).
 */
import { Base64DecodeError } from './errors.ts';

type Alphabet = 'standard' | 'urlsafe';

const INVALID = 0xff;
const PAD = 0x3d; // '='

function buildTable(urlsafe: boolean): Uint8Array {
  const table = new Uint8Array(256).fill(INVALID);
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  for (let i = 0; i < chars.length; i++) table[chars.charCodeAt(i)] = i;
  // urlsafe_b64decode translates '-_' to '+/' and then decodes with the standard table,
  // so both spellings are accepted.
  if (urlsafe) {
    table[0x2d] = 62;
    table[0x5f] = 63;
  }
  return table;
}

const TABLES: Record<Alphabet, Uint8Array> = { standard: buildTable(false), urlsafe: buildTable(true) };

const URLSAFE_ONLY = /^[A-Za-z0-9_-]*$/;

function asBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/** Django's `b64_encode`: URL-safe base64 with the `=` padding stripped. */
export function b64Encode(data: Uint8Array): string {
  return asBuffer(data).toString('base64url');
}

/** `base64.b64encode(data).decode('ascii')`: standard alphabet, padded. */
export function standardB64Encode(data: Uint8Array): string {
  return asBuffer(data).toString('base64');
}

/**
 * Django's `b64_decode(s.encode())`: pad to a multiple of 4 (counted in UTF-8 bytes, as Python does on the
 * encoded bytes), then `urlsafe_b64decode`. Throws Base64DecodeError where Python raises binascii.Error.
 */
export function b64Decode(s: string): Uint8Array {
  if (URLSAFE_ONLY.test(s)) {
    // Only alphabet characters: Python's result is the plain decode, and the only possible error is a
    // length of 4n+1 (the appended '=' cannot complete a quad that holds a single character).
    if (s.length % 4 === 1) throw oneOverError(Math.floor(s.length / 4) * 4 + 1);
    return Buffer.from(s, 'base64url');
  }
  const bytes = Buffer.from(s, 'utf8');
  const padded = Buffer.alloc(bytes.length + ((4 - (bytes.length % 4)) % 4), PAD);
  bytes.copy(padded);
  return pythonB64Decode(padded, 'urlsafe');
}

function oneOverError(dataChars: number): Base64DecodeError {
  return new Base64DecodeError(
    `Invalid base64-encoded string: number of data characters (${dataChars}) cannot be 1 more than a multiple of 4`,
  );
}

/**
 * CPython's `binascii.a2b_base64(data, strict_mode=False)` (3.11), after `urlsafe_b64decode`'s translation
 * when `alphabet` is 'urlsafe'. Input is bytes, as Python's is; no padding is added here.
 */
export function pythonB64Decode(data: Uint8Array, alphabet: Alphabet): Uint8Array {
  const table = TABLES[alphabet];
  const out = Buffer.allocUnsafe(Math.floor((data.length * 3) / 4) + 3);
  let n = 0;
  let quadPos = 0;
  let leftChar = 0;
  let pads = 0;
  for (let i = 0; i < data.length; i++) {
    const ch = data[i]!;
    if (ch === PAD) {
      // Padding only counts once at least two data characters of the quad are in; a quad completed by
      // padding ends the input (anything after it is ignored).
      if (quadPos >= 2 && quadPos + ++pads >= 4) return out.subarray(0, n);
      continue;
    }
    const v = table[ch]!;
    if (v === INVALID) continue;
    pads = 0;
    switch (quadPos) {
      case 0:
        quadPos = 1;
        leftChar = v;
        break;
      case 1:
        quadPos = 2;
        out[n++] = (leftChar << 2) | (v >> 4);
        leftChar = v & 0x0f;
        break;
      case 2:
        quadPos = 3;
        out[n++] = ((leftChar << 4) | (v >> 2)) & 0xff;
        leftChar = v & 0x03;
        break;
      default:
        quadPos = 0;
        out[n++] = ((leftChar << 6) | v) & 0xff;
        leftChar = 0;
    }
  }
  if (quadPos === 1) throw oneOverError(Math.floor(n / 3) * 4 + 1);
  if (quadPos !== 0) throw new Base64DecodeError('Incorrect padding');
  return out.subarray(0, n);
}
