/**
 * The crypto layer's error: a bad key or length, a failed authentication, a signature that does not
 * verify under the key it must, a malformed wrapped key, a verify pool that was closed or lost a
 * worker.
 */

export type CryptoErrorCode =
  | 'BAD_KEY'
  | 'BAD_LENGTH'
  | 'AUTH_FAILED'
  | 'BAD_SIGNATURE'
  | 'LOW_ORDER_POINT'
  | 'BAD_PROOF'
  | 'WORKER_FAILED';

export class CryptoError extends Error {
  constructor(
    readonly code: CryptoErrorCode,
    /** What the error is about: `key`, `nonce`, `signature`, `wrapped key` ... */
    readonly subject: string,
    message: string,
  ) {
    super(`${subject}: ${message}`);
    this.name = 'CryptoError';
  }
}

/** Throws CryptoError('BAD_LENGTH') unless `b` is a Uint8Array of `length` bytes. */
export function checkLength(b: Uint8Array, length: number, subject: string): void {
  if (!(b instanceof Uint8Array) || b.length !== length)
    throw new CryptoError(
      'BAD_LENGTH',
      subject,
      `expected ${length} bytes, got ${b instanceof Uint8Array ? b.length : typeof b}`,
    );
}
