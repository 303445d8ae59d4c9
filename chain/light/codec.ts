/**
 * Canonical encodings of what a light client receives, pinned by test/vectors/chain-light.json:
 *
 *   checkpoint  = [2, header, [producer32, ...], [producer32, ...], [genesisTimeMs, slotMs, roundSlots]]
 *                 the schedule in force in the header's round, the next round's, and what rounds are
 *   update      = [2, header, [[producer32, signature64], ...], schedule | null, [keyProof, ...]]
 *   schedule    = [activeSchedule, proof]              the `sched/active` record at header.stateRoot
 *   activeSchedule = [activatedAt, round, [producer32, ...], [producer32, ...]]  (active-schedule.ts)
 *   stateProof  = [2, height, keyProof]
 *   keyProof    = [key, value | null, proof]              value: the record's committed bytes
 *   proof       = [depth, bitmap, [sibling32, ...], [leafKeyHash32, leafValueHash32] | null]
 *
 * `header` is the 8-item header value of chain/tx/header.ts. An update's certificate is its votes:
 * the chain id, height and block id are the header's, so they are not sent twice. Decoders check
 * every field and bound every list, and throw LightError('MALFORMED') naming the field path or the
 * byte offset and what was expected.
 *
 * Version 2 (issue 14, attack 1): a schedule change is proven by the record of the schedule
 * consensus runs, no longer by the election record, and a checkpoint carries the round parameters
 * the client checks it with. Version 1 bytes are refused.
 */
import { type CanonicalValue, CodecError, decodeCanonical, encodeCanonical } from '../codec/canonical.js';
import { readArray, readBytes, readText, readUint } from '../codec/fields.js';
import { toHex } from '../crypto/hash.js';
import type { FinalityVote } from '../dpos/finality.js';
import {
  type ActiveSchedule,
  activeScheduleValue,
  type RoundParams,
  readActiveScheduleValue,
} from '../state/active-schedule.js';
import { MAX_SCHEDULE, readScheduleValue } from '../state/schedule-record.js';
import type { SmtProof } from '../state/smt.js';
import { type BlockHeader, headerValue, readHeader } from '../tx/header.js';
import { LightError } from './errors.js';

export const LIGHT_VERSION = 2;
/** Largest update accepted (a 64-producer schedule change with 32 proofs fits well within it). */
export const MAX_UPDATE_BYTES = 64 * 1024;
/** Most key proofs one update may carry. */
export const MAX_UPDATE_PROOFS = 32;
/** Longest state key accepted in a proof. */
export const MAX_KEY_LENGTH = 256;

/**
 * A trusted starting point: a final header, the schedule in force in its round (which certified
 * it), the schedule consensus fixed for the next round, and the round parameters of the chain.
 */
export interface Checkpoint {
  readonly header: BlockHeader;
  readonly schedule: readonly string[];
  readonly next: readonly string[];
  readonly rounds: RoundParams;
}

/** A key's committed bytes (null: absent) and its sparse Merkle proof. */
export interface KeyProofWire {
  readonly key: string;
  readonly value: Uint8Array | null;
  readonly proof: SmtProof;
}

/** The `sched/active` record at the update header and its proof under the header's state root. */
export interface ScheduleProof {
  readonly record: ActiveSchedule;
  readonly proof: SmtProof;
}

/**
 * A final header, the votes that make it final, the schedule record at it (required when the header
 * is in a later round than the client's head) and key proofs.
 */
export interface FinalityUpdate {
  readonly header: BlockHeader;
  readonly votes: readonly FinalityVote[];
  readonly schedule: ScheduleProof | null;
  /** Proofs against `header.stateRoot` (a vehicle's grants, an account ...). */
  readonly proofs: readonly KeyProofWire[];
}

/** A key proof against the state root of the final header at `height`. */
export interface StateProof {
  readonly height: number;
  readonly proof: KeyProofWire;
}

const hex32 = (h: string) => new Uint8Array(Buffer.from(h, 'hex'));

function proofValue(p: SmtProof): CanonicalValue {
  return [p.depth, p.bitmap, [...p.siblings], p.leaf === null ? null : [p.leaf.keyHash, p.leaf.valueHash]];
}

function keyProofValue(k: KeyProofWire): CanonicalValue {
  return [k.key, k.value, proofValue(k.proof)];
}

/** Canonical bytes of a checkpoint. */
export function encodeCheckpoint(c: Checkpoint): Uint8Array {
  return encodeCanonical([
    LIGHT_VERSION,
    headerValue(c.header),
    c.schedule.map(hex32),
    c.next.map(hex32),
    [c.rounds.genesisTimeMs, c.rounds.slotMs, c.rounds.roundSlots],
  ]);
}

/** Canonical bytes of an update. */
export function encodeUpdate(u: FinalityUpdate): Uint8Array {
  return encodeCanonical([
    LIGHT_VERSION,
    headerValue(u.header),
    u.votes.map((v) => [hex32(v.producer), v.signature]),
    u.schedule === null ? null : [activeScheduleValue(u.schedule.record), proofValue(u.schedule.proof)],
    u.proofs.map(keyProofValue),
  ]);
}

/** Canonical bytes of a state proof. */
export function encodeStateProof(p: StateProof): Uint8Array {
  return encodeCanonical([LIGHT_VERSION, p.height, keyProofValue(p.proof)]);
}

