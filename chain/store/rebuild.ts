/**
 * Rebuilding the state from a store: the genesis spec and the stored blocks replayed through
 * `applyBlock`, which checks every header, signature and state root on the way, so a node that
 * restarts resumes exactly the state it had (or learns its file is damaged) without trusting a
 * snapshot.
 */

import { applyBlock, createGenesis } from '../state/block.js';
import type { ChainState } from '../state/state.js';
import type { BlockError } from '../tx/errors.js';
import { type ChainStore, StoreError } from './chain-store.js';

export interface RebuildOptions {
  /** The height to rebuild (default: the last final one). */
  readonly height?: number;
  /** Skip transaction signature checks (blocks this node verified before storing them). */
  readonly signaturesChecked?: boolean;
}

/** The state after block `height` of the store; throws StoreError (NO_GENESIS, CORRUPT). */
export function rebuildState(store: ChainStore, options: RebuildOptions = {}): ChainState {
  const spec = store.genesis();
  if (spec === undefined) throw new StoreError('NO_GENESIS', null, 'the store has no genesis');
  const height = options.height ?? store.lastFinal();
  if (height > store.headHeight())
    throw new StoreError('NOT_NEXT', height, `the store holds blocks up to ${store.headHeight()}`);
  let state = createGenesis(spec);
  for (let h = 1; h <= height; h++) {
    const block = store.block(h)!;
    const r = applyBlock(state, block, { signaturesChecked: options.signaturesChecked ?? false });
    if (!r.ok)
      throw new StoreError('CORRUPT', h, `stored block does not apply: ${(r.error as BlockError).message}`);
    state = r.state;
  }
  return state;
}
