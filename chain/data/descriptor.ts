/**
 * The descriptor: the whitepaper's data description file for a batch of chunks. It says what the
 * data is (vehicle, dictionary, streams, time range, public fields), how it was cut (each stream's
 * sequence range and the id its first chunk links to), each chunk's id, how to check it (the Merkle
 * root over the ids, the device key) and how it was encrypted. The device signs it; its root is what
 * goes on chain, so a buyer can check a purchase against the anchor.
 *
 *   descriptor = [1, vehicleId, dictionaryId, devicePublicKey, ownerPublicKey, tStartUs, tEndUs,
 *                 streams, chunkIds, merkleRoot, encryption, publicFields, createdMs]
 *   streams    = [[stream, dataClass, privacy, firstSeq, lastSeq, firstPrevId, keyEpochs], ...]
 *   encryption = ["chacha20-poly1305", "hkdf-sha256", epochLengthS]
 *   publicFields = [coarseLocation (text, e.g. "47.4,8.5" to 0.1 degree) | null, vinHash | null]
 *   signed     = [descriptor, ed25519(device, id)],  id = taggedHash("qood/descriptor/v1", descriptor)
 *
 * `merkleRoot` is the RFC 6962 root (chain/crypto/merkle) over the chunk ids in the listed order.
 */
import { type CanonicalValue, CodecError, decodeCanonical, encodeCanonical } from '../codec/canonical.js';
import { readArray, readBytes, readText, readUint } from '../codec/fields.js';
import { type Ed25519Signer, verify } from '../crypto/ed25519.js';
import { taggedHash } from '../crypto/hash.js';
import { merkleRoot } from '../crypto/merkle.js';
import type { TxBodies } from '../tx/types.js';
import { CHUNK_DATA_CLASSES, CHUNK_PRIVACY, type ChunkDataClass, type ChunkPrivacy } from './sealed-chunk.js';

export const DESCRIPTOR_VERSION = 1;
export const CHUNK_AEAD_NAME = 'chacha20-poly1305';
export const CHUNK_KDF_NAME = 'hkdf-sha256';

/** One stream's part of a batch. */
export interface DescriptorStream {
  readonly stream: string;
  readonly dataClass: ChunkDataClass;
  readonly privacy: ChunkPrivacy;
  readonly firstSeq: number;
  readonly lastSeq: number;
  /** The id the stream's first chunk in the batch links to (its predecessor, or zeros). */
  readonly firstPrevId: Uint8Array;
  /** Key epochs the stream's chunks in the batch use, ascending. */
  readonly keyEpochs: readonly number[];
}

export interface Descriptor {
  readonly vehicleId: string;
  readonly dictionaryId: string;
  readonly devicePublicKey: Uint8Array;
  readonly ownerPublicKey: Uint8Array;
  readonly tStartUs: number;
  readonly tEndUs: number;
  readonly streams: readonly DescriptorStream[];
  readonly chunkIds: readonly Uint8Array[];
  readonly merkleRoot: Uint8Array;
  readonly epochLengthS: number;
  readonly coarseLocation: string | null;
  readonly vinHash: Uint8Array | null;
  readonly createdMs: number;
}

function value(d: Descriptor): CanonicalValue {
  return [
    DESCRIPTOR_VERSION,
    d.vehicleId,
    d.dictionaryId,
    d.devicePublicKey,
    d.ownerPublicKey,
    d.tStartUs,
    d.tEndUs,
    d.streams.map((s) => [
      s.stream,
      CHUNK_DATA_CLASSES.indexOf(s.dataClass),
      CHUNK_PRIVACY.indexOf(s.privacy),
      s.firstSeq,
      s.lastSeq,
      s.firstPrevId,
      [...s.keyEpochs],
    ]),
    [...d.chunkIds],
    d.merkleRoot,
    [CHUNK_AEAD_NAME, CHUNK_KDF_NAME, d.epochLengthS],
    [d.coarseLocation, d.vinHash],
    d.createdMs,
  ];
}

/** The descriptor's id: what the chain anchors and orders refer to. */
export function descriptorId(d: Descriptor): Uint8Array {
  return taggedHash('qood/descriptor/v1', encodeCanonical(value(d)));
}

/** The Merkle root a descriptor must carry for its chunk ids. */
export function descriptorRoot(chunkIds: readonly Uint8Array[]): Uint8Array {
  return merkleRoot(chunkIds);
}

/**
 * The body of the `descriptor` transaction that anchors `d` on chain under `agreementId`: its root,
 * chunk count, class (a batch holds one), time range in whole ms and dictionary.
 */
