/**
 * The session codec: `SessionBase.encode` / `decode` of Django 3.2, 4.2 and 5.2.
 *
 *   encode: signing.dumps(session, salt=key_salt, serializer=JSONSerializer, compress=True)
 *           (3.2 with DEFAULT_HASHING_ALGORITHM="sha1": the legacy format instead, see legacy.ts)
 *   decode: signing.loads(data, salt=key_salt) without max_age — the embedded timestamp is never checked
 *           for stored sessions; expiry lives in the row's expire_date.
 *
 * Failures never reach a request: `decode` answers {} as Django does, logging
 * "Session data corrupted" on django.security.SuspiciousSession exactly when Django logs it.
 * Two deliberate departures, both where Django has no usable answer:
 *   - A valid value whose top level is not a JSON object decodes to {} (silently). Django would hand the
 *     list/number to SessionBase, which then fails on first use.
 *   - Django 3.2 lets an exception escape from decode (a 500) when a correctly signed payload is garbled
 *     *and* the whole string is not base64 either; we answer {} (silently) there too.
 * `decodeStrict` and `inspect` expose the reason instead, for the CLI and tools.
 *
 * Speed: the same session_data arrives on every request of a session, and the same dict is often
 * re-encoded (SESSION_SAVE_EVERY_REQUEST, unchanged saves). Two small bounded caches per codec skip
 * the expensive steps on repeats:
 *   - verified: (value:timestamp part) → { signature that verified, serialized text }. A hit still
 *     compares the presented signature with the cached one in constant time, so no MAC check is
 *     weakened; it skips the HMAC, base64 and inflate. Only successful decodes are cached, so
 *     forged input cannot fill it. Callers always get a fresh Map: from the cached items when every
 *     value is immutable, else by parsing the text again (so nested lists and dicts are fresh too).
 *   - compressed: serialized text → `[.]b64` payload, skipping zlib on re-encodes of the same dict.
 */
import { getLogger } from '../log.ts';
import { isPyFloat, PyFloat, type PyDict, type PyValue, type SessionDict } from '../pyjson/types.ts';
import { pyDictKeys, pyDictToMap, pyDumps, pyLoads } from '../pyjson/index.ts';
import { constantTimeCompare } from '../signing/crypto.ts';
import { encodePayload, payloadBytes } from '../signing/dumps.ts';
import { BadSignature, PayloadError, SigningError } from '../signing/errors.ts';
import { JSONSerializer, type Serializer } from '../signing/serializer.ts';
import { TimestampSigner } from '../signing/timestamp-signer.ts';
import { CorruptSessionData, InvalidCodecOptions } from './codec-errors.ts';
import { legacyDecode, legacyEncode, legacySaltFor } from './legacy.ts';

export type DjangoVersion = '3.2' | '4.2' | '5.2';
export const DJANGO_VERSIONS: readonly DjangoVersion[] = ['3.2', '4.2', '5.2'];

/** `"django.contrib.sessions." + SessionStore.__qualname__`: the salt of every built-in engine. */
export const DEFAULT_SESSION_KEY_SALT = 'django.contrib.sessions.SessionStore';

export interface SessionCodecOptions {
  secretKey: string;
  /** Verification only; Django 4.1+ (ignored when djangoVersion is '3.2', which has none). */
  secretKeyFallbacks?: readonly string[];
  /** Default 'django.contrib.sessions.SessionStore' (a custom class name X → 'django.contrib.sessions.X'). */
  keySalt?: string;
  /** 3.2 only: salt of the legacy hash; default derived from keySalt (see legacySaltFor). */
  legacyKeySalt?: string;
  /** Default '5.2'. */
  djangoVersion?: DjangoVersion;
  /** 3.2's DEFAULT_HASHING_ALGORITHM; 'sha1' (3.2 only) writes the legacy pre-3.1 format. Default 'sha256'. */
  hashingAlgorithm?: 'sha256' | 'sha1';
  /** Entries in each of the two speed-up caches (see the module comment); 0 turns them off. Default 1024. */
  cacheSize?: number;
}

