/**
 * Peer messages on their way to the engine when the node has a verify pool: a block, blocks or sync
 * range carrying at least `minTxs` transactions whose signatures the node has not verified yet waits
 * while the pool verifies them on worker threads (the verified ones go into the signature cache, so
 * applying finds them there); every message after it waits its turn, so the engine sees peer
 * messages in the order they arrived. With nothing queued, small messages pass straight through.
 *
 * Signatures that fail in the pool are not cached: applying checks them again inline and refuses the
 * block as it would without a pool. A pool failure (closed, a worker died) is logged and the message
 * goes on to be checked inline.
 */

import type { SignatureCache, SignedTx } from '../../chain/index.js';
import type { P2pMessage } from '../p2p/wire.js';
import type { VerifyPool } from './verify-pool.js';

/** Unverified transactions a message needs to go through the pool, by default. */
export const VERIFY_INBOX_MIN_TXS = 256;

/** What an inbox is built from. */
export interface VerifyInboxOptions {
  readonly pool: VerifyPool;
  readonly cache: SignatureCache;
  /** Default VERIFY_INBOX_MIN_TXS. */
  readonly minTxs?: number;
  /** Where messages go, in arrival order. */
  readonly handle: (from: string, msg: P2pMessage) => void;
  readonly log?: { warn(obj: object, msg: string): void };
}

/** An ordered queue of peer messages in front of the engine. */
export class VerifyInbox {
  #tail: Promise<void> = Promise.resolve();
  #pending = 0;
  readonly #minTxs: number;

  readonly #o: VerifyInboxOptions;

  constructor(o: VerifyInboxOptions) {
    this.#o = o;
    this.#minTxs = o.minTxs ?? VERIFY_INBOX_MIN_TXS;
  }

  /** Messages waiting. */
  get size(): number {
    return this.#pending;
  }

  /** Takes one message from `from`; it reaches `handle` now or after those before it. */
  receive(from: string, msg: P2pMessage): void {
    const cache = this.#o.cache;
    const txs = messageTxs(msg).filter((t) => !cache.knows(t));
    if (this.#pending === 0 && txs.length < this.#minTxs) {
      this.#o.handle(from, msg);
      return;
    }
    this.#pending++;
    this.#tail = this.#tail
      .then(async () => {
        if (txs.length >= this.#minTxs) await cache.verifyAll(txs, this.#o.pool);
      })
      .catch((e: unknown) => this.#o.log?.warn({ err: (e as Error).message }, 'verify pool failed'))
      .then(() => {
        this.#pending--;
        this.#o.handle(from, msg);
      });
  }

  /** Resolves when every message received so far has been handled. */
  drained(): Promise<void> {
    return this.#tail;
  }
}

/** The transactions a peer message carries. */
function messageTxs(msg: P2pMessage): SignedTx[] {
  switch (msg.kind) {
    case 'block':
      return [...msg.block.txs];
    case 'blocks':
      return msg.blocks.flatMap((b) => b.txs);
    case 'range':
      return msg.entries.flatMap((e) => e.block.txs);
    default:
      return [];
  }
}
