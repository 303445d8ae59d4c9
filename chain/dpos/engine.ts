/**
 * The DPoS consensus engine of one node: pure and clock-free. The host feeds it events (a tick with
 * the time, a block, a vote, a transaction, a peer's request) and carries out the actions it returns
 * (broadcast, send, report). Given the same events it returns the same actions, byte for byte.
 *
 * Rules (ARCHITECTURE.md, "The chain"; the README's DPoS section gives the reasoning):
 * - Slot s starts at genesis + s * slotMs; its producer comes from the schedule in force for its round
 *   (schedule-history.ts). A block's time is its slot's start. A producer builds on its head at each
 *   of its slots, and never signs two blocks at one height.
 * - Fork choice: the longest chain extending the last final block (block-tree.ts).
 * - Voting: a scheduled producer votes for its head as soon as it is validated, at strictly increasing
 *   heights, never twice at one height. It votes only for blocks extending its previous vote (its
 *   lock), unless that block can no longer gather a quorum from producers who keep these rules:
 *   n - quorum + 1 scheduled producers have voted at its height or above for blocks outside it.
 * - Finality: a quorum (15 of 21) of votes for a block certifies it; it and its ancestors are final
 *   and never reverted. A certificate for a block conflicting with them is reported, not followed.
 * - Evidence: two headers by one producer at one height become a doubleSign transaction in this
 *   node's mempool (and are broadcast); two votes at one height are reported.
 */
import { type Ed25519Signer, verify } from '../crypto/ed25519.js';
import { toHex } from '../crypto/hash.js';
import { applyBlock, type Block, buildBlock } from '../state/block.js';
import type { Producer } from '../state/records.js';
import type { ChainState } from '../state/state.js';
import { getRecord, stateKey } from '../state/state.js';
import { headerId, type SignedHeader } from '../tx/header.js';
import type { SignedTx } from '../tx/types.js';
import { BlockTree, type TreeEntry } from './block-tree.js';
import { doubleSignTx, HeaderWatch } from './evidence.js';
import { BlockFetcher, type FetchRequest } from './fetcher.js';
import { type FinalityCertificate, signVote, voteMessage } from './finality.js';
import {
  type BlockVote,
  type EngineAction,
  type EngineEvent,
  type EngineStats,
  type FinalBlock,
  type MissedSlot,
  REJECT_CODES,
  type RejectCode,
} from './messages.js';
import { electSchedule, finalityQuorum } from './schedule.js';
import { ScheduleHistory } from './schedule-history.js';
import { VotePool } from './vote-pool.js';

/** Checks one signature; a host may share a cache of results between the nodes it runs. */
export type VoteVerifier = (signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array) => boolean;

/** What an engine is built from. */
export interface EngineOptions {
  /** The genesis state every node shares. */
  readonly genesis: ChainState;
  /** This node's producer key; without it the node follows and relays but never produces or votes. */
  readonly signer?: Ed25519Signer;
  /** Vote signature check (default: chain/crypto verify). */
  readonly verifyVote?: VoteVerifier;
  /** Blocks with an unknown parent held while their ancestry is fetched (default 512). */
  readonly maxOrphans?: number;
  /** Blocks sent in one answer to getBlocks (default 256). */
  readonly maxBlocksPerAnswer?: number;
  /** Transactions a produced block takes from the mempool (default 2000). */
  readonly maxTxsPerBlock?: number;
  /** Transactions held in the mempool (default 10000). */
  readonly maxMempool?: number;
  /** After a restart: the highest height this producer signed a block at; it never signs at or below it. */
  readonly producedThrough?: number;
  /** After a restart: the highest height this producer voted at; it never votes at or below it. */
  readonly votedThrough?: number;
}

