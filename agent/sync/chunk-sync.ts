/**
 * `ChunkSync`: moves stored chunks to the storage node and deletes them when it says it has them.
 *
 * - Publishes each unacknowledged chunk (per-stream order, as the store lists them) on
 *   `<prefix>/<vehicle>/up/chunk`, at most `maxInFlight` awaiting an acknowledgement at a time.
 * - Deletes a chunk only when its id arrives in an application ack on `<prefix>/<vehicle>/down/ack`:
 *   a PUBACK means only that the broker has it, and a broker may lose it (a crash before it
 *   persisted, a queue limit for an offline subscriber).
 * - After each reconnect, and for chunks whose ack did not come within `ackTimeoutMs`, publishes
 *   again from the first unacknowledged chunk of each stream; the node stores by id, so the
 *   duplicates this makes are harmless. Each envelope names the previous unacknowledged chunk of
 *   its stream (`prev`), so the node can refuse a chunk that overtook a lost one.
 * - Descriptors and queued chain transactions go the same way on `up/descriptor` and `up/tx`
 *   (pending-queue.ts): published after each connect and when new ones are stored, again when their
 *   ack is overdue, and deleted from the store on the node's ack: descriptor ids arrive on the same
 *   `down/ack` as chunk ids (distinct SHA-256 values), outbox seqs on `down/tx-ack`.
 * - Acks for unknown ids (already deleted, evicted) are ignored; a payload that is not an ack is
 *   counted (`sync.garbage`) and logged, and the sync carries on.
 *
 * Who may delete: anyone on the broker can publish on the device's ack topics, so an ack deletes
 * nothing unless a storage node key in `nodeKeys` signed it for this vehicle (`openAck`,
 * `openTxAck`); an ack that fails is counted as `sync.acks.refused`. Chunks and descriptors are
 * named by content hashes the device signed; a queued transaction by its outbox seq and its record
 * id, and it is deleted only when that id is the one this device signed and published under that
 * seq. Each transaction goes up signed with the device key (`signTxEnvelope`), so the node can
 * refuse a record an intruder publishes under the device's topic and seq. A device with no
 * `nodeKeys` deletes nothing on acks (its store fills up to its quota and evicts).
 */
import {
  type AckTrust,
  ackTopic,
  chunkTopic,
  DEFAULT_TOPIC_PREFIX,
  descriptorTopic,
  type Ed25519Signer,
  encodeChunkEnvelope,
  encodeDescriptorEnvelope,
  encodeTxEnvelope,
  openAck,
  openTxAck,
  outboxTxId,
  signTxEnvelope,
  txAckTopic,
  txTopic,
  type WireResult,
} from '../../chain/index.js';
import type { Logger, Metrics } from '../../process/index.js';
import type { ChunkStore, SealedChunkRecord } from '../store/index.js';
import { PendingQueue } from './pending-queue.js';
import type { Uplink } from './uplink.js';

/** Counters (and gauges) the sync reports. */
export const SYNC_COUNTERS = [
  'chunks.synced',
  'bytes.synced',
  'sync.published',
  'sync.resends',
  'sync.connects',
  'sync.acks',
  'sync.acks.unknown',
  'sync.acks.refused',
  'sync.txAcks',
  'sync.garbage',
  'sync.errors',
] as const;

export interface ChunkSyncOptions {
  readonly store: ChunkStore;
  readonly uplink: Uplink;
  readonly vehicleId: string;
  /** The device key: signs each queued transaction the sync publishes. */
  readonly device: Ed25519Signer;
  /**
   * Public keys (32 bytes) of the storage nodes whose signed acks delete records; an ack signed by
   * any other key deletes nothing. Empty: nothing is ever deleted on an ack.
   */
  readonly nodeKeys: readonly Uint8Array[];
  readonly metrics: Metrics;
  readonly logger: Logger;
  /** First topic levels (default `qood/v1`). */
  readonly topicPrefix?: string;
  /** Chunks published and not yet acknowledged, at most (default 32). */
  readonly maxInFlight?: number;
  /** Descriptors, and queued transactions, published and not yet acknowledged, at most (default 8 each). */
  readonly maxRecordsInFlight?: number;
  /** Publish again a chunk whose ack has not come after this long, ms (default 30000). */
  readonly ackTimeoutMs?: number;
  /** Monotonic clock in ms (default performance.now). */
  readonly nowMs?: () => number;
}

