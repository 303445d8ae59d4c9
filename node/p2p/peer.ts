/**
 * One connection to another node: framing, the handshake, limits. Until the handshake completes only
 * hello and auth are accepted; afterwards every message goes to the network (network.ts). A frame
 * over the size limit, bytes that do not decode, a message out of turn or a rate above the limits
 * closes the connection with a reason and a penalty the network adds to the peer's score.
 */
import { randomBytes } from 'node:crypto';
import { toHex } from '../../chain/index.js';
import { encodeFrame, FrameDecoder, FrameError } from './frame.js';
import { answerHello, checkAuth, checkHello, type HandshakeContext } from './handshake.js';
import type { ByteLink } from './tcp.js';
import { decodeP2p, encodeP2p, P2P_VERSION, type P2pMessage } from './wire.js';

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
  /** Bytes queued towards a slow peer before it is cut off. */
  readonly maxPendingWriteBytes: number;
}

export const DEFAULT_PEER_LIMITS: PeerLimits = {
  maxFrameBytes: 8 * 1024 * 1024,
  messagesPerSec: 5000,
  messageBurst: 10_000,
  bytesPerSec: 32 * 1024 * 1024,
  handshakeTimeoutMs: 5000,
  maxPendingWriteBytes: 64 * 1024 * 1024,
};

/** Why a connection closed; `penalty` is what the peer's score loses. */
export interface PeerClose {
  readonly reason: string;
  readonly penalty: number;
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
  #peerHello: Extract<P2pMessage, { kind: 'hello' }> | undefined;
  readonly #msgs: TokenBucket;
  readonly #bytes: TokenBucket;
  readonly #timer: NodeJS.Timeout;
  /** Messages and bytes received. */
  received = { messages: 0, bytes: 0 };

  readonly #o: PeerOptions;

  constructor(o: PeerOptions) {
    this.#o = o;
    this.outbound = o.outbound;
    this.remote = o.link.remote;
    const now = o.nowMs();
    this.connectedAtMs = now;
    this.#decoder = new FrameDecoder(o.limits.maxFrameBytes);
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
    o.link.onData((b) => this.#onData(b));
    o.link.onClose((reason) => this.#closed({ reason, penalty: PENALTY.none }));
    this.send({
      kind: 'hello',
      version: P2P_VERSION,
      chainId: o.ctx.chainId,
      genesisId: o.ctx.genesisId,
      nodeKey: o.ctx.signer.publicKey,
      nonce: this.#nonce,
      listenPort: o.listenPort,
    });
  }

  /** True once the handshake completed and until the connection closes. */
  get ready(): boolean {
    return this.#state === 'ready';
  }

  /** Sends a message (dropped when closed); cuts a peer off that does not read what it is sent. */
  send(msg: P2pMessage): void {
    this.sendPayload(encodeP2p(msg));
  }

  /** Sends an already encoded payload (one encoding for every peer of a broadcast). */
  sendPayload(payload: Uint8Array): void {
    if (this.#state === 'closed') return;
    this.#o.link.write(encodeFrame(payload));
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
      let msg: P2pMessage;
      try {
        msg = decodeP2p(f);
      } catch (err) {
        // P2pWireError, or a typed error of a nested decoder (a transaction's, a block's): all garbage.
        this.close({
          reason: `message ${this.received.messages} does not decode: ${(err as Error).message}`,
          penalty: PENALTY.garbage,
        });
        return;
      }
      this.#onMessage(msg, f.length);
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
        this.close({ reason: `hello refused: ${why}`, penalty: PENALTY.none });
        return;
      }
      this.#peerHello = msg;
      this.listenPort = msg.listenPort;
      this.#state = 'auth';
      this.send(answerHello(this.#o.ctx, msg));
      return;
    }
    if (this.#state === 'auth') {
      if (msg.kind !== 'auth') {
        this.close({ reason: `${msg.kind} before auth`, penalty: PENALTY.protocol });
        return;
      }
      if (!checkAuth(this.#o.ctx, this.#peerHello!, this.#nonce, msg.signature)) {
        this.close({ reason: 'auth signature does not verify', penalty: PENALTY.protocol });
        return;
      }
      this.key = toHex(this.#peerHello!.nodeKey);
      this.#state = 'ready';
      clearTimeout(this.#timer);
      this.#o.onReady(this);
    }
  }
}
