/**
 * A full node: the ConsensusEngine (chain/dpos) driven by the wall clock and real peers. It ticks the
 * engine at each slot boundary, feeds it what peers send (deduplicated by id, relayed only once the
 * engine accepted it), carries out its actions (broadcasts, answers, persistence), admits
 * transactions through a validated mempool (tx-check.ts), and keeps the final chain and its
 * certificates in a ChainStore. On start it replays the store through the engine (every block
 * re-applied and checked) and catches up from peers: a peer whose status shows more final blocks is
 * asked for ranges of final blocks with their certificates (range-sync.ts).
 *
 * Offences of authenticated peers (invalid blocks, bad votes, transactions with bad signatures) lower
 * their scores through the network (network.ts), which bans them at BAN_SCORE.
 */
import {
  type Block,
  type BlockVote,
  type ChainState,
  type ChainStore,
  ConsensusEngine,
  createGenesis,
  type Ed25519Signer,
  type EngineAction,
  type EngineEvent,
  type FinalBlock,
  type FinalityCertificate,
  type GenesisSpec,
  headerId,
  type RejectCode,
  SignatureCache,
  type SignedTx,
  slotAt,
  toHex,
} from '../../chain/index.js';
import {
  type AdmissionLimits,
  type NetworkLog,
  type PeerAddress,
  PeerNetwork,
  type Transport,
} from '../p2p/network.js';
import { PENALTY, type PeerLimits } from '../p2p/peer.js';
import { encodeP2p, type P2pMessage } from '../p2p/wire.js';
import { RangeSync } from './range-sync.js';
import { SeenSet } from './seen-set.js';
import { noSigningGuard, type SigningGuard } from './signing-guard.js';
import { checkTx, type TxReject } from './tx-check.js';
import { VerifyInbox } from './verify-inbox.js';
import type { VerifyPool } from './verify-pool.js';

/** Logging the node does (a pino logger fits). */
export interface NodeLog extends NetworkLog {
  error(obj: object, msg: string): void;
}

/** Moments a bench or a test may observe, with the wall time they happened at. */
export type NodeTrace =
  | { readonly kind: 'blockSent' | 'blockReceived'; readonly id: string; readonly height: number }
  | { readonly kind: 'voteSent' | 'voteReceived'; readonly id: string; readonly height: number }
  | { readonly kind: 'final'; readonly blocks: readonly FinalBlock[] };

/** A block made final, with its certificate (for the finality topic, the API). */
export interface FinalityEvent {
  readonly certificate: FinalityCertificate;
  readonly block: Block;
  readonly blocks: readonly FinalBlock[];
}

export interface FullNodeOptions {
  readonly genesis: GenesisSpec;
  /** This node's key: its identity to peers and, when scheduled, its producer key. */
  readonly signer: Ed25519Signer;
  readonly store: ChainStore;
  readonly transport: Transport;
  readonly listen?: PeerAddress;
  readonly peers: readonly PeerAddress[];
  readonly guard?: SigningGuard;
  readonly nowMs?: () => number;
  readonly log?: NodeLog;
  readonly peerLimits?: Partial<PeerLimits>;
  /** Connection budgets of the network (p2p/network.ts); the current schedule's producers pass them. */
  readonly admission?: Partial<AdmissionLimits>;
  /** Transactions the mempool holds (default 10000). */
  readonly maxMempool?: number;
  /**
   * Verified transaction signatures remembered so each is checked once, at admission, and not again
   * when a block is built or applied (default 50000; 0 verifies every signature every time).
   */
  readonly signatureCacheEntries?: number;
  /**
   * Worker threads that verify, before the engine sees them, the not yet verified transaction
   * signatures of peer blocks and sync ranges carrying at least verifyPoolMinTxs of them (catch-up after
   * downtime, txs never gossiped here). Peer messages then wait their turn in order. Off by default:
   * on a machine whose cores are already busy it only adds a hop (README, "Benchmarks"). The pool
   * stays the caller's to close.
   */
  readonly verifyPool?: VerifyPool;
  /** Unverified transactions a peer message needs to go through the pool (default 256). */
  readonly verifyPoolMinTxs?: number;
  /** How long a banned peer key is refused (default 60 s). */
  readonly banMs?: number;
  readonly onFinal?: (e: FinalityEvent) => void;
  readonly onTrace?: (t: NodeTrace, atMs: number) => void;
}

/** Counters of the node, for its status. */
export interface NodeStats {
  duplicates: number;
  blocksRelayed: number;
  votesRelayed: number;
  txsAdmitted: number;
  txsRefused: number;
  blocksStored: number;
  replayedBlocks: number;
  rangesFetched: number;
  evidence: number;
  conflicts: number;
}

