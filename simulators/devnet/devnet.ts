/**
 * A deterministic in-process devnet: one ConsensusEngine per producer, a virtual clock, and a network
 * with seeded uniform latency, loss, partitions (groups that cannot reach each other for a while),
 * crashes (nodes down for a while, keeping their memory) and byzantine producers (double-signing the
 * first block of each turn, withholding votes). Nothing reads the wall clock or Math.random, so the
 * same options replay the same run byte for byte.
 *
 * Signatures are real (node:crypto ed25519). The nodes share one cache of vote-signature results:
 * each vote is verified once for all 21 receivers instead of 21 times, which is what makes ten
 * simulated minutes cost seconds; every other check runs in each node.
 */
import {
  type Block,
  buildBlock,
  type ChainState,
  ConsensusEngine,
  createGenesis,
  Ed25519Signer,
  type EngineAction,
  type EngineEvent,
  getAccount,
  mainnetParams,
  minimalParams,
  type SignedTx,
  sha256,
  signTx,
  toHex,
  UNIT,
  verify,
} from '../../chain/index.js';
import { EventQueue } from './event-queue.js';
import { buildReport, type DevnetReport, type RunOutcome, type RunRecord } from './report.js';
import { SeededRng } from './rng.js';

/** Producers in `groups` (node indices) cannot reach other groups from `fromMs` to `toMs`. */
export interface PartitionSpec {
  readonly groups: readonly (readonly number[])[];
  readonly fromMs: number;
  readonly toMs: number;
}

/** Nodes down (no ticks, messages to and from them lost) from `fromMs` to `toMs`. */
export interface CrashSpec {
  readonly nodes: readonly number[];
  readonly fromMs: number;
  readonly toMs: number;
}

/** A byzantine producer and what it does wrong. */
export interface ByzantineSpec {
  readonly node: number;
  /** Signs a second, different block for the first slot of each of its turns. */
  readonly doubleSign?: boolean;
  /** Never sends its votes. */
  readonly withholdVotes?: boolean;
}

/** A devnet run. */
export interface DevnetOptions {
  /** Producers in the genesis schedule (4 uses the minimal preset, others the mainnet one). */
  readonly producers: number;
  /** Registered producers outside the genesis schedule, run as nodes too. */
  readonly standby?: number;
  readonly durationMs: number;
  readonly latencyMs: { readonly min: number; readonly max: number };
  readonly seed: string;
  /** Probability that one message to one peer is lost. */
  readonly loss?: number;
  readonly partitions?: readonly PartitionSpec[];
  readonly crashes?: readonly CrashSpec[];
  readonly byzantine?: readonly ByzantineSpec[];
  /** Transactions handed to every node at a time (e.g. votes that change the schedule). */
  readonly txs?: readonly { readonly atMs: number; readonly tx: SignedTx }[];
}

export const DEVNET_CHAIN_ID = 'qood-devnet';
/** Genesis time of every devnet. */
export const DEVNET_T0 = 1_700_000_000_000;

/** The deterministic key of a devnet account: `producer/<i>`, `whale`, ... */
export function devnetKey(seed: string, label: string): Ed25519Signer {
  return new Ed25519Signer(sha256(new TextEncoder().encode(`qood-devnet/${seed}/${label}`)));
}

/** One node of the devnet. */
export interface DevnetNode {
  readonly index: number;
  readonly address: string;
  readonly signer: Ed25519Signer;
  readonly engine: ConsensusEngine;
  readonly byzantine: ByzantineSpec | undefined;
}

type Agenda =
  | { readonly kind: 'tick'; readonly slot: number }
  | { readonly kind: 'deliver'; readonly to: number; readonly event: EngineEvent }
  | { readonly kind: 'tx'; readonly tx: SignedTx };

/** The genesis of a devnet: producers staked 10,000 - i QDT, standby ones less, a whale with liquid QDT. */
export function devnetGenesis(options: Pick<DevnetOptions, 'producers' | 'standby' | 'seed'>): ChainState {
  const total = options.producers + (options.standby ?? 0);
  const keys = Array.from({ length: total }, (_, i) => devnetKey(options.seed, `producer/${i}`));
  const whale = devnetKey(options.seed, 'whale');
  const base =
    options.producers === 4
      ? minimalParams(DEVNET_CHAIN_ID, toHex(whale.publicKey))
      : mainnetParams(DEVNET_CHAIN_ID, toHex(whale.publicKey));
  return createGenesis({
    params: { ...base, scheduleSize: options.producers },
    timeMs: DEVNET_T0,
    accounts: [
      ...keys.map((k, i) => ({
        address: toHex(k.publicKey),
        qdt: 100n * UNIT,
        staked: (i < options.producers ? BigInt(10_000 - i) : BigInt(1_000 - i)) * UNIT,
      })),
      { address: toHex(whale.publicKey), qdt: 1_000_000n * UNIT },
    ],
    producers: keys.map((k, i) => ({ address: toHex(k.publicKey), url: `https://p${i}.devnet.example` })),
  });
}

