/**
 * `ControlService`: one control command from arrival to receipt. It decodes the bytes, runs the
 * checks (checks.ts) with the nonce window and the rate history from the permission store, plans
 * the frames with the actuator, and queues them. Then the attempt goes to the audit log (an
 * execution with its `controlExec` transaction in the same commit) and a receipt signed by the
 * device key goes back. Every refusal writes zero frames.
 *
 * The queue (issue 14, attack 5: commands used to wait behind each other for up to 10 s each and
 * then go out on checks made at arrival, so an unlock queued behind three flash-lights went out at
 * 80 km/h):
 * - it is bounded per grant and in total (QUEUE_FULL), so one grantee cannot park a backlog of
 *   commands in front of the bus, nor all of them together;
 * - a command that waited longer than `maxWaitMs` for its turn is refused there (QUEUE_EXPIRED):
 *   the grantee asked for it under conditions that are no longer the present ones;
 * - immediately before every frame, at the frame's time, `checkAtBus` checks again the grant's
 *   state, the scope, the interlocks and the conditions; a refusal before the first frame writes
 *   nothing (`refused`), one between frames stops the sequence there (`failed`, with the frames
 *   written, recorded on chain like any started execution).
 * Time in the queue is measured on a monotonic clock, so a wall clock step cannot stretch it.
 *
 * The wall clock (issue 14, attack 6: after it stepped back, quiet signals looked fresh, pruned
 * nonces replayed and ended grants came back): signal ages are monotonic (checks.ts); the nonce
 * window hangs on each grant's high-water mark of issue times, kept in the store, and is pruned on
 * a monotonic cadence; `nowMs` is the DeviceClock's time, which never goes back; and while the
 * DeviceClock finds the wall clock unsound, every command is refused (CLOCK_UNSOUND), at arrival
 * and again before each frame.
 */
import {
  CodecError,
  type ControlCommand,
  type ControlOutcome,
  decodeCommand,
  type Ed25519Signer,
  encodeCanonical,
  encodeSignedTx,
  MAX_COMMAND_BYTES,
  type Receipt,
  rawMessageId,
  sha256,
  signReceipt,
  signTx,
} from '../../chain/index.js';
import { ActuatorError, type CanActuator } from '../../firmware-bridge/index.js';
import type { Logger, Metrics } from '../../process/index.js';
import type { AuditEntry, PermissionStore } from '../store/index.js';
import {
  type CheckPolicy,
  checkAtBus,
  checkInterlocks,
  checkRate,
  checkScope,
  checkSignedRequest,
  type LiveSignal,
  type Refusal,
} from './checks.js';
import type { DeviceClock } from './device-clock.js';
import type { GrantRegistry } from './grant-registry.js';
import { RefusalSummary } from './refusal-summary.js';

/** Counters the control service reports. */
export const CONTROL_COUNTERS = [
  'control.received',
  'control.executed',
  'control.refused',
  'control.failed',
] as const;

/** Bounds of the control queue (waiting and running commands). */
export interface ControlQueuePolicy {
  /** Most commands of one grant in the queue. */
  readonly maxPerGrant: number;
  /** Most commands in the queue, all grants together. */
  readonly maxTotal: number;
  /** Longest a command may wait for its turn on the bus, ms. */
  readonly maxWaitMs: number;
}

/**
 * The default bounds: a grantee may line up a few commands (lock, then flash the lights), the bus
 * is never promised more than 16, and 3 s is longer than any sane wait behind the profile's
 * sequences (a hazard-light flash takes 600 ms) while short enough that the car is still where the
 * grantee saw it.
 */
export const CONTROL_QUEUE_DEFAULTS: ControlQueuePolicy = { maxPerGrant: 4, maxTotal: 16, maxWaitMs: 3000 };

