/**
 * The peer handshake. Each side sends hello (its chain id, genesis id, node key and a fresh 32-byte
 * nonce), then auth: its signature over
 *
 *   taggedHash('qood/p2p/auth/v1', canonical [chainId, genesisId, verifierNonce, proverKey, verifierKey])
 *
 * so a signature answers this connection's challenge only (the other side's nonce), names both keys
 * (it cannot be relayed to a third node) and is bound to the chain. A peer on another chain or
 * genesis, with another protocol version, or whose signature does not verify is refused.
 */
import {
  bytesEqual,
  type Ed25519Signer,
  encodeCanonical,
  taggedHash,
  toHex,
  verify,
} from '../../chain/index.js';
import { P2P_VERSION, type P2pMessage } from './wire.js';

/** What this node proves and expects in a handshake. */
export interface HandshakeContext {
  readonly chainId: string;
  readonly genesisId: Uint8Array;
  readonly signer: Ed25519Signer;
}

type Hello = Extract<P2pMessage, { kind: 'hello' }>;

/** The bytes a prover signs to answer `verifierNonce`. */
export function authMessage(
  chainId: string,
  genesisId: Uint8Array,
  verifierNonce: Uint8Array,
  proverKey: Uint8Array,
  verifierKey: Uint8Array,
): Uint8Array {
  return taggedHash(
    'qood/p2p/auth/v1',
    encodeCanonical([chainId, genesisId, verifierNonce, proverKey, verifierKey]),
  );
}

/** Why a hello is refused, or undefined when it is acceptable. */
export function checkHello(ctx: HandshakeContext, hello: Hello): string | undefined {
  if (hello.version !== P2P_VERSION)
    return `protocol version ${hello.version}; this node speaks ${P2P_VERSION}`;
  if (hello.chainId !== ctx.chainId) return `chain '${hello.chainId}'; this node is on '${ctx.chainId}'`;
  if (!bytesEqual(hello.genesisId, ctx.genesisId))
    return `genesis ${toHex(hello.genesisId).slice(0, 16)}...; this node's is ${toHex(ctx.genesisId).slice(0, 16)}...`;
  if (bytesEqual(hello.nodeKey, ctx.signer.publicKey)) return 'a connection to itself';
  return undefined;
}

/** The auth answer to a peer's hello. */
export function answerHello(ctx: HandshakeContext, peerHello: Hello): Extract<P2pMessage, { kind: 'auth' }> {
  const msg = authMessage(
    ctx.chainId,
    ctx.genesisId,
    peerHello.nonce,
    ctx.signer.publicKey,
    peerHello.nodeKey,
  );
  return { kind: 'auth', signature: ctx.signer.sign(msg) };
}

/** True when `signature` proves the peer of `peerHello` holds its key, answering `myNonce`. */
export function checkAuth(
  ctx: HandshakeContext,
  peerHello: Hello,
  myNonce: Uint8Array,
  signature: Uint8Array,
): boolean {
  const msg = authMessage(ctx.chainId, ctx.genesisId, myNonce, peerHello.nodeKey, ctx.signer.publicKey);
  return verify(signature, msg, peerHello.nodeKey);
}
