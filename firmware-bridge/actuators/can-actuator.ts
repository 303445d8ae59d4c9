/**
 * `CanActuator`: turns a profile command into its frame sequence (`plan`) and writes it on a CAN bus
 * (`execute`). Sequences run one at a time per actuator, in the order they were asked for, so two
 * commands never interleave their frames on the bus.
 *
 * `execute` takes a guard that is asked immediately before every frame, at the frame's time: when
 * the sequence's turn comes (a command that waited behind another and whose grant was revoked, or
 * whose interlock stopped holding, meanwhile is dropped there with nothing written) and again
 * between the frames of a sequence (issue 14, attack 5: an unlock's release frame must not follow
 * its request once the car has started to move). A sequence stopped half way reports how many
 * frames went out; the caller decides what that means (the agent records it as a failed command).
 * The guard runs synchronously right before `send`, so nothing can change between its answer and
 * the frame other than what the bus itself does.
 */
import type { CanBus } from '../can/bus.js';
import type { OutgoingCanFrame } from '../can/frame.js';
import { ActuatorError } from './errors.js';
import type { ProfileCommand, VehicleProfile } from './profile.js';

/** Encodes a DBC message from physical signal values (the agent's DBC encoder, passed in). */
export type EncodeMessage = (message: string, values: Readonly<Record<string, number>>) => OutgoingCanFrame;

/**
 * Asked before frame `index` (0-based) of a sequence goes out: a reason string stops the sequence
 * there, undefined lets the frame go.
 */
export type FrameGuard = (index: number) => string | undefined;

/** A frame of a planned sequence, with its offset from the sequence start. */
export interface PlannedFrame {
  readonly frame: OutgoingCanFrame;
  readonly atMs: number;
}

/** What `execute` did. */
export interface ExecuteResult {
  readonly framesWritten: number;
  /** The guard's reason when it stopped the sequence (before any frame when `framesWritten` is 0). */
  readonly refusedBy?: string;
}

export interface CanActuatorOptions {
  readonly bus: CanBus;
  readonly profile: VehicleProfile;
  /** Needed when the profile has `message` steps. */
  readonly encodeMessage?: EncodeMessage;
  /** Monotonic ms clock (default performance.now). */
  readonly nowMs?: () => number;
  /** Waits `ms` (default setTimeout). */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Sees each frame right after the bus accepted it (latency measurements). */
  readonly onFrameWritten?: (frame: OutgoingCanFrame) => void;
}

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class CanActuator {
  readonly #o: CanActuatorOptions;
  readonly #now: () => number;
  readonly #sleep: (ms: number) => Promise<void>;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: CanActuatorOptions) {
    this.#o = options;
    this.#now = options.nowMs ?? (() => performance.now());
    this.#sleep = options.sleep ?? defaultSleep;
  }

  get profile(): VehicleProfile {
    return this.#o.profile;
  }

  /** The command, or undefined when the profile has none of that name. */
  command(name: string): ProfileCommand | undefined {
    return this.#o.profile.commands.get(name);
  }

  /**
   * The frames `command` with `args` becomes. Throws ActuatorError: UNKNOWN_COMMAND, BAD_ARGS (a
   * missing, extra, non-numeric or out-of-range argument), ENCODE_FAILED.
   */
  plan(command: string, args: Readonly<Record<string, unknown>>): PlannedFrame[] {
    const cmd = this.command(command);
    if (cmd === undefined)
      throw new ActuatorError(
        'UNKNOWN_COMMAND',
        `profile ${this.#o.profile.name} has no command '${command}' (it has ${[...this.#o.profile.commands.keys()].join(', ')})`,
        command,
      );
    for (const k of Object.keys(args))
      if (!Object.hasOwn(cmd.args, k))
        throw new ActuatorError('BAD_ARGS', `${command}: unknown argument '${k}'`, k);
    const values: Record<string, number> = {};
    for (const [k, spec] of Object.entries(cmd.args)) {
      const v = args[k];
      if (typeof v !== 'number' || !Number.isFinite(v) || v < spec.min || v > spec.max)
        throw new ActuatorError(
          'BAD_ARGS',
          `${command}: argument '${k}' found ${JSON.stringify(v) ?? 'nothing'}; expected a number in ${spec.min}..${spec.max}`,
          k,
        );
      values[k] = v;
    }
    const out: PlannedFrame[] = [];
    let t = 0;
    for (const step of cmd.steps) {
      if (step.kind === 'delay') {
        t += step.ms;
        continue;
      }
      const frame =
        step.kind === 'frame'
          ? { id: step.id, extended: step.extended, data: step.data }
          : this.#encode(command, step.message, step.signals, values);
      for (let i = 0; i < step.repeat; i++) {
        out.push({ frame, atMs: t });
        if (i < step.repeat - 1) t += step.intervalMs;
      }
    }
    return out;
  }

  #encode(
    command: string,
    message: string,
    signals: Readonly<Record<string, number | string>>,
    args: Readonly<Record<string, number>>,
  ): OutgoingCanFrame {
    const encode = this.#o.encodeMessage;
    if (encode === undefined)
      throw new ActuatorError('ENCODE_FAILED', `${command}: message steps need a DBC encoder`, message);
    const values: Record<string, number> = {};
    for (const [k, v] of Object.entries(signals)) values[k] = typeof v === 'number' ? v : args[v.slice(1)]!;
    try {
      return encode(message, values);
    } catch (err) {
      throw new ActuatorError('ENCODE_FAILED', `${command}: ${(err as Error).message}`, message);
    }
  }

  /**
   * Writes a planned sequence after the ones before it, at its offsets. `guard` is asked before
   * every frame; a reason string stops the sequence there (`refusedBy`, with the frames already
   * written). Rejects with ActuatorError('WRITE_FAILED') when the bus refuses a frame, naming how
   * many went out.
   */
  execute(frames: readonly PlannedFrame[], guard?: FrameGuard): Promise<ExecuteResult> {
    const run = this.#queue.then(() => this.#run(frames, guard));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #run(frames: readonly PlannedFrame[], guard?: FrameGuard): Promise<ExecuteResult> {
    const start = this.#now();
    let written = 0;
    for (const p of frames) {
      const wait = start + p.atMs - this.#now();
      if (wait > 0) await this.#sleep(wait);
      // After the wait, right before the write: the check sees the car as the frame will find it.
      const refusedBy = guard?.(written);
      if (refusedBy !== undefined) return { framesWritten: written, refusedBy };
      try {
        await this.#o.bus.send(p.frame);
      } catch (err) {
        throw new ActuatorError(
          'WRITE_FAILED',
          `${this.#o.bus.name}: frame ${written + 1} of ${frames.length} refused: ${(err as Error).message}`,
          this.#o.bus.name,
          written,
        );
      }
      written++;
      this.#o.onFrameWritten?.(p.frame);
    }
    return { framesWritten: written };
  }
}