export interface ControlServiceOptions {
  readonly registry: GrantRegistry;
  readonly store: PermissionStore;
  readonly actuator: CanActuator;
  /** The latest value of a signal. */
  readonly live: (path: string) => LiveSignal;
  readonly policy: CheckPolicy;
  /** The device's time, ms since the epoch (DeviceClock.nowMs: never goes back). */
  readonly nowMs: () => number;
  /** Whether the wall clock is sound; absent: always taken as sound. */
  readonly clock?: Pick<DeviceClock, 'status'>;
  /** Signs receipts and `controlExec` transactions. */
  readonly device: Ed25519Signer;
  /** Chain id the device's transactions name. */
  readonly chainId: string;
  /** Queue bounds (default CONTROL_QUEUE_DEFAULTS). */
  readonly queue?: Partial<ControlQueuePolicy>;
  /** Monotonic ms clock for the time in the queue (default performance.now). */
  readonly monoMs?: () => number;
  /**
   * Counts refusals of unauthenticated messages instead of auditing each (attack 10); default: one
   * of its own on the store, per minute.
   */
  readonly summary?: RefusalSummary;
  /** Sends a receipt (MQTT: `<prefix>/<vehicle>/control/<grantId>/receipt`). */
  readonly publishReceipt?: (grantId: string, bytes: Uint8Array) => void;
  readonly metrics: Metrics;
  readonly logger: Logger;
}

/** What handling a command produced. */
export interface ControlResult {
  readonly receipt: Receipt;
  readonly receiptBytes: Uint8Array;
}

const RESULT_CODES = { executed: 0, failed: 1 } as const;

export class ControlService {
  readonly #o: ControlServiceOptions;
  /** Executed (or started) times per grant, seeded from the audit log on first use. */
  readonly #executions = new Map<string, number[]>();
  readonly #queue: ControlQueuePolicy;
  readonly #mono: () => number;
  readonly #summary: RefusalSummary;
  /** Commands queued or on the bus, per grant and in total. */
  readonly #queued = new Map<string, number>();
  #queuedTotal = 0;
  #lastPruneMono = Number.NEGATIVE_INFINITY;

