/**
 * A node's peers: it listens for connections, keeps one to every configured address (redialing with
 * backoff), keeps at most one connection per node key, and scores peers. A peer's score falls with
 * each offence (peer.ts PENALTY, or what the node reports through `penalize`); at BAN_SCORE the key
 * is refused for `banMs`. Messages of ready peers go to `onMessage` with the peer's key.
 *
 * Admission (issue 14, attack 12: idle sockets used to fill every slot until their handshake
 * deadline, cutting producers off from each other). Slots are counted in three budgets:
 * - inbound connections still in handshake: at most `maxHandshakes`, of which at most
 *   `maxHandshakesPerAddress` from one IP address; when they are all taken, a newcomer takes the
 *   slot of the oldest one whose hello has not arrived (an honest node says hello the moment it
 *   connects, so that one is idle or dribbling bytes), else it is refused; one without a hello is
 *   also dropped after `inboundHelloTimeoutMs` (peer.ts);
 * - inbound connections from one IP address, in handshake or established, at most `maxPerAddress`;
 * - established peers that are neither configured nor priority (the scheduled producers, through
 *   `isPriority`): at most `maxPeers`. Configured peers (dialed by this node) and priority keys are
 *   admitted past every limit once authenticated, and count against none of them, so a table full
 *   of others never keeps a producer out.
 */

import type { HandshakeContext } from './handshake.js';
import { DEFAULT_PEER_LIMITS, Peer, type PeerClose, type PeerLimits } from './peer.js';
import type { ByteLink, TcpListener } from './tcp.js';
import { encodeP2p, type P2pMessage } from './wire.js';

/** The score at which a key is banned. */
export const BAN_SCORE = -100;

/** How the network opens connections (tcp.ts in a node). */
export interface Transport {
  listen(host: string, port: number, onLink: (link: ByteLink) => void): Promise<TcpListener>;
  dial(host: string, port: number, timeoutMs: number): Promise<ByteLink>;
}

/** The admission limits (defaults in DEFAULT_ADMISSION). */
export interface AdmissionLimits {
  /** Established peers that are neither configured nor priority. */
  readonly maxPeers: number;
  /** Inbound connections still in handshake. */
  readonly maxHandshakes: number;
  /** Inbound connections still in handshake from one IP address. */
  readonly maxHandshakesPerAddress: number;
  /** Inbound connections from one IP address, in handshake or established (priority peers aside). */
  readonly maxPerAddress: number;
}

export const DEFAULT_ADMISSION: AdmissionLimits = {
  maxPeers: 64,
  maxHandshakes: 8,
  maxHandshakesPerAddress: 2,
  maxPerAddress: 8,
};

/** A peer address from the config. */
export interface PeerAddress {
  readonly host: string;
  readonly port: number;
}

/** Logging the network does (a pino logger fits). */
export interface NetworkLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface NetworkOptions {
  readonly ctx: HandshakeContext;
  readonly transport: Transport;
  /** Where to listen; omit to dial only. */
  readonly listen?: PeerAddress;
  readonly peers: readonly PeerAddress[];
  readonly limits?: Partial<PeerLimits>;
  /** How long a banned key is refused (default 60 s). */
  readonly banMs?: number;
  readonly admission?: Partial<AdmissionLimits>;
  /**
   * Keys admitted whatever the limits once they prove them (the node's scheduled producers).
   * Called when a peer completes its handshake.
   */
  readonly isPriority?: (key: string) => boolean;
  readonly nowMs?: () => number;
  readonly log?: NetworkLog;
  readonly onMessage: (from: string, msg: P2pMessage) => void;
  /** A peer became ready (its key) or went away. */
  readonly onPeer?: (key: string, up: boolean) => void;
}

