/**
 * The light client: what the agent embeds to know what the chain has made final without following
 * every block. It holds one final header (the head), the schedule in force in the head's round, the
 * schedule consensus fixed for the next round, and the chain's round parameters: memory
 * O(schedule), a few kilobytes with 21 producers.
 *
 * - It starts from a trusted checkpoint (a final header, both schedules, the round parameters),
 *   refused when older than the weak-subjectivity window (stake that elected its schedule may since
 *   have left).
 * - An update is a newer final header with the votes of a quorum (finalityQuorum: 15 of 21) of the
 *   schedule in force in that header's round.
 * - Schedules come only from the `sched/active` record (chain/state/active-schedule.ts), which the
 *   state machine writes at round boundaries as consensus runs them: the schedule of a block's round
 *   and of the next one. An update in a later round than the head must carry that record proven
 *   under its own state root; the record must name a schedule the client already trusts for that
 *   round (see #certifier), and that schedule must certify the header. The record's next schedule
 *   then certifies the round after.
 * - State proofs (a grant, a revocation, a balance) are checked against the head's state root.
 *
 * Defence (issue 14, attack 1, "a forged chain through a schedule that never ran"): an election
 * recorded at one final block is not a schedule; a large holder can vote producers in for one block
 * and out the next. The client used to follow the `sched` election record proven at any final
 * block, so three keys voted in for one block could sign a made-up chain. It now follows only the
 * schedule consensus activated, proven by the record written at the round boundary and checked
 * against the round of the header (test/unit/chain/light/schedule-attack.test.ts).
 *
 * Trust: as for any DPoS light client, more than two thirds of each schedule it follows are honest.
 * A server can withhold updates (the client then stays behind) but cannot make it accept a header
 * no quorum signed, roll it back, or accept a schedule consensus did not run.
 */
import { CodecError } from '../codec/canonical.js';
import { toHex } from '../crypto/hash.js';
import { checkCertificate, type DposError } from '../dpos/finality.js';
import {
  type ActiveSchedule,
  encodeActiveSchedule,
  type RoundParams,
  roundAt,
} from '../state/active-schedule.js';
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
      /** True when the header is certified by another schedule than the head was: a change activated. */
      readonly scheduleActivated: boolean;
      /** True when the update proved a next-round schedule that differs from the one in force. */
      readonly scheduleProven: boolean;
      readonly proven: readonly ProvenKey[];
    }
  | { readonly ok: false; readonly error: LightError };

/** Final headers before the head that state proofs may still refer to (about 30 s of blocks). */
export const RECENT_FINAL_HEADERS = 64;

