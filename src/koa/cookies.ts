/**
 * Cookies exactly as Django writes and reads them.
 *
 * Writing: `HttpResponse.set_cookie` / `delete_cookie` (django/http/response.py) rendered the way
 * Python's `http.cookies.Morsel.OutputString` renders them (spec 4.3-4.4):
 *
 *   sessionid=<value>; Domain=…; expires=…; HttpOnly; Max-Age=…; Path=…; SameSite=…; Secure
 *
 * i.e. `name=value`, then the attributes that are set, sorted by Python's lower-case attribute key
 * (domain < expires < httponly < max-age < path < samesite < secure), with `expires` spelled in lower
 * case and an empty value written as `""`. Koa's `ctx.cookies.set` (the `cookies` package) writes a
 * different order and spelling, so the header is built here and appended to the response directly.
 *
 * Reading: `django.http.cookie.parse_cookie` (split on `;`, `=` optional, Python `str.strip`,
 * `http.cookies._unquote`, the last duplicate wins), but only for the one name asked for, in a single
 * linear scan that never throws on garbage.
 */
import type { ServerResponse } from 'node:http';

/** Python's `http.cookies.CookieError`, or Django's `ValueError` from `set_cookie`, with the cookie it was about. */
export class CookieError extends Error {
  constructor(
    message: string,
    readonly cookieName: string,
  ) {
    super(message);
    this.name = 'CookieError';
  }
}

// ---------------------------------------------------------------------------------------------
// http_date

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'] as const;
/** Python's datetime range: 0001-01-01 .. 9999-12-31 (seconds since the epoch). */
const MIN_EPOCH_SECONDS = -62_135_596_800;
const MAX_EPOCH_SECONDS_EXCL = 253_402_300_800;

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/**
 * Django's `http_date(epoch_seconds)` (`email.utils.formatdate(t, usegmt=True)`):
 * `Wdy, DD Mon YYYY HH:MM:SS GMT`, English names, seconds truncated after Python's rounding of the
 * float to whole microseconds. Outside Python's datetime range (or not finite) it throws a
 * RangeError, where Python raises OverflowError/ValueError.
 */
export function httpDate(epochSeconds: number): string {
  // datetime.fromtimestamp rounds to microseconds (half-even; the float error dwarfs the difference).
  const micros = Math.round(epochSeconds * 1e6);
  const seconds = Math.floor(micros / 1e6);
  if (!Number.isFinite(seconds) || seconds < MIN_EPOCH_SECONDS || seconds >= MAX_EPOCH_SECONDS_EXCL) {
    throw new RangeError(`timestamp out of range for an HTTP date: ${epochSeconds}`);
  }
  const d = new Date(seconds * 1000);
  const year = d.getUTCFullYear();
  const yyyy = year < 1000 ? String(year).padStart(4, '0') : String(year);
  return (
    `${WEEKDAYS[d.getUTCDay()]}, ${pad2(d.getUTCDate())} ${MONTHS[d.getUTCMonth()]} ${yyyy} ` +
    `${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())} GMT`
  );
}

// ---------------------------------------------------------------------------------------------
// Quoting (http.cookies._quote / _unquote)

