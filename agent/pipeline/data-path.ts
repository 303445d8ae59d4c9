/**
 * The data path after decoding: collect -> chunk -> seal -> store, and the batches that describe
 * what was stored. Synchronous from `add` to the store's commit, so a chunk the store has accepted
 * is on disk (WAL, synchronous FULL) before anything else runs; the sync is told afterwards.
 *
 * What a power cut loses: the samples in open chunks (at most `collect.chunk.maxAgeMs` of each
 * stream) and the open batch's descriptor (its chunks stay stored and synced; they are described by
 * no descriptor). Nothing the store committed is lost, and a stream's hash chain continues from the
 * newest committed chunk (`loadHead`).
 */
import { fromHex, GENESIS_PREV_ID } from '../../chain/index.js';
import { Chunker } from '../chunk/index.js';
import { Collector, type StreamInfo } from '../collect/index.js';
import type { CollectConfig } from '../config/collect.js';
import type { Sample } from '../decode/sample.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import {
  type Batch,
  BatchBuilder,
  type SealedChunkOut,
  Sealer,
  type SealingIdentity,
  type StreamHead,
} from '../seal/index.js';
import type { ChunkStore } from '../store/index.js';

/** Counters of the data path, as `qood status` shows them. */
export const DATA_PATH_COUNTERS = [
  'samples.collected',
  'chunks.sealed',
  'chunks.rejected',
  'bytes.raw',
  'bytes.sealed',
  'descriptors.made',
] as const;

export interface DataPathOptions {
  readonly collect: CollectConfig;
  readonly identity: SealingIdentity;
  readonly ownerPublicKey: Uint8Array;
  readonly store: ChunkStore;
  readonly metrics: Metrics;
  readonly logger: Logger;
  /** Wall clock in ms (chunk age, descriptor time). */
  readonly nowMs: () => number;
  /** Called after chunks or a descriptor were stored (the sync's `notify`). */
  readonly onStored?: () => void;
  /** A descriptor is cut after this many chunks ... */
  readonly batchMaxChunks?: number;
  /** ... or when its first chunk is this old. */
  readonly batchMaxAgeMs?: number;
  /** Sees each sealed chunk and batch (the demo prints them). */
  readonly onSealed?: (chunk: SealedChunkOut) => void;
  readonly onBatch?: (batch: Batch) => void;
}

const headCursor = (stream: string) => `head/${stream}`;

export class DataPath {
  readonly #o: DataPathOptions;
  readonly #collector: Collector;
  readonly #chunker: Chunker;
  readonly #sealer: Sealer;
  readonly #batch: BatchBuilder;
  #batchOpenedMs: number | undefined;
  /** Chunks and descriptors stored since the sync was last told. */
  #stored = 0;

  constructor(options: DataPathOptions) {
    this.#o = options;
    options.metrics.declare(...DATA_PATH_COUNTERS);
    this.#sealer = new Sealer({ identity: options.identity, loadHead: (s) => this.#loadHead(s) });
    this.#batch = new BatchBuilder({
      vehicleId: options.identity.vehicleId,
      dictionaryId: options.identity.dictionaryId,
      ownerPublicKey: options.ownerPublicKey,
      epochLengthS: options.identity.epochLengthS,
      signer: this.#sealer.signer,
    });
    const c = options.collect.chunk;
    this.#chunker = new Chunker({
      maxSpanMs: c.maxSpanMs,
      maxSamples: c.maxSamples,
      maxAgeMs: c.maxAgeMs,
      firstSeq: (s) => this.#sealer.head(s).nextSeq,
      onChunk: (chunk) => this.#onChunk(chunk),
    });
    this.#collector = new Collector({
      config: options.collect,
      sink: (stream: StreamInfo, sample: Sample) => {
        options.metrics.inc('samples.collected');
        this.#chunker.add(stream, sample, options.nowMs());
      },
    });
  }

  /** The device public key chunks are signed with. */
  get devicePublicKey(): Uint8Array {
    return this.#sealer.devicePublicKey;
  }

  /** Samples waiting in open chunks. */
  get pendingSamples(): number {
    return this.#chunker.pendingSamples;
  }

  /** Runs decoded samples through collection; closed chunks are sealed and stored at once. */
  add(samples: readonly Sample[]): void {
    this.#collector.add(samples);
    this.#afterWork();
  }

  /** Closes chunks and batches that are old enough; call every second or so. */
  tick(): void {
    const now = this.#o.nowMs();
    this.#chunker.tick(now);
    const maxAge = this.#o.batchMaxAgeMs ?? 600_000;
    if (this.#batchOpenedMs !== undefined && now - this.#batchOpenedMs >= maxAge) this.#cut(now);
    this.#afterWork();
  }

  /** Closes every open chunk and the open batch (at shutdown). */
  flush(): void {
    const now = this.#o.nowMs();
    this.#chunker.flush(now);
    this.#cut(now);
    this.#afterWork();
  }

  #afterWork(): void {
    if (this.#stored > 0) {
      this.#stored = 0;
      this.#o.onStored?.();
    }
  }

  #loadHead(stream: string): StreamHead | undefined {
    // The cursor is written right after each put; a cut between the two leaves the newer chunk in
    // the store, unacknowledged (it cannot have been synced), so it is looked for there too.
    const cur = this.#o.store.cursor(headCursor(stream));
    let head: StreamHead | undefined;
    let seq = -1;
    if (cur !== undefined) {
      const [s, id] = cur.split(':');
      seq = Number(s);
      head = { nextSeq: seq + 1, prevId: fromHex(id!) };
    }
    for (;;) {
      const next = this.#o.store.unsynced(1, { stream, seq })[0];
      if (next === undefined || next.stream !== stream) break;
      seq = next.seq;
      head = { nextSeq: next.seq + 1, prevId: fromHex(next.id) };
    }
    return head ?? { nextSeq: 0, prevId: GENESIS_PREV_ID };
  }

  #onChunk(chunk: Parameters<Sealer['seal']>[0]): void {
    const { metrics, store } = this.#o;
    const sealed = this.#sealer.seal(chunk);
    const put = store.put(sealed);
    store.setCursor(headCursor(sealed.stream), `${sealed.seq}:${sealed.id}`);
    if (!put.stored) {
      metrics.inc('chunks.rejected');
      this.#o.logger.warn({ stream: sealed.stream, seq: sealed.seq, reason: put.reason }, 'chunk not stored');
      return;
    }
    this.#stored++;
    metrics.inc('chunks.sealed');
    metrics.inc('bytes.raw', sealed.rawBytes);
    metrics.inc('bytes.sealed', sealed.bytes.length);
    this.#o.onSealed?.(sealed);
    this.#batch.add(sealed);
    this.#batchOpenedMs ??= this.#o.nowMs();
    if (this.#batch.size >= (this.#o.batchMaxChunks ?? 256)) this.#cut(this.#o.nowMs());
  }

  #cut(nowMs: number): void {
    const b = this.#batch.cut(nowMs);
    this.#batchOpenedMs = undefined;
    if (b === undefined) return;
    this.#o.store.putDescriptor(b.id, b.bytes, nowMs);
    this.#o.store.enqueueTx('descriptor', b.bytes, nowMs);
    this.#stored++;
    this.#o.metrics.inc('descriptors.made');
    this.#o.onBatch?.(b);
  }
}
