/**
 * Loads a vehicle profile file (YAML or JSON) for the actuator: parses the text, checks it
 * (firmware-bridge/actuators/profile.ts names the field of any problem) and, when the profile has
 * `message` steps, compiles its DBC (relative to the profile file) into the encoder the actuator
 * calls. Errors name the file.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import {
  ActuatorError,
  type EncodeMessage,
  parseVehicleProfile,
  type VehicleProfile,
} from '../../firmware-bridge/index.js';
import { formatProblem, parseConfigText } from '../config/yaml-file.js';
import { type CompiledDbc, loadDbcFile } from '../decode/can/index.js';

/** A profile with the encoder its message steps need. */
export interface LoadedProfile {
  readonly profile: VehicleProfile;
  readonly encodeMessage: EncodeMessage | undefined;
}

/**
 * An encoder over a compiled DBC: unknown messages and signals are errors, not zeros (ActuatorError
 * ENCODE_FAILED naming the message).
 */
export function dbcEncoder(dbc: CompiledDbc): EncodeMessage {
  return (message, values) => {
    const m = dbc.byName(message);
    if (m === undefined)
      throw new ActuatorError('ENCODE_FAILED', `the DBC has no message ${message}`, message);
    for (const k of Object.keys(values))
      if (m.signal(k) === undefined)
        throw new ActuatorError('ENCODE_FAILED', `message ${message} has no signal ${k}`, message);
    return { id: m.message.id, extended: m.message.extended, data: m.encode(values) };
  };
}

/** Reads and checks a profile file. Throws ActuatorError('BAD_PROFILE') naming the file and field. */
export function loadProfileFile(file: string): LoadedProfile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ActuatorError('BAD_PROFILE', `${file}: ${(err as Error).message}`, file);
  }
  // The config files' reader: its nesting and alias limits refuse a file built to overflow the
  // stack or to expand without end, with the line and the limit (issue 14, bad input).
  const read = parseConfigText(text, file, z.unknown());
  if (!read.ok) throw new ActuatorError('BAD_PROFILE', read.problems.map(formatProblem).join('; '), file);
  const profile = parseVehicleProfile(read.config, file);
  if (profile.dbc === undefined) return { profile, encodeMessage: undefined };
  const dbcPath = resolve(dirname(file), profile.dbc);
  let dbc: CompiledDbc;
  try {
    dbc = loadDbcFile(dbcPath);
  } catch (err) {
    throw new ActuatorError('BAD_PROFILE', `${file}: dbc ${dbcPath}: ${(err as Error).message}`, 'dbc');
  }
  const encodeMessage = dbcEncoder(dbc);
  // Every message step must encode now, not at the first command.
  for (const c of profile.commands.values())
    for (const [i, s] of c.steps.entries()) {
      if (s.kind !== 'message') continue;
      const values = Object.fromEntries(Object.keys(s.signals).map((k) => [k, 0]));
      try {
        encodeMessage(s.message, values);
      } catch (err) {
        throw new ActuatorError(
          'BAD_PROFILE',
          `${file}: commands.${c.name}.steps[${i}]: ${(err as Error).message}`,
          'dbc',
        );
      }
    }
  return { profile, encodeMessage };
}