/** A devnet ready to run. */
export class Devnet {
  readonly nodes: DevnetNode[];
  readonly genesis: ChainState;
  private readonly rng: SeededRng;
  private readonly queue = new EventQueue<Agenda>();
  private readonly verified = new Map<string, boolean>();
  private readonly record: RunRecord;
  private readonly byAddress = new Map<string, number>();
  private nowMs = 0;

  constructor(readonly options: DevnetOptions) {
    if (!(options.producers >= 1)) throw new RangeError('a devnet needs at least one producer');
    this.rng = new SeededRng(options.seed);
    this.genesis = devnetGenesis(options);
    const total = options.producers + (options.standby ?? 0);
    const verifyVote = (sig: Uint8Array, msg: Uint8Array, pub: Uint8Array): boolean => {
      const key = Buffer.concat([sig, msg, pub]).toString('base64');
      let ok = this.verified.get(key);
      if (ok === undefined) {
        ok = verify(sig, msg, pub);
        if (this.verified.size > 500_000) this.verified.clear();
        this.verified.set(key, ok);
      }
      return ok;
    };
    this.nodes = Array.from({ length: total }, (_, index) => {
      const signer = devnetKey(options.seed, `producer/${index}`);
      const address = toHex(signer.publicKey);
      this.byAddress.set(address, index);
      return {
        index,
        address,
        signer,
        engine: new ConsensusEngine({ genesis: this.genesis, signer, verifyVote }),
        byzantine: options.byzantine?.find((b) => b.node === index),
      };
    });
    this.record = {
      lagsMs: [],
      finalIds: new Map(),
      conflictingHeights: new Set(),
      conflictsReported: 0,
      evidence: new Map(),
      scheduleChanges: new Map(),
      finalProgress: this.nodes.map(() => []),
      messages: { sent: 0, delivered: 0, lost: 0, partitioned: 0, down: 0 },
    };
  }

  /** Node `i`'s finality events so far: [virtual ms, final height]. */
  finalProgress(i: number): readonly [number, number][] {
    return this.record.finalProgress[i] ?? [];
  }

  /** True when node `i` is crashed at `t`. */
  isDown(i: number, t: number): boolean {
    return (this.options.crashes ?? []).some((c) => c.nodes.includes(i) && t >= c.fromMs && t < c.toMs);
  }

  /** True when a partition separates `i` and `j` at `t`. */
  isPartitioned(i: number, j: number, t: number): boolean {
    for (const p of this.options.partitions ?? []) {
      if (t < p.fromMs || t >= p.toMs) continue;
      const gi = p.groups.findIndex((g) => g.includes(i));
      const gj = p.groups.findIndex((g) => g.includes(j));
      if (gi !== gj) return true;
    }
    return false;
  }

  /** Runs the whole duration and returns what happened. */
  run(): DevnetReport {
    const wall0 = performance.now();
    const slotMs = this.genesis.params.slotMs;
    this.queue.push(slotMs, { kind: 'tick', slot: 1 });
    for (const t of this.options.txs ?? []) this.queue.push(t.atMs, { kind: 'tx', tx: t.tx });
    while (this.queue.peekTime() <= this.options.durationMs) {
      const next = this.queue.pop()!;
      this.nowMs = next.atMs;
      const a = next.item;
      if (a.kind === 'tick') {
        for (const n of this.nodes) {
          if (this.isDown(n.index, this.nowMs)) continue;
          this.handle(n, { kind: 'tick', timeMs: DEVNET_T0 + this.nowMs });
        }
        this.queue.push((a.slot + 1) * slotMs, { kind: 'tick', slot: a.slot + 1 });
      } else if (a.kind === 'deliver') {
        if (this.isDown(a.to, this.nowMs)) {
          this.record.messages.down++;
          continue;
        }
        this.record.messages.delivered++;
        this.handle(this.nodes[a.to]!, a.event);
      } else {
        for (const n of this.nodes)
          if (!this.isDown(n.index, this.nowMs)) this.handle(n, { kind: 'tx', tx: a.tx });
      }
    }
    const end = this.options.durationMs;
    const outcome: RunOutcome = {
      options: this.options,
      genesis: this.genesis,
      // Every node starts from the same genesis, so any node's schedule for slot 0 is the genesis one.
      genesisSchedule: this.nodes[0]!.engine.scheduleAt(0),
      nodes: this.nodes.map((n) => ({
        index: n.index,
        address: n.address,
        byzantine: n.byzantine !== undefined,
        downAtEnd: this.isDown(n.index, end),
        lastFinal: n.engine.lastFinal,
      })),
    };
    return buildReport(outcome, this.record, performance.now() - wall0);
  }

  private handle(n: DevnetNode, ev: EngineEvent): void {
    const actions = n.engine.handle(ev);
    for (const act of actions) this.carry(n, act);
  }

