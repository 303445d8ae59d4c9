/**
 * Catching up with final blocks from a peer's store: a node that starts late, restarts, or fell
 * behind asks the peer whose status shows the highest final height for the next range of final
 * blocks with their certificates (at most one request outstanding, retried elsewhere after a
 * timeout), and serves the same to others. A range ends at the highest certified height in it, so
 * the receiver's engine makes the whole range final with that certificate's votes.
 */
import type { ChainStore } from '../../chain/index.js';
import type { P2pMessage, RangeEntry } from '../p2p/wire.js';

/** Blocks asked for in one request. */
export const RANGE_BLOCKS = 128;
/** A node this many final blocks behind a peer asks it for a range (gossip covers smaller gaps). */
export const SYNC_GAP = 3;
/** Time to wait for an answer before asking someone else. */
export const RANGE_TIMEOUT_MS = 3000;

export interface RangeSyncOptions {
  readonly store: ChainStore;
  readonly nowMs: () => number;
  readonly send: (to: string, msg: P2pMessage) => boolean;
  /** This node's last final height. */
  readonly lastFinal: () => number;
}

/** Range requests and answers. */
export class RangeSync {
  /** Last final height each peer announced. */
  readonly #peerFinal = new Map<string, number>();
  #pending: { to: string; atMs: number } | undefined;
  /** Ranges served to others. */
  served = 0;

  readonly #o: RangeSyncOptions;

  constructor(o: RangeSyncOptions) {
    this.#o = o;
  }

  /** A peer announced its last final height; asks for a range when far enough behind. */
  onStatus(from: string, finalHeight: number): void {
    this.#peerFinal.set(from, finalHeight);
    this.next();
  }

  peerGone(key: string): void {
    this.#peerFinal.delete(key);
    if (this.#pending?.to === key) this.#pending = undefined;
  }

  /** True when a range from `from` was asked for (others are ignored); clears the request. */
  accept(from: string): boolean {
    if (this.#pending?.to !== from) return false;
    this.#pending = undefined;
    return true;
  }

  /** Asks the most advanced peer for the next range when behind and nothing is outstanding. */
  next(): void {
    const now = this.#o.nowMs();
    if (this.#pending !== undefined && now - this.#pending.atMs < RANGE_TIMEOUT_MS) return;
    const mine = this.#o.lastFinal();
    let best: [string, number] | undefined;
    for (const [k, h] of this.#peerFinal) if (best === undefined || h > best[1]) best = [k, h];
    // After a timeout, the same peer is asked again only if it is the only one ahead.
    if (best === undefined || best[1] < mine + SYNC_GAP) {
      this.#pending = undefined;
      return;
    }
    if (this.#o.send(best[0], { kind: 'getRange', fromHeight: mine + 1, count: RANGE_BLOCKS }))
      this.#pending = { to: best[0], atMs: now };
  }

  /** Answers a peer's getRange from the store (nothing when the store has none of it). */
  serve(to: string, fromHeight: number, count: number): void {
    const store = this.#o.store;
    const top = Math.min(store.lastFinal(), fromHeight + Math.min(count, RANGE_BLOCKS) - 1);
    if (fromHeight < 1 || top < fromHeight) return;
    let end = top;
    while (end > fromHeight && store.certificate(end) === undefined) end--;
    if (store.certificate(end) === undefined) end = top;
    const entries: RangeEntry[] = [];
    let bytes = 0;
    for (let h = fromHeight; h <= end; h++) {
      const block = store.block(h);
      if (block === undefined) break;
      entries.push({ block, certificate: store.certificate(h) ?? null });
      bytes += 200 + block.txs.length * 300;
      if (bytes > 4 * 1024 * 1024) break;
    }
    this.served++;
    this.#o.send(to, { kind: 'range', entries });
  }
}
