/**
 * Errors of the session codec. Signature failures are the signing layer's own `BadSignature`;
 * these cover the rest.
 */

/** Session data whose signature (or legacy hash) was fine, or never got checked, but which is not a session. */
export class CorruptSessionData extends Error {
  constructor(
    message: string,
    /** The stored `session_data` text. */
    readonly sessionData: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'CorruptSessionData';
  }
}

/** A SessionCodec option that no Django version accepts (caught at construction, not per request). */
export class InvalidCodecOptions extends Error {
  constructor(
    message: string,
    readonly option: string,
  ) {
    super(message);
    this.name = 'InvalidCodecOptions';
  }
}
