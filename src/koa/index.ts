/**
 * Koa integration: Django's SessionMiddleware and the cookie and Vary helpers it is built on.
 */
export { sessionMiddleware, statusOfError } from './session-middleware.ts';
export type { CreateSessionStore, SessionMiddlewareOptions, SessionMiddlewareSettings } from './types.ts';
export {
  appendSetCookie,
  compileSetCookie,
  CookieError,
  EPOCH_HTTP_DATE,
  formatDeleteCookie,
  formatSetCookie,
  httpDate,
  quoteCookieValue,
  readRequestCookie,
  SAMESITE_ERROR_MESSAGE,
  unquoteCookieValue,
  validateSameSite,
  type CookieAttributes,
  type DeleteCookieOptions,
  type SetCookieWriter,
  type SetCookieOptions,
} from './cookies.ts';
export { patchVaryHeaders, patchVaryValue } from './vary.ts';
