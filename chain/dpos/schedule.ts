/**
 * The producer schedule: the top `scheduleSize` unjailed producers by stake-weighted votes (ties
 * broken by address), rotated in address order, each producing `blocksPerTurn` consecutive 500 ms
 * slots. Pure functions of the state and the slot number; the node decides when a new schedule
 * takes effect (at a round boundary, once the block it was computed from is final).
 */

import type { Producer } from '../state/records.js';
import { type ChainState, getRecord, stateKey } from '../state/state.js';

/** The elected schedule at `state`, in rotation (address) order. */
export function electSchedule(state: ChainState): string[] {
  const ranked = state.producers
    .map((address) => ({ address, p: getRecord<Producer>(state.tree, stateKey.producer(address))! }))
    .filter((x) => !x.p.jailed)
    .sort((a, b) =>
      a.p.votes === b.p.votes ? (a.address < b.address ? -1 : 1) : a.p.votes > b.p.votes ? -1 : 1,
    );
  return ranked
    .slice(0, state.params.scheduleSize)
    .map((x) => x.address)
    .sort();
}

/** The slot number of a time: whole `slotMs` periods since genesis. */
export function slotAt(timeMs: number, genesisTimeMs: number, slotMs: number): number {
  return Math.floor((timeMs - genesisTimeMs) / slotMs);
}

/** The producer scheduled for `slot`. */
export function producerForSlot(schedule: readonly string[], slot: number, blocksPerTurn: number): string {
  if (schedule.length === 0) throw new RangeError('empty schedule');
  return schedule[Math.floor(slot / blocksPerTurn) % schedule.length]!;
}

/** Votes needed for finality: more than two thirds (15 of 21, 3 of 4). */
export function finalityQuorum(scheduleLength: number): number {
  return Math.floor((2 * scheduleLength) / 3) + 1;
}
