/**
 * Batches: the chunks sealed since the last descriptor, described and signed as one batch when
 * `cut` is called (by size or time, by the data path). The descriptor's Merkle root over the chunk
 * ids is what is anchored on chain. The open batch lives in memory; after a crash its chunks are
 * still stored and synced, and are described by the next batch's `firstPrevId` link only (the
 * descriptor lists what it lists; a buyer sees a chain that starts where the batch starts).
 */
import {
  type Descriptor,
  type DescriptorStream,
  descriptorRoot,
  type Ed25519Signer,
  fromHex,
  signDescriptor,
  toHex,
} from '../../chain/index.js';
import type { SealedChunkOut } from './sealer.js';

export interface BatchIdentity {
  readonly vehicleId: string;
  readonly dictionaryId: string;
  readonly ownerPublicKey: Uint8Array;
  readonly epochLengthS: number;
  readonly signer: Ed25519Signer;
}

/** A signed descriptor and what it covers. */
export interface Batch {
  readonly id: string;
  readonly bytes: Uint8Array;
  readonly descriptor: Descriptor;
}

export class BatchBuilder {
  #chunks: SealedChunkOut[] = [];

  readonly #identity: BatchIdentity;

  constructor(identity: BatchIdentity) {
    this.#identity = identity;
  }

  /** Chunks waiting for the next descriptor. */
  get size(): number {
    return this.#chunks.length;
  }

  add(chunk: SealedChunkOut): void {
    this.#chunks.push(chunk);
  }

  /** Describes and signs the chunks added since the last cut; undefined when there are none. */
  cut(
    nowMs: number,
    publicFields: { coarseLocation?: string; vinHash?: Uint8Array } = {},
  ): Batch | undefined {
    if (this.#chunks.length === 0) return undefined;
    const chunks = this.#chunks;
    this.#chunks = [];
    const streams = new Map<string, SealedChunkOut[]>();
    for (const c of chunks) {
      const list = streams.get(c.stream) ?? [];
      list.push(c);
      streams.set(c.stream, list);
    }
    const described: DescriptorStream[] = [...streams.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([stream, list]) => {
        list.sort((a, b) => a.seq - b.seq);
        const first = list[0]!;
        return {
          stream,
          dataClass: first.dataClass,
          privacy: first.privacy,
          firstSeq: first.seq,
          lastSeq: list.at(-1)!.seq,
          firstPrevId: fromHex(first.prevId),
          keyEpochs: [...new Set(list.map((c) => c.keyEpoch))].sort((a, b) => a - b),
        };
      });
    const ordered = described.flatMap((s) => streams.get(s.stream)!);
    const chunkIds = ordered.map((c) => fromHex(c.id));
    const descriptor: Descriptor = {
      vehicleId: this.#identity.vehicleId,
      dictionaryId: this.#identity.dictionaryId,
      devicePublicKey: this.#identity.signer.publicKey,
      ownerPublicKey: this.#identity.ownerPublicKey,
      tStartUs: Math.min(...chunks.map((c) => c.tStartMs)) * 1000,
      tEndUs: Math.max(...chunks.map((c) => c.tEndMs)) * 1000,
      streams: described,
      chunkIds,
      merkleRoot: descriptorRoot(chunkIds),
      epochLengthS: this.#identity.epochLengthS,
      coarseLocation: publicFields.coarseLocation ?? null,
      vinHash: publicFields.vinHash ?? null,
      createdMs: nowMs,
    };
    const { bytes, id } = signDescriptor(descriptor, this.#identity.signer);
    return { id: toHex(id), bytes, descriptor };
  }
}
