/**
 * Which schedule is in force at each slot. Rounds are `scheduleSize * blocksPerTurn` slots long. When
 * the last block of round r becomes final, the schedule elected from the state after it takes effect
 * at round r + 2 (a whole round for its finality to reach every node), or at the next round boundary
 * when finality comes later than that; never in the middle of a round, never before finality.
 */
import type { ChainState } from '../state/state.js';
import { stateRoot } from '../state/state.js';
import type { ScheduleChange } from './messages.js';
import { electSchedule, producerForSlot } from './schedule.js';

/** The schedules of one node's chain, from genesis on. */
export class ScheduleHistory {
  private readonly entries: { fromRound: number; schedule: readonly string[] }[];
  readonly changes: ScheduleChange[] = [];

  constructor(
    initial: readonly string[],
    /** Slots per round. */
    readonly roundSlots: number,
    private readonly blocksPerTurn: number,
  ) {
    if (initial.length === 0) throw new RangeError('the genesis schedule is empty');
    this.entries = [{ fromRound: 0, schedule: initial }];
  }

  /** The round a slot belongs to. */
  roundOf(slot: number): number {
    return Math.floor(slot / this.roundSlots);
  }

  /** The schedule in force at `slot`. */
  scheduleAt(slot: number): readonly string[] {
    const round = this.roundOf(slot);
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const e = this.entries[i]!;
      if (e.fromRound <= round) return e.schedule;
    }
    return this.entries[0]!.schedule;
  }

  /** The producer of `slot`. */
  producerAt(slot: number): string {
    return producerForSlot(this.scheduleAt(slot), slot, this.blocksPerTurn);
  }

  /** True when `producer` is in a schedule in force at or after `slot` (for votes on unknown blocks). */
  mayVoteFrom(producer: string, slot: number): boolean {
    const round = this.roundOf(slot);
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const e = this.entries[i]!;
      if (e.schedule.includes(producer)) return true;
      if (e.fromRound <= round) return false;
    }
    return false;
  }

  /**
   * Called when `last`, the last block of its round (its final successor is in a later round),
   * became final; `currentSlot` is the node's clock. Returns the change, if the election differs.
   */
  decide(last: { height: number; slot: number; id: Uint8Array; state: ChainState }, currentSlot: number) {
    const fromRound = Math.max(this.roundOf(last.slot) + 2, this.roundOf(currentSlot) + 1);
    const schedule = electSchedule(last.state);
    const inForce = this.scheduleAt(fromRound * this.roundSlots);
    if (schedule.length === 0 || sameList(schedule, inForce)) return undefined;
    const change: ScheduleChange = {
      fromRound,
      fromSlot: fromRound * this.roundSlots,
      schedule,
      decidedBy: { height: last.height, slot: last.slot, blockId: last.id, stateRoot: stateRoot(last.state) },
    };
    // A later decision replaces a pending one for the same or a later round.
    while (this.entries.length > 1 && this.entries[this.entries.length - 1]!.fromRound >= fromRound)
      this.entries.pop();
    this.entries.push({ fromRound, schedule });
    this.changes.push(change);
    return change;
  }
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