export class LightClient {
  #head: BlockHeader;
  /** The last RECENT_FINAL_HEADERS final headers before the head, by height. */
  readonly #recent = new Map<number, BlockHeader>();
  #headId: Uint8Array;
  /** The schedule in force in the head's round. */
  #schedule: readonly string[];
  /** The schedule of the round after the head's. */
  #next: readonly string[];
  #rounds: RoundParams;

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
    this.#next = [];
    this.#rounds = checkpoint.rounds;
    this.#take(checkpoint);
  }

  #take(checkpoint: Checkpoint): void {
    const h = checkpoint.header.height;
    checkSchedule(checkpoint.schedule, h);
    checkSchedule(checkpoint.next, h);
    const r = checkpoint.rounds;
    if (
      !Number.isSafeInteger(r.slotMs) ||
      !Number.isSafeInteger(r.roundSlots) ||
      r.slotMs < 1 ||
      r.roundSlots < 1 ||
      r.genesisTimeMs > checkpoint.header.timeMs
    )
      throw new LightError(
        'MALFORMED',
        h,
        'round parameters: a slot and a round of at least 1, a genesis time not after the header',
      );
    this.#head = checkpoint.header;
    this.#headId = headerId(checkpoint.header);
    this.#schedule = [...checkpoint.schedule];
    this.#next = [...checkpoint.next];
    this.#rounds = { ...r };
  }

  /** The latest final header. */
  get head(): BlockHeader {
    return this.#head;
  }

  /** The latest final header's id. */
  get headId(): Uint8Array {
    return this.#headId;
  }

  /** The schedule in force in the head's round, whose certificates the client accepts there. */
  get schedule(): readonly string[] {
    return this.#schedule;
  }

  /** The schedule consensus fixed for the round after the head's. */
  get nextSchedule(): readonly string[] {
    return this.#next;
  }

  /** The chain's round parameters, from the checkpoint. */
  get rounds(): RoundParams {
    return this.#rounds;
  }

  /** The round of a header time under the chain's round parameters. */
  roundOf(timeMs: number): number {
    return roundAt(this.#rounds, timeMs);
  }

  /** A checkpoint of the current head, both schedules and the round parameters (to persist and resume from). */
  checkpoint(): Checkpoint {
    return { header: this.#head, schedule: this.#schedule, next: this.#next, rounds: this.#rounds };
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
    const record = update.schedule?.record ?? null;
    const certifier = this.#certifier(h, record);
    if (certifier instanceof LightError) return fail(certifier);
    const blockId = headerId(h);
    const cert = { chainId: h.chainId, height: h.height, blockId, votes: update.votes };
    const refusal: DposError | undefined = checkCertificate(cert, certifier, h.chainId);
    if (refusal !== undefined)
      return fail(new LightError('BAD_CERTIFICATE', h.height, refusal.message, refusal.code));
    if (update.schedule !== null) {
      const bytes = encodeActiveSchedule(update.schedule.record);
      if (!smtVerify(h.stateRoot, keyHash(stateKey.activeSchedule()), bytes, update.schedule.proof))
        return fail(
          new LightError(
            'UNPROVEN_SCHEDULE',
            h.height,
            'the schedule record is not the one under the state root',
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
    const activated = !sameSchedule(certifier, this.#schedule);
    const next = record === null ? this.#next : record.next;
    const scheduleProven = record !== null && !sameSchedule(record.next, certifier);
    this.#schedule = [...certifier];
    this.#next = [...next];
    this.#recent.set(this.#head.height, this.#head);
    if (this.#recent.size > RECENT_FINAL_HEADERS) this.#recent.delete(this.#recent.keys().next().value!);
    this.#head = h;
    this.#headId = blockId;
    return { ok: true, header: h, scheduleActivated: activated, scheduleProven, proven };
  }

  /**
   * The schedule that must certify header `h`, given the schedule record the update claims for it,
   * or why the client cannot know it. The record is trusted only once that schedule's certificate
   * and the record's proof under the certified root have been checked; here it must already name a
   * schedule the client trusts for h's round:
   * - in the head's round, the schedule in force (the next round's, if given, must be the one known);
   * - in the next round, the schedule consensus fixed for it, activated in that round exactly when
   *   it differs from the head's;
   * - further ahead (the rounds between had no update), the schedule in force or the next one:
   *   a change the client did not see cannot be followed (it needs an update in between, or a new
   *   checkpoint), and a schedule that never ran is never among them.
   * Defence against attack 1 of issue 14: nothing else makes the client trust new keys.
   */
  #certifier(h: BlockHeader, record: ActiveSchedule | null): readonly string[] | LightError {
    const headRound = this.roundOf(this.#head.timeMs);
    const round = this.roundOf(h.timeMs);
    const untrusted = (why: string) => new LightError('UNTRUSTED_SCHEDULE', h.height, why);
    if (record === null) {
      if (round === headRound) return this.#schedule;
      return new LightError(
        'UNPROVEN_SCHEDULE',
        h.height,
        `the header is in round ${round}, after the head's round ${headRound}: the update must prove the schedule in force`,
      );
    }
    if (record.round > round || record.activatedAt > h.height)
      return untrusted(
        `the record says its schedule activated at height ${record.activatedAt} in round ${record.round}, after the header (round ${round})`,
      );
    const inForce = record.schedule;
    if (round === headRound) {
      if (!sameSchedule(inForce, this.#schedule) || !sameSchedule(record.next, this.#next))
        return untrusted('the record is not the schedule in force in the head round');
      return inForce;
    }
    const changed = !sameSchedule(inForce, this.#schedule);
    if (round === headRound + 1) {
      if (!sameSchedule(inForce, this.#next))
        return untrusted(`the record is not the schedule consensus fixed for round ${round}`);
      if (changed !== (record.round === round) || (changed && record.activatedAt <= this.#head.height))
        return untrusted(
          `the record's activation (height ${record.activatedAt}, round ${record.round}) does not match round ${round}`,
        );
      return inForce;
    }
    if (!changed) return inForce;
    if (sameSchedule(inForce, this.#next) && record.round > headRound) return inForce;
    return untrusted(
      `the header is in round ${round}, ${round - headRound} rounds after the head, under a schedule the client has not followed`,
    );
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
