/**
 * The light client: what the agent embeds to know what the chain has made final without following
 * every block. It holds one final header (the head), the schedule that certifies the blocks after
 * it, and at most one proven next schedule: memory O(schedule), a few kilobytes with 21 producers.
 *
 * - It starts from a trusted checkpoint (a final header and the schedule active at it), refused when
 *   older than the weak-subjectivity window (stake that elected its schedule may since have left).
 * - An update is a newer final header with the votes of a quorum of the schedule (finalityQuorum:
 *   15 of 21). Certificates are checked against the current schedule, then against the next one;
 *   the first certificate the next schedule makes promotes it and drops the old one.
 * - A schedule change travels in the update whose header is the block that elected it: the new
 *   schedule with a proof of the state's `sched` record under that header's state root (the state
 *   machine records the election after every block; consensus activates it later, at a round
 *   boundary once final, which is why the old schedule stays valid until the new one certifies).
 * - State proofs (a grant, a revocation, a balance) are checked against the head's state root.
 *
 * Trust: as for any DPoS light client, more than two thirds of each schedule it follows are honest.
 * A server can withhold updates (the client then stays behind) but cannot make it accept a header
 * no quorum signed, roll it back, or accept a schedule the chain did not elect at a final block.
 */
import { CodecError } from '../codec/canonical.js';
import { toHex } from '../crypto/hash.js';
import { checkCertificate, type DposError } from '../dpos/finality.js';
import {
  type Account,
  type Descriptor as AnchoredDescriptor,
  decodeAccount,
  decodeDescriptor,
  decodeGrant,
  decodeOrder,
  type Grant,
  type Order,
} from '../state/records.js';
import { encodeSchedule } from '../state/schedule-record.js';
import { smtVerify } from '../state/smt.js';
import { keyHash, stateKey } from '../state/state.js';
import { type BlockHeader, headerId } from '../tx/header.js';
import type { Checkpoint, FinalityUpdate, KeyProofWire, StateProof } from './codec.js';
import { LightError } from './errors.js';

export interface LightClientOptions {
  readonly checkpoint: Checkpoint;
  /** Wall clock, ms since the epoch; with `maxCheckpointAgeMs` refuses a checkpoint that is too old. */
  readonly nowMs?: () => number;
  /** Weak-subjectivity window (a chain's unbonding period is the natural bound). */
  readonly maxCheckpointAgeMs?: number;
}

/** A verified key: its committed bytes (null: absent) at the head. */
export interface ProvenKey {
  readonly key: string;
  readonly value: Uint8Array | null;
}

/** The result of applying an update. */
export type UpdateResult =
  | {
      readonly ok: true;
      readonly header: BlockHeader;
      /** True when this certificate was made by the next schedule, which is now the current one. */
      readonly scheduleActivated: boolean;
      /** True when the update proved a new next schedule. */
      readonly scheduleProven: boolean;
      readonly proven: readonly ProvenKey[];
    }
  | { readonly ok: false; readonly error: LightError };

/** A schedule proven at a final block, waiting for its first certificate. */
interface NextSchedule {
  readonly schedule: readonly string[];
  readonly electedAt: number;
}

/** Final headers before the head that state proofs may still refer to (about 30 s of blocks). */
export const RECENT_FINAL_HEADERS = 64;

export class LightClient {
  #head: BlockHeader;
  /** The last RECENT_FINAL_HEADERS final headers before the head, by height. */
  readonly #recent = new Map<number, BlockHeader>();
  #headId: Uint8Array;
  #schedule: readonly string[];
  #next: NextSchedule | null = null;

  /** Throws LightError: STALE_CHECKPOINT when older than the window, MALFORMED for a bad schedule. */
  constructor(options: LightClientOptions) {
    const { checkpoint } = options;
    if (options.nowMs !== undefined && options.maxCheckpointAgeMs !== undefined) {
      const ageMs = options.nowMs() - checkpoint.header.timeMs;
      if (ageMs > options.maxCheckpointAgeMs)
        throw new LightError(
          'STALE_CHECKPOINT',
          checkpoint.header.height,
          `checkpoint is ${ageMs} ms old, the window is ${options.maxCheckpointAgeMs} ms`,
        );
    }
    this.#head = checkpoint.header;
    this.#headId = headerId(checkpoint.header);
    this.#schedule = [];
    this.#take(checkpoint);
  }