/** One node's consensus state. */
export class ConsensusEngine {
  private readonly genesis: ChainState;
  private readonly signer: Ed25519Signer | undefined;
  readonly address: string | undefined;
  private readonly verifyVote: VoteVerifier;
  private readonly tree: BlockTree;
  private readonly votes = new VotePool();
  private readonly schedules: ScheduleHistory;
  private readonly fetcher: BlockFetcher;
  private readonly headers = new HeaderWatch();
  /** `producer/height` of double votes already reported. */
  private readonly reported = new Set<string>();
  private readonly mempool = new Map<string, SignedTx>();
  private slot = 0;
  private lastProducedHeight = 0;
  private lastProducedSlot = 0;
  private lastVote: TreeEntry | undefined;
  private lastVotedHeight = 0;
  private readonly opts: Required<
    Omit<EngineOptions, 'signer' | 'verifyVote' | 'genesis' | 'producedThrough' | 'votedThrough'>
  >;
  readonly stats: EngineStats = {
    blocksApplied: 0,
    blocksProduced: 0,
    votesCast: 0,
    votesAccepted: 0,
    orphansHeld: 0,
    rejected: Object.fromEntries(REJECT_CODES.map((c) => [c, 0])) as Record<RejectCode, number>,
    lastRejection: undefined,
  };

  constructor(options: EngineOptions) {
    this.genesis = options.genesis;
    this.signer = options.signer;
    this.address = options.signer === undefined ? undefined : toHex(options.signer.publicKey);
    this.verifyVote = options.verifyVote ?? verify;
    this.lastProducedHeight = options.producedThrough ?? 0;
    this.lastVotedHeight = options.votedThrough ?? 0;
    this.opts = {
      maxOrphans: options.maxOrphans ?? 512,
      maxBlocksPerAnswer: options.maxBlocksPerAnswer ?? 256,
      maxTxsPerBlock: options.maxTxsPerBlock ?? 2000,
      maxMempool: options.maxMempool ?? 10_000,
    };
    this.fetcher = new BlockFetcher(this.opts.maxOrphans);
    const p = options.genesis.params;
    this.tree = new BlockTree(options.genesis);
    this.schedules = new ScheduleHistory(
      electSchedule(options.genesis),
      p.scheduleSize * p.blocksPerTurn,
      p.blocksPerTurn,
    );
  }

  /** The fork-choice head. */
  get head(): BlockRef {
    return refOf(this.tree.head);
  }

  /** The last final block and the state after it. */
  get lastFinal(): BlockRef {
    return refOf(this.tree.lastFinal);
  }

  /** The final block at `height`, when that height is final. */
  finalBlockAt(height: number): Block | undefined {
    return this.tree.finalAt(height)?.block;
  }

  /** The state after a block held and not yet pruned (the head's and non-final blocks'). */
  stateAfter(blockId: Uint8Array): ChainState | undefined {
    return this.tree.get(toHex(blockId))?.state;
  }

  /** The schedule in force at `slot`. */
  scheduleAt(slot: number): readonly string[] {
    return this.schedules.scheduleAt(slot);
  }

  /** The round a slot belongs to. */
  roundOf(slot: number): number {
    return this.schedules.roundOf(slot);
  }

  /** Schedule changes decided so far. */
  get scheduleChanges() {
    return this.schedules.changes;
  }

  /** Transactions waiting for a block. */
  get mempoolSize(): number {
    return this.mempool.size;
  }

  /** Handles one event; returns what the host must do, in order. */
  handle(ev: EngineEvent): EngineAction[] {
    const out: EngineAction[] = [];
    switch (ev.kind) {
      case 'tick':
        this.onTick(ev.timeMs, out);
        break;
      case 'block':
        this.onBlock(ev.from, ev.block, out);
        break;
      case 'blocks':
        for (const b of ev.blocks) this.onBlock(ev.from, b, out);
        break;
      case 'vote':
        this.onVote(ev.from, ev.vote, out);
        break;
      case 'tx':
        this.onTx(ev.tx);
        break;
      case 'getBlocks': {
        const e = this.tree.get(toHex(ev.blockId));
        if (e !== undefined) {
          const blocks = this.tree.ancestry(e, ev.aboveHeight, this.opts.maxBlocksPerAnswer);
          if (blocks.length > 0) out.push({ kind: 'sendBlocks', to: ev.from, blocks });
        }
        break;
      }
    }
    this.maybeVote(out);
    return out;
  }

  private reject(code: RejectCode, message: string): void {
    this.stats.rejected[code]++;
    this.stats.lastRejection = `${code}: ${message}`;
  }

  private slotOfTime(timeMs: number): number {
    return Math.floor((timeMs - this.genesis.timeMs) / this.genesis.params.slotMs);
  }

