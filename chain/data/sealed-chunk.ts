/**
 * The sealed chunk, as the device stores and sends it and as a storage node and a buyer check it:
 *
 *   sealed = [header, signature, ciphertext]                              (canonical CBOR)
 *   header = [2, vehicleId, stream, seq, tStartUs, tEndUs, sampleCount, dictionaryId, keyEpoch,
 *             dataClass, privacy, ciphertextHash, prevId, devicePublicKey, keySalt]
 *   id        = taggedHash("qood/chunk-header/v1", canonical(header))      (the chunk's identity)
 *   signature = ed25519(device key, id)
 *   ciphertextHash = taggedHash("qood/chunk-ciphertext/v1", ciphertext)
 *
 * `prevId` is the id of the stream's chunk `seq - 1` (32 zero bytes for seq 0), so the headers of a
 * stream form a hash chain: a dropped, reordered or substituted chunk breaks a link. The ciphertext
 * is the chunk body sealed with ChaCha20-Poly1305 under the chunk's own key, nonce = seq, and the
 * header fields that name the key bound as associated data (see `chunkAad`):
 *
 *   chunk key = HKDF(epoch key, "qood/v1",
 *                    canonical(["qood/chunk-seal-key/v1", devicePublicKey, keySalt]))
 *
 * Everything needed to check a chunk without its key is public: signature, hash, links.
 *
 * Why a key per chunk (issue 14, attack 7): the epoch key depends only on the vehicle's data root,
 * the stream and the epoch, and `seq` starts again at 0 whenever a store starts empty (a store
 * moved aside as corrupt, a device paired again, a second device on the same vehicle, a restored
 * backup). Sealing two bodies under one key and nonce gives away the XOR of the plaintexts. The
 * device key separates devices, and `keySalt`, 16 fresh random bytes per chunk, separates every
 * chunk of one device whatever its store remembers, so no (key, nonce) pair is used twice (a
 * collision needs two equal 128-bit salts). The salt is in the signed header, so a buyer holding the
 * epoch key derives the same chunk key; keys sold stay per stream and epoch.
 */
import { type CanonicalValue, CodecError, decodeCanonical, encodeCanonical } from '../codec/canonical.js';
import { readArray, readBytes, readText, readUint } from '../codec/fields.js';
import { hkdf, open, seal } from '../crypto/aead.js';
import { type Ed25519Signer, verify } from '../crypto/ed25519.js';
import { checkLength } from '../crypto/errors.js';
import { bytesEqual, taggedHash, toHex } from '../crypto/hash.js';

/** Version 2 added `keySalt` and the per-chunk key; version 1 chunks are refused (see the top). */
export const CHUNK_HEADER_VERSION = 2;
/** Length of a chunk's key salt, bytes. */
export const CHUNK_KEY_SALT_LENGTH = 16;
/** Data classes by their number in the header. */
export const CHUNK_DATA_CLASSES = ['owner', 'oem', 'disputed'] as const;
export const CHUNK_PRIVACY = ['normal', 'private'] as const;
export type ChunkDataClass = (typeof CHUNK_DATA_CLASSES)[number];
export type ChunkPrivacy = (typeof CHUNK_PRIVACY)[number];

/** The signed description of one chunk. */
export interface ChunkHeader {
  readonly vehicleId: string;
  readonly stream: string;
  readonly seq: number;
  readonly tStartUs: number;
  readonly tEndUs: number;
  readonly sampleCount: number;
  /** Data dictionary the sample paths come from, e.g. `qood-vss-6.0+obd-4.0`. */
  readonly dictionaryId: string;
  /** Which epoch key of the stream sealed the body. */
  readonly keyEpoch: number;
  readonly dataClass: ChunkDataClass;
  readonly privacy: ChunkPrivacy;
  readonly ciphertextHash: Uint8Array;
  /** Id of the chunk before this one in the stream; 32 zero bytes for seq 0. */
  readonly prevId: Uint8Array;
  /** The device key that signs; also an input of the chunk key. */
  readonly devicePublicKey: Uint8Array;
  /** 16 random bytes the chunk key is derived with (a fresh value for every chunk). */
  readonly keySalt: Uint8Array;
}

/** A chunk split into its parts, with its id. */
export interface SealedChunk {
  readonly header: ChunkHeader;
  readonly headerBytes: Uint8Array;
  readonly id: Uint8Array;
  readonly signature: Uint8Array;
  readonly ciphertext: Uint8Array;
}