function readProof(v: CanonicalValue | undefined, path: string): SmtProof {
  const a = readArray(v, path, 4);
  const depth = readUint(a[0], `${path}.depth`, 256);
  const bitmap = readBytes(a[1], `${path}.bitmap`, Math.ceil(depth / 8));
  const sibs = readArray(a[2], `${path}.siblings`);
  if (sibs.length > depth)
    throw new CodecError(
      'SHAPE',
      `${path}.siblings`,
      `expected at most ${depth} siblings, got ${sibs.length}`,
    );
  const siblings = sibs.map((s, i) => readBytes(s, `${path}.siblings[${i}]`, 32));
  let leaf: SmtProof['leaf'] = null;
  if (a[3] !== null) {
    const l = readArray(a[3], `${path}.leaf`, 2);
    leaf = {
      keyHash: readBytes(l[0], `${path}.leaf.keyHash`, 32),
      valueHash: readBytes(l[1], `${path}.leaf.valueHash`, 32),
    };
  }
  return { depth, bitmap, siblings, leaf };
}

function readKeyProof(v: CanonicalValue | undefined, path: string): KeyProofWire {
  const a = readArray(v, path, 3);
  return {
    key: readText(a[0], `${path}.key`, MAX_KEY_LENGTH),
    value: a[1] === null ? null : readBytes(a[1], `${path}.value`, undefined, MAX_UPDATE_BYTES),
    proof: readProof(a[2], `${path}.proof`),
  };
}

function readVersion(v: CanonicalValue | undefined, path: string): void {
  const version = readUint(v, `${path}.version`);
  if (version === 1)
    throw new CodecError(
      'SHAPE',
      `${path}.version`,
      `version 1 predates schedule records and round parameters; expected version ${LIGHT_VERSION} (take a new checkpoint from a node)`,
    );
  if (version !== LIGHT_VERSION)
    throw new CodecError('SHAPE', `${path}.version`, `expected version ${LIGHT_VERSION}`);
}

/** Decodes with `read`, turning any CodecError into LightError('MALFORMED') with its location. */
function decodeWith<T>(bytes: Uint8Array, what: string, read: (v: CanonicalValue) => T): T {
  if (bytes.length > MAX_UPDATE_BYTES)
    throw new LightError(
      'MALFORMED',
      null,
      `${what}: ${bytes.length} bytes, expected at most ${MAX_UPDATE_BYTES}`,
    );
  try {
    return read(decodeCanonical(bytes));
  } catch (e) {
    if (e instanceof CodecError) throw new LightError('MALFORMED', null, `${what}: ${e.message}`);
    throw e;
  }
}

/** Decodes a checkpoint; throws LightError('MALFORMED'). */
export function decodeCheckpoint(bytes: Uint8Array): Checkpoint {
  return decodeWith(bytes, 'checkpoint', (v) => {
    const a = readArray(v, 'checkpoint');
    readVersion(a[0], 'checkpoint');
    if (a.length !== 5) throw new CodecError('SHAPE', 'checkpoint', `expected 5 items, got ${a.length}`);
    const header = readHeader(a[1], 'checkpoint.header');
    const schedule = readScheduleValue(a[2], 'checkpoint.schedule');
    const next = readScheduleValue(a[3], 'checkpoint.next');
    const r = readArray(a[4], 'checkpoint.rounds', 3);
    const rounds = {
      genesisTimeMs: readUint(r[0], 'checkpoint.rounds.genesisTimeMs', header.timeMs),
      slotMs: readUint(r[1], 'checkpoint.rounds.slotMs'),
      roundSlots: readUint(r[2], 'checkpoint.rounds.roundSlots'),
    };
    if (rounds.slotMs === 0 || rounds.roundSlots === 0)
      throw new CodecError('SHAPE', 'checkpoint.rounds', 'expected a slot length and a round of at least 1');
    return { header, schedule, next, rounds };
  });
}

/** Decodes an update; throws LightError('MALFORMED'). */
export function decodeUpdate(bytes: Uint8Array): FinalityUpdate {
  return decodeWith(bytes, 'update', (v) => {
    const a = readArray(v, 'update', 5);
    readVersion(a[0], 'update');
    const header = readHeader(a[1], 'update.header');
    const rawVotes = readArray(a[2], 'update.votes');
    if (rawVotes.length > MAX_SCHEDULE)
      throw new CodecError(
        'SHAPE',
        'update.votes',
        `expected at most ${MAX_SCHEDULE} votes, got ${rawVotes.length}`,
      );
    const votes = rawVotes.map((x, i) => {
      const p = readArray(x, `update.votes[${i}]`, 2);
      return {
        producer: toHex(readBytes(p[0], `update.votes[${i}].producer`, 32)),
        signature: readBytes(p[1], `update.votes[${i}].signature`, 64),
      };
    });
    let schedule: ScheduleProof | null = null;
    if (a[3] !== null) {
      const s = readArray(a[3], 'update.schedule', 2);
      schedule = {
        record: readActiveScheduleValue(s[0], 'update.schedule.record'),
        proof: readProof(s[1], 'update.schedule.proof'),
      };
    }
    const rawProofs = readArray(a[4], 'update.proofs');
    if (rawProofs.length > MAX_UPDATE_PROOFS)
      throw new CodecError(
        'SHAPE',
        'update.proofs',
        `expected at most ${MAX_UPDATE_PROOFS} proofs, got ${rawProofs.length}`,
      );
    const proofs = rawProofs.map((p, i) => readKeyProof(p, `update.proofs[${i}]`));
    return { header, votes, schedule, proofs };
  });
}

/** Decodes a state proof; throws LightError('MALFORMED'). */
export function decodeStateProof(bytes: Uint8Array): StateProof {
  return decodeWith(bytes, 'state proof', (v) => {
    const a = readArray(v, 'stateProof', 3);
    readVersion(a[0], 'stateProof');
    return { height: readUint(a[1], 'stateProof.height'), proof: readKeyProof(a[2], 'stateProof.proof') };
  });
}
