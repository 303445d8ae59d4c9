/**
 * The blocks a node has validated, as a tree rooted at its last final block: fork choice (the longest
 * chain extending the last final block; on equal height the block already chosen stays), ancestry
 * queries, and finalization, which never reverts a final block and prunes every branch that does not
 * extend the new final block.
 */
import { toHex } from '../crypto/hash.js';
import type { Block } from '../state/block.js';
import type { ChainState } from '../state/state.js';

/** A validated block with the state after it (dropped once the block is final and not the last). */
export interface TreeEntry {
  /** Undefined for genesis. */
  readonly block: Block | undefined;
  readonly id: Uint8Array;
  readonly idHex: string;
  readonly height: number;
  readonly slot: number;
  /** Producer address; empty for genesis. */
  readonly producer: string;
  readonly parent: TreeEntry | undefined;
  /** The producers scheduled for its slot (whose votes count for it). */
  readonly schedule: readonly string[];
  state: ChainState | undefined;
}

/** The validated block tree of one node. */
export class BlockTree {
  readonly #byId = new Map<string, TreeEntry>();
  /** Blocks above the last final one. */
  readonly #open = new Set<TreeEntry>();
  /** The final chain, indexed by height (genesis at 0). */
  readonly #finalChain: TreeEntry[];
  /** The block fork choice selects. */
  head: TreeEntry;

  constructor(genesis: ChainState, genesisSchedule: readonly string[]) {
    const g: TreeEntry = {
      block: undefined,
      id: genesis.blockId,
      idHex: toHex(genesis.blockId),
      height: 0,
      slot: 0,
      producer: '',
      parent: undefined,
      schedule: genesisSchedule,
      state: genesis,
    };
    this.#byId.set(g.idHex, g);
    this.#finalChain = [g];
    this.head = g;
  }

  /** The last final block. */
  get lastFinal(): TreeEntry {
    return this.#finalChain[this.#finalChain.length - 1]!;
  }

  /** The final block at `height`, if that height is final. */
  finalAt(height: number): TreeEntry | undefined {
    return this.#finalChain[height];
  }

  get(idHex: string): TreeEntry | undefined {
    return this.#byId.get(idHex);
  }

  /** Blocks held, final chain included. */
  get size(): number {
    return this.#byId.size;
  }

  /** True when `e` is on the final chain. */
  isFinal(e: { readonly height: number }): boolean {
    return this.#finalChain[e.height] === e;
  }

  /** The ancestor of `e` at `height` (e itself at its own height), or undefined above it. */
  ancestorAt(e: TreeEntry, height: number): TreeEntry | undefined {
    if (height > e.height || height < 0) return undefined;
    let cur: TreeEntry | undefined = e;
    while (cur !== undefined && cur.height > height) {
      if (this.isFinal(cur)) return this.#finalChain[height];
      cur = cur.parent;
    }
    return cur;
  }

  /** True when `e` is `ancestor` or descends from it. */
  extends(e: TreeEntry, ancestor: TreeEntry): boolean {
    return this.ancestorAt(e, ancestor.height) === ancestor;
  }

  /** Adds a validated block whose parent is in the tree; moves the head when it is longer. */
  add(e: TreeEntry): void {
    this.#byId.set(e.idHex, e);
    this.#open.add(e);
    if (e.height > this.head.height && this.extends(e, this.lastFinal)) this.head = e;
  }

  /**
   * Makes `e` and its ancestors final. Returns the newly final blocks lowest first, or 'conflict'
   * when `e` does not extend the last final block (nothing changes then).
   */
  finalize(e: TreeEntry): TreeEntry[] | 'conflict' {
    const last = this.lastFinal;
    if (e.height <= last.height) return this.#finalChain[e.height] === e ? [] : 'conflict';
    if (!this.extends(e, last)) return 'conflict';
    const fresh: TreeEntry[] = [];
    for (let cur: TreeEntry | undefined = e; cur !== undefined && cur !== last; cur = cur.parent)
      fresh.push(cur);
    fresh.reverse();
    for (const f of fresh) this.#finalChain[f.height] = f;
    for (const x of this.#open) {
      if (x.height <= e.height) {
        this.#open.delete(x);
        if (this.#finalChain[x.height] !== x) this.#byId.delete(x.idHex);
      } else if (!this.extends(x, e)) {
        this.#open.delete(x);
        this.#byId.delete(x.idHex);
      }
    }
    if (!this.extends(this.head, e)) this.head = this.bestExtending(e);
    return fresh;
  }

  /** Drops the states of final blocks below the last one (their bytes stay for peers that sync). */
  releaseStates(blocks: readonly TreeEntry[]): void {
    for (const b of blocks) if (b !== this.lastFinal) b.state = undefined;
  }

  /** The longest chain's tip among blocks extending `root` (earliest slot, then id, on ties). */
  bestExtending(root: TreeEntry): TreeEntry {
    let best = root;
    for (const x of this.#open) {
      if (!this.extends(x, root)) continue;
      if (
        x.height > best.height ||
        (x.height === best.height && (x.slot < best.slot || (x.slot === best.slot && x.idHex < best.idHex)))
      )
        best = x;
    }
    return best;
  }

  /** Blocks of `e`'s ancestry above `aboveHeight`, lowest first, at most `max` of them. */
  ancestry(e: TreeEntry, aboveHeight: number, max: number): Block[] {
    const down: TreeEntry[] = [];
    let cur: TreeEntry | undefined = e;
    while (cur !== undefined && cur.height > aboveHeight && !this.isFinal(cur)) {
      down.push(cur);
      cur = cur.parent;
    }
    if (cur !== undefined) for (let h = cur.height; h > aboveHeight; h--) down.push(this.#finalChain[h]!);
    const out: Block[] = [];
    for (let i = down.length - 1; i >= 0 && out.length < max; i--) {
      const b = down[i]!.block;
      if (b !== undefined) out.push(b);
    }
    return out;
  }

  /** Every block held that is not final (for the host's inspection). */
  pending(): TreeEntry[] {
    return [...this.#open];
  }
}
