/**
 * The peer handshake. Each side sends hello (its chain id, genesis id, node key, a fresh 32-byte
 * nonce and a fresh X25519 public key for this connection), then auth: its signature over
 *
 *   transcript = taggedHash('qood/p2p/transcript/v2', canonical [dialerHello, listenerHello])
 *   taggedHash('qood/p2p/auth/v2', canonical [chainId, genesisId, verifierNonce, proverKey, verifierKey, transcript])
 *
 * (each hello as its canonical payload bytes), so a signature answers this connection's challenge
 * only (the other side's nonce), names both keys (it cannot be relayed to a third node), is bound to
 * the chain, and binds both ephemeral keys to the node keys: a middleman who replaces either one
 * cannot produce a signature that verifies, so the session keys derived from them (seal.ts) are
 * known to the two nodes only. A peer on another chain or genesis, with another protocol version,
 * or whose signature does not verify is refused.
 */
import {
  bytesEqual,
  type Ed25519Signer,
  encodeCanonical,
  taggedHash,
  toHex,
  verify,
} from '../../chain/index.js';
import { encodeP2p, P2P_VERSION, type P2pMessage } from './wire.js';

/** What this node proves and expects in a handshake. */
export interface HandshakeContext {
  readonly chainId: string;
  readonly genesisId: Uint8Array;
  readonly signer: Ed25519Signer;
}

/** A hello message. */
export type Hello = Extract<P2pMessage, { kind: 'hello' }>;

/** The hash of both hellos, the dialer's first: what auth signs and the session keys' salt. */
export function handshakeTranscript(dialerHello: Hello, listenerHello: Hello): Uint8Array {
  return taggedHash(
    'qood/p2p/transcript/v2',
    encodeCanonical([encodeP2p(dialerHello), encodeP2p(listenerHello)]),
  );
}

/** The bytes a prover signs to answer `verifierNonce` on the connection of `transcript`. */
export function authMessage(
  chainId: string,
  genesisId: Uint8Array,
  verifierNonce: Uint8Array,
  proverKey: Uint8Array,
  verifierKey: Uint8Array,
  transcript: Uint8Array,
): Uint8Array {
  return taggedHash(
    'qood/p2p/auth/v2',
    encodeCanonical([chainId, genesisId, verifierNonce, proverKey, verifierKey, transcript]),
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

/** The auth answer to a peer's hello on the connection of `transcript`. */
export function answerHello(
  ctx: HandshakeContext,
  peerHello: Hello,
  transcript: Uint8Array,
): Extract<P2pMessage, { kind: 'auth' }> {
  const msg = authMessage(
    ctx.chainId,
    ctx.genesisId,
    peerHello.nonce,
    ctx.signer.publicKey,
    peerHello.nodeKey,
    transcript,
  );
  return { kind: 'auth', signature: ctx.signer.sign(msg) };
}

/**
 * True when `signature` proves the peer of `peerHello` holds its key, answering `myNonce` on the
 * connection of `transcript`.
 */
export function checkAuth(
  ctx: HandshakeContext,
  peerHello: Hello,
  myNonce: Uint8Array,
  transcript: Uint8Array,
  signature: Uint8Array,
): boolean {
  const msg = authMessage(
    ctx.chainId,
    ctx.genesisId,
    myNonce,
    peerHello.nodeKey,
    ctx.signer.publicKey,
    transcript,
  );
  return verify(signature, msg, peerHello.nodeKey);
}
