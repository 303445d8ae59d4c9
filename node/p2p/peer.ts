/**
 * One connection to another node: framing, the handshake, the sealed session, limits. Until the
 * handshake completes only hello and auth are accepted, in the clear; afterwards every frame is
 * sealed both ways (seal.ts) and every message goes to the network (network.ts). A frame over the
 * size limit, bytes that do not decode, a frame that does not open, a message out of turn or a rate
 * above the limits closes the connection with a reason and a penalty the network adds to the peer's
 * score.
 */
import { randomBytes } from 'node:crypto';
import { CryptoError, toHex } from '../../chain/index.js';
import { encodeFrame, FrameDecoder, FrameError } from './frame.js';
import {
  answerHello,
  checkAuth,
  checkHello,
  type HandshakeContext,
  type Hello,
  handshakeTranscript,
} from './handshake.js';
import { deriveSessionKeys, FrameOpener, FrameSealer, newEphemeralKey, SEAL_OVERHEAD_BYTES } from './seal.js';
import type { ByteLink } from './tcp.js';
import { decodeP2p, encodeP2p, P2P_VERSION, type P2pMessage, P2pWireError } from './wire.js';

/** Per-peer limits. */
export interface PeerLimits {
  /** Largest frame accepted (bytes of payload). */
  readonly maxFrameBytes: number;
  /** Messages per second a peer may send on average ... */
  readonly messagesPerSec: number;
  /** ... and in a burst. */
  readonly messageBurst: number;
  /** Bytes per second a peer may send on average (bursts up to one second's worth + one frame). */
  readonly bytesPerSec: number;
  /** Time allowed for the handshake. */
  readonly handshakeTimeoutMs: number;
  /**
   * Time an inbound connection has to deliver its whole hello. Shorter than the handshake's
   * deadline: an honest node sends its hello the moment it connects, so a socket that says nothing,
   * or dribbles a partial frame, is only holding a handshake slot (network.ts).
   */
  readonly inboundHelloTimeoutMs: number;
  /** Bytes queued towards a slow peer before it is cut off. */
  readonly maxPendingWriteBytes: number;
}

export const DEFAULT_PEER_LIMITS: PeerLimits = {
  maxFrameBytes: 8 * 1024 * 1024,
  messagesPerSec: 5000,
  messageBurst: 10_000,
  bytesPerSec: 32 * 1024 * 1024,
  handshakeTimeoutMs: 5000,
  inboundHelloTimeoutMs: 1000,
  maxPendingWriteBytes: 64 * 1024 * 1024,
};

/** Why a connection closed; `penalty` is what the peer's score loses. */
export interface PeerClose {
  readonly reason: string;
  readonly penalty: number;
  /**
   * What the network counts: a sealed frame that did not open, or a hello refused (another chain,
   * genesis or protocol version).
   */
  readonly code?: 'unsealed' | 'refused';
}

/** Score penalties by offence. */
export const PENALTY = {
  garbage: 50,
  oversized: 100,
  flood: 50,
  protocol: 30,
  invalidBlock: 20,
  invalidVote: 10,
  slow: 0,
  none: 0,
} as const;

export interface PeerOptions {
  readonly link: ByteLink;
  /** True when this node dialed. */
  readonly outbound: boolean;
  readonly ctx: HandshakeContext;
  /** Port this node listens on (0: none), told to the peer in hello. */
  readonly listenPort: number;
  readonly limits: PeerLimits;
  readonly nowMs: () => number;
  /** The peer proved its key. */
  readonly onReady: (peer: Peer) => void;
  readonly onMessage: (peer: Peer, msg: P2pMessage, bytes: number) => void;
  /** Called once. */
  readonly onClose: (peer: Peer, close: PeerClose) => void;
}

class TokenBucket {
  #tokens: number;
  #at: number;
  readonly #rate: number;
  readonly #burst: number;

  constructor(rate: number, burst: number, now: number) {
    this.#rate = rate;
    this.#burst = burst;
    this.#tokens = burst;
    this.#at = now;
  }
  take(n: number, now: number): boolean {
    this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#at) * this.#rate) / 1000);
    this.#at = now;
    this.#tokens -= n;
    return this.#tokens >= 0;
  }
}

