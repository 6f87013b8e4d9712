/**
 * zlib as Django uses it: `zlibCompress` returns exactly the bytes of CPython's `zlib.compress(data)`
 * (so a session we write is byte-identical to the one Django would write), `zlibDecompress` reads any
 * valid zlib stream, accepting and rejecting what `zlib.decompress` does. Node's built-in deflate
 * cannot be used for compression: it is Chromium's zlib fork and emits different (valid) bytes for
 * most inputs.
 *
 * Both run on the system zlib through native/exact-deflate when that addon is built and loadable
 * (decompression only for inputs up to NATIVE_INFLATE_MAX_INPUT; above that Node's inflateSync,
 * Chromium's SIMD inflate, is faster). Otherwise compression uses pako (same bytes; about 5x slower
 * at 10 KB and 15x at 150 B) and decompression Node's inflateSync. `DSB_ZLIB=pako` forces that
 * fallback, `DSB_ZLIB=native` makes a missing addon an error at import time; unset or `auto` picks
 * by availability.
 */
import { loadNativeZlib, type NativeZlib } from './native-zlib.ts';
import { pakoCompress, pakoVersion } from './pako-deflate.ts';
import { nodeInflate, outputLimit, toZlibError } from './inflate.ts';
import { ZlibError } from './errors.ts';

export { ZlibError, type ZlibErrorReason } from './errors.ts';

export interface ZlibImplementation {
  /** Which deflate produces `zlibCompress`'s bytes. */
  readonly compress: 'native' | 'pako';
  /**
   * Which inflate runs `zlibDecompress` (both accept exactly the same streams): 'native' means the
   * addon up to NATIVE_INFLATE_MAX_INPUT bytes of input and Node's inflateSync above.
   */
  readonly decompress: 'native' | 'node';
  /** zlib version of the native library actually called (e.g. "1.2.13"), or "pako <version>". */
  readonly libraryVersion: string;
  /** Why the native addon is not used, when it is not. */
  readonly fallbackReason?: string;
}

/**
 * Up to this many compressed bytes the addon's inflate wins (no per-call stream setup: 0.6-2 µs
 * against 4-5 µs for a 150-byte session); from ~10 KB of output on, Node's SIMD-optimised inflate
 * is as fast or faster (2x at 1 MB). Measured with bench/zlib.ts (DSB_BENCH_SIZES).
 */
export const NATIVE_INFLATE_MAX_INPUT = 1024;

type Compressor = (data: Uint8Array) => Uint8Array;
type Decompressor = (data: Uint8Array, limit: number) => Uint8Array;

function nativeThenNodeInflate(native: NativeZlib): Decompressor {
  return (data, limit) => (data.length <= NATIVE_INFLATE_MAX_INPUT ? native.decompress(data, limit) : nodeInflate(data, limit));
}

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
  const native = loadNativeZlib();
  if (native.ok) {
    return {
      compressor: native.zlib.compress,
      decompressor: nativeThenNodeInflate(native.zlib),
      implementation: Object.freeze({ compress: 'native', decompress: 'native', libraryVersion: native.zlib.zlibVersion } as const),
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
