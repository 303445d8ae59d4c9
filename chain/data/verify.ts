/**
 * What a buyer does with a purchase: given the signed descriptor, the sealed chunks and the epoch
 * keys it was sold, check everything and decrypt. Each problem is reported with the chunk it is
 * about and the exact reason; nothing stops at the first problem, so a report names every bad part.
 *
 * Checks, in order: the descriptor's device signature; its Merkle root over the listed chunk ids;
 * for every chunk, the device signature, the ciphertext hash, that it is listed, that it names the
 * descriptor's vehicle and dictionary; per stream, that every listed sequence number is present and
 * each header links to its predecessor (the first to the descriptor's `firstPrevId`); then the
 * decryption under the chunk key derived from the stream's epoch key (sealed-chunk.ts), and that the decrypted samples match the header's count
 * and time range.
 */
import { bytesEqual, toHex } from '../crypto/hash.js';
import { ChunkFormatError, decodeChunkBody } from './columnar.js';
import { type Descriptor, DescriptorError, descriptorRoot, openDescriptor } from './descriptor.js';
import type { Sample } from './sample.js';
import { ChunkCheckError, checkSealedChunk, openChunkBody, type SealedChunk } from './sealed-chunk.js';

/** Gives the key of a stream's epoch for its class, or undefined when the buyer was not sold it. */
export type KeyLookup = (stream: string, dataClass: string, epoch: number) => Uint8Array | undefined;

export interface ChunkReport {
  readonly id: string;
  readonly stream: string;
  readonly seq: number;
  readonly samples: number;
}

export interface VerifyReport {
  readonly ok: boolean;
  readonly descriptorId: string | undefined;
  /** Every problem found, each naming what and where. */
  readonly problems: readonly string[];
  readonly chunks: readonly ChunkReport[];
  /** The decrypted samples of the chunks that passed every check, in stream and seq order. */
  readonly samples: readonly Sample[];
}

/** Verifies and decrypts a batch. Never throws on bad input: problems go into the report. */
export function verifyBatch(input: {
  descriptor: Uint8Array;
  chunks: readonly Uint8Array[];
  keys: KeyLookup;
}): VerifyReport {
  const problems: string[] = [];
  let d: Descriptor;
  let descriptorId: string;
  try {
    const o = openDescriptor(input.descriptor);
    d = o.descriptor;
    descriptorId = toHex(o.id);
  } catch (err) {
    if (err instanceof DescriptorError)
      return { ok: false, descriptorId: undefined, problems: [err.message], chunks: [], samples: [] };
    throw err;
  }
  if (!bytesEqual(descriptorRoot(d.chunkIds), d.merkleRoot))
    problems.push('descriptor: the Merkle root does not match its chunk ids');
  const listed = new Set(d.chunkIds.map(toHex));

  const good = new Map<string, SealedChunk>();
  const byStream = new Map<string, Map<number, SealedChunk>>();
  input.chunks.forEach((bytes, i) => {
    let c: SealedChunk;
    try {
      c = checkSealedChunk(bytes, d.devicePublicKey);
    } catch (err) {
      if (err instanceof ChunkCheckError) {
        problems.push(`chunk file ${i + 1}: ${err.message}`);
        return;
      }
      throw err;
    }
    const id = toHex(c.id);
    const where = `chunk ${c.header.stream}#${c.header.seq} (${id.slice(0, 16)})`;
    if (!listed.has(id)) {
      problems.push(`${where}: not listed in the descriptor`);
      return;
    }
    if (c.header.vehicleId !== d.vehicleId || c.header.dictionaryId !== d.dictionaryId) {
      problems.push(
        `${where}: names vehicle ${c.header.vehicleId} / dictionary ${c.header.dictionaryId}, the descriptor ${d.vehicleId} / ${d.dictionaryId}`,
      );
      return;
    }
    good.set(id, c);
    let m = byStream.get(c.header.stream);
    if (m === undefined) {
      m = new Map();
      byStream.set(c.header.stream, m);
    }
    m.set(c.header.seq, c);
  });
  for (const id of listed)
    if (!good.has(id) && !problems.some((p) => p.includes(id.slice(0, 16))))
      problems.push(`chunk ${id.slice(0, 16)}: listed in the descriptor but missing or invalid`);

  const chunks: ChunkReport[] = [];
  const samples: Sample[] = [];
  for (const s of d.streams) {
    const m = byStream.get(s.stream) ?? new Map<number, SealedChunk>();
    let prevId: Uint8Array | undefined = s.firstPrevId;
    for (let seq = s.firstSeq; seq <= s.lastSeq; seq++) {
      const c = m.get(seq);
      const where = `chunk ${s.stream}#${seq}`;
      if (c === undefined) {
        problems.push(`${where}: missing from the batch (the stream's hash chain has a gap)`);
        prevId = undefined;
        continue;
      }
      if (prevId !== undefined && !bytesEqual(c.header.prevId, prevId))
        problems.push(
          `${where}: its header links to ${toHex(c.header.prevId).slice(0, 16)}, but the chunk before it is ${toHex(prevId).slice(0, 16)} (broken hash chain)`,
        );
      prevId = c.id;
      const key = input.keys(s.stream, c.header.dataClass, c.header.keyEpoch);
      if (key === undefined) {
        problems.push(`${where}: no key for ${c.header.dataClass} epoch ${c.header.keyEpoch}`);
        continue;
      }
      let body: Uint8Array;
      try {
        // The chunk's own key: the epoch key with the device key and the header's salt (attack 7).
        body = openChunkBody(key, c.header, c.ciphertext);
      } catch {
        problems.push(
          `${where}: does not decrypt with the key for epoch ${c.header.keyEpoch} (wrong key or altered ciphertext)`,
        );
        continue;
      }
      let got: Sample[];
      try {
        got = decodeChunkBody(body);
      } catch (err) {
        if (!(err instanceof ChunkFormatError)) throw err;
        problems.push(`${where}: ${err.message}`);
        continue;
      }
      const outside = got.filter((x) => x.tUs < c.header.tStartUs || x.tUs > c.header.tEndUs).length;
      if (got.length !== c.header.sampleCount || outside > 0) {
        problems.push(
          `${where}: holds ${got.length} samples (${outside} outside ${c.header.tStartUs}..${c.header.tEndUs} us); the header says ${c.header.sampleCount}`,
        );
        continue;
      }
      chunks.push({ id: toHex(c.id), stream: s.stream, seq, samples: got.length });
      samples.push(...got);
    }
    for (const seq of m.keys())
      if (seq < s.firstSeq || seq > s.lastSeq)
        problems.push(`chunk ${s.stream}#${seq}: outside the descriptor's range ${s.firstSeq}..${s.lastSeq}`);
  }
  return { ok: problems.length === 0, descriptorId, problems, chunks, samples };
}
