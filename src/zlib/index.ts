/**
 * zlib as Django uses it: `zlibCompress` returns exactly the bytes of CPython's `zlib.compress(data)`
 * (so a session we write is byte-identical to the one Django would write), `zlibDecompress` reads any
 * valid zlib stream, accepting and rejecting what `zlib.decompress` does. Node's built-in deflate
 * cannot be used for compression: it is Chromium's zlib fork and emits different (valid) bytes for
 * most inputs.
 *
 * Both run on the system zlib through native/exact-deflate when that addon is built and loadable.
 * Otherwise compression uses pako (same bytes, about half the speed) and decompression Node's
 * inflateSync. `DSB_ZLIB=pako` forces that fallback, `DSB_ZLIB=native` makes a missing addon an
 * error at import time; unset or `auto` picks by availability.
 */
import { loadNativeDeflate } from './native-deflate.ts';
import { pakoCompress, pakoVersion } from './pako-deflate.ts';
import { nodeInflate, outputLimit, toZlibError } from './inflate.ts';
import { ZlibError } from './errors.ts';

export { ZlibError, type ZlibErrorReason } from './errors.ts';

export interface ZlibImplementation {
  /** Which deflate produces `zlibCompress`'s bytes. */
  readonly compress: 'native' | 'pako';
  /** Which inflate runs `zlibDecompress` (both accept exactly the same streams). */
  readonly decompress: 'native' | 'node';
  /** zlib version of the native library actually called (e.g. "1.2.13"), or "pako <version>". */
  readonly libraryVersion: string;
  /** Why the native addon is not used, when it is not. */
  readonly fallbackReason?: string;
}

type Compressor = (data: Uint8Array) => Uint8Array;
type Decompressor = (data: Uint8Array, limit: number) => Uint8Array;

function choose(): { compressor: Compressor; decompressor: Decompressor; implementation: ZlibImplementation } {
  const wanted = (process.env.DSB_ZLIB ?? '').trim().toLowerCase();
  if (wanted !== '' && wanted !== 'auto' && wanted !== 'native' && wanted !== 'pako') {
    throw new Error(`DSB_ZLIB must be "auto", "native" or "pako", got ${JSON.stringify(process.env.DSB_ZLIB)}`);
  }
  const fallback = (fallbackReason: string) => ({
    compressor: pakoCompress,
    decompressor: nodeInflate,
    implementation: Object.freeze({
      compress: 'pako',
      decompress: 'node',
      libraryVersion: `pako ${pakoVersion}`,
      fallbackReason,
    } as const),
  });
  if (wanted === 'pako') return fallback('DSB_ZLIB=pako');
  const native = loadNativeDeflate();
  if (native.ok) {
    return {
      compressor: native.addon.compress,
      decompressor: native.addon.decompress,
      implementation: Object.freeze({ compress: 'native', decompress: 'native', libraryVersion: native.addon.zlibVersion } as const),
    };
  }
  if (wanted === 'native') throw new Error(`DSB_ZLIB=native, but ${native.reason}`);
  return fallback(native.reason);
}

const { compressor, decompressor, implementation } = choose();

export const zlibImplementation: ZlibImplementation = implementation;

/** CPython's `zlib.compress(data)`: the same bytes, zlib container, level 6. */
export function zlibCompress(data: Uint8Array): Uint8Array {
  try {
    return compressor(data);
  } catch (error) {
    if (error instanceof TypeError) throw error; // not a Uint8Array: a caller bug, not a zlib failure
    const detail = error instanceof Error ? error.message : String(error);
    throw new ZlibError(`compression failed: ${detail}`, 'compress-failed', { cause: error });
  }
}

/**
 * Inflate any valid zlib stream, as CPython's `zlib.decompress` accepts it (trailing bytes after the
 * stream are ignored). Throws ZlibError on corrupt or truncated data, or when the output would exceed
 * `maxOutputLength` bytes (the decompression-bomb guard: inflation stops there). A `maxOutputLength`
 * that is not a non-negative integer is a RangeError.
 */
export function zlibDecompress(data: Uint8Array, maxOutputLength?: number): Uint8Array {
  const limit = outputLimit(maxOutputLength);
  try {
    return decompressor(data, limit);
  } catch (error) {
    if (error instanceof TypeError) throw error; // not a Uint8Array: a caller bug, not bad data
    throw toZlibError(error, limit);
  }
}
