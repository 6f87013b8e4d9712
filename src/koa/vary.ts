/**
 * Django's `patch_vary_headers(response, newheaders)` (django/utils/cache.py; the same in 3.2, 4.2
 * and 5.2, spec 4.5). Koa's `ctx.vary` (the `vary` package) normalises differently (it trims, drops
 * empty entries, and keeps `*` beside other names), so this writes the header itself.
 */
import type { ServerResponse } from 'node:http';

/** Django's `cc_delim_re`: `\s*,\s*`, with Python's `\s` (Unicode whitespace, as `str.isspace`). */
const DELIMITER = /[\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*,[\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*/;

/**
 * The new `Vary` value: the existing entries (split on commas with the spaces around them) in their
 * order, then each new name not already there (compared case-insensitively); `*` when any entry is
 * `*`. `existing` undefined means the response has no Vary header (an empty string is a header).
 */
export function patchVaryValue(existing: string | undefined, newHeaders: readonly string[]): string {
  const entries = existing === undefined ? [] : existing.split(DELIMITER);
  const present = new Set(entries.map((h) => h.toLowerCase()));
  for (const h of newHeaders) if (!present.has(h.toLowerCase())) entries.push(h);
  return entries.includes('*') ? '*' : entries.join(', ');
}

/** A response header as one string (several values joined with ", ", as HTTP folds them), or undefined. */
export function headerText(res: ServerResponse, name: string): string | undefined {
  const value = res.getHeader(name);
  if (value === undefined) return undefined;
  return Array.isArray(value) ? value.join(', ') : String(value);
}

/** `patch_vary_headers(response, newHeaders)` on a Node response. */
export function patchVaryHeaders(res: ServerResponse, newHeaders: readonly string[]): void {
  res.setHeader('Vary', patchVaryValue(headerText(res, 'vary'), newHeaders));
}
