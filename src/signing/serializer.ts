/**
 * The serializer contract of `signing.dumps`/`loads` and Django's default, `JSONSerializer`:
 * `json.dumps(obj, separators=(",", ":")).encode("latin-1")` and `json.loads(data.decode("latin-1"))`.
 */
import { pyDumps, pyLoads } from '../pyjson/index.ts';
import type { PyValue } from '../pyjson/types.ts';

export interface Serializer<T> {
  /** Bytes, or text that is encoded as latin-1 (what Django's JSONSerializer does with its text). */
  dumps(value: T): Uint8Array | string;
  loads(data: Uint8Array): T;
}

function asBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/** Django's JSONSerializer. pyDumps output is pure ASCII, so latin-1 and ASCII agree on the way out. */
export const JSONSerializer: Serializer<PyValue> = {
  dumps: (value) => pyDumps(value),
  loads: (data) => pyLoads(asBuffer(data).toString('latin1')),
};

const BEYOND_LATIN1 = /[^\x00-\xff]/;

/** Serializer output as bytes; text is latin-1, and like Python's encoder we refuse what latin-1 cannot hold. */
export function serializedBytes(output: Uint8Array | string): Buffer {
  if (typeof output !== 'string') return asBuffer(output);
  if (BEYOND_LATIN1.test(output)) {
    throw new RangeError("serializer output cannot be encoded as latin-1 (Python: UnicodeEncodeError)");
  }
  return Buffer.from(output, 'latin1');
}
