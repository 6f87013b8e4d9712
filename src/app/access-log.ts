/**
 * One structured log line per request on `django.server` (the logger Django's runserver writes its
 * access lines to, at the same levels: info below 400, warning for 4xx, error for 5xx), with the
 * method, the path (never the query string, which may carry secrets), the status and the time taken.
 */
import type { DefaultContext, DefaultState, Middleware } from 'koa';
import { getLogger } from '../log.ts';

const log = getLogger('django.server');

export function accessLog(): Middleware<DefaultState, DefaultContext> {
  return async function logRequest(ctx, next) {
    const started = performance.now();
    try {
      await next();
    } finally {
      const ms = Math.round((performance.now() - started) * 100) / 100;
      const status = ctx.status;
      const fields = { method: ctx.method, path: ctx.path, status, ms };
      const message = `"${ctx.method} ${ctx.path}" ${status}`;
      if (status >= 500) log.error(message, fields);
      else if (status >= 400) log.warning(message, fields);
      else log.info(message, fields);
    }
  };
}
