/**
 * Vehicle profiles: what frames a named command (lock, unlock, horn ...) becomes on a given car, as
 * data. A profile is a YAML or JSON document, parsed by the caller and checked here:
 *
 *   version: 1
 *   name: qood-sim
 *   dbc: qood-sim.dbc                 # resolved by the caller, for `message` steps
 *   engineRunningPath: Vehicle.Powertrain.CombustionEngine.IsRunning
 *   commands:
 *     unlock:
 *       description: unlock every door
 *       args: { }                      # name: { min, max } for `$name` in signal values
 *       interlocks:                    # checked against live signals before anything is written
 *         - { path: Vehicle.Speed, op: le, value: 0 }
 *       steps:
 *         - { message: BODY_COMMAND, signals: { LockRequest: 2 }, repeat: 2, intervalMs: 20 }
 *         - { delayMs: 100 }
 *         - { frame: { id: 0x2F0, data: "0000" } }
 *
 * A `message` step names a DBC message and physical signal values (encoded by the caller's
 * `encodeMessage`, so this folder needs no DBC code); a `frame` step is raw bytes in hex. Every
 * problem names the field path (`commands.unlock.steps[1].repeat`) and what was expected.
 */
import { CAN_EFF_MAX, CAN_SFF_MAX, CANFD_MAX_DLEN } from '../can/frame.js';
import { ActuatorError } from './errors.js';

/** Comparison of a live signal with a constant. */
export const INTERLOCK_OPS = ['eq', 'ne', 'lt', 'le', 'gt', 'ge'] as const;
export type InterlockOp = (typeof INTERLOCK_OPS)[number];

/** A condition on a live signal: `path op value`, such as `Vehicle.Speed le 0`. */
export interface InterlockRule {
  readonly path: string;
  readonly op: InterlockOp;
  /** Booleans compare as 0 and 1. */
  readonly value: number;
}

/** A numeric argument a command takes, substituted where a signal value is `$name`. */
export interface ArgSpec {
  readonly min: number;
  readonly max: number;
}

/** One step of a command's frame sequence. */
export type ProfileStep =
  | {
      readonly kind: 'message';
      readonly message: string;
      /** Physical values, or `$arg` to take a command argument. */
      readonly signals: Readonly<Record<string, number | string>>;
      readonly repeat: number;
      readonly intervalMs: number;
    }
  | {
      readonly kind: 'frame';
      readonly id: number;
      readonly extended: boolean;
      readonly data: Uint8Array;
      readonly repeat: number;
      readonly intervalMs: number;
    }
  | { readonly kind: 'delay'; readonly ms: number };

/** One command of a profile. */
export interface ProfileCommand {
  readonly name: string;
  readonly description: string;
  readonly args: Readonly<Record<string, ArgSpec>>;
  readonly interlocks: readonly InterlockRule[];
  readonly steps: readonly ProfileStep[];
}

/** A checked profile. */
export interface VehicleProfile {
  readonly version: 1;
  readonly name: string;
  /** DBC file the `message` steps refer to, as written (the caller resolves it). */
  readonly dbc: string | undefined;
  /** Signal that says whether the engine runs (commands are refused while it does, unless granted). */
  readonly engineRunningPath: string;
  readonly commands: ReadonlyMap<string, ProfileCommand>;
}

/** Most frames one command may write (a bound on what a profile mistake can put on the bus). */
export const MAX_FRAMES_PER_COMMAND = 64;
/** Longest a command's sequence may take, ms. */
export const MAX_SEQUENCE_MS = 10_000;
const NAME = /^[a-z][a-z0-9_-]{0,31}$/;
const PATH = /^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$/;

type Obj = Record<string, unknown>;

function fail(source: string, field: string, expected: string, found?: unknown): never {
  const shown = found === undefined ? '' : ` found ${JSON.stringify(found)?.slice(0, 60)};`;
  throw new ActuatorError('BAD_PROFILE', `${source}: ${field}:${shown} expected ${expected}`, field);
}

function obj(v: unknown, source: string, field: string, keys: readonly string[]): Obj {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) fail(source, field, 'a mapping', v);
  for (const k of Object.keys(v as Obj))
    if (!keys.includes(k)) fail(source, `${field}.${k}`, `one of the keys ${keys.join(', ')}`, k);
  return v as Obj;
}

