/**
 * The light-client checkpoint of a node's last final block: its header, the schedule in force in
 * its round and the schedule consensus fixed for the next round (both read from the state's
 * `sched/active` record, chain/state/active-schedule.ts), and the chain's round parameters, which
 * the device's light client checks every later schedule record against. What a device's `chain`
 * config section trusts (served on GET /checkpoint, written by `qood node checkpoint`), and where
 * the bridge's own mirror client starts.
 *
 * Trust: whoever takes a checkpoint from a node trusts that node for its starting point; after it,
 * the light client accepts only what a quorum of a schedule consensus ran signed.
 */
import { activeSchedule, type Checkpoint, roundParams } from '../../chain/index.js';
import type { ChainSource } from './source.js';

/** The checkpoint at the source's last final block; undefined while only genesis is final. */
export function nodeCheckpoint(source: ChainSource): Checkpoint | undefined {
  const fin = source.lastFinal;
  if (fin.height === 0) return undefined;
  const block = source.block(fin.height);
  if (block === undefined) return undefined;
  const record = activeSchedule(fin.state);
  if (record === undefined) return undefined;
  return {
    header: block.header.header,
    schedule: [...record.schedule],
    next: [...record.next],
    rounds: roundParams(fin.state),
  };
}
