/**
 * Python datetimes as Django's session code uses them, and how each database stores them.
 *
 * Why not JS `Date`: Django works in microseconds and, with `USE_TZ=False`, in *naive local wall-clock
 * time*: `timezone.now()` is the wall clock in `TIME_ZONE`, and `now + timedelta(seconds=N)` is
 * wall-clock arithmetic (across a DST change it lands one hour away from instant arithmetic). To write
 * the `expire_date` and `_session_expiry` values Django writes, and to compare the way Django compares,
 * we keep Python's model: a `PyDateTime` is either **aware** (a UTC instant; Django with `USE_TZ=True`)
 * or **naive** (a wall-clock reading; Django with `USE_TZ=False`, local to `TIME_ZONE`). Arithmetic is
 * on that clock, exactly like Python's; conversion between the two goes through the IANA zone with
 * `Intl.DateTimeFormat` (never the process `TZ`).
 *
 * Where "now" comes from (microseconds): JS has no microsecond wall clock. `systemClock` reads
 * `performance.timeOrigin + performance.now()` (sub-microsecond resolution, monotonic) and re-anchors it
 * on `Date.now()` whenever the two drift more than ~1 ms apart (NTP steps, suspend). So "now" is the
 * wall clock to within ~2 ms with real microsecond digits, as Django's `time.time()` gives. Nothing
 * depends on the microsecond digits being exact: Django only compares `expire_date` with its own now,
 * and those comparisons behave the same for our rows. Tests inject their own `Clock` to freeze time.
 *
 * Per database (spec §3.2), mirroring Django's adapters:
 * - MySQL/MariaDB (`datetime(6)`) and SQLite (TEXT, compared as text): `str(datetime)`, i.e.
 *   `YYYY-MM-DD HH:MM:SS[.ffffff]` with `.ffffff` dropped when the microseconds are 0: naive UTC with
 *   `USE_TZ=True`, naive local time in `TIME_ZONE` with `USE_TZ=False`.
 * - PostgreSQL (`timestamptz`): an explicit instant (`…+00:00`), so the result never depends on the
 *   connection's `TimeZone`. With `USE_TZ=False` Django sends a naive value that PostgreSQL places in
 *   the connection's `TimeZone` (= `TIME_ZONE`); we place it the same way (a repeated hour takes the
 *   post-transition offset, as PostgreSQL's cast does) and send the instant.
 */

/** Epoch microseconds (integer) of the current instant. */
export type Clock = () => number;

import type { Dialect } from './connection.ts';

export type { Dialect };

/** The Python exception a datetime failure stands for (Django would raise it). */
export type DateTimePythonError = 'TypeError' | 'ValueError' | 'OverflowError';

/** A datetime operation Python would refuse (bad ISO string, naive/aware mix, out of range). */
export class DateTimeError extends Error {
  constructor(
    message: string,
    readonly pythonType: DateTimePythonError,
  ) {
    super(message);
    this.name = 'DateTimeError';
  }
}

const US_PER_S = 1_000_000;
const S_PER_DAY = 86_400;
/** Seconds of 0001-01-01T00:00:00 and 10000-01-01T00:00:00 since the epoch: Python's MINYEAR..MAXYEAR. */
const MIN_SECONDS = -62_135_596_800;
const MAX_SECONDS_EXCL = 253_402_300_800;

// ---------------------------------------------------------------------------------------------
// The clock

let monotonicAnchorMs = performance.timeOrigin;

/** Wall-clock epoch microseconds with real sub-millisecond digits (see the header comment). */
export const systemClock: Clock = () => {
  const mono = performance.now();
  const wall = Date.now();
  let t = monotonicAnchorMs + mono;
  if (t < wall - 1 || t > wall + 2) {
    // The wall clock was stepped or the monotonic clock drifted: re-anchor in the middle of Date.now()'s ms.
    monotonicAnchorMs = wall + 0.5 - mono;
    t = wall + 0.5;
  }
  return Math.floor(t * 1000);
};

// ---------------------------------------------------------------------------------------------
// Calendar arithmetic (proleptic Gregorian, Howard Hinnant's algorithms; no Date quirks for years < 100)

