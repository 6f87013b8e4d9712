/** Why a zlib operation failed; lets callers tell hostile input from a size-limit refusal. */
export type ZlibErrorReason =
  /** Not a zlib stream, or a corrupt one (bad header, bad Huffman data, bad checksum, needs a dictionary). */
  | 'invalid-data'
  /** The stream ends before its final block and checksum (CPython: "incomplete or truncated stream"). */
  | 'truncated'
  /** Inflating would produce more than the caller's `maxOutputLength` (decompression-bomb guard). */
  | 'output-too-large'
  /** The compressor itself failed (out of memory); never caused by the input bytes. */
  | 'compress-failed';

/** Every failure of `src/zlib`, with the reason and the underlying error as `cause`. */
export class ZlibError extends Error {
  override readonly name = 'ZlibError';

  constructor(
    message: string,
    readonly reason: ZlibErrorReason,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
