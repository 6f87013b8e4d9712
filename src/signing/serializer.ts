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

/**
 * Django's JSONSerializer. pyDumps output is pure ASCII, so it is returned as its latin-1 bytes
 * directly: the latin-1 check serializedBytes makes on text (a regex scan) would always pass.
 */
export const JSONSerializer: Serializer<PyValue> = {
  dumps: (value) => Buffer.from(pyDumps(value), 'latin1'),
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
