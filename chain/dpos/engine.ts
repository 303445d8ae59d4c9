/**
 * The DPoS consensus engine of one node: pure and clock-free. The host feeds it events (a tick with
 * the time, a block, a vote, a transaction, a peer's request) and carries out the actions it returns
 * (broadcast, send, report). Given the same events it returns the same actions, byte for byte.
 *
 * Rules (ARCHITECTURE.md, "The chain"; the README's DPoS section gives the reasoning):
 * - Slot s starts at genesis + s * slotMs; its producer comes from the schedule of its round on the
 *   block's own branch (schedule-book.ts). A block's time is its slot's start. A producer builds on
 *   its preferred head at each of its slots, and never signs two blocks at one height.
 * - Fork choice: the longest chain extending the last final block (block-tree.ts); a producer
 *   prefers, among those, the longest extending its live votes (vote-lock.ts).
 * - Voting: a scheduled producer votes for the blocks of its preferred chain as soon as they are
 *   validated, at strictly increasing heights, never twice at one height; its past votes bind it to
 *   their subtree until they are dead (vote-lock.ts gives the rule and why it is safe). Its latest
 *   votes are re-sent every two slots while they are not final.
 * - Finality: a quorum (15 of 21) of votes for a block certifies it; it and its ancestors are final
 *   and never reverted. A certificate for a block conflicting with them is reported, not followed.
 *   The block's producer broadcasts the certificate, and an asker behind this node's finality gets
 *   the final chain with its certificate, so nodes that lost votes or sat on a losing branch catch up.
 * - Evidence: two headers by one producer at one height become a doubleSign transaction in this
 *   node's mempool (and are broadcast); two votes at one height are reported.
 */
import { type Ed25519Signer, verify } from '../crypto/ed25519.js';
import { toHex } from '../crypto/hash.js';
import type { ApplyOptions } from '../state/apply.js';
import { applyBlock, type Block, buildBlock } from '../state/block.js';
import type { Producer } from '../state/records.js';
import type { ChainState } from '../state/state.js';
import { getRecord, stateKey } from '../state/state.js';
import { headerId, type SignedHeader } from '../tx/header.js';
import type { SignatureCache } from '../tx/signature-cache.js';
import type { SignedTx } from '../tx/types.js';
import { BlockTree, type TreeEntry } from './block-tree.js';
import { doubleSignTx, HeaderWatch } from './evidence.js';
import { answerGetBlocks, BlockFetcher, type FetchRequest } from './fetcher.js';
import { checkCertificate, type FinalityCertificate, signVote, voteMessage } from './finality.js';
import { Mempool } from './mempool.js';
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
import { ScheduleBook } from './schedule-book.js';
import { VoteLock } from './vote-lock.js';
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
  /**
   * Transaction signatures this node already verified (at mempool admission, or in a pool): they
   * are not verified again when a block is built or applied, and the signatures of every block
   * that applies are added. Without it every block verifies all of its signatures.
   */
  readonly signatureCache?: SignatureCache;
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

/** Slots between re-sends of a producer's latest, still non-final, votes. */
const RESEND_SLOTS = 2;

/** Most votes cast at once when the preferred chain jumps ahead. */
const MAX_VOTE_BURST = 64;

