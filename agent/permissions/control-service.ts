/**
 * `ControlService`: one control command from arrival to receipt. It decodes the bytes, runs the
 * checks (checks.ts) with the nonce window and the rate history from the permission store, plans
 * the frames with the actuator, and queues them; when the command's turn on the bus comes the grant
 * is checked once more (a revocation while it waited refuses it with nothing written). Then the
 * attempt goes to the audit log (an execution with its `controlExec` transaction in the same
 * commit) and a receipt signed by the device key goes back. Every refusal writes zero frames.
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
  checkInterlocks,
  checkRate,
  checkScope,
  checkSignedRequest,
  type LiveSignal,
  type Refusal,
} from './checks.js';
import { type GrantRegistry, grantState } from './grant-registry.js';

/** Counters the control service reports. */
export const CONTROL_COUNTERS = [
  'control.received',
  'control.executed',
  'control.refused',
  'control.failed',
] as const;

export interface ControlServiceOptions {
  readonly registry: GrantRegistry;
  readonly store: PermissionStore;
  readonly actuator: CanActuator;
  /** The latest value of a signal. */
  readonly live: (path: string) => LiveSignal;
  readonly policy: CheckPolicy;
  /** Wall clock, ms since the epoch. */
  readonly nowMs: () => number;
  /** Signs receipts and `controlExec` transactions. */
  readonly device: Ed25519Signer;
  /** Chain id the device's transactions name. */
  readonly chainId: string;
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
  #lastPruneMs = 0;

  constructor(options: ControlServiceOptions) {
    this.#o = options;
    options.metrics.declare(...CONTROL_COUNTERS);
  }

  /** Handles a command that arrived on the topic of `topicGrantId`. Never throws for bad input. */
  async handle(topicGrantId: string, payload: Uint8Array): Promise<ControlResult> {
    const o = this.#o;
    o.metrics.inc('control.received');
    const nowMs = o.nowMs();
    this.#prune(nowMs);
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
      checkSignedRequest(grant, cmd, 'control', nowMs, o.policy) ??
      (o.store.recordNonce(cmd.grantId, cmd.nonce, cmd.issuedMs)
        ? undefined
        : { code: 'REPLAYED' as const, detail: `nonce ${cmd.nonce} was seen before` });
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
        nowMs,
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
    // Reserve the rate slot now, so commands queued together count against the limit.
    executions.push(nowMs);
    let written = 0;
    try {
      const r = await o.actuator.execute(frames, () => {
        const g = o.registry.get(cmd.grantId)!;
        const state = grantState(g, o.nowMs());
        return state === 'active' ? undefined : state;
      });
      written = r.framesWritten;
      if (r.refusedBy !== undefined) {
        executions.splice(executions.indexOf(nowMs), 1);
        const code = r.refusedBy === 'revoked' ? 'REVOKED' : 'EXPIRED';
        return this.#finish(o.nowMs(), topicGrant, cmd, id, 'refused', {
          code,
          detail: `${r.refusedBy} while the command waited for the bus`,
        });
      }
      return this.#finish(o.nowMs(), topicGrant, cmd, id, 'executed', undefined, written);
    } catch (err) {
      if (!(err instanceof ActuatorError)) throw err;
      return this.#finish(o.nowMs(), topicGrant, cmd, id, 'failed', undefined, err.framesWritten, err);
    }
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

  #prune(nowMs: number): void {
    if (nowMs - this.#lastPruneMs < 60_000) return;
    this.#lastPruneMs = nowMs;
    this.#o.store.pruneNonces(nowMs - 2 * this.#o.policy.skewMs);
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
