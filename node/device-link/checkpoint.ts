/**
 * The light-client checkpoint of a node's last final block: its header, the schedule that
 * certifies the blocks after it, and, when the final chain has decided a schedule change that is
 * not active yet, that next schedule with the height that decided it. What a device's `chain`
 * config section trusts (served on GET /checkpoint, written by `qood node checkpoint`), and where
 * the bridge's own mirror client starts.
 *
 * Trust: whoever takes a checkpoint from a node trusts that node for its starting point; after it,
 * the light client accepts only what a quorum of the schedule signed.
 */
import type { Checkpoint } from '../../chain/index.js';
import type { ChainSource } from './source.js';

/** The checkpoint at the source's last final block; undefined while only genesis is final. */
export function nodeCheckpoint(source: ChainSource): Checkpoint | undefined {
  const fin = source.lastFinal;
  if (fin.height === 0) return undefined;
  const block = source.block(fin.height);
  if (block === undefined) return undefined;
  const schedule = [...source.scheduleAt(fin.slot)];
  let next: Checkpoint['next'] = null;
  const changes = source.scheduleChanges;
  for (let i = changes.length - 1; i >= 0; i--) {
    const c = changes[i]!;
    if (c.fromSlot <= fin.slot) break;
    if (c.decidedBy.height <= fin.height && !sameList(c.schedule, schedule)) {
      next = { schedule: [...c.schedule], electedAt: c.decidedBy.height };
      break;
    }
  }
  return { header: block.header.header, schedule, next };
}

/** True when two schedules list the same producers in the same order. */
export function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
