/**
 * The checks a control command passes before anything reaches the bus, as functions of their
 * inputs (the grant, the command, the time, the live signals, the nonce window's answer). Order:
 *
 *   grant known -> signature verifies under the key the command names -> that key is the grantee
 *   -> control grant -> not revoked -> valid now (from..to) -> issue time within +-skew
 *   -> nonce never seen (recorded from here on, so a command refused later cannot be replayed once
 *      conditions change) -> command in scope -> the profile has it and its arguments fit
 *   -> rate limit -> the profile's interlocks, the engine rule, the grant's conditions
 *
 * Live signals must be recent (`maxSignalAgeMs`): an interlock on a signal that has gone quiet
 * refuses, since "no news" is not "not moving". Their age is measured on the monotonic clock from
 * when the value was received, never from the sample's own wall-clock stamp (issue 14, attack 6:
 * after the wall clock stepped back an hour, a `Speed=0` sample stamped before the step looked an
 * hour younger than now, so it passed every interlock long after the speed signal went quiet).
 *
 * A command that passed may still wait for the bus behind others (ControlService's queue): what
 * was true when it arrived may not be when its frames go out. `checkAtBus` repeats the checks that
 * can change with time (grant state, scope against the profile, interlocks, conditions) right
 * before each frame (issue 14, attack 5).
 */

import {
  type ControlCommand,
  type PullRequest,
  type SampleValue,
  signatureValid,
} from '../../chain/index.js';
import type { ProfileCommand } from '../../firmware-bridge/index.js';
import { grantEndMs, grantState, type HeldGrant } from './grant-registry.js';
import { compare } from './terms.js';

/** Every reason a command or pull is refused; receipts and the audit log carry these codes. */
export const REFUSAL_CODES = [
  'MALFORMED',
  'OVERSIZED',
  'TOPIC_MISMATCH',
  'UNKNOWN_GRANT',
  'BAD_SIGNATURE',
  'WRONG_GRANTEE',
  'WRONG_KIND',
  'REVOKED',
  'NOT_YET_VALID',
  'EXPIRED',
  'UNPAID',
  'STALE_ISSUE_TIME',
  'FUTURE_ISSUE_TIME',
  'REPLAYED',
  'OUT_OF_SCOPE',
  'UNSUPPORTED_COMMAND',
  'BAD_ARGS',
  'RATE_LIMITED',
  'INTERLOCK',
  'CONDITION',
  /**
   * The device's wall clock is known to be unsound (it stepped back, or disagrees with GNSS or
   * chain time): control is refused until it is sound again (issue 14, attack 6).
   */
  'CLOCK_UNSOUND',
  /** The control queue holds as many commands as it may (for the grant, or in total). */
  'QUEUE_FULL',
  /** The command waited longer than the queue's bound for its turn on the bus. */
  'QUEUE_EXPIRED',
] as const;
export type RefusalCode = (typeof REFUSAL_CODES)[number];

/** A refusal: the code and a sentence saying what was found and what was expected. */
export interface Refusal {
  readonly code: RefusalCode;
  readonly detail: string;
}

/**
 * The latest value of a signal: its sample's wall time in ms (what a grantee is told) and the
 * monotonic time in ms at which the device received it (what freshness is judged on).
 */
export type LiveSignal =
  | { readonly value: SampleValue; readonly tMs: number; readonly receivedMonoMs: number }
  | undefined;

