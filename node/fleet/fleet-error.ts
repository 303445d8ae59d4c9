/**
 * The one error of the provider's fleet CA. Its `code` says what kind of problem it is, so the
 * `qood fleet` command can map it to an exit status: `usage` is bad input (a name that cannot be a
 * topic level, a key that is not 32 bytes of hex, a serial the CA never issued), `state` is a CA
 * folder in the wrong state (missing, already initialised, half written), and `openssl` is the
 * openssl binary failing or missing.
 */

/** What kind of problem (see the module comment). */
export type FleetErrorCode = 'usage' | 'state' | 'openssl';

/** A fleet CA operation that could not be done; `message` names what, where and what was expected. */
export class FleetError extends Error {
  readonly code: FleetErrorCode;
  /** The file or folder the problem is about, when there is one. */
  readonly file: string | undefined;

  constructor(o: { code: FleetErrorCode; message: string; file?: string; cause?: unknown }) {
    super(o.message, o.cause === undefined ? undefined : { cause: o.cause });
    this.name = 'FleetError';
    this.code = o.code;
    this.file = o.file;
  }
}