function num(v: unknown, source: string, field: string, min: number, max: number, int = true): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max || (int && !Number.isInteger(v)))
    fail(source, field, `${int ? 'an integer' : 'a number'} in ${min}..${max}`, v);
  return v as number;
}

function text(v: unknown, source: string, field: string, re: RegExp, what: string): string {
  if (typeof v !== 'string' || !re.test(v)) fail(source, field, what, v);
  return v as string;
}

function hexData(v: unknown, source: string, field: string): Uint8Array {
  if (typeof v !== 'string') fail(source, field, 'hex bytes such as "02A0"', v);
  const s = (v as string).replace(/\s+/g, '');
  if (!/^([0-9a-fA-F]{2})*$/.test(s) || s.length / 2 > CANFD_MAX_DLEN)
    fail(source, field, `0 to ${CANFD_MAX_DLEN} bytes in hex (two digits each)`, v);
  return Uint8Array.from(Buffer.from(s, 'hex'));
}

function parseStep(v: unknown, source: string, field: string, args: Obj): ProfileStep {
  if (v !== null && typeof v === 'object' && 'delayMs' in v) {
    const o = obj(v, source, field, ['delayMs']);
    return { kind: 'delay', ms: num(o.delayMs, source, `${field}.delayMs`, 0, MAX_SEQUENCE_MS) };
  }
  if (v !== null && typeof v === 'object' && 'frame' in v) {
    const o = obj(v, source, field, ['frame', 'repeat', 'intervalMs']);
    const f = obj(o.frame, source, `${field}.frame`, ['id', 'extended', 'data']);
    const extended = f.extended === undefined ? false : f.extended;
    if (typeof extended !== 'boolean') fail(source, `${field}.frame.extended`, 'true or false', extended);
    return {
      kind: 'frame',
      id: num(f.id, source, `${field}.frame.id`, 0, extended ? CAN_EFF_MAX : CAN_SFF_MAX),
      extended,
      data: hexData(f.data, source, `${field}.frame.data`),
      repeat: num(o.repeat ?? 1, source, `${field}.repeat`, 1, MAX_FRAMES_PER_COMMAND),
      intervalMs: num(o.intervalMs ?? 0, source, `${field}.intervalMs`, 0, MAX_SEQUENCE_MS),
    };
  }
  const o = obj(v, source, field, ['message', 'signals', 'repeat', 'intervalMs']);
  if (o.message === undefined) fail(source, field, 'a step with `message`, `frame` or `delayMs`', v);
  const message = text(o.message, source, `${field}.message`, /^\w{1,64}$/, 'a DBC message name');
  const sigs = obj(o.signals ?? {}, source, `${field}.signals`, Object.keys((o.signals as Obj) ?? {}));
  // Names come from the profile file: no prototype, so a signal or argument named `__proto__` is
  // kept like any other instead of changing the record's prototype.
  const signals: Record<string, number | string> = Object.create(null);
  for (const [name, value] of Object.entries(sigs)) {
    const f = `${field}.signals.${name}`;
    if (typeof value === 'string') {
      if (!value.startsWith('$') || !Object.hasOwn(args, value.slice(1)))
        fail(
          source,
          f,
          `a number or $arg naming one of the command's args (${Object.keys(args).join(', ')})`,
          value,
        );
      signals[name] = value;
    } else if (typeof value === 'boolean') signals[name] = value ? 1 : 0;
    else signals[name] = num(value, source, f, -Number.MAX_VALUE, Number.MAX_VALUE, false);
  }
  return {
    kind: 'message',
    message,
    signals,
    repeat: num(o.repeat ?? 1, source, `${field}.repeat`, 1, MAX_FRAMES_PER_COMMAND),
    intervalMs: num(o.intervalMs ?? 0, source, `${field}.intervalMs`, 0, MAX_SEQUENCE_MS),
  };
}