/** The id a stream's first chunk names as its predecessor. */
export const GENESIS_PREV_ID = new Uint8Array(32);

const MAX_TEXT = 128;

function headerValue(h: ChunkHeader): CanonicalValue {
  return [
    CHUNK_HEADER_VERSION,
    h.vehicleId,
    h.stream,
    h.seq,
    h.tStartUs,
    h.tEndUs,
    h.sampleCount,
    h.dictionaryId,
    h.keyEpoch,
    CHUNK_DATA_CLASSES.indexOf(h.dataClass),
    CHUNK_PRIVACY.indexOf(h.privacy),
    h.ciphertextHash,
    h.prevId,
    h.devicePublicKey,
    h.keySalt,
  ];
}

/** The canonical bytes of a header. */
export function encodeChunkHeader(h: ChunkHeader): Uint8Array {
  return encodeCanonical(headerValue(h));
}

/** The id of a header's bytes. */
export function chunkId(headerBytes: Uint8Array): Uint8Array {
  return taggedHash('qood/chunk-header/v1', headerBytes);
}

/** The hash a header names for its ciphertext. */
export function ciphertextHash(ciphertext: Uint8Array): Uint8Array {
  return taggedHash('qood/chunk-ciphertext/v1', ciphertext);
}

/** The header fields that place a chunk's body and name its key. */
export type ChunkPlacement = Pick<
  ChunkHeader,
  'vehicleId' | 'stream' | 'seq' | 'keyEpoch' | 'dataClass' | 'privacy' | 'devicePublicKey' | 'keySalt'
>;

/**
 * Associated data of a chunk's AEAD: the fields that name its key and place (vehicle, stream, seq,
 * epoch, class, privacy), so a ciphertext moved into another header does not open.
 */
function chunkAad(h: ChunkPlacement): Uint8Array {
  return encodeCanonical([
    'qood/chunk-aad/v1',
    h.vehicleId,
    h.stream,
    h.seq,
    h.keyEpoch,
    h.dataClass,
    h.privacy,
  ]);
}

/** The 12-byte AEAD nonce of a chunk: its sequence number, big-endian, in the last 8 bytes. */
function chunkNonce(seq: number): Uint8Array {
  const n = new Uint8Array(12);
  new DataView(n.buffer).setBigUint64(4, BigInt(seq));
  return n;
}

const KEY_SALT = new TextEncoder().encode('qood/v1');

/**
 * The AEAD key of one chunk, from the epoch key of its stream and class, the device key and the
 * chunk's random salt. This, not the epoch key, is what seals: see the top of the file for why.
 */
export function chunkKey(
  epochKey: Uint8Array,
  h: Pick<ChunkHeader, 'devicePublicKey' | 'keySalt'>,
): Uint8Array {
  return hkdf(
    epochKey,
    KEY_SALT,
    encodeCanonical(['qood/chunk-seal-key/v1', h.devicePublicKey, h.keySalt]),
    32,
  );
}

/**
 * Seals a chunk body under `epochKey` for the header fields in `h`. The caller draws `h.keySalt`
 * fresh from a CSPRNG for every chunk: that, with the device key, is what keeps (key, nonce) unique.
 * Throws CryptoError('BAD_LENGTH') for a salt that is not 16 bytes.
 */
export function sealChunkBody(epochKey: Uint8Array, h: ChunkPlacement, body: Uint8Array): Uint8Array {
  checkLength(h.keySalt, CHUNK_KEY_SALT_LENGTH, 'chunk key salt');
  return seal(chunkKey(epochKey, h), chunkNonce(h.seq), body, chunkAad(h));
}

/**
 * Opens a chunk's ciphertext with the epoch key of its stream and class (what a buyer is sold).
 * Throws CryptoError('AUTH_FAILED') for a wrong key or an altered ciphertext or header.
 */
export function openChunkBody(epochKey: Uint8Array, h: ChunkPlacement, ciphertext: Uint8Array): Uint8Array {
  return open(chunkKey(epochKey, h), chunkNonce(h.seq), ciphertext, chunkAad(h));
}

/** Signs a header and assembles the sealed chunk's bytes. */
export function assembleSealedChunk(
  header: ChunkHeader,
  ciphertext: Uint8Array,
  signer: Ed25519Signer,
): { bytes: Uint8Array; id: Uint8Array } {
  const headerBytes = encodeChunkHeader(header);
  const id = chunkId(headerBytes);
  const signature = signer.sign(id);
  // The header is embedded as a value, not as bytes, so the whole stays one canonical document.
  return { bytes: encodeCanonical([headerValue(header), signature, ciphertext]), id };
}