/** A connection to another node. */
export class Peer {
  /** The peer's node key (hex), once it proved it. */
  key: string | undefined;
  /** The port the peer says it listens on. */
  listenPort = 0;
  readonly outbound: boolean;
  readonly remote: string;
  readonly connectedAtMs: number;
  #state: 'hello' | 'auth' | 'ready' | 'closed' = 'hello';
  readonly #decoder: FrameDecoder;
  readonly #nonce = new Uint8Array(randomBytes(32));
  readonly #ephemeral = newEphemeralKey();
  readonly #hello: Hello;
  #peerHello: Hello | undefined;
  #transcript: Uint8Array | undefined;
  #sealer: FrameSealer | undefined;
  #opener: FrameOpener | undefined;
  #pendingOpener: FrameOpener | undefined;
  readonly #msgs: TokenBucket;
  readonly #bytes: TokenBucket;
  readonly #timer: NodeJS.Timeout;
  #helloTimer: NodeJS.Timeout | undefined;
  /** Messages and bytes received. */
  received = { messages: 0, bytes: 0 };

  readonly #o: PeerOptions;

  constructor(o: PeerOptions) {
    this.#o = o;
    this.outbound = o.outbound;
    this.remote = o.link.remote;
    const now = o.nowMs();
    this.connectedAtMs = now;
    // The limit is on payloads: a sealed one carries a tag on top.
    this.#decoder = new FrameDecoder(o.limits.maxFrameBytes + SEAL_OVERHEAD_BYTES);
    this.#msgs = new TokenBucket(o.limits.messagesPerSec, o.limits.messageBurst, now);
    this.#bytes = new TokenBucket(o.limits.bytesPerSec, o.limits.bytesPerSec + o.limits.maxFrameBytes, now);
    this.#timer = setTimeout(() => {
      if (this.#state !== 'ready')
        this.close({
          reason: `no handshake within ${o.limits.handshakeTimeoutMs} ms`,
          penalty: PENALTY.protocol,
        });
    }, o.limits.handshakeTimeoutMs);
    this.#timer.unref();
    if (!o.outbound) {
      // Idle and slow sockets lose their handshake slot early (issue 14, attack 12).
      this.#helloTimer = setTimeout(() => {
        if (this.#state === 'hello')
          this.close({
            reason: `no hello within ${o.limits.inboundHelloTimeoutMs} ms`,
            penalty: PENALTY.none,
          });
      }, o.limits.inboundHelloTimeoutMs);
      this.#helloTimer.unref();
    }
    o.link.onData((b) => this.#onData(b));
    o.link.onClose((reason) => this.#closed({ reason, penalty: PENALTY.none }));
    this.#hello = {
      kind: 'hello',
      version: P2P_VERSION,
      chainId: o.ctx.chainId,
      genesisId: o.ctx.genesisId,
      nodeKey: o.ctx.signer.publicKey,
      nonce: this.#nonce,
      listenPort: o.listenPort,
      ephemeralKey: this.#ephemeral.publicKey,
    };
    this.send(this.#hello);
  }

  /**
   * True until the other side's hello arrived: nothing or part of a frame so far (on an inbound
   * connection, a slot held without the one message every honest node sends first).
   */
  get awaitingHello(): boolean {
    return this.#state === 'hello';
  }

  /** True once the handshake completed and until the connection closes. */
  get ready(): boolean {
    return this.#state === 'ready';
  }

  /** Sends a message (dropped when closed); cuts a peer off that does not read what it is sent. */
  send(msg: P2pMessage): void {
    this.sendPayload(encodeP2p(msg));
  }

  /**
   * Sends an already encoded payload (one encoding for every peer of a broadcast). After the
   * handshake it is sealed under this direction's next frame number; only hello and auth (sent
   * before the session keys exist) leave in the clear.
   */
  sendPayload(payload: Uint8Array): void {
    if (this.#state === 'closed') return;
    this.#o.link.write(encodeFrame(this.#sealer === undefined ? payload : this.#sealer.seal(payload)));
    if (this.#o.link.pendingWriteBytes > this.#o.limits.maxPendingWriteBytes)
      this.close({
        reason: `peer reads too slowly (${this.#o.link.pendingWriteBytes} bytes queued)`,
        penalty: PENALTY.slow,
      });
  }

  /** Closes the connection with a reason and a penalty. */
  close(c: PeerClose): void {
    if (this.#state === 'closed') return;
    this.#o.link.destroy();
    this.#closed(c);
  }

  #isClosed(): boolean {
    return this.#state === 'closed';
  }

  #closed(c: PeerClose): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    clearTimeout(this.#timer);
    clearTimeout(this.#helloTimer);
    this.#o.onClose(this, c);
  }

  #onData(chunk: Uint8Array): void {
    if (this.#state === 'closed') return;
    const now = this.#o.nowMs();
    if (!this.#bytes.take(chunk.length, now)) {
      this.close({ reason: `more than ${this.#o.limits.bytesPerSec} bytes/s`, penalty: PENALTY.flood });
      return;
    }
    let frames: Uint8Array[];
    try {
      frames = this.#decoder.push(chunk);
    } catch (err) {
      if (!(err instanceof FrameError)) throw err;
      this.close({
        reason: `bad frame: ${err.message}`,
        penalty: err.code === 'OVERSIZED' ? PENALTY.oversized : PENALTY.garbage,
      });
      return;
    }
    for (const f of frames) {
      if (this.#isClosed()) return;
      if (!this.#msgs.take(1, now)) {
        this.close({
          reason: `more than ${this.#o.limits.messagesPerSec} messages/s`,
          penalty: PENALTY.flood,
        });
        return;
      }
      this.received.messages++;
      this.received.bytes += f.length + 4;
      let payload = f;
      if (this.#opener !== undefined) {
        // Every frame after the handshake must open under the next number of this direction: one
        // altered, injected, replayed, reordered or dropped by someone on the path does not, and
        // the connection ends here, before any of its bytes reach a decoder (issue 14, attack 12).
        // No penalty: whoever altered the frame on the path may not be the key's holder, and a
        // score would let a middleman get an honest producer banned.
        const opened = this.#opener.open(f);
        if (opened === undefined) {
          this.close({
            reason: `sealed frame ${this.#opener.opened} does not open (altered, replayed or reordered on the way)`,
            penalty: PENALTY.none,
            code: 'unsealed',
          });
          return;
        }
        payload = opened;
      }
      let msg: P2pMessage;
      try {
        msg = decodeP2p(payload);
      } catch (err) {
        if (err instanceof P2pWireError && err.code === 'VERSION') {
          this.close({ reason: `hello refused: ${err.message}`, penalty: PENALTY.none, code: 'refused' });
          return;
        }
        // P2pWireError, or a typed error of a nested decoder (a transaction's, a block's): all garbage.
        this.close({
          reason: `message ${this.received.messages} does not decode: ${(err as Error).message}`,
          penalty: PENALTY.garbage,
        });
        return;
      }
      this.#onMessage(msg, payload.length);
    }
  }

  #onMessage(msg: P2pMessage, bytes: number): void {
    if (this.#state === 'ready') {
      if (msg.kind === 'hello' || msg.kind === 'auth')
        this.close({ reason: `${msg.kind} after the handshake`, penalty: PENALTY.protocol });
      else this.#o.onMessage(this, msg, bytes);
      return;
    }
    if (this.#state === 'hello') {
      if (msg.kind !== 'hello') {
        this.close({ reason: `${msg.kind} before hello`, penalty: PENALTY.protocol });
        return;
      }
      const why = checkHello(this.#o.ctx, msg);
      if (why !== undefined) {
        this.close({ reason: `hello refused: ${why}`, penalty: PENALTY.none, code: 'refused' });
        return;
      }
      this.#peerHello = msg;
      this.listenPort = msg.listenPort;
      this.#transcript = this.#o.outbound
        ? handshakeTranscript(this.#hello, msg)
        : handshakeTranscript(msg, this.#hello);
      let keys: ReturnType<typeof deriveSessionKeys>;
      try {
        keys = deriveSessionKeys(this.#ephemeral, msg.ephemeralKey, this.#transcript, this.#o.outbound);
      } catch (err) {
        if (!(err instanceof CryptoError)) throw err;
        this.close({ reason: `hello refused: ephemeral key: ${err.message}`, penalty: PENALTY.protocol });
        return;
      }
      this.#state = 'auth';
      this.send(answerHello(this.#o.ctx, msg, this.#transcript));
      // Auth is this side's last clear frame: what it sends from here on is sealed. The other side
      // reads that auth before anything sealed, so it has the keys by then.
      this.#sealer = new FrameSealer(keys.send);
      this.#pendingOpener = new FrameOpener(keys.receive);
      return;
    }
    if (this.#state === 'auth') {
      if (msg.kind !== 'auth') {
        this.close({ reason: `${msg.kind} before auth`, penalty: PENALTY.protocol });
        return;
      }
      if (!checkAuth(this.#o.ctx, this.#peerHello!, this.#nonce, this.#transcript!, msg.signature)) {
        this.close({ reason: 'auth signature does not verify', penalty: PENALTY.protocol });
        return;
      }
      this.key = toHex(this.#peerHello!.nodeKey);
      this.#state = 'ready';
      // The peer's auth was its last clear frame: everything after it must open.
      this.#opener = this.#pendingOpener;
      clearTimeout(this.#timer);
      this.#o.onReady(this);
    }
  }
}
