/**
 * zlib as Django uses it: `zlibCompress` returns exactly the bytes of CPython's `zlib.compress(data)`
 * (so a session we write is byte-identical to the one Django would write), `zlibDecompress` reads any
 * valid zlib stream. Node's built-in deflate cannot be used for compression: it is Chromium's zlib fork
 * and emits different (valid) bytes for most inputs.
 *
 * Compression runs on the system zlib through native/exact-deflate when that addon is built and
 * loadable, otherwise on pako (same bytes, about half the speed). `DSB_ZLIB=pako` forces pako,
 * `DSB_ZLIB=native` makes a missing addon an error at import time; unset or `auto` picks by availability.
 */
import { loadNativeDeflate } from './native-deflate.ts';
import { pakoCompress, pakoVersion } from './pako-deflate.ts';
import { inflateZlib } from './inflate.ts';
import { ZlibError } from './errors.ts';

export { ZlibError, type ZlibErrorReason } from './errors.ts';

export interface ZlibImplementation {
  /** Which deflate produces `zlibCompress`'s bytes. */
  readonly compress: 'native' | 'pako';
  /** zlib version of the native library actually called (e.g. "1.2.13"), or "pako <version>". */
  readonly libraryVersion: string;
  /** Why the native path is not used, when it is not. */
  readonly fallbackReason?: string;
}

type Compressor = (data: Uint8Array) => Uint8Array;

function choose(): { compressor: Compressor; implementation: ZlibImplementation } {
  const wanted = (process.env.DSB_ZLIB ?? '').trim().toLowerCase();
  if (wanted !== '' && wanted !== 'auto' && wanted !== 'native' && wanted !== 'pako') {
    throw new Error(`DSB_ZLIB must be "auto", "native" or "pako", got ${JSON.stringify(process.env.DSB_ZLIB)}`);
  }
  const pako = (fallbackReason: string) => ({
    compressor: pakoCompress,
    implementation: Object.freeze({ compress: 'pako', libraryVersion: `pako ${pakoVersion}`, fallbackReason } as const),
  });
  if (wanted === 'pako') return pako('DSB_ZLIB=pako');
  const native = loadNativeDeflate();
  if (native.ok) {
    return {
      compressor: native.addon.compress,
      implementation: Object.freeze({ compress: 'native', libraryVersion: native.addon.zlibVersion } as const),
    };
  }
  if (wanted === 'native') throw new Error(`DSB_ZLIB=native, but ${native.reason}`);
  return pako(native.reason);
}

const chosen = choose();
const compressor = chosen.compressor;

export const zlibImplementation: ZlibImplementation = chosen.implementation;

/** CPython's `zlib.compress(data)`: the same bytes, zlib container, level 6. */
export function zlibCompress(data: Uint8Array): Uint8Array {
  try {
    return compressor(data);
  } catch (error) {
    if (error instanceof TypeError) throw error; // not a Uint8Array: a caller bug, not a zlib failure
    throw new ZlibError(`compression failed: ${error instanceof Error ? error.message : String(error)}`, 'compress-failed', {
      cause: error,
    });
  }
}

/**
 * Inflate any valid zlib stream (as CPython's `zlib.decompress` accepts it: trailing bytes after the
 * stream are ignored). Throws ZlibError on corrupt or truncated data, or when the output would exceed
 * `maxOutputLength` bytes (the decompression-bomb guard).
 */
export function zlibDecompress(data: Uint8Array, maxOutputLength?: number): Uint8Array {
  return inflateZlib(data, maxOutputLength);
}
