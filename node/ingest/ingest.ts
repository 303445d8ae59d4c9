/**
 * `ChunkIngest`: the storage node's minimal ingest role. Subscribes to every vehicle's chunk,
 * descriptor and transaction topics (wire.ts), checks each message (the envelope's CBOR shape, then
 * `verifyChunk` on a sealed chunk or `verifyDescriptor` on a signed descriptor, then that the
 * envelope, the topic and the signed content agree; record-checks.ts for descriptors and
 * transactions), stores what arrived since the last turn of the event loop (one transaction per
 * kind), and only then publishes the acks: chunk and descriptor ids on `down/ack`, (outbox seq,
 * record id) pairs on `down/tx-ack`, one message per vehicle. A duplicate (a resend) is stored once
 * and acknowledged again, since the device is waiting for that ack. Anything that does not verify
 * is counted and logged and never acknowledged; garbage never stops the ingest.
 *
 * Every record is checked against the device key the node knows for the vehicle of its topic
 * before it is stored or acknowledged (chunks and descriptors carry the device's signature; a
 * queued transaction's envelope is signed by it too), and every ack is signed with the node's key
 * (`ackSigner`), which devices are given: anyone else on the broker can publish on a vehicle's
 * topics, and neither a forged record nor a forged ack may make a device delete what it queued.
 *
 * Order per stream: a chunk is taken when its seq is not past the highest stored for its stream,
 * or when the envelope's `prev` (the device's previous unacknowledged chunk of that stream) is
 * absent or already stored. Otherwise it overtook a chunk the broker lost (a crash, a session
 * that was not there yet); it is held back (`ingest.held`: not stored, not acknowledged) and the
 * device sends both again in order when their acks are overdue. Chunks the device evicted leave
 * gaps that `prev` lets the node accept, so a gap never blocks a stream.
 */

import {
  ackTopic,
  chunkTopicFilter,
  DEFAULT_TOPIC_PREFIX,
  decodeChunkEnvelope,
  descriptorTopicFilter,
  type Ed25519Signer,
  encodeAck,
  encodeTxAck,
  MAX_ACK_IDS,
  parseUplinkTopic,
  txAckTopic,
  txTopicFilter,
} from '../../chain/index.js';
import type { IngestChunk, IngestDescriptor, IngestStore } from './ingest-store.js';
import type { IngestLink } from './link.js';
import { type CheckedTx, checkDescriptorMessage, checkTxMessage } from './record-checks.js';
import type { VerifyChunk, VerifyDescriptor, VerifyTx } from './verify.js';

/**
 * Counters the ingest keeps. `ingest.*` without a kind are about chunks; `ingest.garbage` counts
 * envelopes of every kind that did not decode; `ingest.acks` counts messages on `down/ack`,
 * `ingest.txAcks` those on `down/tx-ack`.
 */
export const INGEST_COUNTERS = [
  'ingest.received',
  'ingest.stored',
  'ingest.duplicates',
  'ingest.rejected',
  'ingest.held',
  'ingest.garbage',
  'ingest.acks',
  'ingest.errors',
  'ingest.descriptors.received',
  'ingest.descriptors.stored',
  'ingest.descriptors.duplicates',
  'ingest.descriptors.rejected',
  'ingest.txs.received',
  'ingest.txs.stored',
  'ingest.txs.duplicates',
  'ingest.txs.rejected',
  'ingest.txs.seqReused',
  'ingest.txAcks',
] as const;
export type IngestCounter = (typeof INGEST_COUNTERS)[number];

/** Where the ingest reports (a subset of pino's logger, so the CLI passes its logger). */
export interface IngestLogger {
  info(fields: Record<string, unknown>, msg: string): void;
  warn(fields: Record<string, unknown>, msg: string): void;
  error(fields: Record<string, unknown>, msg: string): void;
}

export interface ChunkIngestOptions {
  readonly link: IngestLink;
  readonly store: IngestStore;
  readonly verifyChunk: VerifyChunk;
  /** Checks descriptors, and transactions of kind `descriptor`. */
  readonly verifyDescriptor: VerifyDescriptor;
  /** Checks the device's signature on every queued transaction. */
  readonly verifyTx: VerifyTx;
  /** The storage node's key: signs every ack (devices delete only on acks signed by a key they trust). */
  readonly ackSigner: Ed25519Signer;
  readonly logger: IngestLogger;
  /** First topic levels (default `qood/v1`). */
  readonly topicPrefix?: string;
  /** Messages per store transaction at most (default 256); a batch is also closed on the next turn of the event loop. */
  readonly maxBatch?: number;
  /** Wall clock for the received time, ms (default Date.now). */
  readonly nowMs?: () => number;
  /** Called with a counter name and the amount, e.g. to mirror into the process metrics. */
  readonly onCount?: (name: IngestCounter, by: number) => void;
}