function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

function civilFromDays(z: number): [number, number, number] {
  z += 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return [yoe + era * 400 + (m <= 2 ? 1 : 0), m, d];
}

function daysInMonth(y: number, m: number): number {
  if (m === 2) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28;
  return m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;
}

const pad2 = (n: number): string => (n < 10 ? '0' + n : String(n));
const pad4 = (n: number): string => String(n).padStart(4, '0');
const pad6 = (n: number): string => String(n).padStart(6, '0');

/** Round half to even, with Python's tie rule relative to an integer part (CPython's timedelta_new). */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  if (Math.abs(r - x) === 0.5) return 2 * Math.round(x / 2);
  return r;
}

// ---------------------------------------------------------------------------------------------
// timedelta

/**
 * Python's `timedelta`, for `setExpiry(new Timedelta({ seconds: 10 }))` and expiry maths. Normalised
 * like Python: whole `seconds` (may be negative) plus `microseconds` in 0..999999.
 */
export class Timedelta {
  readonly seconds: number;
  readonly microseconds: number;

  constructor(parts: {
    weeks?: number;
    days?: number;
    hours?: number;
    minutes?: number;
    seconds?: number;
    milliseconds?: number;
    microseconds?: number;
  }) {
    let s = 0;
    let us = 0;
    const add = (value: number | undefined, secondsPerUnit: number): void => {
      if (value === undefined || value === 0) return;
      if (!Number.isFinite(value)) throw new DateTimeError(`cannot convert float ${value} to integer`, 'ValueError');
      // CPython's accum(): the integral part is exact, the fraction goes to microseconds and is rounded once.
      const whole = Math.trunc(value);
      s += whole * secondsPerUnit;
      const fracUs = (value - whole) * secondsPerUnit * US_PER_S;
      us += fracUs;
    };
    add(parts.weeks, 7 * S_PER_DAY);
    add(parts.days, S_PER_DAY);
    add(parts.hours, 3600);
    add(parts.minutes, 60);
    add(parts.seconds, 1);
    if (parts.milliseconds !== undefined) us += parts.milliseconds * 1000;
    if (parts.microseconds !== undefined) us += parts.microseconds;
    const wholeUs = roundHalfEven(us);
    const carry = Math.floor(wholeUs / US_PER_S);
    this.seconds = s + carry;
    this.microseconds = wholeUs - carry * US_PER_S;
  }

  /** `timedelta(seconds=n)` for an int or float `n`. */
  static ofSeconds(n: number): Timedelta {
    return new Timedelta({ seconds: n });
  }

  /** Python's `delta.days * 86400 + delta.seconds`: whole seconds, rounded toward minus infinity. */
  wholeSeconds(): number {
    return this.seconds;
  }

  /** `total_seconds()`. */
  totalSeconds(): number {
    return this.seconds + this.microseconds / US_PER_S;
  }
}

// ---------------------------------------------------------------------------------------------
// datetime

/**
 * A Python `datetime` with microseconds: aware (UTC) or naive (a wall-clock reading). Immutable.
 * `epochSeconds` counts whole seconds from 1970-01-01T00:00:00 on the value's own clock: the UTC
 * clock for aware values, the wall clock for naive ones.
 */
export class PyDateTime {
  private constructor(
    readonly epochSeconds: number,
    /** 0..999999 */
    readonly microsecond: number,
    /** true: an aware UTC instant (`tzinfo=timezone.utc`). false: naive. */
    readonly aware: boolean,
  ) {}

  static of(epochSeconds: number, microsecond: number, aware: boolean): PyDateTime {
    if (epochSeconds < MIN_SECONDS || epochSeconds >= MAX_SECONDS_EXCL) {
      throw new DateTimeError('date value out of range', 'OverflowError');
    }
    return new PyDateTime(epochSeconds, microsecond, aware);
  }

  static fromEpochMicros(us: number, aware: boolean): PyDateTime {
    const s = Math.floor(us / US_PER_S);
    return PyDateTime.of(s, us - s * US_PER_S, aware);
  }

