/**
 * The portable fallback: pako is a line-by-line JavaScript port of stock zlib's deflate, and its
 * default settings are CPython's zlib.compress defaults, so it yields the same bytes (verified by
 * test/unit/zlib.test.ts against /usr/bin/python3), at roughly half the speed of C zlib.
 */
import { createRequire } from 'node:module';
import pako from 'pako';

/** CPython's zlib.compress defaults: Z_DEFAULT_COMPRESSION (level 6), wbits 15, memLevel 8, default strategy. */
const CPYTHON_COMPRESS_OPTIONS = Object.freeze({ level: -1, windowBits: 15, memLevel: 8, strategy: 0 } as const);

export function pakoCompress(data: Uint8Array): Uint8Array {
  return pako.deflate(data, CPYTHON_COMPRESS_OPTIONS);
}

export const pakoVersion: string = (createRequire(import.meta.url)('pako/package.json') as { version: string }).version;
