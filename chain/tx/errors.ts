/**
 * Why a transaction or block was refused: one error class for the state machine with a code union
 * and the place it concerns (transaction index in the block, field).
 */

export type TxErrorCode =
  | 'MALFORMED'
  | 'WRONG_CHAIN'
  | 'BAD_SIGNATURE'
  | 'BAD_NONCE'
  | 'INSUFFICIENT_FUNDS'
  | 'INSUFFICIENT_MANA'
  | 'NOT_ISSUER'
  | 'NOT_OWNER'
  | 'NOT_PARTY'
  | 'UNKNOWN'
  | 'DUPLICATE'
  | 'LIMIT'
  | 'CLOSED'
  | 'EXPIRED'
  | 'LOCKED'
  | 'REVOKED'
  | 'OUT_OF_SCOPE'
  | 'BAD_EVIDENCE'
  | 'NOT_YET'
  /** Past what the owner signed (a listen grant extended beyond its latest end). */
  | 'BEYOND_TERMS'
  /** A payment smaller than the owner's price for what it asks. */
  | 'UNDERPAID';

export class TxError extends Error {
  constructor(
    readonly code: TxErrorCode,
    /** The field or record concerned, e.g. `body.to`, `order 3f2a...`. */
    readonly field: string,
    message: string,
    /** Index of the transaction in its block, when applying a block. */
    readonly txIndex?: number,
  ) {
    super(`${txIndex === undefined ? '' : `tx ${txIndex}: `}${field}: ${message}`);
    this.name = 'TxError';
  }
}

export type BlockErrorCode =
  | 'MALFORMED'
  | 'WRONG_CHAIN'
  | 'WRONG_HEIGHT'
  | 'WRONG_PARENT'
  | 'TIME_NOT_INCREASING'
  | 'UNKNOWN_PRODUCER'
  | 'BAD_SIGNATURE'
  | 'TX_ROOT_MISMATCH'
  | 'STATE_ROOT_MISMATCH'
  | 'TX_INVALID';

export class BlockError extends Error {
  constructor(
    readonly code: BlockErrorCode,
    readonly height: number,
    message: string,
    /** The transaction's error when code is TX_INVALID. */
    readonly txError?: TxError,
  ) {
    super(`block ${height}: ${message}`);
    this.name = 'BlockError';
  }
}
