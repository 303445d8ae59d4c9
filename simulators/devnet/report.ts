/**
 * What a devnet run records as it goes and the report it prints: blocks, missed slots, finality lag
 * percentiles (time from a block's slot to its finality at each honest node), conflicting final blocks,
 * evidence caught and the penalties the state machine applied, schedule changes and message counts.
 */
import {
  type BlockRef,
  type ChainState,
  getAccount,
  getRecord,
  type Producer,
  type ScheduleChange,
  stateKey,
  toHex,
} from '../../chain/index.js';

/** The options of a run that its report repeats (DevnetOptions has them all). */
export interface ReportedOptions {
  readonly seed: string;
  readonly producers: number;
  readonly standby?: number;
  readonly durationMs: number;
  readonly latencyMs: { readonly min: number; readonly max: number };
  readonly loss?: number;
}

/** One node as a run left it. */
export interface NodeOutcome {
  readonly index: number;
  readonly address: string;
  /** It misbehaved on purpose: its penalties are reported, and it never leads the final chain. */
  readonly byzantine: boolean;
  /** It was down when the run ended (its final height is left out of `finalHeights`). */
  readonly downAtEnd: boolean;
  readonly lastFinal: BlockRef;
}

/** What a finished run hands the report besides its counters. */
export interface RunOutcome {
  readonly options: ReportedOptions;
  readonly genesis: ChainState;
  /** The producer schedule at genesis (addresses), against which schedule changes are listed. */
  readonly genesisSchedule: readonly string[];
  readonly nodes: readonly NodeOutcome[];
}

/** Counters filled while the devnet runs. */
export interface RunRecord {
  /**
   * One sample per (honest node, block it finalized): ms from the block's slot to its finality there;
   * nodes down at the block's slot are left out (they catch up later).
   */
  readonly lagsMs: number[];
  /** The first block id any node finalized at each height. */
  readonly finalIds: Map<number, string>;
  /** Heights where two nodes finalized different blocks. */
  readonly conflictingHeights: Set<number>;
  conflictsReported: number;
  readonly evidence: Map<
    string,
    { kind: string; producer: string; height: number; firstAtMs: number; nodes: number }
  >;
  readonly scheduleChanges: Map<string, { change: ScheduleChange; nodes: number; firstAtMs: number }>;
  /** Per node: [virtual ms, final height] at each finality event. */
  readonly finalProgress: [number, number][][];
  readonly messages: { sent: number; delivered: number; lost: number; partitioned: number; down: number };
}

/** The JSON report of a run. Deterministic except `wall`. */
export interface DevnetReport {
  readonly seed: string;
  readonly producers: number;
  readonly standby: number;
  readonly simulatedSeconds: number;
  readonly latencyMs: { readonly min: number; readonly max: number };
  readonly loss: number;
  /** Final height reached by the most advanced honest node. */
  readonly blocks: number;
  readonly slots: number;
  /** Slots up to the last final block's slot with no block in the final chain. */
  readonly missedSlots: number;
  /** Id of the most advanced honest node's last final block. */
  readonly finalHeadHash: string;
  /** Lowest and highest final height among nodes up at the end. */
  readonly finalHeights: { readonly min: number; readonly max: number };
  readonly finalityLagMs: {
    readonly p50: number;
    readonly p99: number;
    readonly max: number;
    readonly samples: number;
  };
  /** Heights at which two nodes finalized different blocks, plus certificates seen against a final chain. */
  readonly conflictingFinalBlocks: number;
  readonly evidence: readonly {
    readonly kind: string;
    readonly producer: string;
    readonly height: number;
    readonly firstAtMs: number;
    readonly nodes: number;
  }[];
  /** Byzantine producers' stake and jail status in the last final state, against genesis. */
  readonly penalised: readonly {
    readonly node: number;
    readonly producer: string;
    readonly stakedBefore: string;
    readonly stakedAfter: string;
    readonly jailed: boolean;
  }[];
  readonly scheduleChanges: readonly {
    readonly fromRound: number;
    readonly fromSlot: number;
    readonly decidedByHeight: number;
    readonly decidedBySlot: number;
    readonly firstAtMs: number;
    readonly nodes: number;
    readonly added: readonly string[];
    readonly removed: readonly string[];
  }[];
  readonly messages: RunRecord['messages'];
  readonly wall: { readonly ms: number; readonly simulatedSecondsPerWallSecond: number };
}

/** The `q` quantile (0..1) of `values` (nearest rank); NaN when empty. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
}

const short = (a: string): string => a.slice(0, 16);

/** The report of a finished run from its outcome, its counters and the wall time it took. */
export function buildReport(run: RunOutcome, r: RunRecord, wallMs: number): DevnetReport {
  const o = run.options;
  const end = o.durationMs;
  const honest = run.nodes.filter((n) => !n.byzantine);
  const lead = honest.reduce((a, b) => (b.lastFinal.height > a.lastFinal.height ? b : a), honest[0]!);
  const final = lead.lastFinal;
  const heights = run.nodes.filter((n) => !n.downAtEnd).map((n) => n.lastFinal.height);
  const genesis = run.genesis;
  let previous = run.genesisSchedule;
  const changes = [...r.scheduleChanges.values()]
    .sort((a, b) => a.change.fromRound - b.change.fromRound)
    .map((s) => {
      const added = s.change.schedule.filter((p) => !previous.includes(p)).map(short);
      const removed = previous.filter((p) => !s.change.schedule.includes(p)).map(short);
      previous = s.change.schedule;
      return {
        fromRound: s.change.fromRound,
        fromSlot: s.change.fromSlot,
        decidedByHeight: s.change.decidedBy.height,
        decidedBySlot: s.change.decidedBy.slot,
        firstAtMs: s.firstAtMs,
        nodes: s.nodes,
        added,
        removed,
      };
    });
  return {
    seed: o.seed,
    producers: o.producers,
    standby: o.standby ?? 0,
    simulatedSeconds: end / 1000,
    latencyMs: o.latencyMs,
    loss: o.loss ?? 0,
    blocks: final.height,
    slots: Math.floor(end / genesis.params.slotMs),
    missedSlots: final.slot - final.height,
    finalHeadHash: toHex(final.blockId),
    finalHeights: { min: Math.min(...heights), max: Math.max(...heights) },
    finalityLagMs: {
      p50: quantile(r.lagsMs, 0.5),
      p99: quantile(r.lagsMs, 0.99),
      max: quantile(r.lagsMs, 1),
      samples: r.lagsMs.length,
    },
    conflictingFinalBlocks: r.conflictingHeights.size + r.conflictsReported,
    evidence: [...r.evidence.values()].map((e) => ({ ...e, producer: short(e.producer) })),
    penalised: run.nodes
      .filter((n) => n.byzantine)
      .map((n) => ({
        node: n.index,
        producer: short(n.address),
        stakedBefore: getAccount(genesis, n.address).staked.toString(),
        stakedAfter: getAccount(final.state, n.address).staked.toString(),
        jailed: getRecord<Producer>(final.state.tree, stateKey.producer(n.address))?.jailed ?? false,
      })),
    scheduleChanges: changes,
    messages: r.messages,
    wall: { ms: Math.round(wallMs), simulatedSecondsPerWallSecond: end / Math.max(wallMs, 1) },
  };
}

/** A node's final height at virtual time `atMs` (from its finality events). */
export function finalHeightAt(progress: readonly [number, number][], atMs: number): number {
  let h = 0;
  for (const [t, height] of progress) {
    if (t > atMs) break;
    h = height;
  }
  return h;
}
