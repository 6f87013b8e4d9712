/**
 * Django's session expiry maths (spec §2.5), as pure functions of the stored `_session_expiry` value.
 *
 * What `set_expiry` stores:
 *   null                  → the key is removed (the caller does that)
 *   number N              → N (seconds of inactivity; 0 = expire at browser close), in every version
 *   Date / PyDateTime     → 4.2/5.2: `isoformat()` of the value in the configured kind (aware UTC
 *   Timedelta (now + td)     `…+00:00` with USE_TZ, naive local in TIME_ZONE without; `.ffffff` only
 *                            when the microseconds are not 0).
 *                            3.2: a `datetime` object, which the JSON serializer cannot write: Django
 *                            fails later, at save time, with `TypeError: Object of type datetime is not
 *                            JSON serializable`. We refuse it at set time instead (SessionExpiryError),
 *                            before anything is modified, so the error points at the cause.
 *
 * Reading follows Python's truthiness and types exactly: `not expiry` (None, 0, 0.0, False, "", [],
 * {}) means "use SESSION_COOKIE_AGE"; a number is returned as is; a string is parsed with
 * `datetime.fromisoformat` (4.2+). Values Django itself would crash on (a list, a naive/aware mix, a
 * string under 3.2) raise SessionExpiryError, which is where Django raises TypeError/ValueError.
 */
import { DateTimeError, fromIsoformat, PyDateTime, Timedelta, type DjangoTimezone } from '../db/datetime.ts';
import { PyFloat, type PyValue } from '../pyjson/types.ts';
import { SessionExpiryError } from './errors.ts';
import type { DjangoVersion } from '../config.ts';

export type { DjangoVersion };

/** The session key under which the expiry is stored. */
export const EXPIRY_KEY = '_session_expiry';

/** What `getExpiryAge`/`getExpiryDate` accept as an explicit `expiry`: a stored value or a datetime. */
export type ExpiryValue = PyValue | PyDateTime;

/** What `setExpiry` accepts. */
export type ExpiryInput = number | Date | PyDateTime | Timedelta | null;

/** Python's truthiness of a session value (`not x`). */
export function pyTruthy(v: ExpiryValue | undefined): boolean {
  if (v === null || v === undefined) return false;
  switch (typeof v) {
    case 'boolean':
      return v;
    case 'number':
      return v !== 0; // NaN is truthy in Python too
    case 'bigint':
      return v !== 0n;
    case 'string':
      return v.length > 0;
  }
  if (v instanceof PyFloat) return v.value !== 0;
  if (v instanceof PyDateTime) return true;
  if (Array.isArray(v)) return v.length > 0;
  if (v instanceof Map) return v.size > 0;
  for (const _ in v) return true;
  return false;
}

/** Python's `v == 0` for a session value (True == 1, False == 0, 0.0 == 0). */
export function pyEqualsZero(v: ExpiryValue | undefined): boolean {
  if (typeof v === 'number') return v === 0;
  if (typeof v === 'boolean') return v === false;
  if (typeof v === 'bigint') return v === 0n;
  return v instanceof PyFloat && v.value === 0;
}

/** A numeric expiry as a JS number (bool is an int in Python), or null when it is not a number. */
function numericExpiry(v: ExpiryValue): number | null {
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof PyFloat) return v.value;
  return null;
}

function typeName(v: ExpiryValue): string {
  if (v === null) return 'NoneType';
  if (typeof v === 'string') return 'str';
  if (typeof v === 'boolean') return 'bool';
  if (Array.isArray(v)) return 'list';
  if (v instanceof PyDateTime) return 'datetime';
  return typeof v === 'object' ? 'dict' : typeof v;
}

function parseStored(text: string): PyDateTime {
  try {
    return fromIsoformat(text);
  } catch (e) {
    throw new SessionExpiryError(`Invalid _session_expiry: ${(e as Error).message}`, text, { cause: e });
  }
}