interface InFlight {
  readonly stream: string;
  readonly seq: number;
  readonly size: number;
  readonly sentMs: number;
}

export class ChunkSync {
  readonly #o: ChunkSyncOptions;
  readonly #prefix: string;
  readonly #maxInFlight: number;
  readonly #ackTimeoutMs: number;
  readonly #nowMs: () => number;
  readonly #inFlight = new Map<string, InFlight>();
  /** Ids published before and not acknowledged since: publishing one again counts as a resend. */
  readonly #sentBefore = new Set<string>();
  #position: { stream: string; seq: number } | undefined;
  readonly #offs: (() => void)[] = [];
  readonly #descriptors: PendingQueue<string>;
  readonly #txs: PendingQueue<number>;
  readonly #trust: AckTrust;
  #timer: NodeJS.Timeout | undefined;
  #running = false;
  #filling = false;

  constructor(options: ChunkSyncOptions) {
    this.#o = options;
    this.#prefix = options.topicPrefix ?? DEFAULT_TOPIC_PREFIX;
    this.#maxInFlight = options.maxInFlight ?? 32;
    this.#ackTimeoutMs = options.ackTimeoutMs ?? 30_000;
    this.#nowMs = options.nowMs ?? (() => performance.now());
    options.metrics.declare(...SYNC_COUNTERS);
    options.metrics.set('sync.connected', 0);
    options.metrics.set('sync.inflight', 0);
    const { store, uplink, metrics, logger, vehicleId, device } = options;
    this.#trust = { vehicleId, nodeKeys: options.nodeKeys };
    const common = {
      uplink,
      metrics,
      logger,
      maxInFlight: options.maxRecordsInFlight ?? 8,
      ackTimeoutMs: this.#ackTimeoutMs,
      nowMs: this.#nowMs,
    };
    this.#descriptors = new PendingQueue<string>({
      ...common,
      name: 'descriptors',
      topic: descriptorTopic(this.#prefix, vehicleId),
      pending: (limit) =>
        store.pendingDescriptors(limit).map((d) => ({
          key: d.id,
          id: d.id,
          encode: () => encodeDescriptorEnvelope({ id: d.id, bytes: d.bytes }),
        })),
      remove: (ids) => store.markDescriptorsAcked(ids),
    });
    this.#txs = new PendingQueue<number>({
      ...common,
      name: 'txs',
      topic: txTopic(this.#prefix, vehicleId),
      pending: (limit) =>
        store.pendingTxs(limit).map((t) => ({
          key: t.seq,
          id: outboxTxId(vehicleId, t),
          encode: () => encodeTxEnvelope(signTxEnvelope(vehicleId, t, device)),
        })),
      remove: (seqs) => store.removeTxs(seqs),
    });
  }

  /** Chunks published and awaiting their ack. */
  get inFlight(): number {
    return this.#inFlight.size;
  }

  /** Starts following the link; publishes at once if it is connected. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    const { uplink, logger, nodeKeys } = this.#o;
    if (nodeKeys.length === 0)
      logger.warn(
        {},
        'no storage node key is configured (sync.nodeKeys): acks cannot be checked, so nothing is deleted on an ack and the store fills up to its quota',
      );
    this.#offs.push(
      uplink.onConnect(() => this.#onConnect()),
      uplink.onDisconnect(({ reason }) => this.#onDisconnect(reason)),
      uplink.onMessage((topic, payload) => this.#onMessage(topic, payload)),
    );
    this.#timer = setInterval(() => this.checkAckTimeouts(), Math.max(50, this.#ackTimeoutMs / 4));
    this.#timer.unref();
    if (uplink.connected) this.#onConnect();
  }

  /** Descriptors and queued transactions published and awaiting their ack. */
  get recordsInFlight(): { readonly descriptors: number; readonly txs: number } {
    return { descriptors: this.#descriptors.inFlight, txs: this.#txs.inFlight };
  }

  /** Tells the sync that new chunks, descriptors or transactions were stored, so it publishes them if the window allows. */
  notify(): void {
    this.#fillRecords();
    this.#fill();
  }

  /** Publishes again, in order, every chunk whose ack is overdue. Called by a timer; public for tests. */
  checkAckTimeouts(): void {
    const now = this.#nowMs();
    const descriptorsDue = this.#descriptors.expire(now);
    const txsDue = this.#txs.expire(now);
    if (descriptorsDue || txsDue) this.#fillRecords();
    let expired = 0;
    for (const [id, f] of this.#inFlight)
      if (now - f.sentMs >= this.#ackTimeoutMs) {
        this.#inFlight.delete(id);
        expired++;
      }
    if (expired === 0) return;
    this.#o.logger.debug({ expired }, 'acks overdue; publishing again');
    this.#position = undefined;
    this.#fill();
  }

  /** Stops publishing and listening. The uplink and the store stay open (their owner closes them). */
  stop(): void {
    this.#running = false;
    for (const off of this.#offs.splice(0)) off();
    if (this.#timer) clearInterval(this.#timer);
    this.#inFlight.clear();
    this.#descriptors.reset();
    this.#txs.reset();
    this.#o.metrics.set('sync.inflight', 0);
  }

  #onConnect(): void {
    const { uplink, metrics, logger, vehicleId } = this.#o;
    metrics.inc('sync.connects');
    metrics.set('sync.connected', 1);
    logger.info({ vehicleId }, 'uplink connected; sending unacknowledged chunks');
    // The broker may have lost the session (a crash): subscribe again every time.
    for (const topic of [ackTopic(this.#prefix, vehicleId), txAckTopic(this.#prefix, vehicleId)])
      uplink.subscribe(topic).catch((err: Error) => {
        metrics.inc('sync.errors');
        logger.warn({ topic, err: err.message }, 'subscribing to acks failed');
      });
    this.#descriptors.reset();
    this.#txs.reset();
    this.#fillRecords();
    this.#restart();
  }

  #onDisconnect(reason: string): void {
    this.#o.metrics.set('sync.connected', 0);
    this.#o.logger.warn({ reason, inFlight: this.#inFlight.size }, 'uplink lost; chunks stay stored');
    this.#inFlight.clear();
    this.#descriptors.reset();
    this.#txs.reset();
    this.#o.metrics.set('sync.inflight', 0);
  }

  /** Publishes the descriptors and transactions the windows allow; a store error is counted, not thrown. */
  #fillRecords(): void {
    if (!this.#running) return;
    try {
      this.#descriptors.fill();
      this.#txs.fill();
    } catch (err) {
      this.#o.metrics.inc('sync.errors');
      this.#o.logger.error({ err: (err as Error).message }, 'reading the store for sync failed');
    }
  }

  /** Forgets what is in flight and publishes again from the start of every stream. */
  #restart(): void {
    this.#inFlight.clear();
    this.#position = undefined;
    this.#fill();
  }

  #fill(): void {
    const { uplink, store, metrics, logger, vehicleId } = this.#o;
    if (!this.#running || !uplink.connected || this.#filling) return;
    this.#filling = true;
    try {
      let wrapped = false;
      while (this.#inFlight.size < this.#maxInFlight) {
        const page = store.unsynced(Math.max(16, this.#maxInFlight - this.#inFlight.size), this.#position);
        if (page.length === 0) {
          // End of the store: look again from the start once, for streams that grew behind us.
          if (this.#position === undefined || wrapped) break;
          this.#position = undefined;
          wrapped = true;
          continue;
        }
        for (const r of page) {
          // The row before this one in (stream, seq) order, if in the same stream, is the previous
          // unacknowledged chunk of the stream: the node uses it to keep the stream in order.
          const prev = this.#position?.stream === r.stream ? this.#position.seq : undefined;
          this.#position = { stream: r.stream, seq: r.seq };
          if (this.#inFlight.has(r.id)) continue;
          this.#publish(r, prev);
          if (this.#inFlight.size >= this.#maxInFlight) break;
        }
      }
    } catch (err) {
      metrics.inc('sync.errors');
      logger.error({ err: (err as Error).message, vehicleId }, 'reading the store for sync failed');
    } finally {
      this.#filling = false;
      metrics.set('sync.inflight', this.#inFlight.size);
    }
  }

  #publish(r: SealedChunkRecord, prev: number | undefined): void {
    const { uplink, metrics, logger, vehicleId } = this.#o;
    this.#inFlight.set(r.id, { stream: r.stream, seq: r.seq, size: r.bytes.length, sentMs: this.#nowMs() });
    metrics.inc('sync.published');
    if (this.#sentBefore.has(r.id)) metrics.inc('sync.resends');
    else this.#sentBefore.add(r.id);
    const payload = encodeChunkEnvelope({
      id: r.id,
      stream: r.stream,
      seq: r.seq,
      bytes: r.bytes,
      ...(prev === undefined ? {} : { prev }),
    });
    // The PUBACK is not what deletes the chunk; a failed publish is retried after reconnect or timeout.
    uplink.publish(chunkTopic(this.#prefix, vehicleId), payload).catch((err: Error) => {
      logger.debug({ err: err.message, id: r.id }, 'publish not acknowledged by the broker');
    });
  }

  #onMessage(topic: string, payload: Uint8Array): void {
    const { vehicleId } = this.#o;
    if (topic === ackTopic(this.#prefix, vehicleId)) this.#onAck(topic, payload);
    else if (topic === txAckTopic(this.#prefix, vehicleId)) this.#onTxAck(topic, payload);
  }

  /** Counts and logs an ack that was not believed; true when there was one. */
  #refused(topic: string, r: WireResult<unknown>): r is Extract<WireResult<unknown>, { ok: false }> {
    if (r.ok) return false;
    const { metrics, logger } = this.#o;
    const garbage = r.code === 'NOT_CBOR' || r.code === 'BAD_FIELD';
    metrics.inc(garbage ? 'sync.garbage' : 'sync.acks.refused');
    logger.warn(
      { topic, code: r.code, error: r.error },
      garbage
        ? 'ignored a downlink message that is not an ack'
        : 'ignored an ack no trusted storage node signed',
    );
    return true;
  }

  #onAck(topic: string, payload: Uint8Array): void {
    const { store, metrics, logger } = this.#o;
    // Only an ack a trusted storage node signed for this vehicle may delete anything.
    const ack = openAck(payload, this.#trust);
    if (this.#refused(topic, ack)) return;
    const ids = ack.value.ids;
    metrics.inc('sync.acks');
    // The ids not awaited as chunks may be descriptors' (or late acks of chunks sent before a restart).
    const others = ids.filter((id) => !this.#inFlight.has(id));
    let chunks = 0;
    let descriptors = 0;
    try {
      const done = store.markAcked(ids);
      chunks = done.chunks;
      metrics.inc('chunks.synced', done.chunks);
      metrics.inc('bytes.synced', done.bytes);
      descriptors = this.#descriptors.ack(others.map((id) => ({ key: id, id })));
    } catch (err) {
      metrics.inc('sync.errors');
      logger.error(
        { err: (err as Error).message },
        'deleting acknowledged records failed; they will be sent again',
      );
      return;
    }
    metrics.inc('sync.acks.unknown', ids.length - chunks - descriptors);
    for (const id of ids) {
      this.#inFlight.delete(id);
      this.#sentBefore.delete(id);
    }
    this.#fill();
  }

  #onTxAck(topic: string, payload: Uint8Array): void {
    const { metrics, logger } = this.#o;
    const ack = openTxAck(payload, this.#trust);
    if (this.#refused(topic, ack)) return;
    metrics.inc('sync.txAcks');
    try {
      // Deleted only where the record id is the one this device signed under that seq.
      this.#txs.ack(ack.value.txs.map((t) => ({ key: t.seq, id: t.id })));
    } catch (err) {
      metrics.inc('sync.errors');
      logger.error(
        { err: (err as Error).message },
        'deleting acknowledged transactions failed; they will be sent again',
      );
    }
  }
}