export interface EncodeOptions {
  /** Whole Unix seconds to put in the signature; default now. */
  timestamp?: number;
}

/** What decoding one `session_data` came to, and why. */
export interface SessionDecodeReport {
  /** The session ({} on any failure, as Django). */
  data: SessionDict;
  /** Why `data` is the empty fallback; null on success. BadSignature, SigningError or CorruptSessionData. */
  error: Error | null;
  /** Whether Django logs "Session data corrupted" for this input. */
  warned: boolean;
  /** Which format the data was read as: 'signed', 'legacy' (3.2), or null when nothing was readable. */
  format: 'signed' | 'legacy' | null;
  /** The signing timestamp (Unix seconds) of a readable signed value. */
  timestamp?: number;
}

const suspiciousSession = getLogger('django.security.SuspiciousSession');

function isPyDict(value: PyValue): value is PyDict {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof PyFloat) && !(value instanceof Map);
}

/**
 * The serialized session as text. pyDumps output is ASCII, so its latin-1 bytes are made directly
 * (text output would be scanned for characters beyond latin-1 first); Django reads them as latin-1.
 */
const TEXT: Serializer<string> = { dumps: (text) => Buffer.from(text, 'latin1'), loads: (data) => latin1(data) };

function latin1(data: Uint8Array): string {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('latin1');
}

/** Largest session_data / serialized text worth caching; bigger ones are rare and would bloat memory. */
const CACHE_MAX_KEY = 4096;
const CACHE_MAX_TEXT = 16384;

/** A string-keyed map that forgets its oldest entry when full. */
class BoundedCache<V> {
  private readonly map = new Map<string, V>();
  constructor(private readonly limit: number) {}

  get(key: string): V | undefined {
    return this.map.get(key);
  }

  set(key: string, value: V): void {
    if (this.map.size >= this.limit) this.map.delete(this.map.keys().next().value as string);
    this.map.set(key, value);
  }
}

interface VerifiedEntry {
  signature: string;
  text: string;
  timestamp: number;
  /**
   * The session's items when every value is immutable (str, int, float, bool, None: what logins
   * and most sessions hold), so a hit builds a fresh Map from them instead of parsing `text` again.
   * Absent when a value is a list or dict, which a caller could mutate: those are parsed per hit.
   */
  items?: readonly (readonly [string, PyValue])[];
}

/** A verified signed value: its items straight from the cache, or the parsed value. */
type Verified = { timestamp: number } & ({ items: readonly (readonly [string, PyValue])[] } | { value: PyValue; items?: undefined });

function isImmutable(value: PyValue): boolean {
  return value === null || typeof value !== 'object' || isPyFloat(value);
}

/** The dict's items in Python order when all of them are immutable, else undefined. */
function immutableItems(dict: PyDict): (readonly [string, PyValue])[] | undefined {
  const items: (readonly [string, PyValue])[] = [];
  for (const key of pyDictKeys(dict)) {
    const value = dict[key] as PyValue;
    if (!isImmutable(value)) return undefined;
    items.push([key, value]);
  }
  return items;
}

function failure(error: Error, warned: boolean): SessionDecodeReport {
  return { data: new Map(), error, warned, format: null };
}

/** Django's JSONSerializer.loads on text already decoded as latin-1; failures are PayloadError. */
function parseText(text: string, sessionData: string): PyValue {
  try {
    return pyLoads(text);
  } catch (err) {
    throw new PayloadError('Payload could not be deserialized', sessionData, 'deserialize', { cause: err });
  }
}