/** Counters of the network. */
export interface NetworkStats {
  connectionsAccepted: number;
  connectionsDialed: number;
  handshakesCompleted: number;
  /** Connections closed for an offence (penalty > 0). */
  peersCutOff: number;
  bans: number;
  refusedBanned: number;
  duplicateConnections: number;
  messagesIn: number;
  messagesOut: number;
  /** The last connection cut off: who and why. */
  lastCutOff: string | undefined;
  /** Inbound connections refused: their address held `maxPerAddress`, or `maxHandshakesPerAddress` in handshake. */
  refusedAddressLimit: number;
  /** Inbound connections refused: every handshake slot taken, none by a connection without a hello. */
  refusedHandshakeBudget: number;
  /** Inbound connections without a hello dropped to give their handshake slot to a newcomer. */
  evictedBeforeHello: number;
  /** Authenticated peers refused: `maxPeers` others already established. */
  refusedTableFull: number;
  /** Sealed frames that did not open (each closed its connection). */
  framesRejected: number;
  /** Connections closed before their handshake completed. */
  handshakesFailed: number;
  /** The last of them: who and why. */
  lastHandshakeFailure: string | undefined;
}

/** A peer as the status API shows it. */
export interface PeerInfo {
  readonly key: string;
  readonly remote: string;
  readonly outbound: boolean;
  readonly score: number;
  readonly messagesIn: number;
}

/** The dial loop of one configured address: the key it turned out to have, the live connection. */
interface Dialer {
  addr: PeerAddress;
  key?: string;
  conn?: Peer | undefined;
  timer?: NodeJS.Timeout;
  backoffMs: number;
}

/** The node's peer-to-peer network. */
export class PeerNetwork {
  readonly #limits: PeerLimits;
  readonly #nowMs: () => number;
  readonly #banMs: number;
  readonly #admission: AdmissionLimits;
  #listener: TcpListener | undefined;
  /** Every connection, ready or not. */
  readonly #conns = new Set<Peer>();
  /** Ready connections by peer key. */
  readonly #ready = new Map<string, Peer>();
  /** Ready connections admitted as configured or priority (decided once, at the handshake). */
  readonly #priority = new WeakSet<Peer>();
  readonly #scores = new Map<string, number>();
  readonly #banned = new Map<string, number>();
  /** Dial loop per configured address. */
  readonly #dialers: Dialer[];
  #stopped = false;
  readonly stats: NetworkStats = {
    connectionsAccepted: 0,
    connectionsDialed: 0,
    handshakesCompleted: 0,
    peersCutOff: 0,
    bans: 0,
    refusedBanned: 0,
    duplicateConnections: 0,
    messagesIn: 0,
    messagesOut: 0,
    lastCutOff: undefined,
    refusedAddressLimit: 0,
    refusedHandshakeBudget: 0,
    evictedBeforeHello: 0,
    refusedTableFull: 0,
    framesRejected: 0,
    handshakesFailed: 0,
    lastHandshakeFailure: undefined,
  };

  readonly #o: NetworkOptions;

  constructor(o: NetworkOptions) {
    this.#o = o;
    this.#limits = { ...DEFAULT_PEER_LIMITS, ...o.limits };
    this.#nowMs = o.nowMs ?? Date.now;
    this.#banMs = o.banMs ?? 60_000;
    this.#admission = { ...DEFAULT_ADMISSION, ...o.admission };
    this.#dialers = o.peers.map((addr) => ({ addr, backoffMs: 250 }));
  }

  /** The port listened on (0 when not listening). */
  get listenPort(): number {
    return this.#listener?.port ?? 0;
  }

