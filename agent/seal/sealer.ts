/**
 * The sealer: turns a closed chunk into a sealed one. Encodes the samples (agent/chunk), encrypts
 * them under a key of their own derived from the stream's epoch key for the chunk's data class, the
 * device key and a fresh random salt (chain/data/sealed-chunk.ts says why), hashes the ciphertext, links the
 * header to the stream's previous chunk, and signs it with the device key. Keeps each stream's head
 * (next sequence number, last id), which the store gives back after a restart.
 */
import { randomBytes } from 'node:crypto';
import {
  assembleSealedChunk,
  CHUNK_KEY_SALT_LENGTH,
  ciphertextHash,
  disputedEpochKey,
  Ed25519Signer,
  encodeChunkBody,
  GENESIS_PREV_ID,
  keyEpochOf,
  oemEpochKey,
  ownerEpochKey,
  sealChunkBody,
  toHex,
} from '../../chain/index.js';
import type { PlainChunk } from '../chunk/index.js';
import type { DataClass } from '../config/collect.js';

/** The keys and names a device seals with, from its binding. */
export interface SealingIdentity {
  readonly vehicleId: string;
  /** The device's ed25519 secret key (never leaves the device). */
  readonly deviceSecretKey: Uint8Array;
  /** The vehicle data root from the owner's binding. */
  readonly dataRoot: Uint8Array;
  /** The OEM's ed25519 public key; needed for OEM and disputed streams. */
  readonly oemPublicKey: Uint8Array | null;
  readonly epochLengthS: number;
  readonly dictionaryId: string;
}

/** Where a stream continues from: its next sequence number and the id of its last chunk. */
export interface StreamHead {
  readonly nextSeq: number;
  readonly prevId: Uint8Array;
}

/** A sealed chunk ready for the store (the fields of the store's SealedChunkRecord). */
export interface SealedChunkOut {
  readonly id: string;
  readonly vehicleId: string;
  readonly stream: string;
  readonly seq: number;
  readonly dataClass: DataClass;
  readonly priority: number;
  readonly tStartMs: number;
  readonly tEndMs: number;
  readonly sampleCount: number;
  readonly bytes: Uint8Array;
  /** Body size before compression and after: what the demo and the bench report. */
  readonly rawBytes: number;
  readonly bodyBytes: number;
  readonly keyEpoch: number;
  readonly privacy: 'normal' | 'private';
  readonly prevId: string;
}

export class SealError extends Error {
  constructor(
    readonly code: 'NO_OEM_KEY' | 'SEQ_GAP',
    message: string,
  ) {
    super(message);
    this.name = 'SealError';
  }
}

/** The epoch key of a stream for its class, as the device derives it. */
export function deviceEpochKey(
  id: SealingIdentity,
  dataClass: DataClass,
  stream: string,
  epoch: number,
): Uint8Array {
  if (dataClass === 'owner') return ownerEpochKey(id.dataRoot, stream, epoch);
  if (id.oemPublicKey === null)
    throw new SealError(
      'NO_OEM_KEY',
      `stream ${stream}: ${dataClass} data needs the OEM key in the device binding`,
    );
  const oem = oemEpochKey(id.deviceSecretKey, id.oemPublicKey, id.vehicleId, stream, epoch);
  if (dataClass === 'oem') return oem;
  return disputedEpochKey(ownerEpochKey(id.dataRoot, stream, epoch), oem, stream, epoch);
}

export class Sealer {
  readonly #id: SealingIdentity;
  readonly #signer: Ed25519Signer;
  readonly #heads = new Map<string, StreamHead>();
  readonly #keys = new Map<string, Uint8Array>();
  readonly #loadHead: (stream: string) => StreamHead | undefined;
  readonly #random: (length: number) => Uint8Array;

  constructor(options: {
    identity: SealingIdentity;
    loadHead: (stream: string) => StreamHead | undefined;
    /** Randomness for each chunk's key salt (default: the system CSPRNG; fixed only in vectors). */
    random?: (length: number) => Uint8Array;
  }) {
    this.#id = options.identity;
    this.#signer = new Ed25519Signer(options.identity.deviceSecretKey);
    this.#loadHead = options.loadHead;
    this.#random = options.random ?? ((n) => new Uint8Array(randomBytes(n)));
  }

  /** The device public key that signs. */
  get devicePublicKey(): Uint8Array {
    return this.#signer.publicKey;
  }

  /** The device signer (descriptors are signed with the same key). */
  get signer(): Ed25519Signer {
    return this.#signer;
  }

  /** Where `stream` continues: from memory, else the store, else the start. */
  head(stream: string): StreamHead {
    let h = this.#heads.get(stream);
    if (h === undefined) {
      h = this.#loadHead(stream) ?? { nextSeq: 0, prevId: GENESIS_PREV_ID };
      this.#heads.set(stream, h);
    }
    return h;
  }

  /** Seals a closed chunk; its seq must be the stream's next. */
  seal(chunk: PlainChunk): SealedChunkOut {
    const s = chunk.stream;
    const head = this.head(s.id);
    if (chunk.seq !== head.nextSeq)
      throw new SealError('SEQ_GAP', `stream ${s.id}: chunk seq ${chunk.seq}, expected ${head.nextSeq}`);
    const keyEpoch = keyEpochOf(chunk.tStartUs, this.#id.epochLengthS);
    const cacheKey = `${s.dataClass}/${s.id}/${keyEpoch}`;
    let key = this.#keys.get(cacheKey);
    if (key === undefined) {
      key = deviceEpochKey(this.#id, s.dataClass, s.id, keyEpoch);
      if (this.#keys.size > 256) this.#keys.clear();
      this.#keys.set(cacheKey, key);
    }
    const { body, rawBytes } = encodeChunkBody(chunk.samples);
    const placement = {
      vehicleId: this.#id.vehicleId,
      stream: s.id,
      seq: chunk.seq,
      keyEpoch,
      dataClass: s.dataClass,
      privacy: s.privacy,
      devicePublicKey: this.#signer.publicKey,
      // A fresh salt per chunk, not a counter from the store: the sequence number restarts at 0
      // with every empty store, and the salt keeps the chunk key (and so the key and nonce pair)
      // unique even then, and after a restored backup or a crash between sealing and storing.
      keySalt: this.#random(CHUNK_KEY_SALT_LENGTH),
    };
    const ciphertext = sealChunkBody(key, placement, body);
    const { bytes, id } = assembleSealedChunk(
      {
        ...placement,
        tStartUs: chunk.tStartUs,
        tEndUs: chunk.tEndUs,
        sampleCount: chunk.samples.length,
        dictionaryId: this.#id.dictionaryId,
        ciphertextHash: ciphertextHash(ciphertext),
        prevId: head.prevId,
      },
      ciphertext,
      this.#signer,
    );
    this.#heads.set(s.id, { nextSeq: chunk.seq + 1, prevId: id });
    return {
      id: toHex(id),
      vehicleId: this.#id.vehicleId,
      stream: s.id,
      seq: chunk.seq,
      dataClass: s.dataClass,
      priority: s.priority,
      tStartMs: Math.floor(chunk.tStartUs / 1000),
      tEndMs: Math.ceil(chunk.tEndUs / 1000),
      sampleCount: chunk.samples.length,
      bytes,
      rawBytes,
      bodyBytes: body.length,
      keyEpoch,
      privacy: s.privacy,
      prevId: toHex(head.prevId),
    };
  }
}