/** Why a sealed chunk is not valid. */
export type ChunkCheckCode = 'MALFORMED' | 'BAD_SIGNATURE' | 'CIPHERTEXT_HASH' | 'WRONG_DEVICE';

export class ChunkCheckError extends Error {
  constructor(
    readonly code: ChunkCheckCode,
    message: string,
  ) {
    super(message);
    this.name = 'ChunkCheckError';
  }
}

function readHeader(v: CanonicalValue | undefined): ChunkHeader {
  // The version first, so a version 1 chunk (no key salt, a key shared across stores) is named as such.
  const version = readUint(readArray(v, 'chunk.header')[0], 'chunk.header.version');
  if (version !== CHUNK_HEADER_VERSION)
    throw new CodecError('SHAPE', 'chunk.header.version', `expected ${CHUNK_HEADER_VERSION}, got ${version}`);
  const a = readArray(v, 'chunk.header', 15);
  const cls = readUint(a[9], 'chunk.header.dataClass', CHUNK_DATA_CLASSES.length - 1);
  const priv = readUint(a[10], 'chunk.header.privacy', CHUNK_PRIVACY.length - 1);
  return {
    vehicleId: readText(a[1], 'chunk.header.vehicleId', MAX_TEXT),
    stream: readText(a[2], 'chunk.header.stream', MAX_TEXT),
    seq: readUint(a[3], 'chunk.header.seq'),
    tStartUs: readUint(a[4], 'chunk.header.tStartUs'),
    tEndUs: readUint(a[5], 'chunk.header.tEndUs'),
    sampleCount: readUint(a[6], 'chunk.header.sampleCount'),
    dictionaryId: readText(a[7], 'chunk.header.dictionaryId', MAX_TEXT),
    keyEpoch: readUint(a[8], 'chunk.header.keyEpoch', 0xffff_ffff),
    dataClass: CHUNK_DATA_CLASSES[cls]!,
    privacy: CHUNK_PRIVACY[priv]!,
    ciphertextHash: readBytes(a[11], 'chunk.header.ciphertextHash', 32),
    prevId: readBytes(a[12], 'chunk.header.prevId', 32),
    devicePublicKey: readBytes(a[13], 'chunk.header.devicePublicKey', 32),
    keySalt: readBytes(a[14], 'chunk.header.keySalt', CHUNK_KEY_SALT_LENGTH),
  };
}

/** Splits sealed bytes into their parts without checking signatures. Throws ChunkCheckError('MALFORMED'). */
export function decodeSealedChunk(bytes: Uint8Array): SealedChunk {
  try {
    const top = readArray(decodeCanonical(bytes), 'chunk', 3);
    const header = readHeader(top[0]);
    const headerBytes = encodeChunkHeader(header);
    return {
      header,
      headerBytes,
      id: chunkId(headerBytes),
      signature: readBytes(top[1], 'chunk.signature', 64),
      ciphertext: readBytes(top[2], 'chunk.ciphertext'),
    };
  } catch (err) {
    if (err instanceof CodecError) throw new ChunkCheckError('MALFORMED', `sealed chunk: ${err.message}`);
    throw err;
  }
}

/**
 * Decodes and checks what anyone can check without the key: the device signature over the id and
 * the ciphertext hash; with `devicePublicKey`, that the chunk is from that device.
 */
export function checkSealedChunk(bytes: Uint8Array, devicePublicKey?: Uint8Array): SealedChunk {
  const c = decodeSealedChunk(bytes);
  const where = `chunk ${c.header.stream}#${c.header.seq} (${toHex(c.id).slice(0, 16)})`;
  if (devicePublicKey !== undefined && !bytesEqual(devicePublicKey, c.header.devicePublicKey))
    throw new ChunkCheckError(
      'WRONG_DEVICE',
      `${where}: signed by device ${toHex(c.header.devicePublicKey).slice(0, 16)}, expected ${toHex(devicePublicKey).slice(0, 16)}`,
    );
  if (!verify(c.signature, c.id, c.header.devicePublicKey))
    throw new ChunkCheckError(
      'BAD_SIGNATURE',
      `${where}: the device signature over the header does not verify`,
    );
  if (!bytesEqual(ciphertextHash(c.ciphertext), c.header.ciphertextHash))
    throw new ChunkCheckError(
      'CIPHERTEXT_HASH',
      `${where}: the ciphertext does not match the hash in its header`,
    );
  return c;
}