/** The device's policy for checks. */
export interface CheckPolicy {
  /** A command's issue time may differ from the device clock by this much, ms. */
  readonly skewMs: number;
  /** An interlock's signal must have been received at most this long ago (monotonic), ms. */
  readonly maxSignalAgeMs: number;
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Checks shared by commands and pulls: grant, signature, grantee, kind, state, `clock` (the
 * control service's CLOCK_UNSOUND: an issue time means nothing against a clock in doubt), issue
 * time. The grant's state is judged at `validityNowMs` (DeviceClock.validityNowMs: later than
 * `nowMs` while the clock is in doubt), the issue time against `nowMs`.
 */
export function checkSignedRequest(
  grant: HeldGrant | undefined,
  m: ControlCommand | PullRequest,
  kind: 'control' | 'listen',
  nowMs: number,
  policy: CheckPolicy,
  validityNowMs = nowMs,
  clock?: () => Refusal | undefined,
): Refusal | undefined {
  if (grant === undefined) return { code: 'UNKNOWN_GRANT', detail: `no grant ${m.grantId} on this device` };
  if (!signatureValid(m))
    return {
      code: 'BAD_SIGNATURE',
      detail: `the signature does not verify under ${m.signer.slice(0, 16)}...`,
    };
  if (m.signer !== grant.body.grantee)
    return {
      code: 'WRONG_GRANTEE',
      detail: `signed by ${m.signer.slice(0, 16)}..., the grantee is ${grant.body.grantee.slice(0, 16)}...`,
    };
  if (grant.body.kind !== kind)
    return { code: 'WRONG_KIND', detail: `a ${grant.body.kind} grant, not ${kind}` };
  return checkGrantState(grant, validityNowMs) ?? clock?.() ?? checkIssueTime(m, nowMs, policy);
}

/** The grant's state at `nowMs` as a refusal (revoked, not yet valid, expired, unpaid). */
export function checkGrantState(grant: HeldGrant, nowMs: number): Refusal | undefined {
  const state = grantState(grant, nowMs);
  if (state === 'revoked')
    return { code: 'REVOKED', detail: `revoked at ${iso(grant.revokedMs!)} by ${grant.revokedBy}` };
  if (state === 'pending') return { code: 'NOT_YET_VALID', detail: `valid from ${iso(grant.body.fromMs)}` };
  if (state === 'expired') return { code: 'EXPIRED', detail: `ended at ${iso(grantEndMs(grant))}` };
  if (state === 'unpaid')
    return {
      code: 'UNPAID',
      detail: `the chain shows ${grant.chainPaid ?? 0n} paid of ${grant.terms.minPaid}`,
    };
  return undefined;
}

function checkIssueTime(
  m: ControlCommand | PullRequest,
  nowMs: number,
  policy: CheckPolicy,
): Refusal | undefined {
  if (m.issuedMs < nowMs - policy.skewMs)
    return {
      code: 'STALE_ISSUE_TIME',
      detail: `issued ${nowMs - m.issuedMs} ms ago; at most ${policy.skewMs} ms accepted`,
    };
  if (m.issuedMs > nowMs + policy.skewMs)
    return {
      code: 'FUTURE_ISSUE_TIME',
      detail: `issued ${m.issuedMs - nowMs} ms ahead of the device clock; at most ${policy.skewMs} ms accepted`,
    };
  return undefined;
}

/** Scope, profile and arguments of a command. */
export function checkScope(
  grant: HeldGrant,
  cmd: ControlCommand,
  profileCommand: ProfileCommand | undefined,
): Refusal | undefined {
  if (!grant.body.scope.includes(cmd.command))
    return {
      code: 'OUT_OF_SCOPE',
      detail: `'${cmd.command}' is not granted (granted: ${grant.body.scope.join(', ')})`,
    };
  if (profileCommand === undefined)
    return { code: 'UNSUPPORTED_COMMAND', detail: `this vehicle's profile has no command '${cmd.command}'` };
  for (const k of Object.keys(cmd.args))
    if (!Object.hasOwn(profileCommand.args, k))
      return { code: 'BAD_ARGS', detail: `unknown argument '${k}'` };
  for (const [k, spec] of Object.entries(profileCommand.args)) {
    const v = Object.hasOwn(cmd.args, k) ? cmd.args[k] : undefined;
    if (v === undefined || v < spec.min || v > spec.max)
      return {
        code: 'BAD_ARGS',
        detail: `argument '${k}' is ${v ?? 'missing'}; expected ${spec.min}..${spec.max}`,
      };
  }
  return undefined;
}

/** The grant's rate limit against its executions so far (times in ms). */
export function checkRate(
  grant: HeldGrant,
  executionsMs: readonly number[],
  nowMs: number,
): Refusal | undefined {
  const limit = grant.terms.commandLimit;
  if (limit === undefined) return undefined;
  const recent = executionsMs.filter((t) => t > nowMs - limit.perMs).length;
  if (recent >= limit.count)
    return {
      code: 'RATE_LIMITED',
      detail: `${recent} commands in the last ${limit.perMs} ms; the grant allows ${limit.count}`,
    };
  return undefined;
}

const asNumber = (v: SampleValue): number | undefined =>
  typeof v === 'number' ? v : typeof v === 'boolean' ? (v ? 1 : 0) : undefined;

/**
 * Each rule `path op value` against live signals; the first that fails (or has no recent value).
 * `monoNowMs` is the monotonic clock now: a value's age is `monoNowMs - receivedMonoMs`, so a wall
 * clock step (or a sample stamped in the future) cannot make a quiet signal look fresh.
 */
export function checkRules(
  rules: readonly {
    readonly path: string;
    readonly op: Parameters<typeof compare>[1];
    readonly value: number;
  }[],
  live: (path: string) => LiveSignal,
  monoNowMs: number,
  maxSignalAgeMs: number,
  code: 'INTERLOCK' | 'CONDITION',
): Refusal | undefined {
  for (const r of rules) {
    const s = live(r.path);
    // Attack 6: the age is the monotonic time since the value arrived, not the sample's stamp.
    if (s === undefined || !(monoNowMs - s.receivedMonoMs <= maxSignalAgeMs))
      return {
        code,
        detail: `${r.path} ${r.op} ${r.value} cannot be checked: no value in the last ${maxSignalAgeMs} ms`,
      };
    const v = asNumber(s.value);
    if (v === undefined || !compare(v, r.op, r.value))
      return { code, detail: `${r.path} is ${String(s.value)}; needs ${r.op} ${r.value}` };
  }
  return undefined;
}

/**
 * Interlocks: the profile's, the engine rule (unless the grant allows it), then the grant's
 * conditions. `monoNowMs`: the monotonic clock now (see checkRules).
 */
export function checkInterlocks(
  grant: HeldGrant,
  profileCommand: ProfileCommand,
  engineRunningPath: string,
  live: (path: string) => LiveSignal,
  monoNowMs: number,
  maxSignalAgeMs: number,
): Refusal | undefined {
  const engineRule = grant.terms.whileEngineRunning
    ? []
    : [{ path: engineRunningPath, op: 'eq' as const, value: 0 }];
  return (
    checkRules([...profileCommand.interlocks, ...engineRule], live, monoNowMs, maxSignalAgeMs, 'INTERLOCK') ??
    checkRules(grant.terms.conditions, live, monoNowMs, maxSignalAgeMs, 'CONDITION')
  );
}

/**
 * What must still hold immediately before a frame of an accepted command goes out: the grant's
 * state (a revocation or the end of validity while the command waited), the command in scope and
 * in the profile, the interlocks and the grant's conditions on signals at most `maxSignalAgeMs` old.
 * `nowMs` is the device's time for the grant's validity, `monoNowMs` the monotonic clock.
 */
export function checkAtBus(
  grant: HeldGrant,
  cmd: ControlCommand,
  profileCommand: ProfileCommand | undefined,
  engineRunningPath: string,
  live: (path: string) => LiveSignal,
  nowMs: number,
  monoNowMs: number,
  maxSignalAgeMs: number,
): Refusal | undefined {
  return (
    checkGrantState(grant, nowMs) ??
    checkScope(grant, cmd, profileCommand) ??
    checkInterlocks(grant, profileCommand!, engineRunningPath, live, monoNowMs, maxSignalAgeMs)
  );
}