  /** From calendar fields (month 1..12), as `datetime(y, m, d, H, M, S, us)`; validated like Python. */
  static fromFields(
    year: number,
    month: number,
    day: number,
    hour = 0,
    minute = 0,
    second = 0,
    microsecond = 0,
    aware = false,
  ): PyDateTime {
    if (year < 1 || year > 9999) throw new DateTimeError(`year ${year} is out of range`, 'ValueError');
    if (month < 1 || month > 12) throw new DateTimeError('month must be in 1..12', 'ValueError');
    if (day < 1 || day > daysInMonth(year, month)) throw new DateTimeError('day is out of range for month', 'ValueError');
    if (hour < 0 || hour > 23) throw new DateTimeError('hour must be in 0..23', 'ValueError');
    if (minute < 0 || minute > 59) throw new DateTimeError('minute must be in 0..59', 'ValueError');
    if (second < 0 || second > 59) throw new DateTimeError('second must be in 0..59', 'ValueError');
    if (microsecond < 0 || microsecond > 999_999) throw new DateTimeError('microsecond must be in 0..999999', 'ValueError');
    const s = daysFromCivil(year, month, day) * S_PER_DAY + hour * 3600 + minute * 60 + second;
    return new PyDateTime(s, microsecond, aware);
  }

  /** `datetime + timedelta` (on this value's own clock, as Python does). */
  plus(td: Timedelta): PyDateTime {
    let us = this.microsecond + td.microseconds;
    let s = this.epochSeconds + td.seconds;
    if (us >= US_PER_S) {
      us -= US_PER_S;
      s += 1;
    }
    return PyDateTime.of(s, us, this.aware);
  }

  /** `self - other` as a Timedelta; Python's TypeError when one is naive and the other aware. */
  minus(other: PyDateTime): Timedelta {
    if (this.aware !== other.aware) {
      throw new DateTimeError("can't subtract offset-naive and offset-aware datetimes", 'TypeError');
    }
    let s = this.epochSeconds - other.epochSeconds;
    let us = this.microsecond - other.microsecond;
    if (us < 0) {
      us += US_PER_S;
      s -= 1;
    }
    return new Timedelta({ seconds: s, microseconds: us });
  }

  /** Comparison on the same clock: negative, zero or positive. */
  compare(other: PyDateTime): number {
    if (this.aware !== other.aware) {
      throw new DateTimeError("can't compare offset-naive and offset-aware datetimes", 'TypeError');
    }
    return this.epochSeconds - other.epochSeconds || this.microsecond - other.microsecond;
  }

  /** Epoch microseconds on this value's own clock. Exact up to year ~2255 (2^53 µs). */
  epochMicros(): number {
    return this.epochSeconds * US_PER_S + this.microsecond;
  }

  /** [year, month, day, hour, minute, second] on this value's own clock. */
  fields(): [number, number, number, number, number, number] {
    const days = Math.floor(this.epochSeconds / S_PER_DAY);
    const secs = this.epochSeconds - days * S_PER_DAY;
    const [y, m, d] = civilFromDays(days);
    return [y, m, d, Math.floor(secs / 3600), Math.floor((secs % 3600) / 60), secs % 60];
  }

  /** Python's `isoformat(sep)`: `.ffffff` only when the microseconds are not 0, `+00:00` when aware. */
  isoformat(sep = 'T'): string {
    const [y, mo, d, h, mi, s] = this.fields();
    let out = `${pad4(y)}-${pad2(mo)}-${pad2(d)}${sep}${pad2(h)}:${pad2(mi)}:${pad2(s)}`;
    if (this.microsecond !== 0) out += '.' + pad6(this.microsecond);
    return this.aware ? out + '+00:00' : out;
  }

  /** Python's `str(naive datetime)` of this value's clock reading, without any offset: what MySQL/SQLite get. */
  naiveText(): string {
    const [y, mo, d, h, mi, s] = this.fields();
    const base = `${pad4(y)}-${pad2(mo)}-${pad2(d)} ${pad2(h)}:${pad2(mi)}:${pad2(s)}`;
    return this.microsecond === 0 ? base : base + '.' + pad6(this.microsecond);
  }

