/**
 * Transactions waiting for a block, in arrival order, bounded. The state machine decides validity
 * when a block is built (buildBlock drops what does not apply); the pool only refuses what can never
 * apply here (another chain) and what does not fit.
 */
import { toHex } from '../crypto/hash.js';
import type { SignedTx } from '../tx/types.js';

/** One node's pending transactions. */
export class Mempool {
  readonly #txs = new Map<string, SignedTx>();

  readonly #chainId: string;
  readonly #capacity: number;

  constructor(chainId: string, capacity: number) {
    this.#chainId = chainId;
    this.#capacity = capacity;
  }

  get size(): number {
    return this.#txs.size;
  }

  /** Adds `tx`; returns why it was refused, or undefined (also for one already held). */
  add(tx: SignedTx): string | undefined {
    const idHex = toHex(tx.id);
    if (this.#txs.has(idHex)) return undefined;
    if (tx.tx.chainId !== this.#chainId) return `tx ${idHex.slice(0, 16)}...: chain '${tx.tx.chainId}'`;
    if (this.#txs.size >= this.#capacity) return `tx ${idHex.slice(0, 16)}...: mempool full`;
    this.#txs.set(idHex, tx);
    return undefined;
  }

  /** Whether the pool holds the transaction with this id (hex). */
  has(idHex: string): boolean {
    return this.#txs.has(idHex);
  }

  /**
   * `max` transactions for a block, by arrival, each sender's in nonce order: arrival order decides
   * between senders, but a sender's transaction never goes before one of its own with a lower nonce
   * that the pool holds (nonces only rise on chain, so that one would be lost).
   */
  candidates(max: number): SignedTx[] {
    const all = [...this.#txs.values()];
    const bySender = new Map<string, SignedTx[]>();
    for (const t of all) {
      const list = bySender.get(t.tx.sender) ?? [];
      list.push(t);
      bySender.set(t.tx.sender, list);
    }
    for (const list of bySender.values()) list.sort((a, b) => a.tx.nonce - b.tx.nonce);
    // Each arrival slot, oldest first, takes its sender's lowest nonce not taken yet.
    const next = new Map<string, number>();
    const out: SignedTx[] = [];
    for (const t of all) {
      if (out.length >= max) break;
      const i = next.get(t.tx.sender) ?? 0;
      next.set(t.tx.sender, i + 1);
      out.push(bySender.get(t.tx.sender)![i]!);
    }
    return out;
  }

  /** Drops transactions (included in a block, or refused by the state). */
  remove(txs: readonly SignedTx[]): void {
    for (const t of txs) this.#txs.delete(toHex(t.id));
  }

  /** Transactions from `sender` still pending (for the next nonce). */
  pendingFrom(sender: string): number {
    let n = 0;
    for (const t of this.#txs.values()) if (t.tx.sender === sender) n++;
    return n;
  }
}
