/**
 * Which producers are scheduled for a block, as a function of the block's own ancestry, so every
 * node agrees. Rounds are `scheduleSize * blocksPerTurn` slots. The schedule of round k on a branch
 * is elected from the state after that branch's last block before round k - 1 (the decider: the last
 * block of round k - 2, or earlier when that round is empty); rounds 0 and 1 keep the genesis
 * schedule. Every node validates a block against the schedule its own ancestry decides, so all
 * agree whatever each has seen final; the state machine records the same rule's outcome in
 * `sched/active` (chain/state/active-schedule.ts, held equal to this book by a test), which is what a
 * light client follows. A change is announced (ScheduleChange) only once its decider is final, a whole round before it takes effect (63 s on mainnet,
 * against finality in about a second). A producer whose decider is not final yet at the boundary
 * sits out the first turn of the round waiting for it, then produces anyway: a stricter gate could
 * deadlock (no new heights to vote on, no finality to release production).
 */
import type { ChainState } from '../state/state.js';
import { stateRoot } from '../state/state.js';
import type { MissedSlot, ScheduleChange } from './messages.js';
import { electSchedule, producerForSlot } from './schedule.js';

/** Elections remembered; the oldest (long past rounds) go first. */
const MAX_ELECTIONS = 1024;

/** The part of a block the book needs. */
export interface ScheduledBlock {
  readonly idHex: string;
  readonly id: Uint8Array;
  readonly height: number;
  readonly slot: number;
  readonly parent: ScheduledBlock | undefined;
  readonly state: ChainState | undefined;
}

/** Elected schedules by decider, and the changes seen along the final chain. */
export class ScheduleBook {
  readonly #elected = new Map<string, readonly string[]>();
  /** Changes along the final chain, in order. */
  readonly changes: ScheduleChange[] = [];
  #lastFinalSchedule: readonly string[];
  readonly #blocksPerTurn: number;

  constructor(
    /** The genesis schedule. */
    readonly initial: readonly string[],
    /** Slots per round. */
    readonly roundSlots: number,
    blocksPerTurn: number,
  ) {
    this.#blocksPerTurn = blocksPerTurn;
    if (initial.length === 0) throw new RangeError('the genesis schedule is empty');
    this.#lastFinalSchedule = initial;
  }

  /** The round a slot belongs to. */
  roundOf(slot: number): number {
    return Math.floor(slot / this.roundSlots);
  }

  /** The decider of `slot` for a block whose parent is `parent`: undefined for genesis' schedule. */
  deciderFor<T extends ScheduledBlock & { readonly parent: T | undefined }>(
    parent: T,
    slot: number,
  ): T | undefined {
    const round = this.roundOf(slot);
    if (round <= 1) return undefined;
    const before = (round - 1) * this.roundSlots;
    let d: T | undefined = parent;
    while (d !== undefined && d.slot >= before) d = d.parent;
    return d === undefined || d.height === 0 ? undefined : d;
  }

  /** The schedule a decider elects (genesis' when undefined). Its state must still be held the first time. */
  scheduleOf(decider: ScheduledBlock | undefined): readonly string[] {
    if (decider === undefined) return this.initial;
    let s = this.#elected.get(decider.idHex);
    if (s === undefined) {
      if (decider.state === undefined)
        throw new RangeError(`no state for decider at height ${decider.height}`);
      s = electSchedule(decider.state);
      if (s.length === 0) s = this.initial;
      if (this.#elected.size >= MAX_ELECTIONS) this.#elected.delete(this.#elected.keys().next().value!);
      this.#elected.set(decider.idHex, s);
    }
    return s;
  }

  /** Elects and remembers the schedule `b` decides while its state is at hand (call on every new block). */
  remember(b: ScheduledBlock): void {
    if (b.height > 0 && b.state !== undefined && !this.#elected.has(b.idHex)) this.scheduleOf(b);
  }

  /** The producer of `slot` under `schedule`. */
  producerAt(schedule: readonly string[], slot: number): string {
    return producerForSlot(schedule, slot, this.#blocksPerTurn);
  }

  /** The slots after `prev` and before `slot` (a child of prev's) with no block, and whose they were. */
  missedBetween<T extends ScheduledBlock & { readonly parent: T | undefined }>(
    prev: T,
    slot: number,
  ): MissedSlot[] {
    const out: MissedSlot[] = [];
    for (let s = prev.slot + 1; s < slot; s++)
      out.push({ slot: s, producer: this.producerAt(this.scheduleOf(this.deciderFor(prev, s)), s) });
    return out;
  }

  /** True when `producer` is in any schedule seen (a cheap filter for votes on blocks not held). */
  known(producer: string): boolean {
    if (this.initial.includes(producer)) return true;
    for (const s of this.#elected.values()) if (s.includes(producer)) return true;
    return false;
  }

  /**
   * Called for each newly final block `b` after its final parent `a`: when b opens a later round,
   * a is the last block of its round and decides round(a) + 2. Returns the change, if the schedule
   * differs from the last one in force along the final chain.
   */
  noteFinal(a: ScheduledBlock, b: ScheduledBlock): ScheduleChange | undefined {
    if (a.height === 0 || this.roundOf(b.slot) === this.roundOf(a.slot)) return undefined;
    const schedule = this.scheduleOf(a);
    if (sameList(schedule, this.#lastFinalSchedule)) return undefined;
    this.#lastFinalSchedule = schedule;
    const fromRound = this.roundOf(a.slot) + 2;
    const change: ScheduleChange = {
      fromRound,
      fromSlot: fromRound * this.roundSlots,
      schedule,
      decidedBy: { height: a.height, slot: a.slot, blockId: a.id, stateRoot: stateRoot(a.state!) },
    };
    this.changes.push(change);
    return change;
  }
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
