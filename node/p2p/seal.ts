/**
 * The session of one connection after its handshake: every frame payload is sealed with
 * ChaCha20-Poly1305 (RFC 8439) under a key of its direction and a counter nonce, so a man in the
 * middle of the TCP link can neither read gossip nor alter, inject, drop-and-replay or reorder a
 * frame without the receiver noticing (issue 14, attack 12).
 *
 * Keys: each side puts a fresh X25519 public key in its hello (wire.ts) and signs the handshake
 * transcript, which holds both, with its node key (handshake.ts): a middleman who swaps an
 * ephemeral key breaks the signature. Both sides then run
 *
 *   okm = HKDF-SHA256(ikm = X25519(mine, theirs), salt = transcript, info = 'qood/p2p/session/v2', 64)
 *
 * and use okm[0..32) for what the dialer sends, okm[32..64) for what the listener sends. Ephemeral
 * secrets live only in the Peer, so a node key stolen later does not open recorded traffic.
 *
 * Nonces: 4 zero bytes, then the frame's number in its direction as 8 bytes big-endian, counted
 * from 0 by sender and receiver alike. The receiver never accepts a number twice or out of order:
 * it opens each frame with the nonce it expects next, so a replayed, reordered or dropped frame fails
 * the tag like an altered one, and the connection closes (peer.ts).
 */
import { randomBytes } from 'node:crypto';
import { AEAD, hkdf, open, seal, x25519PublicKey, x25519SharedSecret } from '../../chain/index.js';

/** Bytes a sealed payload adds to its plaintext (the Poly1305 tag). */
export const SEAL_OVERHEAD_BYTES = AEAD.tag;

/** An ephemeral X25519 key pair, used for one connection. */
export interface EphemeralKey {
  readonly secretKey: Uint8Array;
  readonly publicKey: Uint8Array;
}

/** A fresh ephemeral key pair. */
export function newEphemeralKey(): EphemeralKey {
  const secretKey = new Uint8Array(randomBytes(32));
  return { secretKey, publicKey: x25519PublicKey(secretKey) };
}

/** The two directional keys of a connection. */
export interface SessionKeys {
  /** Seals what this side sends. */
  readonly send: Uint8Array;
  /** Opens what the other side sends. */
  readonly receive: Uint8Array;
}

/**
 * The session keys of one side: `outbound` when it dialed. Throws CryptoError('LOW_ORDER_POINT')
 * when the peer's ephemeral key gives an all-zero secret (a key chosen to force a known session).
 */
export function deriveSessionKeys(
  mine: EphemeralKey,
  theirPublicKey: Uint8Array,
  transcript: Uint8Array,
  outbound: boolean,
): SessionKeys {
  const shared = x25519SharedSecret(mine.secretKey, theirPublicKey);
  const okm = hkdf(shared, transcript, 'qood/p2p/session/v2', 2 * AEAD.key);
  const fromDialer = okm.slice(0, AEAD.key);
  const fromListener = okm.slice(AEAD.key);
  return outbound ? { send: fromDialer, receive: fromListener } : { send: fromListener, receive: fromDialer };
}

/** The nonce of frame number `n` in one direction. */
function counterNonce(n: bigint): Uint8Array {
  const nonce = new Uint8Array(AEAD.nonce);
  new DataView(nonce.buffer).setBigUint64(4, n);
  return nonce;
}

/** Seals the payloads one side sends, numbering them from 0. */
export class FrameSealer {
  readonly #key: Uint8Array;
  #next = 0n;

  constructor(key: Uint8Array) {
    this.#key = key;
  }

  /** The sealed form of `payload` (payload.length + 16 bytes); the next call uses the next number. */
  seal(payload: Uint8Array): Uint8Array {
    return seal(this.#key, counterNonce(this.#next++), payload);
  }
}

/** Opens the payloads the other side sends, strictly in the order they were sealed. */
export class FrameOpener {
  readonly #key: Uint8Array;
  #next = 0n;

  constructor(key: Uint8Array) {
    this.#key = key;
  }

  /** Frames opened so far. */
  get opened(): bigint {
    return this.#next;
  }

  /**
   * The payload of the next sealed frame, or undefined when it does not open under the number
   * expected next (altered, replayed, reordered, or one before it dropped). The caller closes the
   * connection then: the number does not advance, so nothing after it would open either.
   */
  open(sealed: Uint8Array): Uint8Array | undefined {
    try {
      const out = open(this.#key, counterNonce(this.#next), sealed);
      this.#next++;
      return out;
    } catch {
      return undefined;
    }
  }
}
