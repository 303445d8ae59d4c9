/**
 * The elected schedule as a state record. At the end of every block (and at
 * genesis) the state machine ranks the registered, unjailed producers by votes (ties by address),
 * keeps the top `scheduleSize` and stores them, in rotation (address) order, under the key
 * `sched` as canonical CBOR `[address bytes, ...]`. The record is written only when the election
 * changes, so blocks that touch no vote leave it (and the root) alone.
 *
 * This is the same ranking as `electSchedule` in chain/dpos/schedule.ts (a test holds them equal);
 * which recorded election becomes active, and when, is consensus's decision. An election may last
 * a single block and never run, so a light client must not follow this record: it follows
 * `sched/active` (active-schedule.ts), which the state machine writes from the election of a
 * round's last block, as consensus does (issue 14, attack 1).
 */
import { CodecError, decodeCanonical, encodeCanonical } from '../codec/canonical.js';
import { readArray, readBytes } from '../codec/fields.js';
import { bytesEqual, toHex } from '../crypto/hash.js';
import type { Producer } from './records.js';
import { smtGet } from './smt.js';
import { type ChainState, type Draft, getRecord, keyHash, stateKey } from './state.js';

/** The most producers a schedule record may name (bounds what a light client decodes). */
export const MAX_SCHEDULE = 64;

/** The elected schedule of a state tree, in rotation (address) order. */
export function rankSchedule(
  tree: ChainState['tree'],
  producers: readonly string[],
  scheduleSize: number,
): string[] {
  const ranked = producers
    .map((address) => ({ address, p: getRecord<Producer>(tree, stateKey.producer(address))! }))
    .filter((x) => !x.p.jailed)
    .sort((a, b) =>
      a.p.votes === b.p.votes ? (a.address < b.address ? -1 : 1) : a.p.votes > b.p.votes ? -1 : 1,
    );
  return ranked
    .slice(0, scheduleSize)
    .map((x) => x.address)
    .sort();
}

/** The committed bytes of a schedule record. */
export function encodeSchedule(schedule: readonly string[]): Uint8Array {
  return encodeCanonical(schedule.map((a) => new Uint8Array(Buffer.from(a, 'hex'))));
}

/**
 * Decodes a schedule record; throws CodecError naming the entry when it is not 1..MAX_SCHEDULE
 * distinct 32-byte addresses in ascending order.
 */
export function decodeSchedule(bytes: Uint8Array, path = 'schedule'): string[] {
  return readScheduleValue(decodeCanonical(bytes), path);
}

/** Reads a schedule from its decoded canonical value (see decodeSchedule). */
export function readScheduleValue(v: Parameters<typeof readArray>[0], path: string): string[] {
  const a = readArray(v, path);
  if (a.length === 0 || a.length > MAX_SCHEDULE)
    throw new CodecError('SHAPE', path, `expected 1..${MAX_SCHEDULE} producers, got ${a.length}`);
  const out = a.map((x, i) => toHex(readBytes(x, `${path}[${i}]`, 32)));
  for (let i = 1; i < out.length; i++)
    if (out[i]! <= out[i - 1]!)
      throw new CodecError('SHAPE', `${path}[${i}]`, 'expected addresses in strictly ascending order');
  return out;
}

/** The schedule recorded in a state, or undefined before any producer is elected. */
export function recordedSchedule(state: ChainState): string[] | undefined {
  const leaf = smtGet(state.tree, keyHash(stateKey.schedule()));
  return leaf === undefined ? undefined : (leaf.value as string[]);
}

/** Writes the draft's current election into the `sched` record when it differs from the stored one. */
export function recordSchedule(d: Draft): void {
  const elected = rankSchedule(d.tree, d.producers, d.base.params.scheduleSize);
  if (elected.length === 0) return;
  const bytes = encodeSchedule(elected);
  const old = smtGet(d.tree, keyHash(stateKey.schedule()));
  if (old !== undefined && bytesEqual(old.bytes, bytes)) return;
  d.setSchedule(elected, bytes);
}
