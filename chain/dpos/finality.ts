/**
 * Finality votes and certificates. A scheduled producer votes for a block by signing
 * taggedHash('qood/vote/v1', canonical [chainId, height, blockId]); a quorum of distinct scheduled
 * producers' votes (finalityQuorum) makes a certificate, which a light client checks against the
 * schedule it trusts.
 */
import { encodeCanonical } from '../codec/canonical.js';
import { type Ed25519Signer, verify } from '../crypto/ed25519.js';
import { taggedHash, toHex } from '../crypto/hash.js';
import { finalityQuorum } from './schedule.js';

/** One producer's vote for a block. */
export interface FinalityVote {
  readonly producer: string;
  readonly signature: Uint8Array;
}

/** Votes of a quorum for one block. */
export interface FinalityCertificate {
  readonly chainId: string;
  readonly height: number;
  readonly blockId: Uint8Array;
  readonly votes: readonly FinalityVote[];
}

export type DposErrorCode =
  | 'NOT_SCHEDULED'
  | 'DUPLICATE_VOTER'
  | 'BAD_SIGNATURE'
  | 'NO_QUORUM'
  | 'WRONG_CHAIN';

/** Why a certificate was refused. */
export class DposError extends Error {
  constructor(
    readonly code: DposErrorCode,
    readonly height: number,
    message: string,
  ) {
    super(`certificate for block ${height}: ${message}`);
    this.name = 'DposError';
  }
}

/** What a producer signs to vote for a block. */
export function voteMessage(chainId: string, height: number, blockId: Uint8Array): Uint8Array {
  return taggedHash('qood/vote/v1', encodeCanonical([chainId, height, blockId]));
}

/** A producer's vote for a block. */
export function signVote(
  signer: Ed25519Signer,
  chainId: string,
  height: number,
  blockId: Uint8Array,
): FinalityVote {
  return { producer: toHex(signer.publicKey), signature: signer.sign(voteMessage(chainId, height, blockId)) };
}

/**
 * Checks a certificate against the schedule in force at its height; returns undefined when it
 * proves finality, or the DposError saying why not.
 */
export function checkCertificate(
  cert: FinalityCertificate,
  schedule: readonly string[],
  chainId: string,
  /** Signature check (default chain/crypto verify; a host may pass a cached one). */
  verifier: (signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array) => boolean = verify,
): DposError | undefined {
  if (cert.chainId !== chainId) return new DposError('WRONG_CHAIN', cert.height, `chain '${cert.chainId}'`);
  const members = new Set(schedule);
  const seen = new Set<string>();
  const msg = voteMessage(cert.chainId, cert.height, cert.blockId);
  for (const v of cert.votes) {
    if (!members.has(v.producer))
      return new DposError(
        'NOT_SCHEDULED',
        cert.height,
        `${v.producer.slice(0, 16)}... is not in the schedule`,
      );
    if (seen.has(v.producer))
      return new DposError('DUPLICATE_VOTER', cert.height, `${v.producer.slice(0, 16)}... voted twice`);
    seen.add(v.producer);
    if (!verifier(v.signature, msg, Buffer.from(v.producer, 'hex')))
      return new DposError(
        'BAD_SIGNATURE',
        cert.height,
        `vote of ${v.producer.slice(0, 16)}... does not verify`,
      );
  }
  const need = finalityQuorum(schedule.length);
  if (seen.size < need)
    return new DposError(
      'NO_QUORUM',
      cert.height,
      `${seen.size} of ${schedule.length} votes, ${need} needed`,
    );
  return undefined;
}
