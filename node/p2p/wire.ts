/**
 * The messages nodes exchange, each one frame (frame.ts) holding a canonical CBOR array whose first
 * item is the message type:
 *
 *   hello    = [0, version, chainId, genesisId32, nodeKey32, nonce32, listenPort, ephemeralKey32]
 *   auth     = [1, signature64]                      (handshake.ts says what is signed)
 *
 * hello and auth travel in the clear; every later frame's payload is sealed (seal.ts) and holds
 * one of the messages below once opened:
 *
 *   tx       = [2, signedTxBytes]
 *   block    = [3, blockBytes]                       (blockBytes as in chain/store/codec.ts)
 *   vote     = [4, height, blockId32, producer32, signature64]
 *   getBlocks= [5, blockId32, aboveHeight]           (the engine's ancestry request)
 *   blocks   = [6, [blockBytes, ...]]
 *   status   = [7, finalHeight, headHeight]
 *   getRange = [8, fromHeight, count]                (final blocks from a peer's store)
 *   range    = [9, [[blockBytes, certificateBytes | null], ...]]
 *
 * Decoding throws P2pWireError naming the field and what was expected; the peer that sent it is cut
 * off (peer.ts), the node keeps running. A hello's version is item 1 in every version, and a hello
 * of another version is refused as such (code VERSION) before its other items are read, so a node
 * of an older release is told why rather than cut off for garbage.
 */
import {
  type Block,
  type BlockVote,
  type CanonicalValue,
  CodecError,
  decodeBlock,
  decodeCanonical,
  decodeCertificate,
  decodeSignedTx,
  encodeBlock,
  encodeCanonical,
  encodeCertificate,
  encodeSignedTx,
  type FinalityCertificate,
  fromHex,
  readArray,
  readBytes,
  readText,
  readUint,
  type SignedTx,
  toHex,
} from '../../chain/index.js';

/**
 * Protocol version in hello; a peer with another one is refused. 2: hello carries an ephemeral
 * X25519 key, auth signs the handshake transcript, and frames after the handshake are sealed.
 */
export const P2P_VERSION = 2;
/** Most blocks one `blocks` or `range` message carries. */
export const MAX_BLOCKS_PER_MESSAGE = 256;

export const P2P_TYPES = {
  hello: 0,
  auth: 1,
  tx: 2,
  block: 3,
  vote: 4,
  getBlocks: 5,
  blocks: 6,
  status: 7,
  getRange: 8,
  range: 9,
} as const;

/** One final block and its certificate when the sender stored one for it. */
export interface RangeEntry {
  readonly block: Block;
  readonly certificate: FinalityCertificate | null;
}

/** A decoded message. */
export type P2pMessage =
  | {
      readonly kind: 'hello';
      readonly version: number;
      readonly chainId: string;
      readonly genesisId: Uint8Array;
      readonly nodeKey: Uint8Array;
      readonly nonce: Uint8Array;
      readonly listenPort: number;
      /** This connection's X25519 public key (seal.ts). */
      readonly ephemeralKey: Uint8Array;
    }
  | { readonly kind: 'auth'; readonly signature: Uint8Array }
  | { readonly kind: 'tx'; readonly tx: SignedTx }
  | { readonly kind: 'block'; readonly block: Block }
  | { readonly kind: 'vote'; readonly vote: BlockVote }
  | { readonly kind: 'getBlocks'; readonly blockId: Uint8Array; readonly aboveHeight: number }
  | { readonly kind: 'blocks'; readonly blocks: readonly Block[] }
  | { readonly kind: 'status'; readonly finalHeight: number; readonly headHeight: number }
  | { readonly kind: 'getRange'; readonly fromHeight: number; readonly count: number }
  | { readonly kind: 'range'; readonly entries: readonly RangeEntry[] };

/** A message that does not decode: what and where. */
export class P2pWireError extends Error {
  constructor(
    readonly code: 'UNDECODABLE' | 'UNKNOWN_TYPE' | 'SHAPE' | 'VERSION',
    /** Byte offset or field path. */
    readonly at: number | string,
    message: string,
  ) {
    super(`${typeof at === 'number' ? `offset ${at}` : at}: ${message}`);
    this.name = 'P2pWireError';
  }
}

/** The payload bytes of `m`. */
export function encodeP2p(m: P2pMessage): Uint8Array {
  return encodeCanonical(p2pValue(m));
}

function p2pValue(m: P2pMessage): CanonicalValue {
  const t = P2P_TYPES[m.kind];
  switch (m.kind) {
    case 'hello':
      return [t, m.version, m.chainId, m.genesisId, m.nodeKey, m.nonce, m.listenPort, m.ephemeralKey];
    case 'auth':
      return [t, m.signature];
    case 'tx':
      return [t, encodeSignedTx(m.tx)];
    case 'block':
      return [t, encodeBlock(m.block)];
    case 'vote':
      return [t, m.vote.height, m.vote.blockId, fromHex(m.vote.vote.producer), m.vote.vote.signature];
    case 'getBlocks':
      return [t, m.blockId, m.aboveHeight];
    case 'blocks':
      return [t, m.blocks.map(encodeBlock)];
    case 'status':
      return [t, m.finalHeight, m.headHeight];
    case 'getRange':
      return [t, m.fromHeight, m.count];
    case 'range':
      return [
        t,
        m.entries.map((e) => [
          encodeBlock(e.block),
          e.certificate === null ? null : encodeCertificate(e.certificate),
        ]),
      ];
  }
}