  #take(checkpoint: Checkpoint): void {
    const h = checkpoint.header.height;
    checkSchedule(checkpoint.schedule, h);
    const next = checkpoint.next ?? null;
    if (next !== null) {
      checkSchedule(next.schedule, h);
      if (next.electedAt > h)
        throw new LightError(
          'MALFORMED',
          h,
          `next schedule elected at ${next.electedAt}, after the checkpoint`,
        );
    }
    this.#head = checkpoint.header;
    this.#headId = headerId(checkpoint.header);
    this.#schedule = [...checkpoint.schedule];
    this.#next = next === null ? null : { schedule: [...next.schedule], electedAt: next.electedAt };
  }

  /** The latest final header. */
  get head(): BlockHeader {
    return this.#head;
  }

  /** The latest final header's id. */
  get headId(): Uint8Array {
    return this.#headId;
  }

  /** The schedule whose certificates the client accepts. */
  get schedule(): readonly string[] {
    return this.#schedule;
  }

  /** A proven schedule that has not certified a block yet, and the height that elected it. */
  get nextSchedule(): { readonly schedule: readonly string[]; readonly electedAt: number } | null {
    return this.#next;
  }

  /** A checkpoint of the current head, schedule and next schedule (to persist and resume from). */
  checkpoint(): Checkpoint {
    return { header: this.#head, schedule: this.#schedule, next: this.#next };
  }

  /**
   * Moves to a newer trusted checkpoint (an operator's or a config's); refuses one at or below the
   * head, so nothing can roll the client back.
   */
  resetTo(checkpoint: Checkpoint): LightError | undefined {
    if (checkpoint.header.chainId !== this.#head.chainId)
      return new LightError('WRONG_CHAIN', checkpoint.header.height, `chain '${checkpoint.header.chainId}'`);
    if (checkpoint.header.height <= this.#head.height)
      return new LightError(
        'STALE_CHECKPOINT',
        checkpoint.header.height,
        `the client is already at final height ${this.#head.height}`,
      );
    try {
      this.#take(checkpoint);
    } catch (e) {
      if (e instanceof LightError) return e;
      throw e;
    }
    return undefined;
  }

  /** Checks an update completely, then applies it; the client is unchanged when it is refused. */
  apply(update: FinalityUpdate): UpdateResult {
    const h = update.header;
    const fail = (error: LightError): UpdateResult => ({ ok: false, error });
    if (h.chainId !== this.#head.chainId)
      return fail(
        new LightError('WRONG_CHAIN', h.height, `chain '${h.chainId}', expected '${this.#head.chainId}'`),
      );
    if (h.height <= this.#head.height)
      return fail(
        new LightError(
          'STALE_UPDATE',
          h.height,
          `the client is already at final height ${this.#head.height}`,
        ),
      );
    if (h.timeMs <= this.#head.timeMs)
      return fail(
        new LightError('TIME_NOT_INCREASING', h.height, `time ${h.timeMs} <= head time ${this.#head.timeMs}`),
      );
    const blockId = headerId(h);
    const cert = { chainId: h.chainId, height: h.height, blockId, votes: update.votes };
    let activated = false;
    let refusal: DposError | undefined = checkCertificate(cert, this.#schedule, h.chainId);
    if (refusal !== undefined && this.#next !== null && h.height > this.#next.electedAt) {
      const byNext = checkCertificate(cert, this.#next.schedule, h.chainId);
      if (byNext === undefined) {
        refusal = undefined;
        activated = true;
      }
    }
    if (refusal !== undefined)
      return fail(new LightError('BAD_CERTIFICATE', h.height, refusal.message, refusal.code));
    let next = activated ? null : this.#next;
    const change = update.scheduleChange;
    if (change !== null) {
      const bytes = encodeSchedule(change.schedule);
      if (!smtVerify(h.stateRoot, keyHash(stateKey.schedule()), bytes, change.proof))
        return fail(
          new LightError(
            'UNPROVEN_SCHEDULE',
            h.height,
            'the schedule is not the one recorded under the state root',
          ),
        );
    }
    const proven: ProvenKey[] = [];
    for (const p of update.proofs) {
      const err = verifyKey(h, p);
      if (err !== undefined) return fail(err);
      proven.push({ key: p.key, value: p.value });
    }
    // Everything checked: apply.
    if (activated) this.#schedule = this.#next!.schedule;
    let scheduleProven = false;
    if (change !== null && !sameSchedule(change.schedule, this.#schedule)) {
      next = { schedule: [...change.schedule], electedAt: h.height };
      scheduleProven = true;
    }
    this.#next = next;
    this.#recent.set(this.#head.height, this.#head);
    if (this.#recent.size > RECENT_FINAL_HEADERS) this.#recent.delete(this.#recent.keys().next().value!);
    this.#head = h;
    this.#headId = blockId;
    return { ok: true, header: h, scheduleActivated: activated, scheduleProven, proven };
  }

  /**
   * Checks a state proof against the head or one of the RECENT_FINAL_HEADERS final headers before
   * it (a proof made a moment ago still checks after the next update); returns the proven key or the
   * LightError.
   */
  verify(p: StateProof): ProvenKey | LightError {
    const h = p.height === this.#head.height ? this.#head : this.#recent.get(p.height);
    if (h === undefined)
      return new LightError(
        'PROOF_NOT_AT_HEAD',
        p.height,
        `the proof is for height ${p.height}, not a final height the client holds (head ${this.#head.height})`,
      );
    return verifyKey(h, p.proof) ?? { key: p.proof.key, value: p.proof.value };
  }

  /** A grant's record at the head (null when the chain has none), or the LightError. */
  grant(id: string, p: StateProof): Grant | null | LightError {
    return this.#record(stateKey.grant(id), p, decodeGrant);
  }

  /** An account's record at the head (null when never touched), or the LightError. */
  account(address: string, p: StateProof): Account | null | LightError {
    return this.#record(stateKey.account(address), p, decodeAccount);
  }

  /** An order's record (null when the chain has none), or the LightError. */
  order(id: string, p: StateProof): Order | null | LightError {
    return this.#record(stateKey.order(id), p, decodeOrder);
  }

  /** An anchored descriptor's record (null when the chain has none), or the LightError. */
  descriptor(id: string, p: StateProof): AnchoredDescriptor | null | LightError {
    return this.#record(stateKey.descriptor(id), p, decodeDescriptor);
  }

  #record<T>(key: string, p: StateProof, decode: (b: Uint8Array) => T): T | null | LightError {
    if (p.proof.key !== key)
      return new LightError('WRONG_PROOF', p.height, `the proof is for '${p.proof.key}', not '${key}'`);
    const r = this.verify(p);
    if (r instanceof LightError) return r;
    if (r.value === null) return null;
    try {
      return decode(r.value);
    } catch (e) {
      if (e instanceof CodecError)
        return new LightError('MALFORMED', p.height, `proven '${key}': ${e.message}`);
      throw e;
    }
  }
}

function verifyKey(h: BlockHeader, p: KeyProofWire): LightError | undefined {
  if (smtVerify(h.stateRoot, keyHash(p.key), p.value, p.proof)) return undefined;
  return new LightError(
    'WRONG_PROOF',
    h.height,
    `the proof of '${p.key}' does not show ${p.value === null ? 'its absence' : 'that value'} under state root ${toHex(h.stateRoot).slice(0, 16)}...`,
  );
}

function sameSchedule(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function checkSchedule(schedule: readonly string[], height: number): void {
  const bad =
    schedule.length === 0 ||
    schedule.some((a, i) => !/^[0-9a-f]{64}$/.test(a) || (i > 0 && a <= schedule[i - 1]!));
  if (bad)
    throw new LightError(
      'MALFORMED',
      height,
      'a schedule is 1 or more distinct hex addresses in ascending order',
    );
}
