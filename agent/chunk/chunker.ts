/**
 * The chunker: gathers each stream's kept samples and closes a chunk when its samples span
 * `maxSpanMs`, when it holds `maxSamples`, or when it has been open `maxAgeMs` by the wall clock
 * (`tick`), so a quiet stream still ships. Samples in an open chunk live only in memory: a power
 * cut loses at most one open chunk per stream, which is the bound the store's durability starts at.
 */

import type { Sample } from '../../chain/index.js';
import type { StreamInfo } from '../collect/index.js';

/** A closed chunk before sealing. */
export interface PlainChunk {
  readonly stream: StreamInfo;
  /** Per-stream sequence number, continuing across restarts (see `firstSeq`). */
  readonly seq: number;
  readonly tStartUs: number;
  readonly tEndUs: number;
  readonly samples: readonly Sample[];
}

export interface ChunkerOptions {
  readonly maxSpanMs: number;
  readonly maxSamples: number;
  readonly maxAgeMs: number;
  /** The next sequence number of a stream seen for the first time (from the store). */
  readonly firstSeq: (streamId: string) => number;
  /** Receives each closed chunk, synchronously. */
  readonly onChunk: (chunk: PlainChunk) => void;
}

interface Open {
  readonly stream: StreamInfo;
  seq: number;
  samples: Sample[];
  tMinUs: number;
  tMaxUs: number;
  openedMs: number;
}

export class Chunker {
  readonly #o: ChunkerOptions;
  readonly #open = new Map<string, Open>();
  readonly #maxSpanUs: number;

  constructor(options: ChunkerOptions) {
    this.#o = options;
    this.#maxSpanUs = options.maxSpanMs * 1000;
  }

  /** Adds a kept sample to its stream's open chunk; `nowMs` is the wall clock. */
  add(stream: StreamInfo, sample: Sample, nowMs: number): void {
    let o = this.#open.get(stream.id);
    if (o === undefined) {
      o = { stream, seq: this.#o.firstSeq(stream.id), samples: [], tMinUs: 0, tMaxUs: 0, openedMs: nowMs };
      this.#open.set(stream.id, o);
    }
    if (
      o.samples.length > 0 &&
      Math.max(o.tMaxUs, sample.tUs) - Math.min(o.tMinUs, sample.tUs) > this.#maxSpanUs
    )
      this.#close(o, nowMs);
    if (o.samples.length === 0) {
      o.tMinUs = sample.tUs;
      o.tMaxUs = sample.tUs;
      o.openedMs = nowMs;
    } else {
      if (sample.tUs < o.tMinUs) o.tMinUs = sample.tUs;
      if (sample.tUs > o.tMaxUs) o.tMaxUs = sample.tUs;
    }
    o.samples.push(sample);
    if (o.samples.length >= this.#o.maxSamples) this.#close(o, nowMs);
  }

  /** Closes every chunk open longer than `maxAgeMs`. */
  tick(nowMs: number): void {
    for (const o of this.#open.values())
      if (o.samples.length > 0 && nowMs - o.openedMs >= this.#o.maxAgeMs) this.#close(o, nowMs);
  }

  /** Closes every open chunk (at shutdown). */
  flush(nowMs: number): void {
    for (const o of this.#open.values()) if (o.samples.length > 0) this.#close(o, nowMs);
  }

  /** Samples waiting in open chunks. */
  get pendingSamples(): number {
    let n = 0;
    for (const o of this.#open.values()) n += o.samples.length;
    return n;
  }

  #close(o: Open, nowMs: number): void {
    const chunk: PlainChunk = {
      stream: o.stream,
      seq: o.seq,
      tStartUs: o.tMinUs,
      tEndUs: o.tMaxUs,
      samples: o.samples,
    };
    o.seq++;
    o.samples = [];
    o.openedMs = nowMs;
    this.#o.onChunk(chunk);
  }
}
