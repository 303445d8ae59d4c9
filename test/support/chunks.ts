/**
 * Sealed-chunk records and signed descriptors for tests of the store, the sync and the ingest. The
 * bytes are a deterministic pseudo-random body, and the id is the SHA-256 of a small header naming
 * the vehicle, stream and seq, as the real sealed header will be hashed.
 */
import { createHash } from 'node:crypto';
import type { SealedChunkRecord } from '../../agent/store/index.js';
import {
  assembleSealedChunk,
  ciphertextHash,
  type Descriptor,
  descriptorRoot,
  Ed25519Signer,
  fromHex,
  GENESIS_PREV_ID,
  signDescriptor,
  toHex,
} from '../../chain/index.js';

/** Deterministic bytes for (stream, seq): the same inputs always give the same body. */
export function chunkBody(stream: string, seq: number, size: number): Uint8Array {
  const out = new Uint8Array(size);
  let x = createHash('sha256').update(`${stream}/${seq}`).digest().readUInt32LE(0) | 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** A record for (stream, seq) with `size` body bytes (default 64) and priority (default 1). */
export function makeRecord(
  stream: string,
  seq: number,
  options: { size?: number; priority?: number; vehicleId?: string; bytes?: Uint8Array } = {},
): SealedChunkRecord {
  const vehicleId = options.vehicleId ?? 'car-1';
  const id = createHash('sha256').update(`header:${vehicleId}/${stream}/${seq}`).digest('hex');
  return {
    id,
    vehicleId,
    stream,
    seq,
    dataClass: 'owner',
    priority: options.priority ?? 1,
    tStartMs: 1_700_000_000_000 + seq * 1000,
    tEndMs: 1_700_000_000_000 + seq * 1000 + 999,
    sampleCount: 10,
    bytes: options.bytes ?? chunkBody(stream, seq, options.size ?? 64),
  };
}

/** A fixed device key for tests (an ed25519 secret key; never used outside tests). */
export const TEST_DEVICE_KEY = Uint8Array.from({ length: 32 }, (_, i) => (i * 7 + 3) & 0xff);

/** A fixed storage node key for tests: signs the ingest's acks (never used outside tests). */
export const TEST_NODE_KEY = Uint8Array.from({ length: 32 }, (_, i) => (i * 11 + 5) & 0xff);

/** The sync options that tie a test device to a test storage node: its signer and the node key it trusts. */
export function testSyncKeys(): { device: Ed25519Signer; nodeKeys: Uint8Array[] } {
  return {
    device: new Ed25519Signer(TEST_DEVICE_KEY),
    nodeKeys: [new Ed25519Signer(TEST_NODE_KEY).publicKey],
  };
}

/**
 * A chunk in the real sealed format (chain/data/sealed-chunk), signed with `secretKey`; its
 * "ciphertext" is `ciphertext` as given (opaque to the store, the sync and the ingest, which never
 * hold keys). For tests that need decryptable chunks, seal with agent/seal's Sealer instead.
 */
export function sealTestChunk(
  header: { vehicleId: string; stream: string; seq: number },
  ciphertext: Uint8Array,
  secretKey: Uint8Array,
): { bytes: Uint8Array; id: string } {
  const signer = new Ed25519Signer(secretKey);
  const { bytes, id } = assembleSealedChunk(
    {
      ...header,
      tStartUs: 1_700_000_000_000_000 + header.seq * 1_000_000,
      tEndUs: 1_700_000_000_000_000 + header.seq * 1_000_000 + 999_000,
      sampleCount: 10,
      dictionaryId: 'qood-vss-6.0+obd-4.0',
      keyEpoch: 0,
      dataClass: 'owner',
      privacy: 'normal',
      ciphertextHash: ciphertextHash(ciphertext),
      prevId: GENESIS_PREV_ID,
      devicePublicKey: signer.publicKey,
      keySalt: new Uint8Array(16),
    },
    ciphertext,
    signer,
  );
  return { bytes, id: toHex(id) };
}

/** A record whose bytes are `sealTestChunk(...)`, so the ingest's verifier accepts it. */
export function makeSignedRecord(
  stream: string,
  seq: number,
  options: { size?: number; priority?: number; vehicleId?: string; secretKey?: Uint8Array } = {},
): SealedChunkRecord {
  const vehicleId = options.vehicleId ?? 'car-1';
  const sealed = sealTestChunk(
    { vehicleId, stream, seq },
    chunkBody(stream, seq, options.size ?? 64),
    options.secretKey ?? TEST_DEVICE_KEY,
  );
  return { ...makeRecord(stream, seq, { ...options, vehicleId, bytes: sealed.bytes }), id: sealed.id };
}

/**
 * A signed descriptor listing `records` (their ids in the given order), in the real format, signed
 * with `secretKey` (default TEST_DEVICE_KEY). `tamper` changes it before signing, e.g. a wrong root.
 */
export function makeSignedDescriptor(
  records: readonly Pick<SealedChunkRecord, 'id' | 'stream' | 'seq'>[],
  options: {
    vehicleId?: string;
    secretKey?: Uint8Array;
    createdMs?: number;
    tamper?: (d: Descriptor) => Descriptor;
  } = {},
): { bytes: Uint8Array; id: string } {
  const signer = new Ed25519Signer(options.secretKey ?? TEST_DEVICE_KEY);
  const chunkIds = records.map((r) => fromHex(r.id));
  const streams = [...new Set(records.map((r) => r.stream))].map((stream) => {
    const seqs = records.filter((r) => r.stream === stream).map((r) => r.seq);
    return {
      stream,
      dataClass: 'owner' as const,
      privacy: 'normal' as const,
      firstSeq: Math.min(...seqs),
      lastSeq: Math.max(...seqs),
      firstPrevId: GENESIS_PREV_ID,
      keyEpochs: [0],
    };
  });
  const d: Descriptor = {
    vehicleId: options.vehicleId ?? 'car-1',
    dictionaryId: 'qood-vss-6.0+obd-4.0',
    devicePublicKey: signer.publicKey,
    ownerPublicKey: new Uint8Array(32).fill(7),
    tStartUs: 1_700_000_000_000_000,
    tEndUs: 1_700_000_100_000_000,
    streams,
    chunkIds,
    merkleRoot: descriptorRoot(chunkIds),
    epochLengthS: 600,
    coarseLocation: null,
    vinHash: null,
    createdMs: options.createdMs ?? 1_700_000_100_000,
  };
  const { bytes, id } = signDescriptor(options.tamper ? options.tamper(d) : d, signer);
  return { bytes, id: toHex(id) };
}