  toString(): string {
    return this.isoformat(' ');
  }
}

// ---------------------------------------------------------------------------------------------
// datetime.fromisoformat (Python 3.11)

const ISO_RE =
  /^(\d{4})-?(\d{2})-?(\d{2})(?:.(\d{2})(?::?(\d{2})(?::?(\d{2})(?:[.,](\d+))?)?)?\s*(Z|[+-]\d{2}(?::?\d{2}(?::?\d{2}(?:[.,]\d{1,6})?)?)?)?)?$/su;

/**
 * Python 3.11's `datetime.fromisoformat` for the shapes Django and ISO 8601 writers produce:
 * `YYYY-MM-DD[<sep>HH[:MM[:SS[.f+]]]][Z|±HH[:MM[:SS[.ffffff]]]]`, basic (`YYYYMMDDTHHMMSS`) forms, `,`
 * as decimal mark, extra fraction digits truncated. Aware values are normalised to UTC. ISO week dates
 * (`2026-W01-1`) and ordinal dates, which Python also accepts, raise here. Mixed basic/extended
 * notation is accepted more liberally than Python does; Django never writes it.
 */
export function fromIsoformat(text: string): PyDateTime {
  const m = ISO_RE.exec(text);
  if (m === null || (text.length > 10 && m[4] === undefined)) {
    throw new DateTimeError(`Invalid isoformat string: '${text}'`, 'ValueError');
  }
  const [, y, mo, d, h, mi, s, frac, tz] = m;
  const micro = frac === undefined ? 0 : Number(frac.slice(0, 6).padEnd(6, '0'));
  const local = PyDateTime.fromFields(
    Number(y),
    Number(mo),
    Number(d),
    h === undefined ? 0 : Number(h),
    mi === undefined ? 0 : Number(mi),
    s === undefined ? 0 : Number(s),
    micro,
    false,
  );
  if (tz === undefined) return local;
  if (tz === 'Z') return PyDateTime.of(local.epochSeconds, local.microsecond, true);
  const sign = tz[0] === '-' ? -1 : 1;
  const digits = tz.slice(1).replace(/:/g, '');
  const oh = Number(digits.slice(0, 2));
  const om = digits.length >= 4 ? Number(digits.slice(2, 4)) : 0;
  const os = digits.length >= 6 ? Number(digits.slice(4, 6)) : 0;
  const ofrac = /[.,](\d+)$/.exec(tz);
  const ous = ofrac?.[1] === undefined ? 0 : Number(ofrac[1].padEnd(6, '0'));
  if (oh > 23 || om > 59 || os > 59) {
    throw new DateTimeError(`Invalid isoformat string: '${text}'`, 'ValueError');
  }
  // UTC = local - offset.
  const offset = new Timedelta({ seconds: -sign * (oh * 3600 + om * 60 + os), microseconds: -sign * ous });
  const utc = local.plus(offset);
  return PyDateTime.of(utc.epochSeconds, utc.microsecond, true);
}

// ---------------------------------------------------------------------------------------------
// IANA zones through Intl

interface ZoneCache {
  fmt: Intl.DateTimeFormat;
  /** Last lookup, keyed by the UTC minute: real offset changes fall on whole minutes. */
  minute: number;
  offset: number;
}

const zones = new Map<string, ZoneCache>();

function zone(timeZone: string): ZoneCache {
  let z = zones.get(timeZone);
  if (z === undefined) {
    let fmt: Intl.DateTimeFormat;
    try {
      fmt = new Intl.DateTimeFormat('en-US', {
        timeZone,
        hourCycle: 'h23',
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
        second: 'numeric',
        era: 'short',
      });
    } catch {
      throw new DateTimeError(`Unknown time zone '${timeZone}'`, 'ValueError');
    }
    z = { fmt, minute: NaN, offset: 0 };
    zones.set(timeZone, z);
  }
  return z;
}