/** Engine rejections that prove a peer sent something invalid (not merely late or early). */
const BLOCK_OFFENCES: readonly RejectCode[] = ['INVALID_BLOCK', 'WRONG_PRODUCER', 'BAD_SLOT'];
const VOTE_OFFENCES: readonly RejectCode[] = ['BAD_VOTE'];

/** A full node on the wall clock. */
export class FullNode {
  readonly engine: ConsensusEngine;
  readonly network: PeerNetwork;
  readonly genesisState: ChainState;
  readonly address: string;
  /** Signatures this node verified (undefined when signatureCacheEntries is 0). */
  readonly signatureCache: SignatureCache | undefined;
  readonly #nowMs: () => number;
  readonly #guard: SigningGuard;
  #signed: { producedThrough: number; votedThrough: number };
  readonly #seen = new SeenSet(50_000);
  readonly #sync: RangeSync;
  #timer: NodeJS.Timeout | undefined;
  #statusTimer: NodeJS.Timeout | undefined;
  #running = false;
  #lastCertificate: FinalityCertificate | undefined;
  readonly #finalityListeners = new Set<(e: FinalityEvent) => void>();
  readonly #inbox: VerifyInbox | undefined;
  readonly stats: NodeStats = {
    duplicates: 0,
    blocksRelayed: 0,
    votesRelayed: 0,
    txsAdmitted: 0,
    txsRefused: 0,
    blocksStored: 0,
    replayedBlocks: 0,
    rangesFetched: 0,
    evidence: 0,
    conflicts: 0,
  };

  readonly #o: FullNodeOptions;

