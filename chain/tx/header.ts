/**
 * Block headers: what producers sign, what double-sign evidence carries and what a light client
 * follows. Bytes: canonical CBOR of
 *   [version, chainId, height, prevHash, timeMs, producer, txRoot, stateRoot]
 * The id is taggedHash('qood/header/v1', bytes); the producer signs the id.
 */
import { type CanonicalValue, CodecError, encodeCanonical } from '../codec/canonical.js';
import { readArray, readBytes, readText, readUint } from '../codec/fields.js';
import { taggedHash, toHex } from '../crypto/hash.js';

export const HEADER_VERSION = 1;

export interface BlockHeader {
  readonly chainId: string;
  readonly height: number;
  /** Id of the previous header (32 zero bytes before the first block). */
  readonly prevHash: Uint8Array;
  /** Block time in ms since the epoch; strictly increasing. */
  readonly timeMs: number;
  /** The producer's address (its signing key), hex. */
  readonly producer: string;
  /** Merkle root (RFC 6962) over the block's transaction ids. */
  readonly txRoot: Uint8Array;
  /** State tree root after the block's transactions. */
  readonly stateRoot: Uint8Array;
}

export interface SignedHeader {
  readonly header: BlockHeader;
  readonly signature: Uint8Array;
}

/** The header's canonical value. */
export function headerValue(h: BlockHeader): CanonicalValue {
  return [
    HEADER_VERSION,
    h.chainId,
    h.height,
    h.prevHash,
    h.timeMs,
    new Uint8Array(Buffer.from(h.producer, 'hex')),
    h.txRoot,
    h.stateRoot,
  ];
}

/** The header's id: what the producer signs and the next header's prevHash. */
export function headerId(h: BlockHeader): Uint8Array {
  return taggedHash('qood/header/v1', encodeCanonical(headerValue(h)));
}

/** Reads a header from its canonical value; throws CodecError naming the field. */
export function readHeader(v: CanonicalValue | undefined, path: string): BlockHeader {
  const a = readArray(v, path, 8);
  if (readUint(a[0], `${path}.version`) !== HEADER_VERSION)
    throw new CodecError('SHAPE', `${path}.version`, `expected version ${HEADER_VERSION}`);
  return {
    chainId: readText(a[1], `${path}.chainId`, 64),
    height: readUint(a[2], `${path}.height`),
    prevHash: readBytes(a[3], `${path}.prevHash`, 32),
    timeMs: readUint(a[4], `${path}.timeMs`),
    producer: toHex(readBytes(a[5], `${path}.producer`, 32)),
    txRoot: readBytes(a[6], `${path}.txRoot`, 32),
    stateRoot: readBytes(a[7], `${path}.stateRoot`, 32),
  };
}

/** Reads `[header, signature]`. */
export function readSignedHeader(v: CanonicalValue | undefined, path: string): SignedHeader {
  const a = readArray(v, path, 2);
  return { header: readHeader(a[0], `${path}.header`), signature: readBytes(a[1], `${path}.signature`, 64) };
}

/** `[header, signature]` as a canonical value. */
export function signedHeaderValue(s: SignedHeader): CanonicalValue {
  return [headerValue(s.header), s.signature];
}
