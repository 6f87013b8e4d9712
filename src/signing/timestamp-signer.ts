/**
 * `django.core.signing.TimestampSigner`: signs `value + sep + b62(int(now))`, so the signature covers the
 * timestamp too, and can refuse values older than `maxAge` on the way back.
 */
import { b62Decode, b62Encode } from './base62.ts';
import { PayloadError, SignatureExpired } from './errors.ts';
import { pyFloatStr, pyNumberStr } from './py-repr.ts';
import { Signer, type SignerOptions } from './signer.ts';

export interface TimestampSignerOptions extends SignerOptions {
  /** Current time in seconds, fractional allowed (Python's `time.time()`); default the system clock. */
  now?: () => number;
}

export interface TimestampedValue {
  value: string;
  /** Unix seconds recorded at signing time. */
  timestamp: number;
}

const systemNow = (): number => Date.now() / 1000;

export class TimestampSigner extends Signer {
  static override readonly defaultSalt: string = 'django.core.signing.TimestampSigner';

  private readonly now: () => number;

  constructor(options: TimestampSignerOptions) {
    super(options);
    this.now = options.now ?? systemNow;
  }

  /** `b62_encode(int(time.time()))`. */
  timestamp(): string {
    return b62Encode(Math.trunc(this.now()));
  }

  override sign(value: string): string {
    return super.sign(value + this.sep + this.timestamp());
  }

  /** Sign as if the clock read `timestamp` (whole Unix seconds). */
  signAt(value: string, timestamp: number): string {
    if (!Number.isSafeInteger(timestamp)) throw new RangeError(`timestamp must be whole seconds, got ${timestamp}`);
    return super.sign(value + this.sep + b62Encode(timestamp));
  }

  /**
   * Return the value, checking the signature and, when `maxAge` (seconds) is given, that
   * `now - timestamp <= maxAge`. The DB session codec passes no maxAge: Django never checks it there.
   */
  override unsign(signedValue: string, maxAge?: number | null): string {
    return this.unsignTimestamped(signedValue, maxAge).value;
  }

  /** Like unsign, also returning the timestamp. */
  unsignTimestamped(signedValue: string, maxAge?: number | null): TimestampedValue {
    const result = super.unsign(signedValue);
    const at = result.lastIndexOf(this.sep);
    // Django: `result.rsplit(sep, 1)` / base62 decode raise ValueError here, not BadSignature.
    if (at < 0) throw new PayloadError(`No "${this.sep}" before the signature (no timestamp)`, signedValue, 'timestamp');
    let timestamp: number;
    try {
      timestamp = b62Decode(result.slice(at + this.sep.length));
    } catch (err) {
      throw new PayloadError('Invalid base62 timestamp', signedValue, 'timestamp', { cause: err });
    }
    if (maxAge !== undefined && maxAge !== null) {
      const age = this.now() - timestamp;
      if (age > maxAge) {
        throw new SignatureExpired(
          `Signature age ${pyFloatStr(age)} > ${pyNumberStr(maxAge)} seconds`,
          signedValue,
          age,
          maxAge,
        );
      }
    }
    return { value: result.slice(0, at), timestamp };
  }
}
