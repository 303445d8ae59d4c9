/**
 * The contract of something that checks many ed25519 signatures at once, possibly on other cores
 * (the full node's worker pool). The chain core only names the contract; the implementation lives
 * with the process that owns the threads.
 */

/** One signature to check. */
export interface VerifyItem {
  readonly signature: Uint8Array;
  readonly message: Uint8Array;
  readonly publicKey: Uint8Array;
}

/** Checks signatures in batches; verdicts are in the order of `items`, true where one verifies. */
export interface BatchVerifier {
  verifyBatch(items: readonly VerifyItem[]): Promise<boolean[]>;
}