  constructor(o: FullNodeOptions) {
    this.#o = o;
    this.#nowMs = o.nowMs ?? Date.now;
    this.#guard = o.guard ?? noSigningGuard;
    this.#signed = this.#guard.load();
    this.genesisState = createGenesis(o.genesis);
    o.store.setGenesis(o.genesis);
    this.address = toHex(o.signer.publicKey);
    const cacheEntries = o.signatureCacheEntries ?? 50_000;
    this.signatureCache = cacheEntries > 0 ? new SignatureCache(cacheEntries) : undefined;
    this.#inbox =
      o.verifyPool === undefined || this.signatureCache === undefined
        ? undefined
        : new VerifyInbox({
            pool: o.verifyPool,
            cache: this.signatureCache,
            ...(o.verifyPoolMinTxs === undefined ? {} : { minTxs: o.verifyPoolMinTxs }),
            handle: (from, msg) => {
              if (this.#running) this.#onMessage(from, msg);
            },
            ...(o.log === undefined ? {} : { log: o.log }),
          });
    this.engine = new ConsensusEngine({
      genesis: this.genesisState,
      signer: o.signer,
      ...(this.signatureCache === undefined ? {} : { signatureCache: this.signatureCache }),
      maxMempool: o.maxMempool ?? 10_000,
      producedThrough: this.#signed.producedThrough,
      votedThrough: this.#signed.votedThrough,
    });
    this.network = new PeerNetwork({
      ctx: {
        chainId: o.genesis.params.chainId,
        genesisId: this.genesisState.blockId,
        signer: o.signer,
      },
      transport: o.transport,
      ...(o.listen === undefined ? {} : { listen: o.listen }),
      peers: o.peers,
      ...(o.peerLimits === undefined ? {} : { limits: o.peerLimits }),
      ...(o.banMs === undefined ? {} : { banMs: o.banMs }),
      ...(o.admission === undefined ? {} : { admission: o.admission }),
      // Producers of the current round are always admitted: a table full of other peers must not
      // cut producers off from each other (issue 14, attack 12).
      isPriority: (key) =>
        this.engine
          .scheduleAt(Math.max(0, slotAt(this.#nowMs(), o.genesis.timeMs, o.genesis.params.slotMs)))
          .includes(key),
      nowMs: this.#nowMs,
      ...(o.log === undefined ? {} : { log: o.log }),
      onMessage: (from, msg) =>
        this.#inbox === undefined ? this.#onMessage(from, msg) : this.#inbox.receive(from, msg),
      onPeer: (key, up) => {
        if (up) this.network.send(key, this.#statusMessage());
        else this.#sync.peerGone(key);
      },
    });
    this.#sync = new RangeSync({
      store: o.store,
      nowMs: this.#nowMs,
      send: (to, msg) => this.network.send(to, msg),
      lastFinal: () => this.engine.lastFinal.height,
    });
  }

  /** Replays the store, starts the network and the slot clock. */
  async start(): Promise<void> {
    this.#replayStore();
    await this.network.start();
    this.#running = true;
    this.#scheduleTick();
    this.#statusTimer = setInterval(() => this.network.broadcast(this.#statusMessage()), 1000);
    this.#statusTimer.unref();
  }

  /** Stops the clock and the network. The store is the caller's to close. */
  async stop(): Promise<void> {
    this.#running = false;
    clearTimeout(this.#timer);
    clearInterval(this.#statusTimer);
    await this.network.stop();
  }

  /** The head of fork choice. */
  get head() {
    return this.engine.head;
  }

  /** The last final block and the state after it. */
  get lastFinal() {
    return this.engine.lastFinal;
  }

  /** The certificate of the last final block (undefined before the first one). */
  get certificate(): FinalityCertificate | undefined {
    return this.#lastCertificate;
  }

  /** The final block at `height`. */
  block(height: number): Block | undefined {
    return this.engine.finalBlockAt(height) ?? this.#o.store.block(height);
  }

  /**
   * Admits a transaction into the mempool and gossips it; returns why not otherwise. One already
   * seen is `{ admitted: false }` without a reason, unless `resubmit` (a local resubmission of one
   * that left the mempool without reaching a block, e.g. with an abandoned fork).
   */
  submitTx(
    tx: SignedTx,
    options: { readonly resubmit?: boolean } = {},
  ): { readonly admitted: boolean; readonly reject?: TxReject | 'MEMPOOL_FULL' } {
    return this.#admit(tx, undefined, options.resubmit === true);
  }

  /** submitTx for a transaction `from` a peer (or the API when undefined); the relay skips `from`. */
  #admit(
    tx: SignedTx,
    from: string | undefined,
    resubmit = false,
  ): { readonly admitted: boolean; readonly reject?: TxReject | 'MEMPOOL_FULL' } {
    const id = `t/${toHex(tx.id)}`;
    if (this.#seen.has(id) && !resubmit) return { admitted: false };
    const reject = checkTx(this.engine.head.state, tx, this.signatureCache);
    if (reject !== undefined) {
      this.stats.txsRefused++;
      return { admitted: false, reject };
    }
    if (resubmit && this.engine.mempoolHas(toHex(tx.id))) {
      // Still held: send it to the peers again, which may have lost it.
      this.network.broadcast({ kind: 'tx', tx }, from);
      return { admitted: true };
    }
    const before = this.engine.mempoolSize;
    this.#dispatch({ kind: 'tx', tx });
    if (this.engine.mempoolSize === before) return { admitted: false, reject: 'MEMPOOL_FULL' };
    this.#seen.add(id);
    this.stats.txsAdmitted++;
    this.network.broadcast({ kind: 'tx', tx }, from);
    return { admitted: true };
  }

  /**
   * Calls `listener` on every finality event, after the blocks and certificate are stored (as the
   * `onFinal` option does); returns the function that removes it.
   */
  onFinality(listener: (e: FinalityEvent) => void): () => void {
    this.#finalityListeners.add(listener);
    return () => this.#finalityListeners.delete(listener);
  }

  /** Transactions waiting in the mempool. */
  get mempoolSize(): number {
    return this.engine.mempoolSize;
  }

  #statusMessage(): P2pMessage {
    return { kind: 'status', finalHeight: this.engine.lastFinal.height, headHeight: this.engine.head.height };
  }

  #replayStore(): void {
    const store = this.#o.store;
    const top = store.headHeight();
    if (top === 0) return;
    const last = store.block(top)!;
    // The engine accepts blocks up to one slot ahead of its clock: start it at the last stored slot.
    this.#dispatch({ kind: 'tick', timeMs: last.header.header.timeMs });
    for (let h = 1; h <= top; h += 256) {
      const blocks: Block[] = [];
      for (let k = h; k <= Math.min(top, h + 255); k++) blocks.push(store.block(k)!);
      this.#dispatch({ kind: 'blocks', from: '', blocks });
    }
    this.stats.replayedBlocks = top;
    const cert = store.certificate(store.lastFinal());
    if (cert !== undefined) {
      this.#lastCertificate = cert;
      for (const vote of cert.votes)
        this.#dispatch({
          kind: 'vote',
          from: '',
          vote: { height: cert.height, blockId: cert.blockId, vote },
        });
    }
    this.#o.log?.info(
      { stored: top, final: this.engine.lastFinal.height, head: this.engine.head.height },
      'chain replayed from the store',
    );
  }