function subtract(expiry: PyDateTime, modification: PyDateTime): number {
  try {
    return expiry.minus(modification).wholeSeconds();
  } catch (e) {
    if (e instanceof DateTimeError) {
      throw new SessionExpiryError(
        `${e.message}: the stored expiry and "now" disagree on USE_TZ (was the session written with another USE_TZ?)`,
        expiry.isoformat(),
        { cause: e },
      );
    }
    throw e;
  }
}

/**
 * `get_expiry_age(modification=…, expiry=…)`: seconds until the session expires. `expiry` absent,
 * None or 0 gives `cookieAge`; a number is returned unchanged; a datetime gives
 * `delta.days * 86400 + delta.seconds` (whole seconds, rounded toward minus infinity).
 */
export function expiryAge(
  expiry: ExpiryValue | undefined,
  modification: PyDateTime,
  cookieAge: number,
  version: DjangoVersion,
): number {
  if (!pyTruthy(expiry)) return cookieAge;
  const value = expiry as ExpiryValue;
  if (value instanceof PyDateTime) return subtract(value, modification);
  if (typeof value === 'string') {
    if (version === '3.2') {
      throw new SessionExpiryError(
        'Django 3.2 returns a str _session_expiry unchanged and then fails on it; only numbers can be used',
        value,
      );
    }
    return subtract(parseStored(value), modification);
  }
  const n = numericExpiry(value);
  if (n === null) {
    throw new SessionExpiryError(`_session_expiry of type ${typeName(value)} cannot be used as an age`, value);
  }
  return n;
}

/**
 * `get_expiry_date(modification=…, expiry=…)`: a datetime is returned as is, a string (4.2+) is
 * parsed, anything else is `modification + timedelta(seconds=expiry or cookieAge)`. With a number the
 * date therefore slides: every save pushes it to now + N.
 */
export function expiryDate(
  expiry: ExpiryValue | undefined,
  modification: PyDateTime,
  cookieAge: number,
  version: DjangoVersion,
): PyDateTime {
  if (expiry instanceof PyDateTime) return expiry;
  if (typeof expiry === 'string' && version !== '3.2') return parseStored(expiry);
  const value = pyTruthy(expiry) ? (expiry as ExpiryValue) : cookieAge;
  const seconds = numericExpiry(value);
  if (seconds === null) {
    throw new SessionExpiryError(
      `unsupported type for timedelta seconds component: ${typeName(value)}`,
      value instanceof PyDateTime ? value.isoformat() : value,
    );
  }
  try {
    return modification.plus(Timedelta.ofSeconds(seconds));
  } catch (e) {
    throw new SessionExpiryError(`Invalid _session_expiry ${seconds}: ${(e as Error).message}`, seconds, { cause: e });
  }
}

/** `get_expire_at_browser_close()`: the setting when no expiry is stored, else `expiry == 0`. */
export function expireAtBrowserClose(expiry: ExpiryValue | undefined, settingValue: boolean): boolean {
  if (expiry === null || expiry === undefined) return settingValue;
  return pyEqualsZero(expiry);
}

/**
 * The value `set_expiry(value)` stores under `_session_expiry` (null is handled by the caller).
 * A Timedelta is added to `tz.now()`; Dates and PyDateTimes are brought into the configured kind.
 */
export function expiryToStore(value: Exclude<ExpiryInput, null>, tz: DjangoTimezone, version: DjangoVersion): PyValue {
  if (typeof value === 'number') return value;
  if (version === '3.2') {
    throw new SessionExpiryError(
      'Django 3.2 stores a datetime/timedelta expiry as a datetime object, which its JSON session serializer ' +
        'cannot save (TypeError: Object of type datetime is not JSON serializable). Use a number of seconds, ' +
        "or set DJANGO_VERSION to the live app's 4.2/5.2",
      value instanceof Timedelta ? `timedelta(seconds=${value.totalSeconds()})` : String(value),
    );
  }
  let dt: PyDateTime;
  try {
    if (value instanceof Timedelta) dt = tz.now().plus(value);
    else if (value instanceof PyDateTime) dt = tz.coerce(value);
    else dt = tz.fromDate(value);
  } catch (e) {
    throw new SessionExpiryError(`Invalid expiry: ${(e as Error).message}`, String(value), { cause: e });
  }
  return dt.isoformat();
}
