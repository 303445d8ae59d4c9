/** The market's client libraries' errors (buyer and owner): one class, a code naming what failed, and the details. */

/** What failed. */
export const MARKET_ERROR_CODES = [
  /** The operation needs the user's key and the client has none. */
  'NO_KEY',
  /** The node could not be reached, or did not answer in time. */
  'UNREACHABLE',
  /** The node answered with an error (its code and message are in `nodeCode`, `message`). */
  'NODE_REFUSED',
  /** The node's answer does not decode. */
  'BAD_RESPONSE',
  /**
   * A state answer of the node does not check against a finality certificate with the light
   * client (a changed value, an invented or hidden record, a header no quorum signed).
   */
  'UNPROVEN',
  /** No such order in the final state. */
  'UNKNOWN_ORDER',
  /** The order is not this buyer's buy order. */
  'NOT_THE_BUYER',
  /** The order is not filled (yet, or it was cancelled). */
  'NOT_FILLED',
  /** waitForFill, or the owner's wait for a final transaction, ran out of time. */
  'TIMEOUT',
  /**
   * The owner's account moved past a submitted transaction's nonce in the final state but the
   * transaction's effect is not there (another transaction of the account took the nonce).
   */
  'NOT_APPLIED',
  /** The owner's wallet was asked to act on a vehicle (or grant) its key does not own. */
  'NOT_OWNER',
  /** What the owner asked for is done already (a vehicle registered, a grant revoked). */
  'ALREADY_DONE',
  /** An argument given to the client is not valid (it names which and what was expected). */
  'BAD_ARGUMENT',
  /** A block the node served does not chain to the certified head (owner's history). */
  'BAD_BLOCK',
  /** The chain lacks a record the purchase refers to (descriptor, agreement, vehicle). */
  'MISSING_RECORD',
  /** The delivered key bundle does not open with the buyer's key for this order. */
  'KEY_BUNDLE',
  /** The signed descriptor does not decode or its device signature fails. */
  'BAD_DESCRIPTOR',
  /** The signed descriptor is not the one anchored on chain (root, chunk count or dictionary). */
  'ANCHOR_MISMATCH',
  /** The descriptor names another vehicle than the anchor's agreement. */
  'VEHICLE_MISMATCH',
  /** The descriptor's device key is not bound to the vehicle on chain. */
  'DEVICE_NOT_BOUND',
  /** A served chunk's id is not the hash of its header, or the chunk does not decode. */
  'CHUNK_ID',
  /** verifyBatch found problems (listed in `problems`). */
  'VERIFY_FAILED',
] as const;

export type MarketErrorCode = (typeof MARKET_ERROR_CODES)[number];

/** A failed market operation or check. */
export class MarketError extends Error {
  readonly code: MarketErrorCode;
  /** HTTP status of a node's refusal. */
  readonly status: number | undefined;
  /** The node's own error code (NODE_REFUSED). */
  readonly nodeCode: string | undefined;
  /** Every problem verifyBatch found (VERIFY_FAILED). */
  readonly problems: readonly string[];

  constructor(
    code: MarketErrorCode,
    message: string,
    details: { status?: number; nodeCode?: string; problems?: readonly string[] } = {},
  ) {
    super(message);
    this.name = 'MarketError';
    this.code = code;
    this.status = details.status;
    this.nodeCode = details.nodeCode;
    this.problems = details.problems ?? [];
  }
}
