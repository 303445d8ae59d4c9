/**
 * The voting rule of one producer. It votes at strictly increasing heights (so never twice at one
 * height). Every block it has voted for stays binding, and it votes and builds only on chains that
 * extend every binding block, until that block is dead: n - quorum + 1 scheduled producers have voted
 * at its height or above for blocks outside its subtree.
 *
 * Why this is safe when producers keep the rule, whatever the network does: say a quorum Q voted for
 * A and some producer later votes outside A's subtree; take the first one to do so. It saw a set S of
 * n - quorum + 1 producers with such votes. A member of S that also voted for A did so before its
 * outside vote (heights rise), so it left A's subtree earlier than the first one: impossible. So S
 * and Q do not meet, |Q| <= n - |S| < quorum, and A was never certified. Hence no two conflicting
 * blocks are both certified. The liveness side: a group locked on a losing branch sees the others
 * vote above its blocks and is released once they number n - quorum + 1.
 */
import type { BlockTree, TreeEntry } from './block-tree.js';
import { finalityQuorum } from './schedule.js';
import type { VotePool } from './vote-pool.js';

/** A producer's past votes and what they bind it to. */
export class VoteLock {
  /** Blocks voted for above the last final one, lowest first. */
  #voted: TreeEntry[] = [];
  readonly #dead = new Set<TreeEntry>();
  /** Height of the last vote; the next must be higher. */
  lastVotedHeight = 0;

  readonly #tree: BlockTree;
  readonly #votes: VotePool;

  constructor(tree: BlockTree, votes: VotePool) {
    this.#tree = tree;
    this.#votes = votes;
  }

  /** Records a vote this producer cast. */
  record(e: TreeEntry): void {
    this.#voted.push(e);
    this.lastVotedHeight = e.height;
  }

  /**
   * The tip this producer builds and votes on: the longest chain extending its highest live vote
   * (which extends every other live one), or the tree's head when that already does.
   */
  preferredHead(): TreeEntry {
    const head = this.#tree.head;
    const last = this.#voted[this.#voted.length - 1];
    // Live votes are ancestors of the last vote, so a head extending it extends them all.
    if (last === undefined || this.#tree.extends(head, last)) return head;
    const anchor = this.#anchor();
    return anchor === undefined || this.#tree.extends(head, anchor) ? head : this.#tree.bestExtending(anchor);
  }

  /** Forgets votes at or below the final height (a final block binds everyone). */
  prune(finalHeight: number): void {
    this.#voted = this.#voted.filter((e) => e.height > finalHeight);
    for (const e of this.#dead) if (e.height <= finalHeight) this.#dead.delete(e);
  }

  /** The highest voted block not yet dead, if any. */
  #anchor(): TreeEntry | undefined {
    for (let i = this.#voted.length - 1; i >= 0; i--) {
      const y = this.#voted[i]!;
      // Pruned from the tree: it conflicts with a final block and binds nothing any more.
      if (this.#tree.get(y.idHex) !== y) continue;
      if (!this.#isDead(y)) return y;
    }
    return undefined;
  }

  #isDead(y: TreeEntry): boolean {
    if (this.#dead.has(y)) return true;
    const schedule = y.schedule;
    const outside = this.#votes.votersOutside(y.height, (idHex) => {
      const b = this.#tree.get(idHex);
      return b === undefined ? undefined : !this.#tree.extends(b, y);
    });
    let n = 0;
    for (const p of outside) if (schedule.includes(p)) n++;
    if (n < schedule.length - finalityQuorum(schedule.length) + 1) return false;
    this.#dead.add(y);
    return true;
  }
}
