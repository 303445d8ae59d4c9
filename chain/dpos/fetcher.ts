/**
 * What a node is missing and asks peers for: blocks whose parent it does not hold (held, bounded,
 * until the ancestry arrives) and blocks it saw votes for but never received (lost, or sent while it
 * was away). Requests to peers are rate-limited per block.
 */
import { toHex } from '../crypto/hash.js';
import type { Block } from '../state/block.js';
import type { BlockTree } from './block-tree.js';
import type { FinalityCertificate } from './finality.js';

/** Slots to wait before asking again for the same block. */
const RETRY_SLOTS = 4;
/** Slots a vote for an unknown block waits for the block before the node asks for it. */
const VOTE_GRACE_SLOTS = 1;
/** Requests for vote-only blocks sent per slot. */
const ASKS_PER_SLOT = 2;

/** A getBlocks request to make: the peer, the block and its height. */
export interface FetchRequest {
  readonly to: string;
  readonly idHex: string;
  readonly height: number;
}

/** Orphan blocks and the requests for what they and votes refer to. */
export class BlockFetcher {
  readonly #orphans = new Map<string, { from: string; block: Block; idHex: string }[]>();
  #held = 0;
  /** Block id -> slot it was last asked for at. */
  readonly #asked = new Map<string, number>();
  /** Block id -> who voted for it, at what height, since which slot. */
  readonly #voted = new Map<string, { from: string; height: number; sinceSlot: number }>();

  readonly #maxOrphans: number;

  constructor(maxOrphans: number) {
    this.#maxOrphans = maxOrphans;
  }

  /** Blocks held while waiting for a parent. */
  get orphanCount(): number {
    return this.#held;
  }

  /**
   * Holds a block whose parent is unknown. Returns how many blocks were dropped to make room (the
   * oldest waiting group) and whether to ask `from` for its ancestry now.
   */
  hold(
    from: string,
    block: Block,
    idHex: string,
    slot: number,
  ): { dropped: number; ask: FetchRequest | undefined } {
    let dropped = 0;
    if (this.#held >= this.#maxOrphans) {
      const [oldest, list] = this.#orphans.entries().next().value!;
      this.#orphans.delete(oldest);
      this.#held -= list.length;
      dropped = list.length;
    }
    const parentHex = toHex(block.header.header.prevHash);
    const list = this.#orphans.get(parentHex) ?? [];
    if (!list.some((o) => o.idHex === idHex)) {
      list.push({ from, block, idHex });
      this.#orphans.set(parentHex, list);
      this.#held++;
    }
    return { dropped, ask: this.#mayAsk(from, idHex, block.header.header.height, slot) };
  }

  /** Removes and returns the blocks waiting for `parentHex`. */
  takeChildren(parentHex: string): { from: string; block: Block }[] {
    const list = this.#orphans.get(parentHex);
    if (list === undefined) return [];
    this.#orphans.delete(parentHex);
    this.#held -= list.length;
    return list;
  }

  /** Notes a vote for a block not held. */
  votedFor(idHex: string, from: string, height: number, slot: number): void {
    if (!this.#voted.has(idHex)) this.#voted.set(idHex, { from, height, sinceSlot: slot });
  }

  /** The block arrived: nothing to ask for any more. */
  received(idHex: string): void {
    this.#voted.delete(idHex);
  }

  /** Requests due at `slot` for voted blocks still missing (`has` says which are held). */
  due(slot: number, finalHeight: number, has: (idHex: string) => boolean): FetchRequest[] {
    const out: FetchRequest[] = [];
    for (const [idHex, v] of this.#voted) {
      if (has(idHex) || v.height <= finalHeight) {
        this.#voted.delete(idHex);
        continue;
      }
      if (out.length >= ASKS_PER_SLOT || slot - v.sinceSlot < VOTE_GRACE_SLOTS) continue;
      const r = this.#mayAsk(v.from, idHex, v.height, slot);
      if (r !== undefined) out.push(r);
    }
    return out;
  }

  #mayAsk(to: string, idHex: string, height: number, slot: number): FetchRequest | undefined {
    const at = this.#asked.get(idHex);
    if (at !== undefined && slot - at < RETRY_SLOTS) return undefined;
    this.#asked.delete(idHex);
    this.#asked.set(idHex, slot);
    if (this.#asked.size > 4096) this.#asked.delete(this.#asked.keys().next().value!);
    return { to, idHex, height };
  }
}

/**
 * The answer to getBlocks: the ancestry of the block asked for above `aboveHeight`. An asker behind
 * this node's finality gets the final chain and the certificate that ends it instead, when the block
 * it asked for is unknown here or off the final chain: it may be stuck on a branch that lost.
 */
export function answerGetBlocks(
  tree: BlockTree,
  lastCertificate: FinalityCertificate | undefined,
  blockId: Uint8Array,
  aboveHeight: number,
  max: number,
): { blocks: Block[]; certificate?: FinalityCertificate } | undefined {
  const asked = tree.get(toHex(blockId));
  const final = tree.lastFinal;
  const cert = aboveHeight < final.height ? lastCertificate : undefined;
  const onFinal = asked !== undefined && tree.extends(asked, final);
  const tip =
    asked !== undefined && (cert === undefined || onFinal) ? asked : cert !== undefined ? final : undefined;
  if (tip === undefined) return undefined;
  const blocks = tree.ancestry(tip, aboveHeight, max);
  const reachesFinal = cert !== undefined && aboveHeight + max >= final.height;
  if (blocks.length === 0 && !reachesFinal) return undefined;
  return reachesFinal ? { blocks, certificate: cert } : { blocks };
}
