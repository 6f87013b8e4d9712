/**
 * Django's URL resolution for our handful of routes: the percent-decoded path must equal a route's
 * path exactly (Django's `path("user/reg", …)`: case-sensitive, no trailing-slash variant, the query
 * string ignored). No match is Django's 404 page. A route may restrict methods the way
 * `require_POST` / `require_GET` do: anything else is 405 with `Allow`, before the handler runs.
 *
 * (@koa/router matches case-insensitively and, by default, with an optional trailing slash, and
 * answers HEAD for GET routes; Django does none of that, so the table is matched here.)
 */
import type { Context, DefaultContext, DefaultState, Middleware, Next } from 'koa';
import { methodNotAllowed, type ErrorPages } from './responses.ts';

export type Handler = (ctx: Context, next: Next) => Promise<void>;

export interface Route {
  /** The path, starting with `/`, matched exactly after percent-decoding. */
  readonly path: string;
  /** `require_http_methods([...])`; absent: any method (the tutorial's views). */
  readonly methods?: readonly string[];
  /** Run in order; the last is the view. */
  readonly handlers: readonly Handler[];
}

/** Django's `path_info`: the percent-decoded path, or null when it does not decode (no route matches it). */
function decodedPath(rawPath: string): string | null {
  try {
    return decodeURIComponent(rawPath);
  } catch {
    return null;
  }
}

const NO_NEXT = (): Promise<void> => Promise.resolve();

function compose(handlers: readonly Handler[]): (ctx: Context) => Promise<void> {
  // A route with one handler (most of them) calls it directly: no chain of promises to build.
  if (handlers.length === 1) {
    const only = handlers[0] as Handler;
    return (ctx) => only(ctx, NO_NEXT);
  }
  return (ctx) => {
    const run = async (i: number): Promise<void> => {
      const h = handlers[i];
      if (h !== undefined) await h(ctx, () => run(i + 1));
    };
    return run(0);
  };
}

export function routes(table: readonly Route[], pages: ErrorPages): Middleware<DefaultState, DefaultContext> {
  const byPath = new Map(table.map((r) => [r.path, { methods: r.methods, run: compose(r.handlers) }] as const));
  // Not async: the view's promise is handed back as it is (one promise fewer per request).
  return function resolve(ctx) {
    const path = decodedPath(ctx.path);
    const route = path === null ? undefined : byPath.get(path);
    if (route === undefined) {
      pages.notFound(ctx as Context);
      return Promise.resolve();
    }
    if (route.methods !== undefined && !route.methods.includes(ctx.method)) {
      methodNotAllowed(ctx as Context, route.methods);
      return Promise.resolve();
    }
    return route.run(ctx as Context);
  };
}
