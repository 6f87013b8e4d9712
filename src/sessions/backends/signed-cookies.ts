/**
 * Django's `signed_cookies` session engine (django/contrib/sessions/backends/signed_cookies.py): no
 * storage at all; the session key *is* the whole session,
 *
 *   signing.dumps(session, compress=True, salt="django.contrib.sessions.backends.signed_cookies")
 *
 * (JSON, zlib when it is shorter, URL-safe base64, a TimestampSigner signature with SECRET_KEY), and
 * it is read back with `signing.loads(key, max_age=SESSION_COOKIE_AGE, salt=…)`, so Django and we read
 * each other's cookies. Django 3.2 signs with DEFAULT_HASHING_ALGORITHM and also accepts sha1
 * signatures; 4.x/5.x sign with sha256 and accept SECRET_KEY_FALLBACKS.
 *
 *   load()           a bad signature, an expired one (older than SESSION_COOKIE_AGE), or any other
 *                    failure: create() — which only sets `modified`, so a fresh (empty) cookie is
 *                    sent — and {}. The key is left as it was, as in Django.
 *   save()           the key becomes the signed session; `modified` is set.
 *   exists()         always false.  deleteSession(): key "" (hence null), data {}, `modified`.
 *   cycleKey()       save().          clearExpired(): nothing to do.
 *
 * Expiry: only the signature's age is checked, against SESSION_COOKIE_AGE; a per-session set_expiry()
 * only sets the cookie's Max-Age (Django ticket #19201), so a copied cookie stays valid for
 * SESSION_COOKIE_AGE after its last save.
 *
 * Size: Django does not check it. Browsers keep a cookie only if its name and value fit in 4096 bytes
 * and silently drop a larger one, so the session is lost (the next request carries the previous
 * cookie, or none). We log a warning when a saved session makes a cookie past that size.
 * A valid signed value whose payload is not a JSON object is treated as a failure here; Django would
 * hand the list/number to SessionBase and fail later.
 */
import { getLogger } from '../../log.ts';
import { pyDictToMap } from '../../pyjson/dict-order.ts';
import { isPyFloat, type PyDict, type PyValue, type SessionDict } from '../../pyjson/types.ts';
import { decodePayload, encodePayload } from '../../signing/dumps.ts';
import { JSONSerializer } from '../../signing/serializer.ts';
import { TimestampSigner } from '../../signing/timestamp-signer.ts';
import { SessionBase, type SessionBaseOptions, type SessionSettings } from '../base.ts';

/** The salt Django's signed_cookies engine signs with (not the codec's key_salt). */
export const SIGNED_COOKIES_SALT = 'django.contrib.sessions.backends.signed_cookies';

/** Bytes of name and value browsers keep per cookie (RFC 6265 §6.1's minimum, what browsers enforce). */
export const BROWSER_COOKIE_LIMIT = 4096;

const log = getLogger('django_session_bridge.sessions');

export interface SignedCookieSettings extends SessionSettings {
  SECRET_KEY: string;
  /** Verification-only keys (4.1+); ignored with DJANGO_VERSION 3.2. */
  SECRET_KEY_FALLBACKS?: readonly string[];
  /** 3.2's DEFAULT_HASHING_ALGORITHM (signing algorithm); default sha256. */
  DEFAULT_HASHING_ALGORITHM?: 'sha256' | 'sha1';
  /** For the size warning only; default `sessionid`. */
  SESSION_COOKIE_NAME?: string;
}

function isDict(value: PyValue): value is PyDict {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !isPyFloat(value) && !(value instanceof Map);
}

/**
 * `signing.dumps`/`loads` with the engine's salt, built once per app: the HMAC keys are derived here,
 * not on every request as Django's module-level functions do.
 */
export class SessionCookieSigner {
  private readonly signer: TimestampSigner;

  /** `now`: the clock in Unix seconds (for the signature's timestamp and the max_age check). */
  constructor(
    settings: SignedCookieSettings,
    private readonly now: () => number = () => Date.now() / 1000,
  ) {
    if (!settings.SECRET_KEY) throw new TypeError('the signed_cookies session engine needs SECRET_KEY');
    const is32 = settings.DJANGO_VERSION === '3.2';
    this.signer = new TimestampSigner({
      key: settings.SECRET_KEY,
      salt: SIGNED_COOKIES_SALT,
      algorithm: is32 ? (settings.DEFAULT_HASHING_ALGORITHM ?? 'sha256') : 'sha256',
      acceptLegacySha1: is32,
      fallbackKeys: is32 ? [] : (settings.SECRET_KEY_FALLBACKS ?? []),
      now,
    });
  }

  /** `signing.dumps(data, compress=True, salt=SIGNED_COOKIES_SALT)`, timestamped now. */
  dumps(data: SessionDict): string {
    return this.signer.signAt(encodePayload<PyValue>(data, JSONSerializer, true), Math.trunc(this.now()));
  }

  /** `signing.loads(value, max_age=maxAge, salt=SIGNED_COOKIES_SALT)`; throws on any failure or a non-dict. */
  loads(value: string, maxAge: number): SessionDict {
    const data = decodePayload<PyValue>(this.signer.unsign(value, maxAge), JSONSerializer, value);
    if (!isDict(data)) throw new TypeError('the signed session is not a JSON object');
    return pyDictToMap(data);
  }
}

export interface SignedCookieSessionStoreOptions extends SessionBaseOptions {
  settings: SignedCookieSettings;
  /** Shared by every store of an app; built from the settings (and the timezone's clock) when omitted. */
  signer?: SessionCookieSigner;
}

export class SignedCookieSessionStore extends SessionBase {
  readonly signer: SessionCookieSigner;
  private readonly cookieName: string;

  constructor(sessionKey: string | null | undefined, options: SignedCookieSessionStoreOptions) {
    super(sessionKey, options);
    const clock = this.timezone.clock;
    this.signer = options.signer ?? new SessionCookieSigner(options.settings, () => clock() / 1e6);
    this.cookieName = options.settings.SESSION_COOKIE_NAME ?? 'sessionid';
  }

  async load(): Promise<SessionDict> {
    try {
      // This doesn't handle non-default expiry dates (Django ticket #19201).
      return this.signer.loads(this.sessionKey as string, this.getSessionCookieAge());
    } catch {
      // BadSignature, SignatureExpired, bad base64/zlib/JSON: reset the session.
      await this.create();
    }
    return new Map();
  }

  /** No record to make: `modified`, so the middleware sends the (new) cookie. */
  async create(): Promise<void> {
    this.modified = true;
  }

  /** The key becomes the signed session. */
  async save(): Promise<void> {
    const key = this.signer.dumps(await this._getSession());
    this._sessionKey = key;
    this.modified = true;
    const size = Buffer.byteLength(this.cookieName) + 1 + key.length;
    if (size > BROWSER_COOKIE_LIMIT) {
      log.warning('Session cookie too large: browsers drop cookies over 4096 bytes, so this session will be lost', {
        cookie: this.cookieName,
        bytes: size,
        limit: BROWSER_COOKIE_LIMIT,
      });
    }
  }

  /** Nothing is stored anywhere, so no key "exists". */
  async exists(): Promise<boolean> {
    return false;
  }

  /** Forget the key and the data; the middleware then deletes the cookie. */
  async deleteSession(): Promise<void> {
    this._sessionKey = '';
    this._sessionCache = new Map();
    this.modified = true;
  }

  /** The same data under a "new key": simply a new signature. */
  override async cycleKey(): Promise<void> {
    await this.save();
  }

  /** Nothing to do (Django: `pass`). */
  override async clearExpired(): Promise<void> {}
}