export class SessionCodec {
  readonly djangoVersion: DjangoVersion;
  readonly keySalt: string;
  readonly hashingAlgorithm: 'sha256' | 'sha1';
  private readonly secretKey: string;
  private readonly legacySalt: string;
  private readonly signer: TimestampSigner;
  private readonly verified: BoundedCache<VerifiedEntry> | null;
  private readonly compressed: BoundedCache<string> | null;

  constructor(options: SessionCodecOptions) {
    const { secretKey, djangoVersion = '5.2', hashingAlgorithm = 'sha256', keySalt = DEFAULT_SESSION_KEY_SALT } = options;
    if (typeof secretKey !== 'string' || secretKey.length === 0) {
      throw new InvalidCodecOptions('secretKey (SECRET_KEY) must be a non-empty string', 'secretKey');
    }
    if (!DJANGO_VERSIONS.includes(djangoVersion)) {
      throw new InvalidCodecOptions(`djangoVersion must be one of ${DJANGO_VERSIONS.join(', ')}, got ${String(djangoVersion)}`, 'djangoVersion');
    }
    if (hashingAlgorithm !== 'sha256' && hashingAlgorithm !== 'sha1') {
      throw new InvalidCodecOptions(`hashingAlgorithm must be 'sha256' or 'sha1', got ${String(hashingAlgorithm)}`, 'hashingAlgorithm');
    }
    if (hashingAlgorithm === 'sha1' && djangoVersion !== '3.2') {
      throw new InvalidCodecOptions(
        "hashingAlgorithm 'sha1' (DEFAULT_HASHING_ALGORITHM) exists only in Django 3.2; 4.0 removed it",
        'hashingAlgorithm',
      );
    }
    const fallbacks = options.secretKeyFallbacks ?? [];
    if (fallbacks.some((k) => typeof k !== 'string' || k.length === 0)) {
      throw new InvalidCodecOptions('secretKeyFallbacks must be non-empty strings', 'secretKeyFallbacks');
    }
    this.djangoVersion = djangoVersion;
    this.keySalt = keySalt;
    this.hashingAlgorithm = hashingAlgorithm;
    this.secretKey = secretKey;
    this.legacySalt = options.legacyKeySalt ?? legacySaltFor(keySalt);
    const cacheSize = options.cacheSize ?? 1024;
    if (!Number.isSafeInteger(cacheSize) || cacheSize < 0) {
      throw new InvalidCodecOptions(`cacheSize must be a non-negative integer, got ${String(cacheSize)}`, 'cacheSize');
    }
    this.verified = cacheSize > 0 ? new BoundedCache(cacheSize) : null;
    this.compressed = cacheSize > 0 ? new BoundedCache(cacheSize) : null;
    const is32 = djangoVersion === '3.2';
    this.signer = new TimestampSigner({
      key: secretKey,
      salt: keySalt,
      // 3.2: Signer(algorithm=DEFAULT_HASHING_ALGORITHM) plus its always-on sha1 legacy check, no fallbacks.
      // 4.0+: sha256 only, plus SECRET_KEY_FALLBACKS.
      algorithm: hashingAlgorithm,
      acceptLegacySha1: is32,
      fallbackKeys: is32 ? [] : fallbacks,
    });
  }

  /** Return the session serialized and signed, as Django's `SessionBase.encode` writes it. */
  encode(data: SessionDict | PyDict, options: EncodeOptions = {}): string {
    if (this.hashingAlgorithm === 'sha1') return legacyEncode<PyValue>(data, JSONSerializer, this.secretKey, this.legacySalt);
    const text = pyDumps(data);
    let payload = this.compressed?.get(text);
    if (payload === undefined) {
      payload = encodePayload(text, TEXT, true);
      if (this.compressed && text.length <= CACHE_MAX_TEXT) this.compressed.set(text, payload);
    }
    return this.signer.signAt(payload, options.timestamp ?? Math.floor(Date.now() / 1000));
  }

