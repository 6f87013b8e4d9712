/**
 * Decompression with CPython's acceptance rules: what `zlib.decompress` accepts (bytes after the end
 * of the stream are ignored, as there), we accept; what it rejects, we reject with a ZlibError.
 * Inflating is exact whichever zlib does it, so the fallback is Node's own inflateSync; the native
 * addon is preferred only because it is faster (no per-call stream setup, see bench/zlib.ts).
 */
import { constants as bufferConstants } from 'node:buffer';
import { inflateSync } from 'node:zlib';
import { ZlibError } from './errors.ts';

/** The limit to enforce: `maxOutputLength`, or the largest Buffer Node can make. */
export function outputLimit(maxOutputLength: number | undefined): number {
  if (maxOutputLength === undefined) return bufferConstants.MAX_LENGTH;
  if (!(Number.isSafeInteger(maxOutputLength) && maxOutputLength >= 0)) {
    throw new RangeError(`maxOutputLength must be a non-negative integer, got ${maxOutputLength}`);
  }
  return Math.min(maxOutputLength, bufferConstants.MAX_LENGTH);
}

/** Node's inflate; `limit` as from outputLimit(). Throws Node's zlib errors. */
export function nodeInflate(data: Uint8Array, limit: number): Uint8Array {
  // Node insists on a maxOutputLength of at least 1, so a limit of 0 is checked here.
  const output = inflateSync(data, { maxOutputLength: Math.max(limit, 1) });
  if (output.length > limit) {
    throw Object.assign(new RangeError(`Cannot create a Buffer larger than ${limit} bytes`), { code: 'ERR_BUFFER_TOO_LARGE' });
  }
  return output;
}

/** Map an error of nodeInflate or the addon's decompress (both use Node's codes) to a ZlibError. */
export function toZlibError(error: unknown, limit: number): ZlibError {
  const code = (error as { code?: unknown } | null)?.code;
  const detail = error instanceof Error ? error.message : String(error);
  switch (code) {
    case 'ERR_BUFFER_TOO_LARGE':
      return new ZlibError(`decompressed data exceeds ${limit} bytes`, 'output-too-large', { cause: error });
    case 'Z_BUF_ERROR':
      return new ZlibError(`incomplete or truncated zlib stream (${detail})`, 'truncated', { cause: error });
    default:
      return new ZlibError(`invalid zlib stream (${detail})`, 'invalid-data', { cause: error });
  }
}
