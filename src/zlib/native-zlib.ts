/**
 * Loads native/exact-deflate: the system's stock zlib (the libz.so.1 CPython links), isolated from
 * the Chromium zlib inside the node binary. Built by scripts/build-native.mjs; may be absent.
 * A stale build without `decompress` counts as absent.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** What the addon exports (native/exact-deflate/src/exact_deflate.c). */
export interface ExactDeflateAddon {
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

export type NativeDeflateLoad =
  | { readonly ok: true; readonly addon: ExactDeflateAddon }
  | { readonly ok: false; readonly reason: string };

const ADDON_PATH = fileURLToPath(new URL('../../native/exact-deflate/build/Release/exact_deflate.node', import.meta.url));

function isAddon(value: unknown): value is ExactDeflateAddon {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Record<string, unknown>;
  return (
    typeof candidate.compress === 'function' &&
    typeof candidate.decompress === 'function' &&
    typeof candidate.zlibVersion === 'string' &&
    typeof candidate.libraryPath === 'string'
  );
}

let cached: NativeDeflateLoad | undefined;

/** Load the addon once per thread; never throws, says why when it cannot be used. */
export function loadNativeDeflate(): NativeDeflateLoad {
  if (cached) return cached;
  try {
    const exported: unknown = createRequire(import.meta.url)(ADDON_PATH);
    cached = isAddon(exported)
      ? { ok: true, addon: exported }
      : { ok: false, reason: `${ADDON_PATH} does not export the expected API` };
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
