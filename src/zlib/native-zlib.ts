/**
 * Loads native/exact-deflate: the system's stock zlib (the libz.so.1 CPython links), isolated from
 * the Chromium zlib inside the node binary. Built by scripts/build-native.mjs; may be absent.
 * A stale build without the expected exports counts as absent.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** CPython's zlib, as the rest of src/zlib calls it. */
export interface NativeZlib {
  /** CPython's `zlib.compress(data)`: zlib container, default level (6), wbits 15, memLevel 8. */
  compress(data: Uint8Array): Buffer;
  /**
   * CPython's `zlib.decompress(data)`, refusing to produce more than `maxOutputLength` bytes.
   * Throws an Error whose `code` is Node's: Z_DATA_ERROR, Z_NEED_DICT, Z_BUF_ERROR (truncated),
   * Z_MEM_ERROR, or ERR_BUFFER_TOO_LARGE.
   */
  decompress(data: Uint8Array, maxOutputLength: number): Buffer;
  /** `zlibVersion()` of the library the calls really go to. */
  readonly zlibVersion: string;
  /** The file that library was loaded from (from dladdr). */
  readonly libraryPath: string;
}

export type NativeZlibLoad = { readonly ok: true; readonly zlib: NativeZlib } | { readonly ok: false; readonly reason: string };

/**
 * What the addon exports (native/exact-deflate/src/exact_deflate.c). Its functions return the output's
 * length in `scratch`, or a Buffer when the output does not fit there.
 */
interface ExactDeflateAddon {
  compress(data: Uint8Array): number | Buffer;
  decompress(data: Uint8Array, maxOutputLength: number): number | Buffer;
  readonly zlibVersion: string;
  readonly libraryPath: string;
  readonly scratch: ArrayBuffer;
}

const ADDON_PATH = fileURLToPath(new URL('../../native/exact-deflate/build/Release/exact_deflate.node', import.meta.url));

function isAddon(value: unknown): value is ExactDeflateAddon {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Record<string, unknown>;
  return (
    typeof candidate.compress === 'function' &&
    typeof candidate.decompress === 'function' &&
    typeof candidate.zlibVersion === 'string' &&
    typeof candidate.libraryPath === 'string' &&
    candidate.scratch instanceof ArrayBuffer
  );
}

function wrap(addon: ExactDeflateAddon): NativeZlib {
  const scratch = new Uint8Array(addon.scratch);
  // Copy the output out of scratch before anything else can overwrite it; allocUnsafe takes small
  // sizes from Node's buffer pool, far cheaper than a fresh Buffer per call.
  const take = (result: number | Buffer): Buffer => {
    if (typeof result !== 'number') return result;
    const out = Buffer.allocUnsafe(result);
    out.set(scratch.subarray(0, result));
    return out;
  };
  return {
    compress: (data) => take(addon.compress(data)),
    decompress: (data, maxOutputLength) => take(addon.decompress(data, maxOutputLength)),
    zlibVersion: addon.zlibVersion,
    libraryPath: addon.libraryPath,
  };
}

let cached: NativeZlibLoad | undefined;

/** Load the addon once per thread; never throws, says why when it cannot be used. */
export function loadNativeZlib(): NativeZlibLoad {
  if (cached) return cached;
  try {
    const exported: unknown = createRequire(import.meta.url)(ADDON_PATH);
    cached = isAddon(exported)
      ? { ok: true, zlib: wrap(exported) }
      : { ok: false, reason: `${ADDON_PATH} does not export the expected API (stale build? run: node scripts/build-native.mjs)` };
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    cached = {
      ok: false,
      reason:
        code === 'MODULE_NOT_FOUND'
          ? 'the exact-deflate addon is not built (run: node scripts/build-native.mjs)'
          : `the exact-deflate addon does not load: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
  return cached;
}