/** Decodes one payload; throws P2pWireError. */
export function decodeP2p(bytes: Uint8Array): P2pMessage {
  let v: CanonicalValue;
  try {
    v = decodeCanonical(bytes);
  } catch (err) {
    if (err instanceof CodecError)
      throw new P2pWireError('UNDECODABLE', err.at, `not canonical CBOR: ${err.message}`);
    throw err;
  }
  try {
    return readMessage(v);
  } catch (err) {
    if (err instanceof CodecError)
      throw new P2pWireError('SHAPE', String(err.at), `malformed message: ${err.message}`);
    throw err;
  }
}

function readBlocks(v: CanonicalValue | undefined, path: string): Block[] {
  const list = readArray(v, path);
  if (list.length > MAX_BLOCKS_PER_MESSAGE)
    throw new CodecError(
      'SHAPE',
      path,
      `expected at most ${MAX_BLOCKS_PER_MESSAGE} blocks, got ${list.length}`,
    );
  return list.map((b, i) => decodeBlock(readBytes(b, `${path}[${i}]`)));
}

function readMessage(v: CanonicalValue): P2pMessage {
  if (!Array.isArray(v) || v.length === 0 || typeof v[0] !== 'number')
    throw new P2pWireError('SHAPE', 'message', 'expected an array starting with a message type');
  const a = v as readonly CanonicalValue[];
  const arr = (n: number, name: string) => readArray(a, name, n);
  switch (a[0]) {
    case P2P_TYPES.hello: {
      const version = readUint(readArray(a, 'hello')[1], 'hello.version', 0xffff);
      if (version !== P2P_VERSION)
        throw new P2pWireError(
          'VERSION',
          'hello.version',
          `protocol version ${version}; this node speaks ${P2P_VERSION}`,
        );
      const x = arr(8, 'hello');
      return {
        kind: 'hello',
        version,
        chainId: readText(x[2], 'hello.chainId', 64),
        genesisId: readBytes(x[3], 'hello.genesisId', 32),
        nodeKey: readBytes(x[4], 'hello.nodeKey', 32),
        nonce: readBytes(x[5], 'hello.nonce', 32),
        listenPort: readUint(x[6], 'hello.listenPort', 65535),
        ephemeralKey: readBytes(x[7], 'hello.ephemeralKey', 32),
      };
    }
    case P2P_TYPES.auth:
      return { kind: 'auth', signature: readBytes(arr(2, 'auth')[1], 'auth.signature', 64) };
    case P2P_TYPES.tx:
      return { kind: 'tx', tx: decodeSignedTx(readBytes(arr(2, 'tx')[1], 'tx.bytes')) };
    case P2P_TYPES.block:
      return { kind: 'block', block: decodeBlock(readBytes(arr(2, 'block')[1], 'block.bytes')) };
    case P2P_TYPES.vote: {
      const x = arr(5, 'vote');
      return {
        kind: 'vote',
        vote: {
          height: readUint(x[1], 'vote.height'),
          blockId: readBytes(x[2], 'vote.blockId', 32),
          vote: {
            producer: toHex(readBytes(x[3], 'vote.producer', 32)),
            signature: readBytes(x[4], 'vote.signature', 64),
          },
        },
      };
    }
    case P2P_TYPES.getBlocks: {
      const x = arr(3, 'getBlocks');
      return {
        kind: 'getBlocks',
        blockId: readBytes(x[1], 'getBlocks.blockId', 32),
        aboveHeight: readUint(x[2], 'getBlocks.aboveHeight'),
      };
    }
    case P2P_TYPES.blocks:
      return { kind: 'blocks', blocks: readBlocks(arr(2, 'blocks')[1], 'blocks.list') };
    case P2P_TYPES.status: {
      const x = arr(3, 'status');
      return {
        kind: 'status',
        finalHeight: readUint(x[1], 'status.finalHeight'),
        headHeight: readUint(x[2], 'status.headHeight'),
      };
    }
    case P2P_TYPES.getRange: {
      const x = arr(3, 'getRange');
      return {
        kind: 'getRange',
        fromHeight: readUint(x[1], 'getRange.fromHeight'),
        count: readUint(x[2], 'getRange.count', MAX_BLOCKS_PER_MESSAGE),
      };
    }
    case P2P_TYPES.range: {
      const list = readArray(arr(2, 'range')[1], 'range.entries');
      if (list.length > MAX_BLOCKS_PER_MESSAGE)
        throw new CodecError('SHAPE', 'range.entries', `expected at most ${MAX_BLOCKS_PER_MESSAGE} entries`);
      return {
        kind: 'range',
        entries: list.map((e, i) => {
          const x = readArray(e, `range.entries[${i}]`, 2);
          return {
            block: decodeBlock(readBytes(x[0], `range.entries[${i}].block`)),
            certificate:
              x[1] === null ? null : decodeCertificate(readBytes(x[1], `range.entries[${i}].certificate`)),
          };
        }),
      };
    }
    default:
      throw new P2pWireError('UNKNOWN_TYPE', 'message[0]', `unknown message type ${String(a[0])}`);
  }
}
