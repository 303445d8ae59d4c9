/**
 * What the consensus engine (engine.ts) receives and what it asks its host to do. Peers are named by
 * an opaque string the host chooses (the devnet uses producer addresses); the engine never touches a
 * socket or a clock, so the same events always give the same actions.
 */
import type { Block } from '../state/block.js';
import type { SignedHeader } from '../tx/header.js';
import type { SignedTx } from '../tx/types.js';
import type { FinalityCertificate, FinalityVote } from './finality.js';

/** A finality vote as it travels: the block it is for and the producer's signature over voteMessage. */
export interface BlockVote {
  readonly height: number;
  readonly blockId: Uint8Array;
  readonly vote: FinalityVote;
}

/** Inputs to the engine. */
export type EngineEvent =
  /** The host's clock: the engine produces on its slots and retries what is pending. */
  | { readonly kind: 'tick'; readonly timeMs: number }
  /** A block a peer sent (new, or in answer to getBlocks). */
  | { readonly kind: 'block'; readonly from: string; readonly block: Block }
  /**
   * Blocks a peer sent in answer to getBlocks, lowest height first, with its latest certificate
   * when the asker was behind its finality.
   */
  | {
      readonly kind: 'blocks';
      readonly from: string;
      readonly blocks: readonly Block[];
      readonly certificate?: FinalityCertificate;
    }
  | { readonly kind: 'vote'; readonly from: string; readonly vote: BlockVote }
  | { readonly kind: 'tx'; readonly tx: SignedTx }
  /** A finality certificate a peer formed (it helps nodes that lost some of the votes). */
  | { readonly kind: 'certificate'; readonly from: string; readonly certificate: FinalityCertificate }
  /** A peer asks for the ancestry of `blockId` above `aboveHeight`. */
  | {
      readonly kind: 'getBlocks';
      readonly from: string;
      readonly blockId: Uint8Array;
      readonly aboveHeight: number;
    };

/** A block that became final. */
export interface FinalBlock {
  readonly height: number;
  readonly slot: number;
  readonly blockId: Uint8Array;
  readonly producer: string;
  readonly timeMs: number;
}

/** A slot with no block in the final chain, and whose slot it was. */
export interface MissedSlot {
  readonly slot: number;
  readonly producer: string;
}

/**
 * A new producer schedule, in force from the first slot of `fromRound`. It was elected from the state
 * after `decidedBy`, the last block of its round, once that block was final. The state machine
 * records the same schedule in `sched/active` (chain/state/active-schedule.ts), which is what a light
 * client follows.
 */
export interface ScheduleChange {
  readonly fromRound: number;
  readonly fromSlot: number;
  readonly schedule: readonly string[];
  readonly decidedBy: {
    readonly height: number;
    readonly slot: number;
    readonly blockId: Uint8Array;
    readonly stateRoot: Uint8Array;
  };
}

/** Proof of a producer's misbehaviour. */
export type Evidence =
  /** Two signed headers by one producer at one height: the body of a doubleSign transaction. */
  | {
      readonly kind: 'doubleSign';
      readonly producer: string;
      readonly height: number;
      readonly a: SignedHeader;
      readonly b: SignedHeader;
    }
  /** Two votes by one producer for different blocks at one height. */
  | {
      readonly kind: 'doubleVote';
      readonly producer: string;
      readonly height: number;
      readonly a: BlockVote;
      readonly b: BlockVote;
    };

/** Outputs of the engine, for its host to carry out. */
export type EngineAction =
  | { readonly kind: 'broadcastBlock'; readonly block: Block }
  | { readonly kind: 'broadcastVote'; readonly vote: BlockVote }
  | { readonly kind: 'broadcastTx'; readonly tx: SignedTx }
  /** Sent by a block's producer when its block is certified. */
  | { readonly kind: 'broadcastCertificate'; readonly certificate: FinalityCertificate }
  | {
      readonly kind: 'sendBlocks';
      readonly to: string;
      readonly blocks: readonly Block[];
      readonly certificate?: FinalityCertificate;
    }
  | {
      readonly kind: 'getBlocks';
      readonly to: string;
      readonly blockId: Uint8Array;
      readonly aboveHeight: number;
    }
  /** `blocks` (lowest first) became final by `certificate`, which is for the last of them. */
  | {
      readonly kind: 'final';
      readonly certificate: FinalityCertificate;
      readonly blocks: readonly FinalBlock[];
      readonly missedSlots: readonly MissedSlot[];
    }
  | { readonly kind: 'scheduleChange'; readonly change: ScheduleChange }
  | { readonly kind: 'evidence'; readonly evidence: Evidence }
  /**
   * A quorum certified a block that conflicts with this node's final chain. The engine never reverts
   * a final block; this is reported so the host can raise an alarm (it needs double votes).
   */
  | {
      readonly kind: 'conflict';
      readonly height: number;
      readonly blockId: Uint8Array;
      readonly finalBlockId: Uint8Array;
    };

/** Why the engine dropped a block, a vote or a transaction; counted in EngineStats. */
export const REJECT_CODES = [
  'BAD_SLOT',
  'FUTURE_SLOT',
  'STALE',
  'WRONG_PRODUCER',
  'INVALID_BLOCK',
  'ORPHAN_OVERFLOW',
  'BAD_VOTE',
  'BAD_CERTIFICATE',
  'NOT_SCHEDULED',
  'INVALID_TX',
] as const;
export type RejectCode = (typeof REJECT_CODES)[number];

/** Counters of what the engine did and dropped. */
export interface EngineStats {
  blocksApplied: number;
  blocksProduced: number;
  votesCast: number;
  votesAccepted: number;
  orphansHeld: number;
  rejected: Record<RejectCode, number>;
  /** The last rejection, with what, where and why. */
  lastRejection: string | undefined;
}