export class ChunkIngest {
  readonly #o: ChunkIngestOptions;
  readonly #prefix: string;
  readonly #maxBatch: number;
  readonly #counters = new Map<IngestCounter, number>(INGEST_COUNTERS.map((c) => [c, 0]));
  readonly #offs: (() => void)[] = [];
  /** Highest seq taken per vehicle and stream (stored, or in the batch being stored). */
  readonly #highest = new Map<string, number>();
  #batch: IngestChunk[] = [];
  #descriptors: IngestDescriptor[] = [];
  #txs: CheckedTx[] = [];
  #flushScheduled = false;
  #running = false;

  constructor(options: ChunkIngestOptions) {
    this.#o = options;
    this.#prefix = options.topicPrefix ?? DEFAULT_TOPIC_PREFIX;
    this.#maxBatch = options.maxBatch ?? 256;
  }

  /** Subscribes (now if connected, and again at every connect) and starts storing. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    const { link } = this.#o;
    this.#offs.push(
      link.onConnect(() => this.#subscribe()),
      link.onMessage((topic, payload) => this.#onMessage(topic, payload)),
    );
    if (link.connected) this.#subscribe();
  }

  /** Stores and acknowledges what is pending, then stops listening. The link and store stay open. */
  stop(): void {
    this.#flush();
    this.#running = false;
    for (const off of this.#offs.splice(0)) off();
  }

  /** The counters so far. */
  counters(): Readonly<Record<IngestCounter, number>> {
    return Object.fromEntries(this.#counters) as Record<IngestCounter, number>;
  }

  #count(name: IngestCounter, by = 1): void {
    this.#counters.set(name, (this.#counters.get(name) ?? 0) + by);
    this.#o.onCount?.(name, by);
  }

  #subscribe(): void {
    const p = this.#prefix;
    for (const filter of [chunkTopicFilter(p), descriptorTopicFilter(p), txTopicFilter(p)])
      this.#o.link.subscribe(filter).then(
        () => this.#o.logger.info({ filter }, 'ingest subscribed'),
        (err: Error) => {
          this.#count('ingest.errors');
          this.#o.logger.error({ filter, err: err.message }, 'ingest could not subscribe');
        },
      );
  }

  #onMessage(topic: string, payload: Uint8Array): void {
    if (!this.#running) return;
    const t = parseUplinkTopic(this.#prefix, topic);
    if (t === undefined) return;
    if (t.kind === 'chunk') this.#onChunk(t.vehicleId, topic, payload);
    else if (t.kind === 'descriptor') this.#onDescriptor(t.vehicleId, topic, payload);
    else this.#onTx(t.vehicleId, topic, payload);
  }

  #onDescriptor(vehicleId: string, topic: string, payload: Uint8Array): void {
    this.#count('ingest.descriptors.received');
    const r = checkDescriptorMessage(vehicleId, topic, payload, this.#o.verifyDescriptor);
    if (!r.ok) {
      this.#count(r.garbage ? 'ingest.garbage' : 'ingest.descriptors.rejected');
      this.#o.logger.warn({ topic, reason: r.reason }, 'rejected a descriptor');
      return;
    }
    this.#descriptors.push(r.value);
    this.#scheduleFlush();
  }

  #onTx(vehicleId: string, topic: string, payload: Uint8Array): void {
    this.#count('ingest.txs.received');
    const r = checkTxMessage(vehicleId, topic, payload, this.#o.verifyDescriptor, this.#o.verifyTx);
    if (!r.ok) {
      this.#count(r.garbage ? 'ingest.garbage' : 'ingest.txs.rejected');
      this.#o.logger.warn({ topic, reason: r.reason }, 'rejected a queued transaction');
      return;
    }
    this.#txs.push(r.value);
    this.#scheduleFlush();
  }

  #scheduleFlush(): void {
    if (this.#batch.length + this.#descriptors.length + this.#txs.length >= this.#maxBatch) this.#flush();
    else if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(() => this.#flush());
    }
  }

  #onChunk(vehicleId: string, topic: string, payload: Uint8Array): void {
    this.#count('ingest.received');
    const env = decodeChunkEnvelope(payload);
    if (!env.ok) {
      this.#count('ingest.garbage');
      this.#o.logger.warn({ topic, error: env.error }, 'dropped a message that is not a chunk envelope');
      return;
    }
    const e = env.value;
    const v = this.#o.verifyChunk(e.bytes);
    let reason: string | undefined;
    if (!v.ok) reason = v.reason;
    else if (v.vehicleId !== vehicleId)
      reason = `signed for vehicle '${v.vehicleId}', published on '${topic}'`;
    else if (v.id !== e.id) reason = `envelope id ${e.id} is not the header's ${v.id}`;
    else if (v.stream !== e.stream || v.seq !== e.seq)
      reason = `envelope says ${e.stream}#${e.seq}, the signed header ${v.stream}#${v.seq}`;
    if (reason !== undefined) {
      this.#count('ingest.rejected');
      this.#o.logger.warn({ topic, id: e.id, stream: e.stream, seq: e.seq, reason }, 'rejected a chunk');
      return;
    }
    const key = `${vehicleId}\u0000${e.stream}`;
    const highest = this.#highest.has(key)
      ? this.#highest.get(key)
      : this.#o.store.maxSeq(vehicleId, e.stream);
    if (highest !== undefined && e.seq > highest && e.prev !== undefined && e.prev > highest) {
      this.#count('ingest.held');
      return;
    }
    if (highest === undefined && e.prev !== undefined) {
      this.#count('ingest.held');
      return;
    }
    this.#highest.set(key, highest === undefined ? e.seq : Math.max(highest, e.seq));
    this.#batch.push({ id: e.id, vehicleId, stream: e.stream, seq: e.seq, bytes: e.bytes });
    this.#scheduleFlush();
  }

  #flush(): void {
    this.#flushScheduled = false;
    const nowMs = (this.#o.nowMs ?? Date.now)();
    const acked = new Map<string, string[]>();
    const add = (vehicleId: string, id: string) => {
      const ids = acked.get(vehicleId) ?? [];
      ids.push(id);
      acked.set(vehicleId, ids);
    };
    for (const c of this.#storeChunks(nowMs)) add(c.vehicleId, c.id);
    for (const d of this.#storeDescriptors(nowMs)) add(d.vehicleId, d.id);
    const txAcked = new Map<string, { seq: number; id: string }[]>();
    for (const t of this.#storeTxs(nowMs)) {
      const entries = txAcked.get(t.vehicleId) ?? [];
      entries.push({ seq: t.seq, id: t.id });
      txAcked.set(t.vehicleId, entries);
    }
    // Signed, and naming content (chunk and descriptor ids, tx record ids), so a device can tell
    // these acks from anyone else's and delete only what the node stored.
    const signer = this.#o.ackSigner;
    for (const [vehicleId, ids] of acked)
      for (let i = 0; i < ids.length; i += MAX_ACK_IDS)
        this.#ack(
          'ingest.acks',
          ackTopic(this.#prefix, vehicleId),
          encodeAck(vehicleId, ids.slice(i, i + MAX_ACK_IDS), signer),
        );
    for (const [vehicleId, entries] of txAcked)
      for (let i = 0; i < entries.length; i += MAX_ACK_IDS)
        this.#ack(
          'ingest.txAcks',
          txAckTopic(this.#prefix, vehicleId),
          encodeTxAck(vehicleId, entries.slice(i, i + MAX_ACK_IDS), signer),
        );
  }

  /** Stores the pending chunks; returns them when committed, nothing when the store failed. */
  #storeChunks(nowMs: number): readonly IngestChunk[] {
    const batch = this.#batch;
    if (batch.length === 0) return batch;
    this.#batch = [];
    try {
      const r = this.#o.store.putBatch(batch, nowMs);
      this.#count('ingest.stored', r.added);
      this.#count('ingest.duplicates', r.duplicates);
      return batch;
    } catch (err) {
      // Not stored, so not acknowledged: the devices send these again.
      this.#highest.clear();
      this.#storeFailed(err, 'chunks', batch.length);
      return [];
    }
  }

  #storeDescriptors(nowMs: number): readonly IngestDescriptor[] {
    const batch = this.#descriptors;
    if (batch.length === 0) return batch;
    this.#descriptors = [];
    try {
      const r = this.#o.store.putDescriptors(batch, nowMs);
      this.#count('ingest.descriptors.stored', r.added);
      this.#count('ingest.descriptors.duplicates', r.duplicates);
      return batch;
    } catch (err) {
      this.#storeFailed(err, 'descriptors', batch.length);
      return [];
    }
  }

  #storeTxs(nowMs: number): readonly CheckedTx[] {
    const batch = this.#txs;
    if (batch.length === 0) return batch;
    this.#txs = [];
    try {
      const r = this.#o.store.putTxs(batch, nowMs);
      this.#count('ingest.txs.stored', r.added);
      this.#count('ingest.txs.duplicates', r.duplicates);
      if (r.seqReused > 0) {
        this.#count('ingest.txs.seqReused', r.seqReused);
        this.#o.logger.warn(
          { vehicles: [...new Set(batch.map((t) => t.vehicleId))], count: r.seqReused },
          'a device reused outbox seqs with other transactions (its store was recreated?); both kept',
        );
      }
      return batch;
    } catch (err) {
      this.#storeFailed(err, 'txs', batch.length);
      return [];
    }
  }

  #storeFailed(err: unknown, what: string, count: number): void {
    this.#count('ingest.errors');
    this.#o.logger.error({ err: (err as Error).message, what, count }, 'storing a batch failed');
  }

  #ack(counter: 'ingest.acks' | 'ingest.txAcks', topic: string, payload: Uint8Array): void {
    this.#count(counter);
    this.#o.link.publish(topic, payload).catch((err: Error) => {
      // A lost ack costs a resend from the device, which is acknowledged again.
      this.#count('ingest.errors');
      this.#o.logger.warn({ topic, err: err.message }, 'publishing an ack failed');
    });
  }
}
