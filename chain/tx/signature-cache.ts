/**
 * Transaction signatures already verified, so a node checks each one once: when the transaction
 * enters its mempool, and never again when it builds a block from it or applies a peer's block that
 * carries it.
 *
 * The cache memoises `verify(signature, id, sender)` and nothing more: an entry is keyed by the tx
 * id and holds the signature and sender it verified with, and a lookup hits only when all three are
 * equal. A hit therefore gives exactly what inline verification would give for the same object. A
 * tampered transaction cannot borrow a cached verdict: decoding recomputes the id from the bytes
 * (tx/codec.ts), so changed bytes mean a different id and a miss.
 *
 * Only successes are kept (a flood of bad signatures cannot evict good entries). Bounded: the
 * least recently used entry goes first. Not shared between processes; one per node.
 */

import type { BatchVerifier } from '../crypto/batch-verifier.js';
import { verify } from '../crypto/ed25519.js';
import { bytesEqual, toHex } from '../crypto/hash.js';
import type { SignedTx } from './types.js';

interface Entry {
  readonly signature: Uint8Array;
  readonly sender: string;
}

/** Counters, for a node's status and the benches. */
export interface SignatureCacheStats {
  /** Lookups answered from the cache. */
  hits: number;
  /** Signatures verified here (cache misses). */
  verified: number;
  /** Signatures that did not verify. */
  failed: number;
  /** Entries dropped to stay within capacity. */
  evicted: number;
}

/** A bounded memo of transaction signatures that verified. */
export class SignatureCache {
  readonly #entries = new Map<string, Entry>();
  readonly stats: SignatureCacheStats = { hits: 0, verified: 0, failed: 0, evicted: 0 };

  /** `capacity`: entries kept (default 50,000, about 15 MB). */
  constructor(readonly capacity = 50_000) {}

  /** Entries held. */
  get size(): number {
    return this.#entries.size;
  }

  /** True when `tx`'s signature, id and sender are exactly those of a verified entry. */
  has(tx: SignedTx): boolean {
    const key = toHex(tx.id);
    const e = this.#entries.get(key);
    if (e === undefined || e.sender !== tx.tx.sender || !bytesEqual(e.signature, tx.signature)) return false;
    // Most recently used last, so eviction takes the stalest.
    this.#entries.delete(key);
    this.#entries.set(key, e);
    this.stats.hits++;
    return true;
  }

  /** `has` without counting a hit or refreshing the entry (for deciding where to verify). */
  knows(tx: SignedTx): boolean {
    const e = this.#entries.get(toHex(tx.id));
    return e !== undefined && e.sender === tx.tx.sender && bytesEqual(e.signature, tx.signature);
  }

  /** Whether `tx`'s signature verifies under its sender, from the cache or by verifying (then kept). */
  verify(tx: SignedTx): boolean {
    if (this.has(tx)) return true;
    if (!verify(tx.signature, tx.id, Buffer.from(tx.tx.sender, 'hex'))) {
      this.stats.failed++;
      return false;
    }
    this.stats.verified++;
    this.add(tx);
    return true;
  }

  /**
   * Records that `tx`'s signature verified somewhere the cache did not see (a verify pool, a block
   * that applied with inline checks). The caller vouches for it.
   */
  add(tx: SignedTx): void {
    const key = toHex(tx.id);
    this.#entries.delete(key);
    this.#entries.set(key, { signature: Uint8Array.from(tx.signature), sender: tx.tx.sender });
    while (this.#entries.size > this.capacity) {
      this.#entries.delete(this.#entries.keys().next().value!);
      this.stats.evicted++;
    }
  }

  /**
   * Verdicts for many transactions at once: cached ones answer at once, the rest go to `pool` as
   * one batch (on several cores) and those that verify are kept. Same verdicts as `verify` per tx.
   */
  async verifyAll(txs: readonly SignedTx[], pool: BatchVerifier): Promise<boolean[]> {
    const out = txs.map((t) => this.has(t));
    const misses: number[] = [];
    for (let i = 0; i < txs.length; i++) if (!out[i]) misses.push(i);
    if (misses.length === 0) return out;
    const ok = await pool.verifyBatch(
      misses.map((i) => {
        const t = txs[i]!;
        return { signature: t.signature, message: t.id, publicKey: Buffer.from(t.tx.sender, 'hex') };
      }),
    );
    for (let k = 0; k < misses.length; k++) {
      const i = misses[k]!;
      if (ok[k]) {
        out[i] = true;
        this.stats.verified++;
        this.add(txs[i]!);
      } else this.stats.failed++;
    }
    return out;
  }

  /** The hook `applyBlock`/`buildBlock` take (ApplyOptions.isVerified). */
  readonly isVerified = (tx: SignedTx): boolean => this.has(tx);
}
