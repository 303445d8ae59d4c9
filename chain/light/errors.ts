/**
 * Why the light client refused a checkpoint, an update or a proof. One class, a `code` per reason,
 * the height concerned (null when there is none) and, for a refused certificate, the DPoS reason.
 */
import type { DposErrorCode } from '../dpos/finality.js';

export type LightErrorCode =
  /** Bytes that are not a canonical update, checkpoint or proof; the message names the field or offset. */
  | 'MALFORMED'
  /** An update or checkpoint of another chain. */
  | 'WRONG_CHAIN'
  /** A checkpoint older than the client's head, or older than the weak-subjectivity window. */
  | 'STALE_CHECKPOINT'
  /** An update at or below the client's head height. */
  | 'STALE_UPDATE'
  /** An update whose time does not follow the head's. */
  | 'TIME_NOT_INCREASING'
  /** Too few votes, a vote that does not verify, an outsider or a duplicate voter. */
  | 'BAD_CERTIFICATE'
  /** A schedule record the header's state root does not prove, or a new round's update without one. */
  | 'UNPROVEN_SCHEDULE'
  /**
   * A schedule record naming a schedule the client has no trusted path to: one consensus never ran,
   * or a change in a round the client saw no update of (it needs an update in between).
   */
  | 'UNTRUSTED_SCHEDULE'
  /** A state proof that does not show the claimed value (or absence) under the root. */
  | 'WRONG_PROOF'
  /** A state proof made for another height than the client's head. */
  | 'PROOF_NOT_AT_HEAD';

/** A light-client refusal. */
export class LightError extends Error {
  constructor(
    readonly code: LightErrorCode,
    /** Height of the header or proof concerned; null when there is none (garbage). */
    readonly height: number | null,
    message: string,
    /** The certificate check's reason, for BAD_CERTIFICATE. */
    readonly certificate: DposErrorCode | null = null,
  ) {
    super(height === null ? message : `height ${height}: ${message}`);
    this.name = 'LightError';
  }
}