  /** Return the session, or {} when Django would (logging Django's warning when Django does). Never throws. */
  decode(sessionData: string): SessionDict {
    const report = this.inspect(sessionData);
    if (report.warned) suspiciousSession.warning('Session data corrupted');
    return report.data;
  }

  /** Return the session, or throw the reason (BadSignature, SigningError, CorruptSessionData). No logging. */
  decodeStrict(sessionData: string): SessionDict {
    const report = this.inspect(sessionData);
    if (report.error) throw report.error;
    return report.data;
  }

  /** Decode and report what happened, without logging. */
  inspect(sessionData: string): SessionDecodeReport {
    let verified: Verified;
    try {
      verified = this.verifySigned(sessionData);
    } catch (err) {
      if (!(err instanceof SigningError)) throw err; // a bug, not bad data
      return this.djangoVersion === '3.2' ? this.legacyFallback(sessionData, err) : failure(err, err instanceof BadSignature);
    }
    if (verified.items !== undefined) {
      return { data: new Map(verified.items), error: null, warned: false, format: 'signed', timestamp: verified.timestamp };
    }
    return this.asSession(verified.value, sessionData, 'signed', verified.timestamp);
  }

  /** `signing.loads(session_data, salt=key_salt)`, through the verified cache. Throws SigningError. */
  private verifySigned(sessionData: string): Verified {
    const at = sessionData.lastIndexOf(this.signer.sep);
    if (this.verified && at >= 0) {
      const hit = this.verified.get(sessionData.slice(0, at));
      if (hit !== undefined && constantTimeCompare(sessionData.slice(at + this.signer.sep.length), hit.signature)) {
        if (hit.items !== undefined) return { items: hit.items, timestamp: hit.timestamp };
        return { value: parseText(hit.text, sessionData), timestamp: hit.timestamp };
      }
    }
    const { value: payload, timestamp } = this.signer.unsignTimestamped(sessionData);
    const text = latin1(payloadBytes(payload, sessionData));
    const value = parseText(text, sessionData);
    if (this.verified && at <= CACHE_MAX_KEY && text.length <= CACHE_MAX_TEXT && isPyDict(value)) {
      const entry: VerifiedEntry = { signature: sessionData.slice(at + this.signer.sep.length), text, timestamp };
      const items = immutableItems(value);
      if (items !== undefined) entry.items = items;
      this.verified.set(sessionData.slice(0, at), entry);
    }
    return { value, timestamp };
  }

  /** Django 3.2's decode after `signing.loads` failed with `signedError`. */
  private legacyFallback(sessionData: string, signedError: SigningError): SessionDecodeReport {
    let result;
    try {
      result = legacyDecode<PyValue>(sessionData, JSONSerializer, this.secretKey, this.legacySalt);
    } catch (legacyError) {
      // After BadSignature, Django catches this and logs. After any other error it escapes decode
      // entirely in Django (see the module comment); we report it and answer {} without a warning.
      if (signedError instanceof BadSignature) return failure(signedError, true);
      const err = new CorruptSessionData('Signed payload is garbled and the data is not legacy base64 either', sessionData, {
        cause: legacyError,
      });
      return failure(err, false);
    }
    if (!result.ok) {
      // The legacy decoder's own failure explains nothing when the data was never legacy-shaped;
      // keep the signed-format error as the reason then, unless the legacy hash itself mismatched.
      const reason = result.warned ? result.error : signedError;
      return failure(reason, result.warned);
    }
    return this.asSession(result.value, sessionData, 'legacy');
  }

  private asSession(value: PyValue, sessionData: string, format: 'signed' | 'legacy', timestamp?: number): SessionDecodeReport {
    if (!isPyDict(value)) {
      return failure(new CorruptSessionData('Session data is not a JSON object', sessionData), false);
    }
    const report: SessionDecodeReport = { data: pyDictToMap(value), error: null, warned: false, format };
    if (timestamp !== undefined) report.timestamp = timestamp;
    return report;
  }
}
