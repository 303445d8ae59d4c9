/**
 * Canonical encodings of what a light client receives, pinned by test/vectors/chain-light.json:
 *
 *   checkpoint  = [1, header, [producer32, ...], [electedAt, [producer32, ...]] | null]
 *   update      = [1, header, [[producer32, signature64], ...], schedule | null, [keyProof, ...]]
 *   schedule    = [[producer32, ...], proof]             the `sched` record at header.stateRoot
 *   stateProof  = [1, height, keyProof]
 *   keyProof    = [key, value | null, proof]              value: the record's committed bytes
 *   proof       = [depth, bitmap, [sibling32, ...], [leafKeyHash32, leafValueHash32] | null]
 *
 * `header` is the 8-item header value of chain/tx/header.ts. An update's certificate is its votes:
 * the chain id, height and block id are the header's, so they are not sent twice. Decoders check
 * every field and bound every list, and throw LightError('MALFORMED') naming the field path or the
 * byte offset and what was expected.
 */
import { type CanonicalValue, CodecError, decodeCanonical, encodeCanonical } from '../codec/canonical.js';
import { readArray, readBytes, readText, readUint } from '../codec/fields.js';
import { toHex } from '../crypto/hash.js';
import type { FinalityVote } from '../dpos/finality.js';
import { MAX_SCHEDULE, readScheduleValue } from '../state/schedule-record.js';
import type { SmtProof } from '../state/smt.js';
import { type BlockHeader, headerValue, readHeader } from '../tx/header.js';
import { LightError } from './errors.js';

export const LIGHT_VERSION = 1;
/** Largest update accepted (a 64-producer schedule change with 32 proofs fits well within it). */
export const MAX_UPDATE_BYTES = 64 * 1024;
/** Most key proofs one update may carry. */
export const MAX_UPDATE_PROOFS = 32;
/** Longest state key accepted in a proof. */
export const MAX_KEY_LENGTH = 256;

/**
 * A trusted starting point: a final header, the schedule that certifies the blocks after it and,
 * when the client saved itself between an election and its activation, the elected next schedule.
 */
export interface Checkpoint {
  readonly header: BlockHeader;
  readonly schedule: readonly string[];
  readonly next?: { readonly schedule: readonly string[]; readonly electedAt: number } | null;
}

/** A key's committed bytes (null: absent) and its sparse Merkle proof. */
export interface KeyProofWire {
  readonly key: string;
  readonly value: Uint8Array | null;
  readonly proof: SmtProof;
}

/** A new schedule and the proof of its `sched` record under the update header's state root. */
export interface ScheduleChange {
  readonly schedule: readonly string[];
  readonly proof: SmtProof;
}

/** A final header, the votes that make it final, an optional schedule change and key proofs. */
export interface FinalityUpdate {
  readonly header: BlockHeader;
  readonly votes: readonly FinalityVote[];
  readonly scheduleChange: ScheduleChange | null;
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
  const next = c.next ?? null;
  return encodeCanonical([
    LIGHT_VERSION,
    headerValue(c.header),
    c.schedule.map(hex32),
    next === null ? null : [next.electedAt, next.schedule.map(hex32)],
  ]);
}

/** Canonical bytes of an update. */
export function encodeUpdate(u: FinalityUpdate): Uint8Array {
  return encodeCanonical([
    LIGHT_VERSION,
    headerValue(u.header),
    u.votes.map((v) => [hex32(v.producer), v.signature]),
    u.scheduleChange === null
      ? null
      : [u.scheduleChange.schedule.map(hex32), proofValue(u.scheduleChange.proof)],
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
  if (readUint(v, `${path}.version`) !== LIGHT_VERSION)
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
    const a = readArray(v, 'checkpoint', 4);
    readVersion(a[0], 'checkpoint');
    const header = readHeader(a[1], 'checkpoint.header');
    const schedule = readScheduleValue(a[2], 'checkpoint.schedule');
    if (a[3] === null) return { header, schedule, next: null };
    const n = readArray(a[3], 'checkpoint.next', 2);
    const electedAt = readUint(n[0], 'checkpoint.next.electedAt', header.height);
    return {
      header,
      schedule,
      next: { electedAt, schedule: readScheduleValue(n[1], 'checkpoint.next.schedule') },
    };
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
    let scheduleChange: ScheduleChange | null = null;
    if (a[3] !== null) {
      const s = readArray(a[3], 'update.schedule', 2);
      scheduleChange = {
        schedule: readScheduleValue(s[0], 'update.schedule.producers'),
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
    return { header, votes, scheduleChange, proofs };
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
