/**
 * Verified finality votes held by one node, by block and by height. A producer's second vote at a
 * height for another block is not counted: it is returned as a double vote for the evidence it is.
 */
import type { BlockVote } from './messages.js';

/** What adding a vote did. */
export type AddVoteResult =
  | { readonly kind: 'new' }
  | { readonly kind: 'duplicate' }
  | { readonly kind: 'doubleVote'; readonly first: BlockVote };

interface BlockVotes {
  readonly height: number;
  readonly blockIdHex: string;
  readonly votes: Map<string, BlockVote>;
}

/** Votes above the last final height. */
export class VotePool {
  readonly #byBlock = new Map<string, BlockVotes>();
  /** height -> producer -> the block it voted for there. */
  readonly #byHeight = new Map<number, Map<string, { vote: BlockVote; idHex: string }>>();

  /** Adds a vote whose signature has been checked. */
  add(v: BlockVote, idHex: string): AddVoteResult {
    const producer = v.vote.producer;
    let atHeight = this.#byHeight.get(v.height);
    if (atHeight === undefined) {
      atHeight = new Map();
      this.#byHeight.set(v.height, atHeight);
    }
    const prior = atHeight.get(producer);
    if (prior !== undefined)
      return prior.idHex === idHex ? { kind: 'duplicate' } : { kind: 'doubleVote', first: prior.vote };
    atHeight.set(producer, { vote: v, idHex });
    let b = this.#byBlock.get(idHex);
    if (b === undefined) {
      b = { height: v.height, blockIdHex: idHex, votes: new Map() };
      this.#byBlock.set(idHex, b);
    }
    b.votes.set(producer, v);
    return { kind: 'new' };
  }

  /** Votes for one block, by producer. */
  forBlock(idHex: string): ReadonlyMap<string, BlockVote> | undefined {
    return this.#byBlock.get(idHex)?.votes;
  }

  /** Blocks that have votes, with their height and vote count. */
  blocks(): IterableIterator<BlockVotes> {
    return this.#byBlock.values();
  }

  /**
   * Producers with a vote at `height` or above for a block `outside` says is not in a given subtree
   * (`outside` returns undefined for a block this node does not know; those are not counted).
   */
  votersOutside(height: number, outside: (idHex: string) => boolean | undefined): Set<string> {
    const who = new Set<string>();
    for (const [h, votes] of this.#byHeight) {
      if (h < height) continue;
      for (const [producer, v] of votes)
        if (!who.has(producer) && outside(v.idHex) === true) who.add(producer);
    }
    return who;
  }

  /** Drops every vote at `height` or below. */
  pruneThrough(height: number): void {
    for (const h of this.#byHeight.keys()) if (h <= height) this.#byHeight.delete(h);
    for (const [id, b] of this.#byBlock) if (b.height <= height) this.#byBlock.delete(id);
  }
}
