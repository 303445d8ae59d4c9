/**
 * `ChunkIngest`: the storage node's minimal ingest role. Subscribes to every vehicle's chunk topic,
 * checks each chunk (the envelope's CBOR shape, then `verifyChunk` on the sealed bytes, then that
 * the envelope, the topic and the signed header agree), stores the chunks of a batch in one
 * transaction, and only then publishes the acks, one message per vehicle. A duplicate (a resend)
 * is stored once and acknowledged again, since the device is waiting for that ack. A chunk that
 * does not verify is counted and logged and never acknowledged; garbage never stops the ingest.
 *
 * Order per stream: a chunk is taken when its seq is not past the highest stored for its stream,
 * or when the envelope's `prev` (the device's previous unacknowledged chunk of that stream) is
 * absent or already stored. Otherwise it overtook a chunk the broker lost (a crash, a session
 * that was not there yet); it is held back (`ingest.held`: not stored, not acknowledged) and the
 * device sends both again in order when their acks are overdue. Chunks the device evicted leave
 * gaps that `prev` lets the node accept, so a gap never blocks a stream.
 */

import type { IngestChunk, IngestStore } from './ingest-store.js';
import type { IngestLink } from './link.js';
import type { VerifyChunk } from './verify.js';
import {
  ackTopic,
  chunkTopicFilter,
  DEFAULT_TOPIC_PREFIX,
  decodeChunkEnvelope,
  encodeAck,
  MAX_ACK_IDS,
  vehicleOfChunkTopic,
} from './wire.js';

/** Counters the ingest keeps. */
export const INGEST_COUNTERS = [
  'ingest.received',
  'ingest.stored',
  'ingest.duplicates',
  'ingest.rejected',
  'ingest.held',
  'ingest.garbage',
  'ingest.acks',
  'ingest.errors',
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
  readonly logger: IngestLogger;
  /** First topic levels (default `qood/v1`). */
  readonly topicPrefix?: string;
  /** Chunks per transaction at most (default 256); a batch is also closed on the next turn of the event loop. */
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
    const filter = chunkTopicFilter(this.#prefix);
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
    const vehicleId = vehicleOfChunkTopic(this.#prefix, topic);
    if (vehicleId === undefined) return;
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
    if (this.#batch.length >= this.#maxBatch) this.#flush();
    else if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(() => this.#flush());
    }
  }

  #flush(): void {
    this.#flushScheduled = false;
    const batch = this.#batch;
    if (batch.length === 0) return;
    this.#batch = [];
    try {
      const r = this.#o.store.putBatch(batch, (this.#o.nowMs ?? Date.now)());
      this.#count('ingest.stored', r.added);
      this.#count('ingest.duplicates', r.duplicates);
    } catch (err) {
      // Not stored, so not acknowledged: the devices send these again.
      this.#highest.clear();
      this.#count('ingest.errors');
      this.#o.logger.error({ err: (err as Error).message, chunks: batch.length }, 'storing a batch failed');
      return;
    }
    const byVehicle = new Map<string, string[]>();
    for (const c of batch) {
      const ids = byVehicle.get(c.vehicleId) ?? [];
      ids.push(c.id);
      byVehicle.set(c.vehicleId, ids);
    }
    for (const [vehicleId, ids] of byVehicle)
      for (let i = 0; i < ids.length; i += MAX_ACK_IDS) {
        const part = ids.slice(i, i + MAX_ACK_IDS);
        this.#count('ingest.acks');
        this.#o.link.publish(ackTopic(this.#prefix, vehicleId), encodeAck(part)).catch((err: Error) => {
          // A lost ack costs a resend from the device, which is acknowledged again.
          this.#count('ingest.errors');
          this.#o.logger.warn({ vehicleId, err: err.message }, 'publishing an ack failed');
        });
      }
  }
}
