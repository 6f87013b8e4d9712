/**
 * Decompression of any valid zlib stream, with CPython's acceptance rules: what `zlib.decompress`
 * accepts (bytes after the end of the stream are ignored, as there), we accept; what it rejects, we
 * reject with a ZlibError. Node's own inflate is used: inflating is exact by definition, whichever
 * zlib does it, and it was the fastest decoder measured (bench/zlib.ts).
 */
import { constants as bufferConstants } from 'node:buffer';
import { inflateSync } from 'node:zlib';
import { ZlibError } from './errors.ts';

function toZlibError(error: unknown, maxOutputLength: number | undefined): ZlibError {
  const code = (error as { code?: unknown } | null)?.code;
  const detail = error instanceof Error ? error.message : String(error);
  switch (code) {
    case 'ERR_BUFFER_TOO_LARGE':
      return new ZlibError(`decompressed data exceeds ${maxOutputLength} bytes`, 'output-too-large', { cause: error });
    case 'Z_BUF_ERROR':
      return new ZlibError(`incomplete or truncated zlib stream (${detail})`, 'truncated', { cause: error });
    default:
      return new ZlibError(`invalid zlib stream (${detail})`, 'invalid-data', { cause: error });
  }
}

/**
 * Inflate one zlib stream. `maxOutputLength` (bytes, default: no limit below Node's buffer limit)
 * stops a decompression bomb before it is materialised.
 */
export function inflateZlib(data: Uint8Array, maxOutputLength?: number): Uint8Array {
  if (maxOutputLength !== undefined && !(Number.isSafeInteger(maxOutputLength) && maxOutputLength >= 0)) {
    throw new RangeError(`maxOutputLength must be a non-negative integer, got ${maxOutputLength}`);
  }
  // Node insists on a limit of at least 1 and at most its buffer limit; 0 is checked below.
  const limit = maxOutputLength === undefined ? undefined : Math.min(Math.max(maxOutputLength, 1), bufferConstants.MAX_LENGTH);
  let output: Uint8Array;
  try {
    output = limit === undefined ? inflateSync(data) : inflateSync(data, { maxOutputLength: limit });
  } catch (error) {
    throw toZlibError(error, maxOutputLength);
  }
  if (maxOutputLength === 0 && output.length > 0) {
    throw new ZlibError('decompressed data exceeds 0 bytes', 'output-too-large');
  }
  return output;
}