export function descriptorAnchorBody(d: Descriptor, agreementId: string): TxBodies['descriptor'] {
  return {
    agreement: agreementId,
    merkleRoot: d.merkleRoot,
    chunkCount: d.chunkIds.length,
    dataClass: d.streams[0]!.dataClass,
    fromMs: Math.floor(d.tStartUs / 1000),
    toMs: Math.ceil(d.tEndUs / 1000),
    dictionary: d.dictionaryId,
  };
}

/** Signs a descriptor with the device key; returns the signed bytes and the id. */
export function signDescriptor(d: Descriptor, signer: Ed25519Signer): { bytes: Uint8Array; id: Uint8Array } {
  const id = descriptorId(d);
  return { bytes: encodeCanonical([value(d), signer.sign(id)]), id };
}

/** A descriptor that does not decode or whose signature fails. */
export class DescriptorError extends Error {
  constructor(
    readonly code: 'MALFORMED' | 'BAD_SIGNATURE',
    message: string,
  ) {
    super(message);
    this.name = 'DescriptorError';
  }
}

function readStream(v: CanonicalValue | undefined, i: number): DescriptorStream {
  const p = `descriptor.streams[${i}]`;
  const a = readArray(v, p, 7);
  return {
    stream: readText(a[0], `${p}.stream`, 128),
    dataClass: CHUNK_DATA_CLASSES[readUint(a[1], `${p}.dataClass`, 2)]!,
    privacy: CHUNK_PRIVACY[readUint(a[2], `${p}.privacy`, 1)]!,
    firstSeq: readUint(a[3], `${p}.firstSeq`),
    lastSeq: readUint(a[4], `${p}.lastSeq`),
    firstPrevId: readBytes(a[5], `${p}.firstPrevId`, 32),
    keyEpochs: readArray(a[6], `${p}.keyEpochs`).map((e, j) =>
      readUint(e, `${p}.keyEpochs[${j}]`, 0xffff_ffff),
    ),
  };
}

/** Decodes signed descriptor bytes and checks the device signature. Throws DescriptorError. */
export function openDescriptor(bytes: Uint8Array): { descriptor: Descriptor; id: Uint8Array } {
  let d: Descriptor;
  let signature: Uint8Array;
  try {
    const top = readArray(decodeCanonical(bytes), 'signed', 2);
    const a = readArray(top[0], 'descriptor', 13);
    const version = readUint(a[0], 'descriptor.version');
    if (version !== DESCRIPTOR_VERSION)
      throw new CodecError('SHAPE', 'descriptor.version', `expected ${DESCRIPTOR_VERSION}, got ${version}`);
    const enc = readArray(a[10], 'descriptor.encryption', 3);
    const aead = readText(enc[0], 'descriptor.encryption.aead');
    const kdf = readText(enc[1], 'descriptor.encryption.kdf');
    if (aead !== CHUNK_AEAD_NAME || kdf !== CHUNK_KDF_NAME)
      throw new CodecError(
        'SHAPE',
        'descriptor.encryption',
        `expected ${CHUNK_AEAD_NAME} with ${CHUNK_KDF_NAME}, got ${aead} with ${kdf}`,
      );
    const pub = readArray(a[11], 'descriptor.publicFields', 2);
    d = {
      vehicleId: readText(a[1], 'descriptor.vehicleId', 128),
      dictionaryId: readText(a[2], 'descriptor.dictionaryId', 128),
      devicePublicKey: readBytes(a[3], 'descriptor.devicePublicKey', 32),
      ownerPublicKey: readBytes(a[4], 'descriptor.ownerPublicKey', 32),
      tStartUs: readUint(a[5], 'descriptor.tStartUs'),
      tEndUs: readUint(a[6], 'descriptor.tEndUs'),
      streams: readArray(a[7], 'descriptor.streams').map(readStream),
      chunkIds: readArray(a[8], 'descriptor.chunkIds').map((c, i) =>
        readBytes(c, `descriptor.chunkIds[${i}]`, 32),
      ),
      merkleRoot: readBytes(a[9], 'descriptor.merkleRoot', 32),
      epochLengthS: readUint(enc[2], 'descriptor.encryption.epochLengthS'),
      coarseLocation: pub[0] === null ? null : readText(pub[0], 'descriptor.publicFields.coarseLocation', 64),
      vinHash: pub[1] === null ? null : readBytes(pub[1], 'descriptor.publicFields.vinHash', 32),
      createdMs: readUint(a[12], 'descriptor.createdMs'),
    };
    signature = readBytes(top[1], 'signed.signature', 64);
  } catch (err) {
    if (err instanceof CodecError) throw new DescriptorError('MALFORMED', `descriptor: ${err.message}`);
    throw err;
  }
  const id = descriptorId(d);
  if (!verify(signature, id, d.devicePublicKey))
    throw new DescriptorError('BAD_SIGNATURE', 'descriptor: the device signature does not verify');
  return { descriptor: d, id };
}