  /** Sends `event` from node `from` to node `to`, unless the network loses it. */
  private send(from: number, to: number, event: EngineEvent): void {
    const m = this.record.messages;
    m.sent++;
    const loss = this.options.loss ?? 0;
    if (loss > 0 && this.rng.next() < loss) {
      m.lost++;
      return;
    }
    if (this.isPartitioned(from, to, this.nowMs)) {
      m.partitioned++;
      return;
    }
    const { min, max } = this.options.latencyMs;
    this.queue.push(this.nowMs + this.rng.int(min, max), { kind: 'deliver', to, event });
  }

  private broadcast(from: DevnetNode, event: (to: number) => EngineEvent): void {
    for (const n of this.nodes) if (n.index !== from.index) this.send(from.index, n.index, event(n.index));
  }

  private carry(n: DevnetNode, act: EngineAction): void {
    const from = n.address;
    const r = this.record;
    switch (act.kind) {
      case 'broadcastBlock': {
        const alt = n.byzantine?.doubleSign ? this.secondBlock(n, act.block) : undefined;
        this.broadcast(n, (to) => ({
          kind: 'block',
          from,
          block: alt !== undefined && to % 2 === 1 ? alt : act.block,
        }));
        break;
      }
      case 'broadcastVote':
        if (!n.byzantine?.withholdVotes) this.broadcast(n, () => ({ kind: 'vote', from, vote: act.vote }));
        break;
      case 'broadcastCertificate':
        this.broadcast(n, () => ({ kind: 'certificate', from, certificate: act.certificate }));
        break;
      case 'broadcastTx':
        this.broadcast(n, () => ({ kind: 'tx', tx: act.tx }));
        break;
      case 'sendBlocks': {
        const to = this.byAddress.get(act.to);
        if (to !== undefined)
          this.send(n.index, to, {
            kind: 'blocks',
            from,
            blocks: act.blocks,
            ...(act.certificate === undefined ? {} : { certificate: act.certificate }),
          });
        break;
      }
      case 'getBlocks': {
        const to = this.byAddress.get(act.to);
        if (to !== undefined)
          this.send(n.index, to, {
            kind: 'getBlocks',
            from,
            blockId: act.blockId,
            aboveHeight: act.aboveHeight,
          });
        break;
      }
      case 'final': {
        const progress = r.finalProgress[n.index]!;
        progress.push([this.nowMs, act.blocks[act.blocks.length - 1]!.height]);
        for (const b of act.blocks) {
          // A node that was down when the block was made catches up later; that is not finality lag.
          if (n.byzantine === undefined && !this.isDown(n.index, b.timeMs - DEVNET_T0))
            r.lagsMs.push(DEVNET_T0 + this.nowMs - b.timeMs);
          const idHex = toHex(b.blockId);
          const seen = r.finalIds.get(b.height);
          if (seen === undefined) r.finalIds.set(b.height, idHex);
          else if (seen !== idHex) r.conflictingHeights.add(b.height);
        }
        break;
      }
      case 'conflict':
        r.conflictsReported++;
        break;
      case 'evidence': {
        const key = `${act.evidence.kind}/${act.evidence.producer}/${act.evidence.height}`;
        const e = r.evidence.get(key);
        if (e === undefined)
          r.evidence.set(key, {
            kind: act.evidence.kind,
            producer: act.evidence.producer,
            height: act.evidence.height,
            firstAtMs: this.nowMs,
            nodes: 1,
          });
        else e.nodes++;
        break;
      }
      case 'scheduleChange': {
        const key = `${act.change.fromRound}/${act.change.schedule.join(',')}`;
        const s = r.scheduleChanges.get(key);
        if (s === undefined)
          r.scheduleChanges.set(key, { change: act.change, nodes: 1, firstAtMs: this.nowMs });
        else s.nodes++;
        break;
      }
    }
  }

  /** A byzantine producer's second block for the first slot of its turn: same parent, one more tx. */
  private secondBlock(n: DevnetNode, block: Block): Block | undefined {
    const h = block.header.header;
    const slot = (h.timeMs - DEVNET_T0) / this.genesis.params.slotMs;
    if (slot % this.genesis.params.blocksPerTurn !== 0) return undefined;
    const parent = n.engine.stateAfter(h.prevHash);
    if (parent === undefined) return undefined;
    const tx = signTx(
      {
        chainId: DEVNET_CHAIN_ID,
        kind: 'transfer',
        sender: n.address,
        nonce: getAccount(parent, n.address).nonce,
        fee: 0n,
        body: { to: n.address, token: 'QDT', amount: 1n, memo: Uint8Array.of(slot & 0xff) },
      },
      n.signer,
    );
    const alt = buildBlock(parent, [...block.txs, tx], n.signer, h.timeMs).block;
    return alt.txs.length > block.txs.length ? alt : undefined;
  }
}

/** Builds a devnet from `options`, runs it and reports. */
export function runDevnet(options: DevnetOptions): DevnetReport {
  return new Devnet(options).run();
}
