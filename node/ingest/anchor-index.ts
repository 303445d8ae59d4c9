/**
 * The storage role's index of the chain's descriptor anchors: for every `descriptor` transaction in
 * a final block, the anchored Merkle root, the chain descriptor id (the transaction's id), the
 * agreement and its vehicle, kept in the ingest database (IngestStore.putAnchors). A stored signed
 * descriptor is "anchored" when a final anchor carries its root; buyers find the chain id to order
 * by in the listing.
 *
 * A cursor in the same database says through which height the final chain has been read, so a
 * restarted node resumes there; `catchUp` reads from the cursor to the given final height, in
 * database transactions of at most BATCH_BLOCKS blocks (rows and cursor commit together).
 */
import {
  type Agreement,
  type Block,
  type ChainState,
  getRecord,
  stateKey,
  toHex,
} from '../../chain/index.js';
import type { AnchorRow, IngestStore } from './ingest-store.js';

/** Blocks read per database transaction. */
const BATCH_BLOCKS = 512;

export interface AnchorIndexOptions {
  readonly store: IngestStore;
  /** Hex id of the chain's genesis: an index of another chain in the file is dropped. */
  readonly genesisId: string;
  /** The final block at a height (undefined when the node does not hold it). */
  readonly block: (height: number) => Block | undefined;
  /** The last final state: agreements are read there (an agreement's vehicle never changes). */
  readonly finalState: () => ChainState;
}

/** Reads final blocks into the anchor table. */
export class AnchorIndex {
  readonly #o: AnchorIndexOptions;
  #height: number;
  /** Anchors indexed by this instance. */
  indexed = 0;

  constructor(options: AnchorIndexOptions) {
    this.#o = options;
    this.#height = options.store.anchorCursor(options.genesisId);
  }

  /** Height through which final blocks have been read. */
  get height(): number {
    return this.#height;
  }

  /** Reads the final blocks after the cursor through `finalHeight`; returns the anchors added. */
  catchUp(finalHeight: number): number {
    let added = 0;
    while (this.#height < finalHeight) {
      const rows: AnchorRow[] = [];
      const last = Math.min(finalHeight, this.#height + BATCH_BLOCKS);
      let through = this.#height;
      for (let h = this.#height + 1; h <= last; h++) {
        const b = this.#o.block(h);
        if (b === undefined) break;
        rows.push(...this.#anchorsIn(b, h));
        through = h;
      }
      if (through === this.#height) break; // the next block is not held yet
      this.#o.store.putAnchors(this.#o.genesisId, rows, through);
      this.#height = through;
      added += rows.length;
    }
    this.indexed += added;
    return added;
  }

  #anchorsIn(b: Block, height: number): AnchorRow[] {
    const out: AnchorRow[] = [];
    for (const t of b.txs) {
      if (t.tx.kind !== 'descriptor') continue;
      const body = t.tx.body;
      const agreement = getRecord<Agreement>(this.#o.finalState().tree, stateKey.agreement(body.agreement));
      out.push({
        chainId: toHex(t.id),
        merkleRoot: toHex(body.merkleRoot),
        height,
        agreement: body.agreement,
        vehicle: agreement?.vehicle ?? '',
        sender: t.tx.sender,
        chunkCount: body.chunkCount,
      });
    }
    return out;
  }
}