  constructor(options: ControlServiceOptions) {
    this.#o = options;
    this.#queue = { ...CONTROL_QUEUE_DEFAULTS, ...options.queue };
    this.#mono = options.monoMs ?? (() => performance.now());
    this.#summary =
      options.summary ??
      new RefusalSummary({ append: (e) => options.store.appendAudit(e), monoMs: this.#mono });
    options.metrics.declare(...CONTROL_COUNTERS);
  }

  /** Commands queued or on the bus now. */
  get queued(): number {
    return this.#queuedTotal;
  }

  /** Handles a command that arrived on the topic of `topicGrantId`. Never throws for bad input. */
  async handle(topicGrantId: string, payload: Uint8Array): Promise<ControlResult> {
    const o = this.#o;
    const arrivedMono = this.#mono();
    o.metrics.inc('control.received');
    const nowMs = o.nowMs();
    this.#prune(arrivedMono);
    const topicGrant = /^[0-9a-f]{64}$/.test(topicGrantId) ? topicGrantId : null;
    if (payload.length > MAX_COMMAND_BYTES)
      return this.#finish(nowMs, topicGrant, undefined, rawMessageId(payload), 'refused', {
        code: 'OVERSIZED',
        detail: `${payload.length} bytes; at most ${MAX_COMMAND_BYTES}`,
      });
    let cmd: ControlCommand;
    try {
      cmd = decodeCommand(payload);
    } catch (err) {
      if (!(err instanceof CodecError)) throw err;
      return this.#finish(nowMs, topicGrant, undefined, rawMessageId(payload), 'refused', {
        code: 'MALFORMED',
        detail: err.message,
      });
    }
    const id = Buffer.from(cmd.hash).toString('hex');
    if (cmd.grantId !== topicGrantId)
      return this.#finish(nowMs, topicGrant, cmd, id, 'refused', {
        code: 'TOPIC_MISMATCH',
        detail: `the command names grant ${cmd.grantId.slice(0, 16)}..., the topic ${topicGrantId.slice(0, 16)}...`,
      });
    const grant = o.registry.get(cmd.grantId);
    const refusal =
      checkSignedRequest(grant, cmd, 'control', nowMs, o.policy, nowMs, () => this.#clockRefusal()) ??
      (o.store.recordNonce(cmd.grantId, cmd.nonce, cmd.issuedMs, this.#nonceWindowMs())
        ? undefined
        : {
            code: 'REPLAYED' as const,
            detail: `nonce ${cmd.nonce} was seen before, or the command was issued more than ${this.#nonceWindowMs()} ms before a later one of this grant`,
          });
    if (refusal !== undefined || grant === undefined)
      return this.#finish(nowMs, topicGrant, cmd, id, 'refused', refusal!);
    const profileCommand = o.actuator.command(cmd.command);
    const executions = this.#history(cmd.grantId, nowMs);
    const refusal2 =
      checkScope(grant, cmd, profileCommand) ??
      checkRate(grant, executions, nowMs) ??
      checkInterlocks(
        grant,
        profileCommand!,
        o.actuator.profile.engineRunningPath,
        o.live,
        this.#mono(),
        o.policy.maxSignalAgeMs,
      );
    if (refusal2 !== undefined) return this.#finish(nowMs, topicGrant, cmd, id, 'refused', refusal2);
    let frames: ReturnType<CanActuator['plan']>;
    try {
      frames = o.actuator.plan(cmd.command, cmd.args);
    } catch (err) {
      if (!(err instanceof ActuatorError)) throw err;
      return this.#finish(nowMs, topicGrant, cmd, id, 'refused', { code: 'BAD_ARGS', detail: err.message });
    }
    const full = this.#queueFull(cmd.grantId);
    if (full !== undefined) return this.#finish(nowMs, topicGrant, cmd, id, 'refused', full);
    // Reserve the rate slot now, so commands queued together count against the limit.
    executions.push(nowMs);
    this.#enqueue(cmd.grantId, 1);
    let stop: Refusal | undefined;
    const guard = (index: number): string | undefined => {
      if (index === 0) {
        const waitedMs = this.#mono() - arrivedMono;
        if (waitedMs > this.#queue.maxWaitMs)
          stop = {
            code: 'QUEUE_EXPIRED',
            detail: `waited ${Math.round(waitedMs)} ms for the bus; at most ${this.#queue.maxWaitMs} ms`,
          };
      }
      stop ??=
        this.#clockRefusal() ??
        checkAtBus(
          o.registry.get(cmd.grantId) ?? grant,
          cmd,
          o.actuator.command(cmd.command),
          o.actuator.profile.engineRunningPath,
          o.live,
          o.nowMs(),
          this.#mono(),
          o.policy.maxSignalAgeMs,
        );
      return stop?.code;
    };
    try {
      const r = await o.actuator.execute(frames, guard);
      if (stop !== undefined && r.framesWritten === 0) {
        executions.splice(executions.indexOf(nowMs), 1);
        return this.#finish(o.nowMs(), topicGrant, cmd, id, 'refused', {
          code: stop.code,
          detail: `at its turn on the bus: ${stop.detail}`,
        });
      }
      if (stop !== undefined)
        return this.#finish(
          o.nowMs(),
          topicGrant,
          cmd,
          id,
          'failed',
          {
            code: stop.code,
            detail: `stopped after ${r.framesWritten} of ${frames.length} frames: ${stop.detail}`,
          },
          r.framesWritten,
        );
      return this.#finish(o.nowMs(), topicGrant, cmd, id, 'executed', undefined, r.framesWritten);
    } catch (err) {
      if (!(err instanceof ActuatorError)) throw err;
      return this.#finish(o.nowMs(), topicGrant, cmd, id, 'failed', undefined, err.framesWritten, err);
    } finally {
      this.#enqueue(cmd.grantId, -1);
    }
  }

  /** The refusal when the queue has no room for another command of `grantId`. */
  #queueFull(grantId: string): Refusal | undefined {
    const q = this.#queue;
    const mine = this.#queued.get(grantId) ?? 0;
    if (mine >= q.maxPerGrant)
      return {
        code: 'QUEUE_FULL',
        detail: `${mine} commands of this grant wait for the bus; at most ${q.maxPerGrant}`,
      };
    if (this.#queuedTotal >= q.maxTotal)
      return {
        code: 'QUEUE_FULL',
        detail: `${this.#queuedTotal} commands wait for the bus; at most ${q.maxTotal}`,
      };
    return undefined;
  }

  #enqueue(grantId: string, delta: 1 | -1): void {
    const n = (this.#queued.get(grantId) ?? 0) + delta;
    if (n === 0) this.#queued.delete(grantId);
    else this.#queued.set(grantId, n);
    this.#queuedTotal += delta;
  }

  #history(grantId: string, nowMs: number): number[] {
    let h = this.#executions.get(grantId);
    if (h === undefined) {
      const limit = this.#o.registry.get(grantId)?.terms.commandLimit;
      h = limit === undefined ? [] : this.#o.store.executionsSince(grantId, nowMs - limit.perMs);
      this.#executions.set(grantId, h);
    }
    const perMs = this.#o.registry.get(grantId)?.terms.commandLimit?.perMs ?? 0;
    while (h.length > 0 && h[0]! <= nowMs - perMs) h.shift();
    return h;
  }

  /**
   * Issue times more than this before a grant's latest are refused: twice the skew, since both
   * ends of the accepted +-skew may be used.
   */
  #nonceWindowMs(): number {
    return 2 * this.#o.policy.skewMs;
  }

  /** Forgets nonces the high-water marks refuse anyway, at most once a minute (monotonic). */
  #prune(monoMs: number): void {
    if (monoMs - this.#lastPruneMono < 60_000) return;
    this.#lastPruneMono = monoMs;
    this.#o.store.pruneNonces(this.#nonceWindowMs());
  }

  /** CLOCK_UNSOUND while the DeviceClock does not trust the wall clock (attack 6). */
  #clockRefusal(): Refusal | undefined {
    const s = this.#o.clock?.status();
    if (s === undefined || s.sound) return undefined;
    return {
      code: 'CLOCK_UNSOUND',
      detail: `control is off while the device's time is unsound: ${s.reasons.join('; ')}`,
    };
  }

  #finish(
    atMs: number,
    grantId: string | null,
    cmd: ControlCommand | undefined,
    messageId: string,
    outcome: ControlOutcome,
    refusal: Refusal | undefined,
    framesWritten = 0,
    error?: ActuatorError,
  ): ControlResult {
    const o = this.#o;
    const reason = refusal?.code ?? (error === undefined ? 'OK' : error.code);
    const detail = refusal?.detail ?? error?.message ?? `${framesWritten} frame(s) written`;
    const entry: AuditEntry = {
      atMs,
      kind: 'control',
      grantId: cmd?.grantId ?? grantId,
      actor: cmd?.signer ?? '',
      command: cmd?.command ?? '',
      args: JSON.stringify(cmd?.args ?? {}),
      nonce: cmd?.nonce ?? '',
      messageId,
      outcome,
      reason,
      detail,
      framesWritten,
    };
    const records = outcome !== 'refused' && cmd !== undefined;
    // Attack 10: what nobody proved a grantee sent is counted per window, not written row by row.
    if (refusal !== undefined && outcome === 'refused' && RefusalSummary.unauthenticated(refusal.code)) {
      const held = entry.grantId !== null && o.registry.get(entry.grantId) !== undefined;
      this.#summary.note('control', held ? entry.grantId : null, refusal, messageId, atMs);
    } else
      o.store.appendAudit(
        entry,
        records
          ? (nonce) => ({
              kind: 'controlExec',
              bytes: encodeSignedTx(
                signTx(
                  {
                    chainId: o.chainId,
                    kind: 'controlExec',
                    sender: Buffer.from(o.device.publicKey).toString('hex'),
                    nonce,
                    fee: 0n,
                    body: {
                      grant: cmd.grantId,
                      command: cmd.command,
                      argsHash: sha256(
                        encodeCanonical(Object.entries(cmd.args).sort(([a], [b]) => (a < b ? -1 : 1))),
                      ),
                      resultCode: RESULT_CODES[outcome as 'executed' | 'failed'],
                    },
                  },
                  o.device,
                ),
              ),
            })
          : undefined,
      );
    o.metrics.inc(`control.${outcome}`);
    const receipt: Receipt = {
      grantId: entry.grantId,
      commandId: messageId,
      outcome,
      reason,
      detail,
      framesWritten,
      atMs,
    };
    const receiptBytes = signReceipt(receipt, o.device);
    if (entry.grantId !== null) o.publishReceipt?.(entry.grantId, receiptBytes);
    (outcome === 'executed' ? o.logger.info : o.logger.warn).call(
      o.logger,
      { grant: entry.grantId, command: entry.command, outcome, reason },
      `control command ${outcome}`,
    );
    return { receipt, receiptBytes };
  }
}