function parseCommand(name: string, v: unknown, source: string): ProfileCommand {
  const field = `commands.${name}`;
  const o = obj(v, source, field, ['description', 'args', 'interlocks', 'steps']);
  const argsIn = obj(o.args ?? {}, source, `${field}.args`, Object.keys((o.args as Obj) ?? {}));
  const args: Record<string, ArgSpec> = Object.create(null);
  for (const [a, spec] of Object.entries(argsIn)) {
    text(a, source, `${field}.args.${a}`, NAME, 'an argument name (lower case, digits, - or _)');
    const s = obj(spec, source, `${field}.args.${a}`, ['min', 'max']);
    const min = num(s.min, source, `${field}.args.${a}.min`, -1e15, 1e15, false);
    args[a] = { min, max: num(s.max, source, `${field}.args.${a}.max`, min, 1e15, false) };
  }
  if (!Array.isArray(o.interlocks ?? [])) fail(source, `${field}.interlocks`, 'a list', o.interlocks);
  const interlocks = ((o.interlocks ?? []) as unknown[]).map((r, i) =>
    parseRule(r, source, `${field}.interlocks[${i}]`),
  );
  if (!Array.isArray(o.steps) || o.steps.length === 0)
    fail(source, `${field}.steps`, 'a non-empty list', o.steps);
  const steps = (o.steps as unknown[]).map((s, i) => parseStep(s, source, `${field}.steps[${i}]`, argsIn));
  let frames = 0;
  let ms = 0;
  for (const s of steps) {
    if (s.kind === 'delay') ms += s.ms;
    else {
      frames += s.repeat;
      ms += (s.repeat - 1) * s.intervalMs;
    }
  }
  if (frames === 0) fail(source, `${field}.steps`, 'at least one frame or message step', o.steps);
  if (frames > MAX_FRAMES_PER_COMMAND)
    fail(source, `${field}.steps`, `at most ${MAX_FRAMES_PER_COMMAND} frames in all`, frames);
  if (ms > MAX_SEQUENCE_MS) fail(source, `${field}.steps`, `a sequence of at most ${MAX_SEQUENCE_MS} ms`, ms);
  const description = o.description === undefined ? '' : String(o.description);
  return { name, description, args, interlocks, steps };
}

/** Reads `{ path, op, value }` (value a number or a boolean); shared with grant conditions. */
export function parseRule(v: unknown, source: string, field: string): InterlockRule {
  const o = obj(v, source, field, ['path', 'op', 'value']);
  const path = text(o.path, source, `${field}.path`, PATH, 'a signal path such as Vehicle.Speed');
  if (typeof o.op !== 'string' || !(INTERLOCK_OPS as readonly string[]).includes(o.op))
    fail(source, `${field}.op`, INTERLOCK_OPS.join(' | '), o.op);
  const value =
    typeof o.value === 'boolean'
      ? o.value
        ? 1
        : 0
      : num(o.value, source, `${field}.value`, -1e15, 1e15, false);
  return { path, op: o.op as InterlockOp, value };
}

/**
 * Checks a parsed YAML/JSON document and returns the profile. Throws ActuatorError('BAD_PROFILE')
 * naming `source` (the file) and the field.
 */
export function parseVehicleProfile(doc: unknown, source: string): VehicleProfile {
  const o = obj(doc, source, '(root)', ['version', 'name', 'dbc', 'engineRunningPath', 'commands']);
  if (o.version !== 1) fail(source, 'version', '1', o.version);
  const name = text(o.name, source, 'name', /^.{1,64}$/, 'a name of 1 to 64 characters');
  const dbc = o.dbc === undefined ? undefined : text(o.dbc, source, 'dbc', /^.+$/, 'a DBC file name');
  const engineRunningPath =
    o.engineRunningPath === undefined
      ? 'Vehicle.Powertrain.CombustionEngine.IsRunning'
      : text(o.engineRunningPath, source, 'engineRunningPath', PATH, 'a signal path');
  const cmds = obj(o.commands, source, 'commands', Object.keys((o.commands as Obj) ?? {}));
  const commands = new Map<string, ProfileCommand>();
  for (const [n, c] of Object.entries(cmds)) {
    text(n, source, `commands.${n}`, NAME, 'a command name (lower case letters, digits, - or _; at most 32)');
    commands.set(n, parseCommand(n, c, source));
  }
  if (commands.size === 0) fail(source, 'commands', 'at least one command', o.commands);
  const usesMessages = [...commands.values()].some((c) => c.steps.some((s) => s.kind === 'message'));
  if (usesMessages && dbc === undefined) fail(source, 'dbc', 'a DBC file for the `message` steps');
  return { version: 1, name, dbc, engineRunningPath, commands };
}