  #scheduleTick(): void {
    if (!this.#running) return;
    const { slotMs } = this.#o.genesis.params;
    const t0 = this.#o.genesis.timeMs;
    const now = this.#nowMs();
    const next = t0 + (Math.floor((now - t0) / slotMs) + 1) * slotMs;
    this.#timer = setTimeout(
      () => {
        this.#dispatch({ kind: 'tick', timeMs: Math.max(this.#nowMs(), next) });
        this.#scheduleTick();
      },
      next - now + 1,
    );
  }

  #trace(t: NodeTrace): void {
    this.#o.onTrace?.(t, this.#nowMs());
  }

  /** Hands an event to the engine and carries out what it returns. */
  #dispatch(ev: EngineEvent): EngineAction[] {
    const actions = this.engine.handle(ev);
    // Signed heights reach the disk before the signed block or vote leaves the node.
    let produced = this.#signed.producedThrough;
    let voted = this.#signed.votedThrough;
    for (const a of actions) {
      if (a.kind === 'broadcastBlock') produced = Math.max(produced, a.block.header.header.height);
      if (a.kind === 'broadcastVote') voted = Math.max(voted, a.vote.height);
    }
    if (produced !== this.#signed.producedThrough || voted !== this.#signed.votedThrough) {
      this.#signed = { producedThrough: produced, votedThrough: voted };
      this.#guard.save(this.#signed);
    }
    for (const a of actions) this.#carry(a);
    return actions;
  }

  #carry(a: EngineAction): void {
    switch (a.kind) {
      case 'broadcastBlock': {
        const id = toHex(headerId(a.block.header.header));
        this.#seen.add(`b/${id}`);
        this.network.broadcast({ kind: 'block', block: a.block });
        this.#trace({ kind: 'blockSent', id, height: a.block.header.header.height });
        break;
      }
      case 'broadcastVote': {
        const id = voteId(a.vote);
        this.#seen.add(id);
        this.network.broadcast({ kind: 'vote', vote: a.vote });
        this.#trace({ kind: 'voteSent', id, height: a.vote.height });
        break;
      }
      case 'broadcastTx':
        this.#seen.add(`t/${toHex(a.tx.id)}`);
        this.network.broadcast({ kind: 'tx', tx: a.tx });
        break;
      case 'sendBlocks':
        for (const part of splitBlocks(a.blocks)) this.network.send(a.to, { kind: 'blocks', blocks: part });
        break;
      case 'getBlocks':
        this.network.send(a.to, { kind: 'getBlocks', blockId: a.blockId, aboveHeight: a.aboveHeight });
        break;
      case 'final':
        this.#onFinal(a.certificate, a.blocks);
        break;
      case 'evidence':
        this.stats.evidence++;
        this.#o.log?.warn(
          { kind: a.evidence.kind, producer: a.evidence.producer.slice(0, 16), height: a.evidence.height },
          'misbehaviour evidence',
        );
        break;
      case 'conflict':
        this.stats.conflicts++;
        this.#o.log?.error(
          {
            height: a.height,
            certified: toHex(a.blockId).slice(0, 16),
            final: toHex(a.finalBlockId).slice(0, 16),
          },
          'a quorum certified a block conflicting with the final chain',
        );
        break;
      case 'scheduleChange':
        this.#o.log?.info(
          { fromRound: a.change.fromRound, producers: a.change.schedule.length },
          'producer schedule change decided',
        );
        break;
    }
  }

  #onFinal(certificate: FinalityCertificate, blocks: readonly FinalBlock[]): void {
    const store = this.#o.store;
    for (const f of blocks) {
      if (f.height <= store.headHeight()) continue;
      store.putBlock(this.engine.finalBlockAt(f.height)!);
      this.stats.blocksStored++;
    }
    if (certificate.height > store.lastFinal() || store.certificate(certificate.height) === undefined)
      store.putCertificate(certificate);
    this.#lastCertificate = certificate;
    this.#trace({ kind: 'final', blocks });
    const block = this.engine.finalBlockAt(certificate.height);
    if (block === undefined) return;
    const e: FinalityEvent = { certificate, block, blocks };
    this.#o.onFinal?.(e);
    for (const l of this.#finalityListeners) l(e);
  }

  /** What the engine rejected during `run`, by code. */
  #rejections(run: () => void): Record<RejectCode, number> {
    const before = { ...this.engine.stats.rejected };
    run();
    const after = this.engine.stats.rejected;
    const diff = {} as Record<RejectCode, number>;
    for (const k of Object.keys(after) as RejectCode[]) diff[k] = after[k] - before[k];
    return diff;
  }

  #punishIf(
    from: string,
    diff: Record<RejectCode, number>,
    codes: readonly RejectCode[],
    points: number,
  ): boolean {
    const n = codes.reduce((s, c) => s + diff[c], 0);
    if (n > 0) this.network.penalize(from, points * n, this.engine.stats.lastRejection ?? 'invalid');
    return n > 0;
  }

  #onMessage(from: string, msg: P2pMessage): void {
    switch (msg.kind) {
      case 'block': {
        const id = toHex(headerId(msg.block.header.header));
        if (!this.#seen.add(`b/${id}`)) {
          this.stats.duplicates++;
          return;
        }
        this.#trace({ kind: 'blockReceived', id, height: msg.block.header.header.height });
        const diff = this.#rejections(() => this.#dispatch({ kind: 'block', from, block: msg.block }));
        if (this.#punishIf(from, diff, BLOCK_OFFENCES, PENALTY.invalidBlock)) return;
        if (this.engine.stateAfter(headerId(msg.block.header.header)) !== undefined) {
          this.stats.blocksRelayed++;
          this.network.broadcast(msg, from);
        }
        return;
      }
      case 'vote': {
        const id = voteId(msg.vote);
        if (!this.#seen.add(id)) {
          this.stats.duplicates++;
          return;
        }
        this.#trace({ kind: 'voteReceived', id, height: msg.vote.height });
        const accepted = this.engine.stats.votesAccepted;
        const diff = this.#rejections(() => this.#dispatch({ kind: 'vote', from, vote: msg.vote }));
        if (this.#punishIf(from, diff, VOTE_OFFENCES, PENALTY.invalidVote)) return;
        if (this.engine.stats.votesAccepted > accepted) {
          this.stats.votesRelayed++;
          this.network.broadcast(msg, from);
        }
        return;
      }
      case 'tx': {
        const r = this.#admit(msg.tx, from);
        if (
          r.reject !== undefined &&
          r.reject !== 'MEMPOOL_FULL' &&
          (r.reject.code === 'BAD_SIGNATURE' || r.reject.code === 'WRONG_CHAIN')
        )
          this.network.penalize(from, 5, `transaction: ${r.reject.message}`);
        return;
      }
      case 'getBlocks':
        this.#dispatch({ kind: 'getBlocks', from, blockId: msg.blockId, aboveHeight: msg.aboveHeight });
        return;
      case 'blocks': {
        this.#dispatch({ kind: 'tick', timeMs: this.#nowMs() });
        const diff = this.#rejections(() => this.#dispatch({ kind: 'blocks', from, blocks: msg.blocks }));
        this.#punishIf(from, diff, BLOCK_OFFENCES, PENALTY.invalidBlock);
        return;
      }
      case 'status':
        this.#sync.onStatus(from, msg.finalHeight);
        return;
      case 'getRange':
        this.#sync.serve(from, msg.fromHeight, msg.count);
        return;
      case 'range': {
        if (!this.#sync.accept(from)) return;
        this.stats.rangesFetched++;
        this.#dispatch({ kind: 'tick', timeMs: this.#nowMs() });
        const blocks = msg.entries.map((e) => e.block);
        const diff = this.#rejections(() => {
          this.#dispatch({ kind: 'blocks', from, blocks });
          for (const e of msg.entries)
            for (const vote of e.certificate?.votes ?? [])
              this.#dispatch({
                kind: 'vote',
                from,
                vote: { height: e.certificate!.height, blockId: e.certificate!.blockId, vote },
              });
        });
        if (this.#punishIf(from, diff, [...BLOCK_OFFENCES, ...VOTE_OFFENCES], PENALTY.invalidBlock)) return;
        this.#sync.next();
        return;
      }
      case 'hello':
      case 'auth':
        return;
    }
  }
}

/** The gossip id of a vote. */
function voteId(v: BlockVote): string {
  return `v/${v.vote.producer}/${v.height}/${toHex(v.blockId)}`;
}

/** Blocks in groups of at most 4 MiB encoded, for `blocks` messages. */
function splitBlocks(blocks: readonly Block[]): Block[][] {
  const out: Block[][] = [];
  let cur: Block[] = [];
  let bytes = 0;
  for (const b of blocks) {
    const n = encodeP2p({ kind: 'block', block: b }).length;
    if (cur.length > 0 && (bytes + n > 4 * 1024 * 1024 || cur.length >= 256)) {
      out.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(b);
    bytes += n;
  }
  if (cur.length > 0) out.push(cur);
  return out;
}