  private onTick(timeMs: number, out: EngineAction[]): void {
    const slot = this.slotOfTime(timeMs);
    if (slot <= this.slot) return;
    this.slot = slot;
    this.produce(out);
    // Ask for blocks others voted for that never reached us (lost, or sent while we were away).
    for (const r of this.fetcher.due(
      slot,
      this.tree.lastFinal.height,
      (id) => this.tree.get(id) !== undefined,
    ))
      this.ask(r, out);
  }

  private ask(r: FetchRequest | undefined, out: EngineAction[]): void {
    if (r === undefined) return;
    out.push({
      kind: 'getBlocks',
      to: r.to,
      blockId: new Uint8Array(Buffer.from(r.idHex, 'hex')),
      aboveHeight: this.tree.lastFinal.height,
    });
  }

  private produce(out: EngineAction[]): void {
    if (this.signer === undefined || this.address === undefined) return;
    const slot = this.slot;
    const head = this.tree.head;
    if (slot <= this.lastProducedSlot || head.slot >= slot) return;
    if (this.schedules.producerAt(slot) !== this.address) return;
    if (head.height + 1 <= this.lastProducedHeight) return;
    const state = head.state!;
    const me = getRecord<Producer>(state.tree, stateKey.producer(this.address));
    if (me === undefined || me.jailed) return;
    const timeMs = this.genesis.timeMs + slot * this.genesis.params.slotMs;
    const candidates = [...this.mempool.values()].slice(0, this.opts.maxTxsPerBlock);
    const built = buildBlock(state, candidates, this.signer, timeMs);
    for (const r of built.rejected) this.mempool.delete(toHex(r.tx.id));
    this.lastProducedSlot = slot;
    this.lastProducedHeight = head.height + 1;
    this.stats.blocksProduced++;
    const id = headerId(built.block.header.header);
    this.accept(head, built.block, id, built.state, out);
    out.push({ kind: 'broadcastBlock', block: built.block });
  }

  private onBlock(from: string, block: Block, out: EngineAction[]): void {
    const h = block.header.header;
    const id = headerId(h);
    const idHex = toHex(id);
    if (this.tree.get(idHex) !== undefined) return;
    const p = this.genesis.params;
    if (h.chainId !== p.chainId) {
      this.reject('INVALID_BLOCK', `block ${h.height}: chain '${h.chainId}'`);
      return;
    }
    const rel = h.timeMs - this.genesis.timeMs;
    if (rel <= 0 || rel % p.slotMs !== 0) {
      this.reject('BAD_SLOT', `block ${h.height}: time ${h.timeMs} is not the start of a slot`);
      return;
    }
    const slot = rel / p.slotMs;
    if (slot > this.slot + 1) {
      this.reject('FUTURE_SLOT', `block ${h.height}: slot ${slot}, now ${this.slot}`);
      return;
    }
    this.watchHeader(block.header, id, out);
    if (h.height <= this.tree.lastFinal.height) {
      this.reject('STALE', `block ${h.height} at or below final`);
      return;
    }
    const parent = this.tree.get(toHex(h.prevHash));
    if (parent === undefined) {
      this.holdOrphan(from, block, idHex, out);
      return;
    }
    if (parent.state === undefined) {
      this.reject('STALE', `block ${h.height}: parent is an old final block`);
      return;
    }
    if (this.schedules.producerAt(slot) !== h.producer) {
      this.reject('WRONG_PRODUCER', `block ${h.height}: slot ${slot} is not ${h.producer.slice(0, 16)}...'s`);
      return;
    }
    const r = applyBlock(parent.state, block);
    if (!r.ok) {
      this.reject('INVALID_BLOCK', r.error.message);
      return;
    }
    this.accept(parent, block, id, r.state, out);
    // Blocks that were waiting for this one.
    for (const w of this.fetcher.takeChildren(idHex)) this.onBlock(w.from, w.block, out);
    this.stats.orphansHeld = this.fetcher.orphanCount;
  }

