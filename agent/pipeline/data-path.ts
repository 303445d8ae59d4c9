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
import {
  descriptorAnchorBody,
  type Ed25519Signer,
  encodeSignedTx,
  fromHex,
  GENESIS_PREV_ID,
  type Sample,
  signTx,
  toHex,
} from '../../chain/index.js';
import type { Logger, Metrics } from '../../process/index.js';
import { Chunker } from '../chunk/index.js';
import { Collector, type StreamInfo } from '../collect/index.js';
import type { CollectConfig } from '../config/collect.js';
import {
  type Batch,
  BatchBuilder,
  type SealedChunkOut,
  Sealer,
  type SealingIdentity,
  type StreamHead,
} from '../seal/index.js';
import type { ChunkStore, QueuedTx } from '../store/index.js';

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
  /** With it, each descriptor queues a device-signed `descriptor` transaction that anchors its root. */
  readonly anchor?: DescriptorAnchoring;
}

/**
 * What the device needs to anchor descriptors on chain itself: the chain id and the id of the
 * vehicle's agreement (chain/state `agreementId` of vehicle, owner and OEM). The agreement's class
 * names are the device's data classes (`owner`, `oem`, `disputed`); a batch holds one class.
 */
export interface DescriptorAnchoring {
  readonly chainId: string;
  readonly agreementId: string;
}

const headCursor = (stream: string) => `head/${stream}`;

export class DataPath {
  readonly #o: DataPathOptions;
  readonly #collector: Collector;
  readonly #chunker: Chunker;
  readonly #sealer: Sealer;
  /**
   * One open batch per data class and privacy level: a descriptor, and the sale of it, covers one
   * class, and private streams (never sold) are described apart.
   */
  readonly #batches = new Map<string, BatchBuilder>();
  #batchOpenedMs: number | undefined;
  /** Chunks and descriptors stored since the sync was last told. */
  #stored = 0;

  constructor(options: DataPathOptions) {
    this.#o = options;
    options.metrics.declare(...DATA_PATH_COUNTERS);
    this.#sealer = new Sealer({ identity: options.identity, loadHead: (s) => this.#loadHead(s) });
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

  /** The keys and names the path seals with (a sale derives the same epoch keys). */
  get identity(): SealingIdentity {
    return this.#o.identity;
  }

  /** The agreement the device anchors under, when it anchors (and so sells) its descriptors. */
  get anchorAgreement(): string | undefined {
    return this.#o.anchor?.agreementId;
  }

  /** The device signer (chunks, descriptors and the device's chain transactions). */
  get signer(): Ed25519Signer {
    return this.#sealer.signer;
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
    const batch = this.#batchOf(`${sealed.dataClass}/${sealed.privacy}`);
    batch.add(sealed);
    this.#batchOpenedMs ??= this.#o.nowMs();
    if (batch.size >= (this.#o.batchMaxChunks ?? 256)) this.#cutOne(batch, this.#o.nowMs());
  }

  #batchOf(slot: string): BatchBuilder {
    let b = this.#batches.get(slot);
    if (b === undefined) {
      const { identity } = this.#o;
      b = new BatchBuilder({
        vehicleId: identity.vehicleId,
        dictionaryId: identity.dictionaryId,
        ownerPublicKey: this.#o.ownerPublicKey,
        epochLengthS: identity.epochLengthS,
        signer: this.#sealer.signer,
      });
      this.#batches.set(slot, b);
    }
    return b;
  }

  #cut(nowMs: number): void {
    for (const b of this.#batches.values()) this.#cutOne(b, nowMs);
    this.#batchOpenedMs = undefined;
  }

  #cutOne(batch: BatchBuilder, nowMs: number): void {
    const b = batch.cut(nowMs);
    if (b === undefined) return;
    this.#o.store.putDescriptor(b.id, b.bytes, nowMs, this.#anchorTx(b));
    this.#stored++;
    this.#o.metrics.inc('descriptors.made');
    this.#o.onBatch?.(b);
  }

  /**
   * What the outbox gets for a batch: the device-signed anchor transaction when the device anchors
   * (nothing for a private batch), else the signed descriptor for the storage node to anchor.
   */
  #anchorTx(b: Batch): QueuedTx | undefined {
    const a = this.#o.anchor;
    if (a === undefined) return { kind: 'descriptor', bytes: b.bytes };
    const d = b.descriptor;
    // Private data is never sold: its root and time range are not published on chain either.
    if (d.streams[0]!.privacy === 'private') return undefined;
    const signer = this.#sealer.signer;
    return (nonce) => ({
      kind: 'anchor',
      bytes: encodeSignedTx(
        signTx(
          {
            chainId: a.chainId,
            kind: 'descriptor',
            sender: toHex(signer.publicKey),
            nonce,
            fee: 0n,
            body: descriptorAnchorBody(d, a.agreementId),
          },
          signer,
        ),
      ),
    });
  }
}