  /** Starts listening and dialing. */
  async start(): Promise<void> {
    if (this.#o.listen !== undefined)
      this.#listener = await this.#o.transport.listen(this.#o.listen.host, this.#o.listen.port, (link) =>
        this.#accept(link),
      );
    for (const d of this.#dialers) this.#dial(d, 0);
  }

  /** Closes every connection and the listener. */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const d of this.#dialers) clearTimeout(d.timer);
    for (const p of [...this.#conns]) p.close({ reason: 'node stopping', penalty: 0 });
    await this.#listener?.close();
  }

  /** Keys of ready peers. */
  get peerKeys(): string[] {
    return [...this.#ready.keys()];
  }

  /** Ready peers with their scores. */
  peers(): PeerInfo[] {
    return [...this.#ready.values()].map((p) => ({
      key: p.key!,
      remote: p.remote,
      outbound: p.outbound,
      score: this.#scores.get(p.key!) ?? 0,
      messagesIn: p.received.messages,
    }));
  }

  /** Sends `msg` to every ready peer except `except`. */
  broadcast(msg: P2pMessage, except?: string): void {
    const payload = encodeP2p(msg);
    for (const [k, p] of this.#ready) {
      if (k === except) continue;
      this.stats.messagesOut++;
      p.sendPayload(payload);
    }
  }

  /** Sends `msg` to one peer; false when it is not connected. */
  send(key: string, msg: P2pMessage): boolean {
    const p = this.#ready.get(key);
    if (p === undefined) return false;
    this.stats.messagesOut++;
    p.send(msg);
    return true;
  }

  /** Lowers a peer's score for what it sent (an invalid block, a bad vote); bans and cuts it off at BAN_SCORE. */
  penalize(key: string, points: number, reason: string): void {
    const score = (this.#scores.get(key) ?? 0) - points;
    this.#scores.set(key, score);
    if (score <= BAN_SCORE) {
      const p = this.#ready.get(key);
      if (p !== undefined) {
        this.stats.peersCutOff++;
        this.stats.lastCutOff = `${key.slice(0, 16)}: banned after ${reason}`;
        p.close({ reason, penalty: 0 });
      }
      this.#ban(key, reason);
    }
  }

  #ban(key: string, reason: string): void {
    if ((this.#banned.get(key) ?? 0) > this.#nowMs()) return;
    this.#banned.set(key, this.#nowMs() + this.#banMs);
    this.stats.bans++;
    this.#o.log?.warn({ peer: key.slice(0, 16), reason, banMs: this.#banMs }, 'peer banned');
  }

  /** True while `key` is banned. */
  isBanned(key: string): boolean {
    const until = this.#banned.get(key);
    return until !== undefined && until > this.#nowMs();
  }

  #dial(d: Dialer, delayMs: number): void {
    if (this.#stopped) return;
    d.timer = setTimeout(() => {
      if (this.#stopped) return;
      if (d.key !== undefined && (this.#ready.has(d.key) || this.isBanned(d.key))) {
        this.#dial(d, 1000);
        return;
      }
      this.#o.transport.dial(d.addr.host, d.addr.port, 3000).then(
        (link) => {
          if (this.#stopped) {
            link.destroy();
            return;
          }
          this.stats.connectionsDialed++;
          d.backoffMs = 250;
          d.conn = this.#attach(link, true, d);
        },
        () => {
          d.backoffMs = Math.min(d.backoffMs * 2, 5000);
          this.#dial(d, d.backoffMs);
        },
      );
    }, delayMs);
    d.timer.unref?.();
  }

  /** True when `key` is admitted whatever the limits: a configured peer's or a priority key. */
  #isPriority(key: string): boolean {
    return this.#dialers.some((d) => d.key === key) || this.#o.isPriority?.(key) === true;
  }

  /**
   * An inbound connection, before it said anything: admitted only within the per-address limit and
   * the handshake budget (see the file comment), so idle or slow sockets cannot hold the slots of
   * established peers, and one address cannot hold them all.
   */
  #accept(link: ByteLink): void {
    if (this.#stopped) {
      link.destroy();
      return;
    }
    const address = addressOf(link.remote);
    let fromAddress = 0;
    let handshakingFromAddress = 0;
    const handshaking: Peer[] = [];
    for (const c of this.#conns) {
      if (c.outbound) continue;
      const same = addressOf(c.remote) === address;
      if (!c.ready) {
        handshaking.push(c);
        if (same) handshakingFromAddress++;
      }
      if (same && !this.#priority.has(c)) fromAddress++;
    }
    if (
      fromAddress >= this.#admission.maxPerAddress ||
      handshakingFromAddress >= this.#admission.maxHandshakesPerAddress
    ) {
      this.stats.refusedAddressLimit++;
      link.destroy();
      return;
    }
    if (handshaking.length >= this.#admission.maxHandshakes) {
      // #conns keeps insertion order: the first one found is the oldest.
      const victim = handshaking.find((c) => c.awaitingHello);
      if (victim === undefined) {
        this.stats.refusedHandshakeBudget++;
        link.destroy();
        return;
      }
      this.stats.evictedBeforeHello++;
      victim.close({ reason: 'no hello yet, and its handshake slot was wanted', penalty: 0 });
    }
    this.stats.connectionsAccepted++;
    this.#attach(link, false);
  }

  #attach(link: ByteLink, outbound: boolean, dialer?: Dialer): Peer {
    const peer = new Peer({
      link,
      outbound,
      ctx: this.#o.ctx,
      listenPort: this.listenPort,
      limits: this.#limits,
      nowMs: this.#nowMs,
      onReady: (p) => this.#onReady(p, dialer),
      onMessage: (p, msg) => {
        this.stats.messagesIn++;
        if (this.#ready.get(p.key!) === p) this.#o.onMessage(p.key!, msg);
      },
      onClose: (p, c) => this.#onClose(p, c, dialer),
    });
    this.#conns.add(peer);
    return peer;
  }

  #onReady(p: Peer, dialer: Dialer | undefined): void {
    const key = p.key!;
    if (dialer !== undefined) dialer.key = key;
    if (this.isBanned(key)) {
      this.stats.refusedBanned++;
      p.close({ reason: 'banned', penalty: 0 });
      return;
    }
    const priority = this.#isPriority(key);
    if (priority) this.#priority.add(p);
    const existing = this.#ready.get(key);
    if (existing !== undefined) {
      // Both sides keep the connection dialed by the smaller key, so they agree on which to drop.
      this.stats.duplicateConnections++;
      const me = this.#o.ctx.signer.publicKey;
      const myKey = Buffer.from(me).toString('hex');
      const dialerOf = (c: Peer) => (c.outbound ? myKey : key);
      const keep = dialerOf(p) < dialerOf(existing) ? p : existing;
      const drop = keep === p ? existing : p;
      this.#ready.set(key, keep);
      drop.close({ reason: 'duplicate connection', penalty: 0 });
      return;
    }
    if (!priority) {
      // Only peers nobody configured or scheduled compete for these slots (see the file comment).
      let others = 0;
      for (const c of this.#ready.values()) if (!this.#priority.has(c)) others++;
      if (others >= this.#admission.maxPeers) {
        this.stats.refusedTableFull++;
        p.close({ reason: `peer table full (${others} others)`, penalty: 0 });
        return;
      }
    }
    this.#ready.set(key, p);
    this.stats.handshakesCompleted++;
    this.#o.log?.info({ peer: key.slice(0, 16), remote: p.remote, outbound: p.outbound }, 'peer connected');
    this.#o.onPeer?.(key, true);
  }

  #onClose(p: Peer, c: PeerClose, dialer: Dialer | undefined): void {
    this.#conns.delete(p);
    const key = p.key;
    if (c.code === 'unsealed') {
      this.stats.framesRejected++;
      this.stats.lastCutOff = `${key === undefined ? p.remote : key.slice(0, 16)}: ${c.reason}`;
      this.#o.log?.warn(
        { peer: key?.slice(0, 16), remote: p.remote, reason: c.reason },
        'sealed frame rejected',
      );
    }
    if (key === undefined) {
      this.stats.handshakesFailed++;
      this.stats.lastHandshakeFailure = `${p.remote}: ${c.reason}`;
      if (c.code === 'refused') this.#o.log?.info({ remote: p.remote, reason: c.reason }, 'peer refused');
    }
    if (c.penalty > 0) {
      this.stats.peersCutOff++;
      this.stats.lastCutOff = `${key === undefined ? p.remote : key.slice(0, 16)}: ${c.reason}`;
      this.#o.log?.warn({ peer: key?.slice(0, 16), remote: p.remote, reason: c.reason }, 'peer cut off');
      if (key !== undefined) this.penalize(key, c.penalty, c.reason);
    }
    if (key !== undefined && this.#ready.get(key) === p) {
      this.#ready.delete(key);
      this.#o.onPeer?.(key, false);
    }
    if (dialer !== undefined && dialer.conn === p) {
      dialer.conn = undefined;
      this.#dial(dialer, dialer.backoffMs);
    }
  }
}

/** The IP address of a `host:port` remote (IPv6 hosts contain colons). */
function addressOf(remote: string): string {
  const i = remote.lastIndexOf(':');
  return i < 0 ? remote : remote.slice(0, i);
}