  private accept(
    parent: TreeEntry,
    block: Block,
    id: Uint8Array,
    state: ChainState,
    out: EngineAction[],
  ): void {
    const h = block.header.header;
    const e: TreeEntry = {
      block,
      id,
      idHex: toHex(id),
      height: h.height,
      slot: (h.timeMs - this.genesis.timeMs) / this.genesis.params.slotMs,
      producer: h.producer,
      parent,
      state,
    };
    this.tree.add(e);
    this.stats.blocksApplied++;
    this.fetcher.received(e.idHex);
    for (const t of block.txs) this.mempool.delete(toHex(t.id));
    this.checkQuorum(e, out);
  }

  private holdOrphan(from: string, block: Block, idHex: string, out: EngineAction[]): void {
    const { dropped, ask } = this.fetcher.hold(from, block, idHex, this.slot);
    if (dropped > 0) this.reject('ORPHAN_OVERFLOW', `dropped ${dropped} block(s) waiting for a parent`);
    this.stats.orphansHeld = this.fetcher.orphanCount;
    this.ask(ask, out);
  }

  /** Double-sign detection; evidence goes out and, signed by this node, into its mempool. */
  private watchHeader(sh: SignedHeader, id: Uint8Array, out: EngineAction[]): void {
    const evidence = this.headers.observe(sh, id);
    if (evidence === undefined) return;
    out.push({ kind: 'evidence', evidence });
    if (this.signer === undefined) return;
    let pending = 0;
    for (const t of this.mempool.values()) if (t.tx.sender === this.address) pending++;
    const tx = doubleSignTx(this.signer, this.tree.head.state!, pending, evidence.a, evidence.b);
    this.mempool.set(toHex(tx.id), tx);
    out.push({ kind: 'broadcastTx', tx });
  }

  private onTx(tx: SignedTx): void {
    const idHex = toHex(tx.id);
    if (this.mempool.has(idHex)) return;
    if (tx.tx.chainId !== this.genesis.params.chainId) {
      this.reject('INVALID_TX', `tx ${idHex.slice(0, 16)}...: chain '${tx.tx.chainId}'`);
      return;
    }
    if (this.mempool.size >= this.opts.maxMempool) {
      this.reject('INVALID_TX', `tx ${idHex.slice(0, 16)}...: mempool full`);
      return;
    }
    this.mempool.set(idHex, tx);
  }

  private onVote(from: string, v: BlockVote, out: EngineAction[]): void {
    const producer = v.vote.producer;
    if (
      !Number.isSafeInteger(v.height) ||
      v.height < 1 ||
      v.blockId.length !== 32 ||
      !/^[0-9a-f]{64}$/.test(producer)
    ) {
      this.reject('BAD_VOTE', `vote from ${from.slice(0, 16)}...: malformed`);
      return;
    }
    if (v.height <= this.tree.lastFinal.height) return;
    const idHex = toHex(v.blockId);
    const block = this.tree.get(idHex);
    const scheduled =
      block !== undefined
        ? this.schedules.scheduleAt(block.slot).includes(producer)
        : this.schedules.mayVoteFrom(producer, this.slot);
    if (!scheduled) {
      this.reject('NOT_SCHEDULED', `vote at ${v.height}: ${producer.slice(0, 16)}... is not scheduled`);
      return;
    }
    const msg = voteMessage(this.genesis.params.chainId, v.height, v.blockId);
    if (!this.verifyVote(v.vote.signature, msg, Buffer.from(producer, 'hex'))) {
      this.reject(
        'BAD_VOTE',
        `vote at ${v.height} by ${producer.slice(0, 16)}...: signature does not verify`,
      );
      return;
    }
    const added = this.votes.add(v, idHex);
    if (added.kind === 'duplicate') return;
    if (added.kind === 'doubleVote') {
      const key = `v/${producer}/${v.height}`;
      if (!this.reported.has(key)) {
        this.reported.add(key);
        out.push({
          kind: 'evidence',
          evidence: { kind: 'doubleVote', producer, height: v.height, a: added.first, b: v },
        });
      }
      return;
    }
    this.stats.votesAccepted++;
    if (block !== undefined) this.checkQuorum(block, out);
    else this.fetcher.votedFor(idHex, from, v.height, this.slot);
  }