/** `_LegalChars`: a value made only of these (and not empty) is written as is. */
const LEGAL_VALUE = /^[A-Za-z0-9!#$%&'*+\-.^_`|~:]+$/;
/** `_UnescapedChars` minus the legal ones: kept as is inside quotes. */
const UNESCAPED_EXTRA = " ()/<=>?@[]{}";

function translateChar(ch: string): string {
  const code = ch.charCodeAt(0);
  if (ch === '"') return '\\"';
  if (ch === '\\') return '\\\\';
  if (code > 255) return ch; // _Translator only covers range(256)
  if (LEGAL_VALUE.test(ch) || UNESCAPED_EXTRA.includes(ch)) return ch;
  return '\\' + code.toString(8).padStart(3, '0');
}

/** Python's `http.cookies._quote`: legal values unchanged, others double-quoted with octal escapes. */
export function quoteCookieValue(value: string): string {
  if (LEGAL_VALUE.test(value)) return value;
  let out = '"';
  for (const ch of value) out += ch.length === 1 ? translateChar(ch) : ch;
  return out + '"';
}

// Python's `.` matches anything but "\n" (no DOTALL).
const UNQUOTE_SEQUENCE = /\\(?:([0-3][0-7][0-7])|([^\n]))/g;

/** Python's `http.cookies._unquote`: strip surrounding double quotes and undo `\ooo` / `\x` escapes. */
export function unquoteCookieValue(value: string): string {
  if (value.length < 2 || value.charCodeAt(0) !== 0x22 || value.charCodeAt(value.length - 1) !== 0x22) return value;
  const inner = value.slice(1, -1);
  if (!inner.includes('\\')) return inner;
  return inner.replace(UNQUOTE_SEQUENCE, (_m, octal: string | undefined, ch: string | undefined) =>
    octal !== undefined ? String.fromCharCode(parseInt(octal, 8)) : (ch as string),
  );
}

// ---------------------------------------------------------------------------------------------
// Set-Cookie text

/** Cookie names Python's Morsel accepts: `_LegalChars`, not empty, and not an attribute name. */
const LEGAL_NAME = LEGAL_VALUE;
const RESERVED_NAMES = new Set(['expires', 'path', 'comment', 'domain', 'max-age', 'secure', 'httponly', 'version', 'samesite']);
/** Attribute values may not carry control characters or `;` (they would add or split attributes). */
const SAFE_ATTRIBUTE = /^[^\x00-\x1f\x7f;]*$/;
const SAMESITE_VALUES = new Set(['lax', 'none', 'strict']);

export const SAMESITE_ERROR_MESSAGE = 'samesite must be "lax", "none", or "strict".';

/** The `expires` of a deleted cookie. */
export const EPOCH_HTTP_DATE = 'Thu, 01 Jan 1970 00:00:00 GMT';

/** The arguments of Django's `set_cookie`, minus the datetime form of `expires`. */
export interface SetCookieOptions {
  /** Seconds: `Max-Age=int(maxAge)`, and `expires` from it when `expires` is not given. */
  maxAge?: number | null;
  /** An HTTP date string, used verbatim. */
  expires?: string | null;
  /** Default `/`; null leaves the attribute out. */
  path?: string | null;
  domain?: string | null;
  secure?: boolean | null;
  httpOnly?: boolean | null;
  /** `Lax`, `Strict` or `None` in any case, written as given; null/empty for none. */
  sameSite?: string | null;
  /** "Now" in epoch seconds (Python's `time.time()`), for `expires` derived from `maxAge`. Default: the system clock. */
  now?: number;
}

/** Throw Django's ValueError (as CookieError) unless `sameSite` is empty or lax/none/strict in any case. */
export function validateSameSite(sameSite: string | null | undefined, cookieName: string): void {
  if (sameSite && !SAMESITE_VALUES.has(sameSite.toLowerCase())) throw new CookieError(SAMESITE_ERROR_MESSAGE, cookieName);
}

function checkName(name: string): void {
  if (RESERVED_NAMES.has(name.toLowerCase())) throw new CookieError(`Attempt to set a reserved key '${name}'`, name);
  if (!LEGAL_NAME.test(name)) throw new CookieError(`Illegal key '${name}'`, name);
}

function checkAttribute(label: string, value: string, name: string): string {
  if (!SAFE_ATTRIBUTE.test(value)) throw new CookieError(`Illegal characters in the ${label} of cookie '${name}'`, name);
  return value;
}

/** Python's `int(x)` of a float as decimal text (`%d`), or a RangeError where Python raises. */
function pythonIntText(x: number): string {
  if (!Number.isFinite(x)) throw new RangeError(`cannot convert ${x} to integer`);
  const t = Math.trunc(x);
  return Math.abs(t) < 1e21 ? String(t === 0 ? 0 : t) : BigInt(t).toString();
}

/** The attributes of a cookie that do not change from one response to the next. */
export type CookieAttributes = Pick<SetCookieOptions, 'path' | 'domain' | 'secure' | 'httpOnly' | 'sameSite'>;

/** Writes the `Set-Cookie` value of one cookie for a given value, Max-Age and expires. */
export type SetCookieWriter = (value: string, maxAge?: number | null, expires?: string | null, now?: number) => string;

/**
 * Validate a cookie's name and fixed attributes once, and return a writer for its `Set-Cookie` text
 * (what `formatSetCookie` writes): the fixed parts are joined here, so a request only pays for the
 * value, expires and Max-Age.
 */
export function compileSetCookie(name: string, attributes: CookieAttributes = {}): SetCookieWriter {
  checkName(name);
  const { path = '/', domain = null, secure = false, httpOnly = false, sameSite = null } = attributes;
  validateSameSite(sameSite, name);
  // Sorted by Python's attribute key; Morsel skips attributes whose value is "".
  const domainPart = domain ? `; Domain=${checkAttribute('domain', domain, name)}` : '';
  const httpOnlyPart = httpOnly ? '; HttpOnly' : '';
  const tail =
    (path ? `; Path=${checkAttribute('path', path, name)}` : '') +
    (sameSite ? `; SameSite=${checkAttribute('samesite', sameSite, name)}` : '') +
    (secure ? '; Secure' : '');
  const head = `${name}=`;

  return (value, maxAge = null, expiresGiven = null, now) => {
    let expires = expiresGiven ?? '';
    let maxAgePart = '';
    if (maxAge !== null) {
      maxAgePart = `; Max-Age=${pythonIntText(maxAge)}`;
      if (!expires) expires = httpDate((now ?? Date.now() / 1000) + maxAge);
    }
    const expiresPart = expires ? `; expires=${checkAttribute('expires', expires, name)}` : '';
    return head + quoteCookieValue(value) + domainPart + expiresPart + httpOnlyPart + maxAgePart + tail;
  };
}

/**
 * The `Set-Cookie` value Django sends for `response.set_cookie(name, value, …)` (without the leading
 * space of `Morsel.output(header="")`). Throws CookieError for an illegal name, a bad SameSite or an
 * attribute with `;`/control characters, and RangeError for a non-finite or out-of-range age.
 */
export function formatSetCookie(name: string, value: string, options: SetCookieOptions = {}): string {
  return compileSetCookie(name, options)(value, options.maxAge ?? null, options.expires ?? null, options.now);
}

export interface DeleteCookieOptions {
  path?: string | null;
  domain?: string | null;
  sameSite?: string | null;
}

/**
 * The `Set-Cookie` value of Django's `response.delete_cookie(name, path, domain, samesite)`: an empty
 * value, `Max-Age=0`, the epoch date, never HttpOnly, and Secure only for `__Secure-`/`__Host-`
 * names or SameSite=None (SESSION_COOKIE_SECURE plays no part).
 */
export function formatDeleteCookie(name: string, options: DeleteCookieOptions = {}): string {
  const { path = '/', domain = null, sameSite = null } = options;
  const secure = name.startsWith('__Secure-') || name.startsWith('__Host-') || (!!sameSite && sameSite.toLowerCase() === 'none');
  return formatSetCookie(name, '', { maxAge: 0, path, domain, secure, expires: EPOCH_HTTP_DATE, sameSite });
}

/**
 * Add a `Set-Cookie` header without touching the other cookies of the response. An earlier header
 * for the same cookie name is replaced, as Django keeps one morsel per name (`response.cookies`).
 */
export function appendSetCookie(res: ServerResponse, name: string, headerValue: string): void {
  const prefix = `${name}=`;
  const current = res.getHeader('set-cookie');
  let list: string[];
  if (current === undefined) list = [];
  else if (Array.isArray(current)) list = current.filter((c) => !c.startsWith(prefix));
  else list = String(current).startsWith(prefix) ? [] : [String(current)];
  list.push(headerValue);
  res.setHeader('Set-Cookie', list);
}

// ---------------------------------------------------------------------------------------------
// Reading the Cookie header

/** Python's `str.isspace()` (which `str.strip()` removes). */
function isPyWhitespace(c: number): boolean {
  if (c <= 0x20) return c === 0x20 || (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x1f);
  if (c < 0x85) return false;
  return (
    c === 0x85 ||
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000
  );
}

const ASCII_ONLY = /^[\x00-\x7f]*$/;

/**
 * Node hands header values over as latin-1 text (one char per byte); Django decodes the WSGI bytes as
 * UTF-8 with replacement (`get_str_from_wsgi`). Only a header with bytes >= 0x80 needs the decode.
 */
function asDjangoText(header: string): string {
  if (ASCII_ONLY.test(header)) return header;
  for (let i = 0; i < header.length; i++) {
    const c = header.charCodeAt(i);
    if (c > 0xff) return header; // not raw header bytes (built in JS): already text
    if (c >= 0x80) {
      for (let j = i + 1; j < header.length; j++) if (header.charCodeAt(j) > 0xff) return header;
      return Buffer.from(header, 'latin1').toString('utf8');
    }
  }
  return header;
}

/**
 * `parse_cookie(header).get(name)`: the value of the last cookie called `name` (unquoted), or
 * undefined when the header has none. An empty value (`name=`) is "" (the cookie is present).
 * Linear in the header's length; never throws.
 */
export function readRequestCookie(header: string | null | undefined, name: string): string | undefined {
  if (!header) return undefined;
  // Decoding only rewrites bytes >= 0x80, so an ASCII name absent from the raw header is absent after it.
  if (name !== '' && header.indexOf(name) === -1 && ASCII_ONLY.test(name)) return undefined;
  const text = asDjangoText(header);
  const n = text.length;
  let valueStart = -1;
  let valueEnd = -1;
  let eq = text.indexOf('=');
  for (let start = 0; start <= n; ) {
    let end = text.indexOf(';', start);
    if (end === -1) end = n;
    if (eq !== -1 && eq < start) eq = text.indexOf('=', start);
    // A chunk without "=" is an empty name with the chunk as value (Mozilla bug 169091).
    const hasEq = eq !== -1 && eq < end;
    let ks = start;
    let ke = hasEq ? eq : start;
    let vs = hasEq ? eq + 1 : start;
    let ve = end;
    while (ks < ke && isPyWhitespace(text.charCodeAt(ks))) ks++;
    while (ke > ks && isPyWhitespace(text.charCodeAt(ke - 1))) ke--;
    if (ke - ks === name.length && text.startsWith(name, ks)) {
      while (vs < ve && isPyWhitespace(text.charCodeAt(vs))) vs++;
      while (ve > vs && isPyWhitespace(text.charCodeAt(ve - 1))) ve--;
      // Python keeps a chunk only if key or value is non-empty ("if key or val").
      if (name.length > 0 || ve > vs) {
        valueStart = vs;
        valueEnd = ve;
      }
    }
    start = end + 1;
  }
  return valueStart === -1 ? undefined : unquoteCookieValue(text.slice(valueStart, valueEnd));
}
