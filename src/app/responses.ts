/**
 * Django's response classes as the reference site sends them, on a Koa context:
 *
 *   JsonResponse(data)        `json.dumps(data)` with Python's default separators (", ", ": "),
 *                             non-ASCII as \uXXXX, `Content-Type: application/json`
 *   HttpResponse(text)        `Content-Type: text/html; charset=utf-8`
 *   HttpResponseBadRequest()  400, empty body
 *   HttpResponseNotAllowed()  405, empty body, `Allow: GET, POST`
 *   the default error views   404 / 400 / 500 pages (DEBUG=False, no templates), the same text in
 *                             3.2, 4.2 and 5.2 (django/views/defaults.py ERROR_PAGE_TEMPLATE); 3.2
 *                             sends them as `text/html` without a charset
 */
import type { Context } from 'koa';
import { pyIntRepr, pyQuote } from '../pyjson/index.ts';

export const HTML_CONTENT_TYPE = 'text/html; charset=utf-8';
export const JSON_CONTENT_TYPE = 'application/json';

/** The JSON values our views answer with (ordered plain objects of str/int/bool/None). */
export type JsonAnswer = string | number | boolean | null | readonly JsonAnswer[] | { readonly [key: string]: JsonAnswer };

/** `json.dumps(value)` with Python's defaults (`ensure_ascii=True`, `", "` and `": "`). */
export function pythonJsonDumps(value: JsonAnswer): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return pyQuote(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isInteger(value)) throw new TypeError('pythonJsonDumps: only integers are answered');
      return pyIntRepr(value);
  }
  if (Array.isArray(value)) return `[${value.map(pythonJsonDumps).join(', ')}]`;
  const entries = Object.entries(value as { readonly [key: string]: JsonAnswer });
  return `{${entries.map(([k, v]) => `${pyQuote(k)}: ${pythonJsonDumps(v)}`).join(', ')}}`;
}

export function jsonResponse(ctx: Context, status: number, value: JsonAnswer): void {
  ctx.status = status;
  // ctx.set, not ctx.type: Koa's type setter would add "; charset=utf-8", which Django does not send.
  ctx.set('Content-Type', JSON_CONTENT_TYPE);
  ctx.body = pythonJsonDumps(value);
}

/** `HttpResponse(text, status=…)`; an empty text is an empty body (not Koa's status message). */
export function htmlResponse(ctx: Context, status: number, text = ''): void {
  ctx.status = status;
  ctx.set('Content-Type', HTML_CONTENT_TYPE);
  ctx.body = text;
}

/** `HttpResponseNotAllowed(permitted)`. */
export function methodNotAllowed(ctx: Context, permitted: readonly string[]): void {
  htmlResponse(ctx, 405);
  ctx.set('Allow', permitted.join(', '));
}

/** `ERROR_PAGE_TEMPLATE % {title, details}`. */
export function errorPage(title: string, details: string): string {
  return `
<!doctype html>
<html lang="en">
<head>
  <title>${title}</title>
</head>
<body>
  <h1>${title}</h1><p>${details}</p>
</body>
</html>
`;
}

export const NOT_FOUND_PAGE = errorPage('Not Found', 'The requested resource was not found on this server.');
export const BAD_REQUEST_PAGE = errorPage('Bad Request (400)', '');
export const SERVER_ERROR_PAGE = errorPage('Server Error (500)', '');
export const SERVICE_UNAVAILABLE_PAGE = errorPage('Service Unavailable (503)', 'The database cannot be reached. Try again shortly.');

/** Django's default error views for one version. */
export interface ErrorPages {
  notFound(ctx: Context): void;
  badRequest(ctx: Context): void;
  serverError(ctx: Context): void;
  /** Ours, not Django's: the database cannot be reached (see database-unavailable.ts). */
  serviceUnavailable(ctx: Context): void;
}

/**
 * 3.2's error views pass `content_type='text/html'` (no charset) when no template exists; 4.0
 * dropped that, so 4.2 and 5.2 send the default `text/html; charset=utf-8`.
 */
export function errorPages(djangoVersion: '3.2' | '4.2' | '5.2'): ErrorPages {
  const contentType = djangoVersion === '3.2' ? 'text/html' : HTML_CONTENT_TYPE;
  const page = (ctx: Context, status: number, body: string): void => {
    ctx.status = status;
    ctx.set('Content-Type', contentType);
    ctx.body = body;
  };
  return {
    notFound: (ctx) => page(ctx, 404, NOT_FOUND_PAGE),
    badRequest: (ctx) => page(ctx, 400, BAD_REQUEST_PAGE),
    serverError: (ctx) => page(ctx, 500, SERVER_ERROR_PAGE),
    serviceUnavailable: (ctx) => {
      page(ctx, 503, SERVICE_UNAVAILABLE_PAGE);
      ctx.set('Retry-After', '5');
    },
  };
}