  private checkQuorum(e: TreeEntry, out: EngineAction[]): void {
    if (e.height <= this.tree.lastFinal.height) return;
    const votes = this.votes.forBlock(e.idHex);
    if (votes === undefined) return;
    const schedule = this.schedules.scheduleAt(e.slot);
    const need = finalityQuorum(schedule.length);
    if (votes.size < need) return;
    const members = schedule.filter((p) => votes.has(p));
    if (members.length < need) return;
    const certificate: FinalityCertificate = {
      chainId: this.genesis.params.chainId,
      height: e.height,
      blockId: e.id,
      votes: members.map((p) => votes.get(p)!.vote),
    };
    this.finalize(e, certificate, out);
  }

  private finalize(e: TreeEntry, certificate: FinalityCertificate, out: EngineAction[]): void {
    const before = this.tree.lastFinal;
    const fresh = this.tree.finalize(e);
    if (fresh === 'conflict') {
      const at = this.tree.finalAt(Math.min(e.height, before.height)) ?? before;
      out.push({ kind: 'conflict', height: e.height, blockId: e.id, finalBlockId: at.id });
      return;
    }
    if (fresh.length === 0) return;
    const blocks: FinalBlock[] = [];
    const missedSlots: MissedSlot[] = [];
    let prev = before;
    for (const f of fresh) {
      for (let s = prev.slot + 1; s < f.slot; s++)
        missedSlots.push({ slot: s, producer: this.schedules.producerAt(s) });
      blocks.push({
        height: f.height,
        slot: f.slot,
        blockId: f.id,
        producer: f.producer,
        timeMs: this.genesis.timeMs + f.slot * this.genesis.params.slotMs,
      });
      prev = f;
    }
    out.push({ kind: 'final', certificate, blocks, missedSlots });
    // Round boundaries crossed by the newly final chain decide schedules.
    const chain = [before, ...fresh];
    for (let i = 0; i + 1 < chain.length; i++) {
      const a = chain[i]!;
      if (a.height === 0 || this.schedules.roundOf(chain[i + 1]!.slot) === this.schedules.roundOf(a.slot))
        continue;
      const change = this.schedules.decide(
        { height: a.height, slot: a.slot, id: a.id, state: a.state! },
        this.slot,
      );
      if (change !== undefined) out.push({ kind: 'scheduleChange', change });
    }
    this.tree.releaseStates(chain);
    this.votes.pruneThrough(e.height);
    if (
      this.lastVote !== undefined &&
      !this.tree.extends(this.lastVote, e) &&
      !this.tree.extends(e, this.lastVote)
    )
      this.lastVote = undefined;
  }

  private maybeVote(out: EngineAction[]): void {
    if (this.signer === undefined || this.address === undefined) return;
    const head = this.tree.head;
    if (head.height <= this.lastVotedHeight || head === this.tree.lastFinal) return;
    if (!this.schedules.scheduleAt(head.slot).includes(this.address)) return;
    const lock = this.lastVote;
    if (lock !== undefined && this.tree.get(lock.idHex) === lock && !this.tree.extends(head, lock)) {
      const outside = this.votes.votersOutside(lock.height, (idHex) => {
        const b = this.tree.get(idHex);
        return b === undefined ? undefined : !this.tree.extends(b, lock);
      });
      const lockSchedule = this.schedules.scheduleAt(lock.slot);
      let counted = 0;
      for (const p of outside) if (lockSchedule.includes(p)) counted++;
      if (counted < lockSchedule.length - finalityQuorum(lockSchedule.length) + 1) return;
    }
    const vote: BlockVote = {
      height: head.height,
      blockId: head.id,
      vote: signVote(this.signer, this.genesis.params.chainId, head.height, head.id),
    };
    this.lastVote = head;
    this.lastVotedHeight = head.height;
    this.stats.votesCast++;
    this.votes.add(vote, head.idHex);
    out.push({ kind: 'broadcastVote', vote });
    this.checkQuorum(head, out);
  }
}

/** A block as the engine's readers see it: where it is and the state after it. */
export interface BlockRef {
  readonly height: number;
  readonly slot: number;
  readonly blockId: Uint8Array;
  readonly state: ChainState;
}

function refOf(e: TreeEntry): BlockRef {
  return { height: e.height, slot: e.slot, blockId: e.id, state: e.state! };
}
