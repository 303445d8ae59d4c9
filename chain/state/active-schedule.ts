/**
 * The schedule consensus actually runs, as a state record, so a light client can follow schedule
 * changes from final headers without replaying every vote and without trusting an election that
 * never took effect (issue 14, attack 1).
 *
 * Consensus (chain/dpos/schedule-book.ts) rotates producers in rounds of `scheduleSize *
 * blocksPerTurn` slots. The schedule of round k on a branch is the election (schedule-record.ts)
 * of that branch's last block before round k - 1 (its decider); rounds 0 and 1 run the genesis
 * schedule. An election that changes for one block and back the next, inside a round, is never a
 * decider's, so it never runs: the `sched` record alone is not what a light client may follow.
 *
 * This record, under the key `sched/active`, is written by the state machine at the first block of
 * a round (and at genesis), only when what it holds changes:
 *
 *   [activatedAt, round, [producer32, ...], [producer32, ...]]
 *
 * - the schedule in force for this block's round, the height of the first block it was in force
 *   at and that block's round (unchanged while the schedule stays the same);
 * - the schedule of the round after this block's round, which consensus already fixed: its decider
 *   is the parent of this round's first block. At any block the record therefore names the schedule
 *   of the block's own round and of the next one.
 *
 * The rule that computes it, from the parent state and the new block's slot only: when the block
 * opens round r and its parent was in round p < r, then for r = p + 1 the new schedule is the old
 * record's next one (decided at p's first block); for r >= p + 2 the rounds in between were empty
 * and the parent itself decided round r; in both cases the parent decides round r + 1. A test runs
 * consensus and holds this record equal to the schedule every block was produced and certified
 * under.
 */
import { type CanonicalValue, decodeCanonical, encodeCanonical } from '../codec/canonical.js';
import { readArray, readUint } from '../codec/fields.js';
import { bytesEqual } from '../crypto/hash.js';
import { rankSchedule, readScheduleValue } from './schedule-record.js';
import { smtGet } from './smt.js';
import { type ChainState, type Draft, keyHash, stateKey } from './state.js';

/** The schedule in force and the next round's, as recorded in the state. */
export interface ActiveSchedule {
  /** Height of the first block the schedule was in force at (0: genesis). */
  readonly activatedAt: number;
  /** The round of that block. */
  readonly round: number;
  /** The schedule in force for the round of the block whose state holds the record. */
  readonly schedule: readonly string[];
  /** The schedule of the round after that one (already fixed by consensus). */
  readonly next: readonly string[];
}

/** What a round is made of: the genesis time, the slot length and the slots in a round. */
export interface RoundParams {
  readonly genesisTimeMs: number;
  readonly slotMs: number;
  readonly roundSlots: number;
}

/** The round parameters of a chain (every state carries them). */
export function roundParams(state: ChainState): RoundParams {
  const p = state.params;
  return {
    genesisTimeMs: state.genesisTimeMs,
    slotMs: p.slotMs,
    roundSlots: p.scheduleSize * p.blocksPerTurn,
  };
}

/** The round of a block at `timeMs` (slot = whole slots since genesis, as consensus counts them). */
export function roundAt(r: RoundParams, timeMs: number): number {
  return Math.floor(Math.floor((timeMs - r.genesisTimeMs) / r.slotMs) / r.roundSlots);
}

const hex32 = (a: string) => new Uint8Array(Buffer.from(a, 'hex'));

/** The canonical value of an active-schedule record (what a light-client update embeds). */
export function activeScheduleValue(a: ActiveSchedule): CanonicalValue {
  return [a.activatedAt, a.round, a.schedule.map(hex32), a.next.map(hex32)];
}

/** The committed bytes of an active-schedule record. */
export function encodeActiveSchedule(a: ActiveSchedule): Uint8Array {
  return encodeCanonical(activeScheduleValue(a));
}

/** Reads an active-schedule record from its decoded canonical value; throws CodecError naming the field. */
export function readActiveScheduleValue(v: CanonicalValue | undefined, path: string): ActiveSchedule {
  const a = readArray(v, path, 4);
  return {
    activatedAt: readUint(a[0], `${path}.activatedAt`),
    round: readUint(a[1], `${path}.round`),
    schedule: readScheduleValue(a[2], `${path}.schedule`),
    next: readScheduleValue(a[3], `${path}.next`),
  };
}

/** Decodes an active-schedule record; throws CodecError. */
export function decodeActiveSchedule(bytes: Uint8Array, path = 'activeSchedule'): ActiveSchedule {
  return readActiveScheduleValue(decodeCanonical(bytes), path);
}

/** The active-schedule record of a state, or undefined when genesis elected nobody. */
export function activeSchedule(state: ChainState): ActiveSchedule | undefined {
  return smtGet(state.tree, keyHash(stateKey.activeSchedule()))?.value as ActiveSchedule | undefined;
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function put(d: Draft, a: ActiveSchedule): void {
  const bytes = encodeActiveSchedule(a);
  const old = smtGet(d.tree, keyHash(stateKey.activeSchedule()));
  if (old !== undefined && bytesEqual(old.bytes, bytes)) return;
  d.setActiveSchedule(a, bytes);
}

/** At genesis: the genesis election runs rounds 0 and 1. */
export function recordGenesisSchedule(d: Draft): void {
  const initial = rankSchedule(d.tree, d.producers, d.base.params.scheduleSize);
  if (initial.length === 0) return;
  put(d, { activatedAt: 0, round: 0, schedule: initial, next: initial });
}

/**
 * The active-schedule record of a block at `height` and `timeMs` built on `parent` (see the module
 * doc): the parent's own record unless the block opens a new round. The parent's election is read
 * before the block's transactions change any vote, as consensus reads its decider's state. Undefined
 * when the parent has no record (a genesis that elected nobody).
 */
export function scheduleForBlock(
  parent: ChainState,
  height: number,
  timeMs: number,
): ActiveSchedule | undefined {
  const cur = activeSchedule(parent);
  if (cur === undefined) return undefined;
  const rp = roundParams(parent);
  const round = roundAt(rp, timeMs);
  const parentRound = roundAt(rp, parent.timeMs);
  if (round <= parentRound) return cur;
  // The parent's election decides round + 1 (and round itself when the rounds between were empty).
  // It is never empty here: a state whose producers are all jailed cannot have a child block
  // (applyBlock refuses a jailed producer), so keeping the current schedule is only a guard.
  const ranked = rankSchedule(parent.tree, parent.producers, parent.params.scheduleSize);
  const elected = ranked.length === 0 ? cur.schedule : ranked;
  const schedule = round === parentRound + 1 ? cur.next : elected;
  const changed = !sameList(schedule, cur.schedule);
  return {
    activatedAt: changed ? height : cur.activatedAt,
    round: changed ? round : cur.round,
    schedule,
    next: elected,
  };
}

/**
 * Before the transactions of block `height` at `timeMs` on the draft's base (its parent): when the
 * block opens a new round, records the schedule consensus runs in it and the next round's.
 */
export function recordRoundSchedule(d: Draft, height: number, timeMs: number): void {
  const a = scheduleForBlock(d.base, height, timeMs);
  // The parent's own record comes back unchanged inside a round: nothing to write.
  if (a !== undefined && a !== activeSchedule(d.base)) put(d, a);
}
