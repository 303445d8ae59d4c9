/**
 * `PendingQueue`: the sync's sender for a queue of small records the store keeps until the node
 * acknowledges them: descriptors (keyed by id) and queued chain transactions (keyed by outbox seq).
 * The store lists them oldest first; the queue publishes the oldest `maxInFlight` that are not
 * awaiting an ack, publishes again those whose ack is overdue or that were in flight when the link
 * dropped, and deletes them from the store on the node's ack, never on a PUBACK. The node keys
 * them idempotently, so a resend is harmless. `ChunkSync` owns one queue per record kind and
 * drives it (connect, notify, acks, the ack timer).
 *
 * An ack names each record by its key and its content id (a descriptor's id; a transaction's
 * `outboxTxId`). A record is deleted only when the id acknowledged is the id of what this queue
 * published under that key: an ack for seq 3 that names other content (an intruder's record the
 * node took under seq 3, an older store's entry 3) deletes nothing. An ack for a record this
 * process has not published yet is ignored too; the record is published and acknowledged again.
 *
 * Counters, with `name` the queue's (`descriptors`, `txs`): `<name>.synced` (deleted on an ack),
 * `sync.<name>.published`, `sync.<name>.resends`.
 */
import type { Logger, Metrics } from '../../process/index.js';
import type { Uplink } from './uplink.js';

/** A stored record and how to encode it for the wire (called only when it is published). */
export interface PendingItem<K> {
  readonly key: K;
  /** Hex content id the node's ack must name for the record to be deleted. */
  readonly id: string;
  readonly encode: () => Uint8Array;
}

/** One acknowledged record: its key and the content id the node stored under it. */
export interface AckedItem<K> {
  readonly key: K;
  readonly id: string;
}

export interface PendingQueueOptions<K> {
  /** Names the counters: `descriptors` or `txs`. */
  readonly name: string;
  /** Topic the records are published on. */
  readonly topic: string;
  readonly uplink: Uplink;
  readonly metrics: Metrics;
  readonly logger: Logger;
  /** Records published and not yet acknowledged, at most. */
  readonly maxInFlight: number;
  /** Publish again a record whose ack has not come after this long, ms. */
  readonly ackTimeoutMs: number;
  /** Monotonic clock, ms. */
  readonly nowMs: () => number;
  /** The oldest `limit` records the store still holds. */
  readonly pending: (limit: number) => PendingItem<K>[];
  /** Deletes acknowledged records from the store (unknown keys ignored); returns how many it deleted. */
  readonly remove: (keys: readonly K[]) => number;
}

export class PendingQueue<K> {
  readonly #o: PendingQueueOptions<K>;
  /** Key -> when it was published (monotonic ms). */
  readonly #inFlight = new Map<K, number>();
  /**
   * Key -> content id of what was published under it, for records published and not acknowledged
   * since: the ack must name the same id, and publishing one again counts as a resend.
   */
  readonly #sentBefore = new Map<K, string>();
  readonly #synced: string;
  readonly #published: string;
  readonly #resends: string;

  constructor(options: PendingQueueOptions<K>) {
    this.#o = options;
    this.#synced = `${options.name}.synced`;
    this.#published = `sync.${options.name}.published`;
    this.#resends = `sync.${options.name}.resends`;
    options.metrics.declare(this.#synced, this.#published, this.#resends);
  }

  /** Records published and awaiting their ack. */
  get inFlight(): number {
    return this.#inFlight.size;
  }

  /** Publishes the oldest stored records that are not awaiting an ack, up to the window. */
  fill(): void {
    const { uplink, metrics, logger } = this.#o;
    if (!uplink.connected || this.#inFlight.size >= this.#o.maxInFlight) return;
    for (const item of this.#o.pending(this.#o.maxInFlight)) {
      if (this.#inFlight.has(item.key)) continue;
      if (this.#inFlight.size >= this.#o.maxInFlight) break;
      let payload: Uint8Array;
      try {
        payload = item.encode();
      } catch (err) {
        // A record the wire format refuses (a kind it does not allow) stays stored, and the rest go on.
        metrics.inc('sync.errors');
        logger.error(
          { err: (err as Error).message, [this.#o.name]: String(item.key) },
          'cannot encode a record',
        );
        continue;
      }
      this.#inFlight.set(item.key, this.#o.nowMs());
      metrics.inc(this.#published);
      if (this.#sentBefore.has(item.key)) metrics.inc(this.#resends);
      this.#sentBefore.set(item.key, item.id);
      uplink.publish(this.#o.topic, payload).catch((err: Error) => {
        logger.debug(
          { err: err.message, [this.#o.name]: String(item.key) },
          'publish not acknowledged by the broker',
        );
      });
    }
  }

  /** Forgets records whose ack is overdue, so the next `fill` publishes them again; true if any were. */
  expire(nowMs: number): boolean {
    let expired = false;
    for (const [key, sentMs] of this.#inFlight)
      if (nowMs - sentMs >= this.#o.ackTimeoutMs) {
        this.#inFlight.delete(key);
        expired = true;
      }
    return expired;
  }

  /** Forgets everything in flight (the link dropped: what was sent may be lost). */
  reset(): void {
    this.#inFlight.clear();
  }

  /**
   * Deletes the acknowledged records whose content id is the one published under their key, and
   * publishes what the window now allows. Returns how many the store deleted.
   */
  ack(items: readonly AckedItem<K>[]): number {
    const keys = items.filter((a) => this.#sentBefore.get(a.key) === a.id).map((a) => a.key);
    if (keys.length === 0) return 0;
    const n = this.#o.remove(keys);
    this.#o.metrics.inc(this.#synced, n);
    for (const k of keys) {
      this.#inFlight.delete(k);
      this.#sentBefore.delete(k);
    }
    this.fill();
    return n;
  }
}