/** Whether `timeZone` is an IANA zone this runtime knows (for settings validation). */
export function isKnownTimeZone(timeZone: string): boolean {
  try {
    zone(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** The UTC offset in seconds of `timeZone` at the instant `utcSeconds` (wall = utc + offset). */
export function zoneOffsetSeconds(timeZone: string, utcSeconds: number): number {
  if (timeZone === 'UTC') return 0;
  const z = zone(timeZone);
  const minute = Math.floor(utcSeconds / 60);
  if (minute === z.minute) return z.offset;
  // Intl works in milliseconds; query the start of the minute so the cache key is exact.
  const parts = z.fmt.formatToParts(minute * 60_000);
  let y = 0;
  let mo = 1;
  let d = 1;
  let h = 0;
  let mi = 0;
  let s = 0;
  let bc = false;
  for (const p of parts) {
    switch (p.type) {
      case 'year':
        y = Number(p.value);
        break;
      case 'month':
        mo = Number(p.value);
        break;
      case 'day':
        d = Number(p.value);
        break;
      case 'hour':
        h = Number(p.value);
        break;
      case 'minute':
        mi = Number(p.value);
        break;
      case 'second':
        s = Number(p.value);
        break;
      case 'era':
        bc = p.value.startsWith('B');
        break;
    }
  }
  if (bc) y = 1 - y;
  const wall = daysFromCivil(y, mo, d) * S_PER_DAY + h * 3600 + mi * 60 + s;
  const offset = wall - minute * 60;
  z.minute = minute;
  z.offset = offset;
  return offset;
}

/**
 * Which reading of a repeated wall-clock hour (a DST fall-back) to take: `first` is Python's zoneinfo
 * with `fold=0` (the pre-transition offset); `second` is what PostgreSQL does when it casts a naive
 * `timestamp` to `timestamptz` (the post-transition offset). In a skipped hour both use the
 * pre-transition offset, so 02:30 in a spring-forward gap becomes 03:30 DST.
 */
export type RepeatedHour = 'first' | 'second';

/** The instant (UTC seconds) of the wall-clock reading `wallSeconds` in `timeZone`. */
export function wallToUtcSeconds(timeZone: string, wallSeconds: number, repeated: RepeatedHour = 'first'): number {
  if (timeZone === 'UTC') return wallSeconds;
  const before = zoneOffsetSeconds(timeZone, wallSeconds - S_PER_DAY);
  const after = zoneOffsetSeconds(timeZone, wallSeconds + S_PER_DAY);
  if (before === after) return wallSeconds - before;
  const pre = wallSeconds - before;
  const post = wallSeconds - after;
  const preValid = zoneOffsetSeconds(timeZone, pre) === before;
  const postValid = zoneOffsetSeconds(timeZone, post) === after;
  if (preValid && postValid) return repeated === 'first' ? pre : post;
  if (postValid) return post;
  return pre; // valid only before the transition, or in the gap
}

// ---------------------------------------------------------------------------------------------
// django.utils.timezone

export interface TimeSettings {
  USE_TZ: boolean;
  TIME_ZONE: string;
}

/**
 * `django.utils.timezone` for one configuration: what `now()` is, and how JS Dates and the other kind
 * of datetime are brought into the configured kind (aware UTC with `USE_TZ`, naive local otherwise).
 */
export class DjangoTimezone {
  readonly useTz: boolean;
  readonly timeZone: string;

  constructor(
    settings: TimeSettings,
    readonly clock: Clock = systemClock,
  ) {
    this.useTz = settings.USE_TZ;
    this.timeZone = settings.TIME_ZONE;
    zone(this.timeZone); // fail fast on an unknown zone
  }

  /** `timezone.now()`: aware UTC with USE_TZ, else the naive wall clock of TIME_ZONE. */
  now(): PyDateTime {
    return this.fromEpochMicros(this.clock());
  }

  /** The instant `us` (epoch microseconds) as Django would hold it. */
  fromEpochMicros(us: number): PyDateTime {
    const utc = PyDateTime.fromEpochMicros(us, true);
    return this.useTz ? utc : this.localize(utc);
  }

  /** A JS Date (an instant) as Django would hold it. */
  fromDate(date: Date): PyDateTime {
    const ms = date.getTime();
    if (Number.isNaN(ms)) throw new DateTimeError('Invalid Date', 'ValueError');
    return this.fromEpochMicros(ms * 1000);
  }

  /** An aware value as naive local time in TIME_ZONE (`timezone.make_naive`). */
  localize(aware: PyDateTime): PyDateTime {
    const off = zoneOffsetSeconds(this.timeZone, aware.epochSeconds);
    return PyDateTime.of(aware.epochSeconds + off, aware.microsecond, false);
  }

  /** A naive local value in TIME_ZONE as an aware UTC one (`timezone.make_aware`, fold=0 by default). */
  makeAware(naive: PyDateTime, repeated: RepeatedHour = 'first'): PyDateTime {
    return PyDateTime.of(wallToUtcSeconds(this.timeZone, naive.epochSeconds, repeated), naive.microsecond, true);
  }

  /** Bring any value into the configured kind (aware with USE_TZ, naive local otherwise). */
  coerce(dt: PyDateTime): PyDateTime {
    if (dt.aware === this.useTz) return dt;
    return dt.aware ? this.localize(dt) : this.makeAware(dt);
  }

  /** The instant as a JS Date (milliseconds; the sub-millisecond digits are dropped). */
  toDate(dt: PyDateTime): Date {
    const utc = dt.aware ? dt : this.makeAware(dt);
    return new Date(utc.epochSeconds * 1000 + Math.floor(utc.microsecond / 1000));
  }
}

// ---------------------------------------------------------------------------------------------
// Database columns

/** How one database dialect stores and returns a Django `DateTimeField` (here: `expire_date`). */
export interface DbDateTimeAdapter {
  /** The bound parameter Django would send for `dt` (a string in every dialect). */
  toParam(dt: PyDateTime): string;
  /** A column value as the driver returns it (string or Date), as Django would read it. */
  fromColumn(value: unknown): PyDateTime;
}

/**
 * The adapter for `dialect` under `tz`'s settings.
 * - Aware values sent to MySQL/SQLite become naive UTC text (Django's connection time zone is UTC).
 * - Naive values with `USE_TZ=True` are made aware in TIME_ZONE first (Django does the same, with a
 *   RuntimeWarning); aware values with `USE_TZ=False` are refused with Django's ValueError.
 */
export function dbDateTimeAdapter(dialect: Dialect, tz: DjangoTimezone): DbDateTimeAdapter {
  const refuseAware = (dt: PyDateTime): void => {
    if (dt.aware && !tz.useTz) {
      const backend = dialect === 'mysql' ? 'MySQL' : dialect === 'sqlite' ? 'SQLite' : 'PostgreSQL';
      throw new DateTimeError(
        `${backend} backend does not support timezone-aware datetimes when USE_TZ is False.`,
        'ValueError',
      );
    }
  };
  if (dialect === 'postgres') {
    return {
      toParam(dt) {
        // psycopg2 sends aware values with their offset whatever USE_TZ is, and naive ones for the
        // connection TimeZone (TIME_ZONE) to place; we place them ourselves so the connection's
        // TimeZone never matters.
        return (dt.aware ? dt : tz.makeAware(dt, 'second')).isoformat(' ');
      },
      fromColumn(value) {
        const parsed = value instanceof Date ? PyDateTime.fromEpochMicros(value.getTime() * 1000, true) : fromIsoformat(String(value));
        // With USE_TZ=False Django's cursor has no tzinfo_factory: values come back naive, local to TIME_ZONE.
        return tz.coerce(parsed);
      },
    };
  }
  return {
    toParam(dt) {
      refuseAware(dt);
      return (tz.useTz && !dt.aware ? tz.makeAware(dt) : dt).naiveText();
    },
    fromColumn(value) {
      // The stored text is a naive clock reading: UTC with USE_TZ, local otherwise. mysql2 with
      // timezone 'Z' returns a Date whose UTC fields are that reading.
      const naive =
        value instanceof Date ? PyDateTime.fromEpochMicros(value.getTime() * 1000, false) : fromIsoformat(String(value));
      if (naive.aware) return tz.coerce(naive);
      return tz.useTz ? PyDateTime.of(naive.epochSeconds, naive.microsecond, true) : naive;
    },
  };
}