/** One node's consensus state. */
export class ConsensusEngine {
  readonly #genesis: ChainState;
  readonly #signer: Ed25519Signer | undefined;
  readonly address: string | undefined;
  readonly #verifyVote: VoteVerifier;
  readonly #signatureCache: SignatureCache | undefined;
  readonly #applyOptions: ApplyOptions;
  readonly #tree: BlockTree;
  readonly #votes = new VotePool();
  readonly #book: ScheduleBook;
  readonly #fetcher: BlockFetcher;
  readonly #headers = new HeaderWatch();
  /** `producer/height` of double votes already reported. */
  readonly #reported = new Set<string>();
  readonly #mempool: Mempool;
  #slot = 0;
  #lastProducedHeight = 0;
  #lastProducedSlot = 0;
  readonly #lock: VoteLock;
  /** This producer's latest votes and the slot they were cast, re-sent while they stay non-final. */
  #lastVotes: { votes: BlockVote[]; slot: number; sentSlot: number } = {
    votes: [],
    slot: 0,
    sentSlot: 0,
  };
  /** The certificate of the last final block, for peers that fell behind. */
  #lastCertificate: FinalityCertificate | undefined;
  /** Certificates for blocks not held yet, by block id. */
  readonly #pendingCerts = new Map<string, FinalityCertificate>();
  readonly #opts: Required<
    Omit<
      EngineOptions,
      'signer' | 'verifyVote' | 'signatureCache' | 'genesis' | 'producedThrough' | 'votedThrough'
    >
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
    this.#genesis = options.genesis;
    this.#signer = options.signer;
    this.address = options.signer === undefined ? undefined : toHex(options.signer.publicKey);
    this.#verifyVote = options.verifyVote ?? verify;
    this.#signatureCache = options.signatureCache;
    this.#applyOptions =
      options.signatureCache === undefined ? {} : { isVerified: options.signatureCache.isVerified };
    this.#lastProducedHeight = options.producedThrough ?? 0;
    this.#opts = {
      maxOrphans: options.maxOrphans ?? 512,
      maxBlocksPerAnswer: options.maxBlocksPerAnswer ?? 256,
      maxTxsPerBlock: options.maxTxsPerBlock ?? 2000,
      maxMempool: options.maxMempool ?? 10_000,
    };
    this.#fetcher = new BlockFetcher(this.#opts.maxOrphans);
    this.#mempool = new Mempool(options.genesis.params.chainId, this.#opts.maxMempool);
    const p = options.genesis.params;
    this.#book = new ScheduleBook(
      electSchedule(options.genesis),
      p.scheduleSize * p.blocksPerTurn,
      p.blocksPerTurn,
    );
    this.#tree = new BlockTree(options.genesis, this.#book.initial);
    this.#lock = new VoteLock(this.#tree, this.#votes);
    // After a restart: never vote again at a height this producer already voted at.
    this.#lock.lastVotedHeight = options.votedThrough ?? 0;
  }

  /** The fork-choice head. */
  get head(): BlockRef {
    return refOf(this.#tree.head);
  }

  /** The last final block and the state after it. */
  get lastFinal(): BlockRef {
    return refOf(this.#tree.lastFinal);
  }

  /** The final block at `height`, when that height is final. */
  finalBlockAt(height: number): Block | undefined {
    return this.#tree.finalAt(height)?.block;
  }

  /** The state after a block held and not yet pruned (the head's and non-final blocks'). */
  stateAfter(blockId: Uint8Array): ChainState | undefined {
    return this.#tree.get(toHex(blockId))?.state;
  }

  /** The schedule of `slot` on the head's branch. */
  scheduleAt(slot: number): readonly string[] {
    return this.#book.scheduleOf(this.#book.deciderFor(this.#tree.head, slot));
  }

  /** The round a slot belongs to. */
  roundOf(slot: number): number {
    return this.#book.roundOf(slot);
  }

  /** Schedule changes decided so far. */
  get scheduleChanges() {
    return this.#book.changes;
  }

  /** Transactions waiting for a block. */
  get mempoolSize(): number {
    return this.#mempool.size;
  }

  /** Whether the mempool holds the transaction with this id (hex). */
  mempoolHas(idHex: string): boolean {
    return this.#mempool.has(idHex);
  }

  /** Handles one event; returns what the host must do, in order. */
  handle(ev: EngineEvent): EngineAction[] {
    const out: EngineAction[] = [];
    switch (ev.kind) {
      case 'tick':
        this.#onTick(ev.timeMs, out);
        break;
      case 'block':
        this.#onBlock(ev.from, ev.block, out);
        break;
      case 'blocks': {
        const first = ev.blocks[0]?.header.header;
        const forked =
          first !== undefined &&
          first.height > this.#tree.lastFinal.height + 1 &&
          this.#tree.get(toHex(first.prevHash)) === undefined;
        for (const b of ev.blocks) this.#onBlock(ev.from, b, out);
        if (ev.certificate !== undefined) this.#onCertificate(ev.from, ev.certificate, out);
        const last = ev.blocks[ev.blocks.length - 1];
        // The answer starts above a fork point: ask again from the last final block.
        if (forked && last !== undefined)
          this.#ask(
            { to: ev.from, idHex: toHex(headerId(last.header.header)), height: last.header.header.height },
            out,
            true,
          );
        break;
      }
      case 'vote':
        this.#onVote(ev.from, ev.vote, out);
        break;
      case 'certificate':
        this.#onCertificate(ev.from, ev.certificate, out);
        break;
      case 'tx':
        this.#onTx(ev.tx);
        break;
      case 'getBlocks':
        this.#answer(ev.from, ev.blockId, ev.aboveHeight, out);
        break;
    }
    this.#maybeVote(out);
    return out;
  }

  #reject(code: RejectCode, message: string): void {
    this.stats.rejected[code]++;
    this.stats.lastRejection = `${code}: ${message}`;
  }

  #slotOfTime(timeMs: number): number {
    return Math.floor((timeMs - this.#genesis.timeMs) / this.#genesis.params.slotMs);
  }

  #onTick(timeMs: number, out: EngineAction[]): void {
    const slot = this.#slotOfTime(timeMs);
    if (slot <= this.#slot) return;
    this.#slot = slot;
    this.#produce(out);
    this.#refreshVotes(slot, out);
    // Ask for blocks others voted for that never reached us (lost, or sent while we were away).
    for (const r of this.#fetcher.due(
      slot,
      this.#tree.lastFinal.height,
      (id) => this.#tree.get(id) !== undefined,
    ))
      this.#ask(r, out);
  }

  /**
   * Re-sends this producer's latest votes every RESEND_SLOTS while they are not final here: a lost
   * vote, or one sent into a partition, must not stall finality for good.
   */
  #refreshVotes(slot: number, out: EngineAction[]): void {
    const lv = this.#lastVotes;
    if (lv.votes.length === 0 || this.#lock.lastVotedHeight <= this.#tree.lastFinal.height) return;
    if (slot - lv.slot < RESEND_SLOTS || slot - lv.sentSlot < RESEND_SLOTS) return;
    lv.sentSlot = slot;
    for (const vote of lv.votes) out.push({ kind: 'broadcastVote', vote });
  }

  #answer(to: string, blockId: Uint8Array, aboveHeight: number, out: EngineAction[]): void {
    const a = answerGetBlocks(
      this.#tree,
      this.#lastCertificate,
      blockId,
      aboveHeight,
      this.#opts.maxBlocksPerAnswer,
    );
    if (a !== undefined) out.push({ kind: 'sendBlocks', to, ...a });
  }

  #onCertificate(from: string, cert: FinalityCertificate, out: EngineAction[]): void {
    if (cert.chainId !== this.#genesis.params.chainId || cert.height <= this.#tree.lastFinal.height) return;
    const idHex = toHex(cert.blockId);
    const e = this.#tree.get(idHex);
    if (e === undefined) {
      if (this.#pendingCerts.size >= 64) this.#pendingCerts.delete(this.#pendingCerts.keys().next().value!);
      this.#pendingCerts.set(idHex, cert);
      this.#fetcher.votedFor(idHex, from, cert.height, this.#slot);
      return;
    }
    const problem = this.#certificateProblem(e, cert);
    if (problem !== undefined) {
      this.#reject(
        'BAD_CERTIFICATE',
        `certificate for block ${cert.height} from ${from.slice(0, 16)}...: ${problem}`,
      );
      return;
    }
    this.#finalize(e, cert, out);
  }

  /** Why `cert` does not certify `e` under e's schedule, or undefined when it does. */
  #certificateProblem(e: TreeEntry, cert: FinalityCertificate): string | undefined {
    if (cert.height !== e.height) return `height ${cert.height}, block is at ${e.height}`;
    return checkCertificate(cert, e.schedule, this.#genesis.params.chainId, this.#verifyVote)?.message;
  }

  /**
   * Asks for a block's ancestry above this node's head (most gaps are above it; below the block
   * itself), or above its last final block when `fromFinal` (an answer showed the gap forks lower).
   */
  #ask(r: FetchRequest | undefined, out: EngineAction[], fromFinal = false): void {
    if (r === undefined) return;
    const final = this.#tree.lastFinal.height;
    out.push({
      kind: 'getBlocks',
      to: r.to,
      blockId: new Uint8Array(Buffer.from(r.idHex, 'hex')),
      aboveHeight: fromFinal ? final : Math.max(final, Math.min(this.#tree.head.height, r.height - 1)),
    });
  }

  #produce(out: EngineAction[]): void {
    if (this.#signer === undefined || this.address === undefined) return;
    const slot = this.#slot;
    const p = this.#genesis.params;
    const head = this.#lock.preferredHead();
    if (slot <= this.#lastProducedSlot || head.slot >= slot) return;
    const decider = this.#book.deciderFor(head, slot);
    // The first turn of a round waits for the schedule's decider to be final (schedule-book.ts).
    if (
      decider !== undefined &&
      !this.#tree.isFinal(decider) &&
      slot % this.#book.roundSlots < p.blocksPerTurn
    )
      return;
    const schedule = this.#book.scheduleOf(decider);
    if (this.#book.producerAt(schedule, slot) !== this.address) return;
    if (head.height + 1 <= this.#lastProducedHeight) return;
    const state = head.state!;
    const me = getRecord<Producer>(state.tree, stateKey.producer(this.address));
    if (me === undefined || me.jailed) return;
    const timeMs = this.#genesis.timeMs + slot * this.#genesis.params.slotMs;
    const candidates = this.#mempool.candidates(this.#opts.maxTxsPerBlock);
    const built = buildBlock(state, candidates, this.#signer, timeMs, this.#applyOptions);
    this.#mempool.remove(built.rejected.map((r) => r.tx));
    this.#lastProducedSlot = slot;
    this.#lastProducedHeight = head.height + 1;
    this.stats.blocksProduced++;
    const id = headerId(built.block.header.header);
    this.#accept(head, built.block, id, built.state, schedule, out);
    out.push({ kind: 'broadcastBlock', block: built.block });
  }

  #onBlock(from: string, block: Block, out: EngineAction[]): void {
    const h = block.header.header;
    const id = headerId(h);
    const idHex = toHex(id);
    if (this.#tree.get(idHex) !== undefined) return;
    const p = this.#genesis.params;
    if (h.chainId !== p.chainId) {
      this.#reject('INVALID_BLOCK', `block ${h.height}: chain '${h.chainId}'`);
      return;
    }
    const rel = h.timeMs - this.#genesis.timeMs;
    if (rel <= 0 || rel % p.slotMs !== 0) {
      this.#reject('BAD_SLOT', `block ${h.height}: time ${h.timeMs} is not the start of a slot`);
      return;
    }
    const slot = rel / p.slotMs;
    if (slot > this.#slot + 1) {
      this.#reject('FUTURE_SLOT', `block ${h.height}: slot ${slot}, now ${this.#slot}`);
      return;
    }
    this.#watchHeader(block.header, id, out);
    if (h.height <= this.#tree.lastFinal.height) {
      this.#reject('STALE', `block ${h.height} at or below final`);
      return;
    }
    const parent = this.#tree.get(toHex(h.prevHash));
    if (parent === undefined) {
      this.#holdOrphan(from, block, idHex, out);
      return;
    }
    if (parent.state === undefined) {
      this.#reject('STALE', `block ${h.height}: parent is an old final block`);
      return;
    }
    // The schedule comes from the block's own ancestry (schedule-book.ts).
    const decider = this.#book.deciderFor(parent, slot);
    const schedule = this.#book.scheduleOf(decider);
    if (this.#book.producerAt(schedule, slot) !== h.producer) {
      this.#reject(
        'WRONG_PRODUCER',
        `block ${h.height}: slot ${slot} is not ${h.producer.slice(0, 16)}...'s`,
      );
      return;
    }
    const r = applyBlock(parent.state, block, this.#applyOptions);
    if (!r.ok) {
      this.#reject('INVALID_BLOCK', r.error.message);
      return;
    }
    // Every signature in a block that applied verified: a sibling block or a late gossip copy of
    // the same transactions need not verify them again.
    if (this.#signatureCache !== undefined) for (const t of block.txs) this.#signatureCache.add(t);
    this.#accept(parent, block, id, r.state, schedule, out);
    // Blocks that were waiting for this one.
    for (const w of this.#fetcher.takeChildren(idHex)) this.#onBlock(w.from, w.block, out);
    this.stats.orphansHeld = this.#fetcher.orphanCount;
  }

  #accept(
    parent: TreeEntry,
    block: Block,
    id: Uint8Array,
    state: ChainState,
    schedule: readonly string[],
    out: EngineAction[],
  ): void {
    const h = block.header.header;
    const e: TreeEntry = {
      block,
      id,
      idHex: toHex(id),
      height: h.height,
      slot: (h.timeMs - this.#genesis.timeMs) / this.#genesis.params.slotMs,
      producer: h.producer,
      parent,
      schedule,
      state,
    };
    this.#tree.add(e);
    this.#book.remember(e);
    this.stats.blocksApplied++;
    this.#fetcher.received(e.idHex);
    const cert = this.#pendingCerts.get(e.idHex);
    if (cert !== undefined) {
      this.#pendingCerts.delete(e.idHex);
      if (this.#certificateProblem(e, cert) === undefined) this.#finalize(e, cert, out);
    }
    this.#mempool.remove(block.txs);
    this.#checkQuorum(e, out);
  }

  #holdOrphan(from: string, block: Block, idHex: string, out: EngineAction[]): void {
    const { dropped, ask } = this.#fetcher.hold(from, block, idHex, this.#slot);
    if (dropped > 0) this.#reject('ORPHAN_OVERFLOW', `dropped ${dropped} block(s) waiting for a parent`);
    this.stats.orphansHeld = this.#fetcher.orphanCount;
    this.#ask(ask, out);
  }

  /** Double-sign detection; evidence goes out and, signed by this node, into its mempool. */
  #watchHeader(sh: SignedHeader, id: Uint8Array, out: EngineAction[]): void {
    const evidence = this.#headers.observe(sh, id);
    if (evidence === undefined) return;
    out.push({ kind: 'evidence', evidence });
    if (this.#signer === undefined) return;
    const pending = this.#mempool.pendingFrom(this.address!);
    const tx = doubleSignTx(this.#signer, this.#tree.head.state!, pending, evidence.a, evidence.b);
    this.#mempool.add(tx);
    out.push({ kind: 'broadcastTx', tx });
  }

  #onTx(tx: SignedTx): void {
    const refused = this.#mempool.add(tx);
    if (refused !== undefined) this.#reject('INVALID_TX', refused);
  }

  #onVote(from: string, v: BlockVote, out: EngineAction[]): void {
    const producer = v.vote.producer;
    if (
      !Number.isSafeInteger(v.height) ||
      v.height < 1 ||
      v.blockId.length !== 32 ||
      !/^[0-9a-f]{64}$/.test(producer)
    ) {
      this.#reject('BAD_VOTE', `vote from ${from.slice(0, 16)}...: malformed`);
      return;
    }
    if (v.height <= this.#tree.lastFinal.height) return;
    const idHex = toHex(v.blockId);
    const block = this.#tree.get(idHex);
    const scheduled = block !== undefined ? block.schedule.includes(producer) : this.#book.known(producer);
    if (!scheduled) {
      this.#reject('NOT_SCHEDULED', `vote at ${v.height}: ${producer.slice(0, 16)}... is not scheduled`);
      return;
    }
    const msg = voteMessage(this.#genesis.params.chainId, v.height, v.blockId);
    if (!this.#verifyVote(v.vote.signature, msg, Buffer.from(producer, 'hex'))) {
      this.#reject(
        'BAD_VOTE',
        `vote at ${v.height} by ${producer.slice(0, 16)}...: signature does not verify`,
      );
      return;
    }
    const added = this.#votes.add(v, idHex);
    if (added.kind === 'duplicate') return;
    if (added.kind === 'doubleVote') {
      const key = `v/${producer}/${v.height}`;
      if (!this.#reported.has(key)) {
        this.#reported.add(key);
        out.push({
          kind: 'evidence',
          evidence: { kind: 'doubleVote', producer, height: v.height, a: added.first, b: v },
        });
      }
      return;
    }
    this.stats.votesAccepted++;
    if (block !== undefined) this.#checkQuorum(block, out);
    else this.#fetcher.votedFor(idHex, from, v.height, this.#slot);
  }

  #checkQuorum(e: TreeEntry, out: EngineAction[]): void {
    if (e.height <= this.#tree.lastFinal.height) return;
    const votes = this.#votes.forBlock(e.idHex);
    if (votes === undefined) return;
    const schedule = e.schedule;
    const need = finalityQuorum(schedule.length);
    if (votes.size < need) return;
    const members = schedule.filter((p) => votes.has(p));
    if (members.length < need) return;
    const certificate: FinalityCertificate = {
      chainId: this.#genesis.params.chainId,
      height: e.height,
      blockId: e.id,
      votes: members.map((p) => votes.get(p)!.vote),
    };
    this.#finalize(e, certificate, out);
    if (e.producer === this.address) out.push({ kind: 'broadcastCertificate', certificate });
  }

  #finalize(e: TreeEntry, certificate: FinalityCertificate, out: EngineAction[]): void {
    const before = this.#tree.lastFinal;
    const fresh = this.#tree.finalize(e);
    if (fresh === 'conflict') {
      const at = this.#tree.finalAt(Math.min(e.height, before.height)) ?? before;
      out.push({ kind: 'conflict', height: e.height, blockId: e.id, finalBlockId: at.id });
      return;
    }
    if (fresh.length === 0) return;
    const blocks: FinalBlock[] = [];
    const missedSlots: MissedSlot[] = [];
    let prev = before;
    for (const f of fresh) {
      missedSlots.push(...this.#book.missedBetween(prev, f.slot));
      blocks.push({
        height: f.height,
        slot: f.slot,
        blockId: f.id,
        producer: f.producer,
        timeMs: this.#genesis.timeMs + f.slot * this.#genesis.params.slotMs,
      });
      prev = f;
    }
    out.push({ kind: 'final', certificate, blocks, missedSlots });
    this.#lastCertificate = certificate;
    // Round boundaries crossed by the newly final chain decide schedules.
    const chain = [before, ...fresh];
    for (let i = 0; i + 1 < chain.length; i++) {
      const change = this.#book.noteFinal(chain[i]!, chain[i + 1]!);
      if (change !== undefined) out.push({ kind: 'scheduleChange', change });
    }
    this.#tree.releaseStates(chain);
    this.#votes.pruneThrough(e.height);
    this.#lock.prune(e.height);
  }

  /**
   * Votes for every block of the preferred chain above the last vote (the newest MAX_VOTE_BURST when
   * many arrive at once, as after a partition heals), so producers that saw blocks at different
   * moments still vote for the same ones.
   */
  #maybeVote(out: EngineAction[]): void {
    if (this.#signer === undefined || this.address === undefined) return;
    const target = this.#lock.preferredHead();
    const floor = Math.max(this.#lock.lastVotedHeight, this.#tree.lastFinal.height);
    if (target.height <= floor) return;
    const chain: TreeEntry[] = [];
    const cast: BlockVote[] = [];
    for (let e: TreeEntry | undefined = target; e !== undefined && e.height > floor; e = e.parent)
      chain.push(e);
    for (const e of chain.slice(0, MAX_VOTE_BURST).reverse()) {
      if (!e.schedule.includes(this.address)) continue;
      const vote: BlockVote = {
        height: e.height,
        blockId: e.id,
        vote: signVote(this.#signer, this.#genesis.params.chainId, e.height, e.id),
      };
      this.#lock.record(e);
      cast.push(vote);
      this.stats.votesCast++;
      this.#votes.add(vote, e.idHex);
      out.push({ kind: 'broadcastVote', vote });
      this.#checkQuorum(e, out);
    }
    if (cast.length > 0) this.#lastVotes = { votes: cast.slice(-2), slot: this.#slot, sentSlot: this.#slot };
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
