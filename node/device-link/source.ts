/**
 * What the device link needs of a full node, as two small interfaces: `ChainSource` (final
 * blocks, their certificates, the schedule book, finality events) for the finality publisher and
 * the checkpoint, and `TxSink` (the mempool and the head state) for the transaction forwarder.
 * `FullNode` provides both (`nodeSource`, `nodeSink`); tests may pass hand-built chains.
 */
import type { Block, ChainState, ScheduleChange, SignedTx } from '../../chain/index.js';
import type { FinalityEvent, FullNode } from '../runtime/full-node.js';
import type { TxReject } from '../runtime/tx-check.js';

/** A final block reference: height, slot and the state after it. */
export interface FinalRef {
  readonly height: number;
  readonly slot: number;
  readonly state: ChainState;
}

/** The final chain as the bridge reads it. */
export interface ChainSource {
  /** The last final block and the state after it. */
  readonly lastFinal: FinalRef;
  /** The final block at `height`, when held. */
  block(height: number): Block | undefined;
  /** Schedule changes decided along the final chain so far, in order (the list only grows). */
  readonly scheduleChanges: readonly ScheduleChange[];
  /** The schedule that certifies blocks of `slot` (on the branch of the head). */
  scheduleAt(slot: number): readonly string[];
  /** Calls `listener` on every finality event; returns the function that removes it. */
  onFinality(listener: (e: FinalityEvent) => void): () => void;
}

/** What submitting a transaction gave. */
export interface SubmitResult {
  readonly admitted: boolean;
  readonly reject?: TxReject | 'MEMPOOL_FULL';
}

/** The node's mempool and head, as the transaction forwarder uses them. */
export interface TxSink {
  submitTx(tx: SignedTx, options?: { readonly resubmit?: boolean }): SubmitResult;
  /** The fork-choice head's state (nonces of pending blocks included). */
  readonly head: { readonly height: number; readonly state: ChainState };
  readonly lastFinal: FinalRef;
  block(height: number): Block | undefined;
}

/** A FullNode as a ChainSource. */
export function nodeSource(node: FullNode): ChainSource {
  return {
    get lastFinal() {
      return node.lastFinal;
    },
    block: (h) => node.block(h),
    get scheduleChanges() {
      return node.engine.scheduleChanges;
    },
    scheduleAt: (slot) => node.engine.scheduleAt(slot),
    onFinality: (l) => node.onFinality(l),
  };
}

/** A FullNode as a TxSink. */
export function nodeSink(node: FullNode): TxSink {
  return {
    submitTx: (tx, o) => node.submitTx(tx, o),
    get head() {
      return node.head;
    },
    get lastFinal() {
      return node.lastFinal;
    },
    block: (h) => node.block(h),
  };
}
