/**
 * Turns the vehicle model's state into the CAN traffic of `qood-sim.dbc`: each message at its
 * cycle time, its signals filled from the state, encoded by a DBC encoder. Time is given by the
 * caller (`framesDue(tMs)`), so the same drive yields the same frames in a test and in real time.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { VehicleState } from './state.js';

/**
 * Path of a file that ships beside the simulator's source (the DBC, its VSS map). Compiled code
 * runs from dist/, where tsc does not copy them, so look in the source tree too.
 */
export function simFile(name: string): string {
  const here = join(import.meta.dirname, name);
  if (existsSync(here)) return here;
  return join(import.meta.dirname, '..', '..', '..', 'simulators', 'vehicle', name);
}

/** Path of the simulator's DBC (Apache-2.0, written for this project). */
export const SIM_DBC_PATH = simFile('qood-sim.dbc');
/** Path of the map from the simulator's DBC to VSS paths. */
export const SIM_MAP_PATH = simFile('qood-sim.vss.yaml');

/** Reads the simulator's DBC text. */
export function readSimDbc(): string {
  return readFileSync(SIM_DBC_PATH, 'utf8');
}

/** Encodes named physical signal values into one frame's payload. */
export interface SimFrameEncoder {
  encode(
    message: string,
    values: Readonly<Record<string, number>>,
  ): { id: number; extended: boolean; data: Uint8Array };
}

/** One periodic message: its name in the DBC, its cycle time and how the state fills its signals. */
export interface SimMessage {
  readonly name: string;
  readonly periodMs: number;
  readonly signals: (s: VehicleState, counter: number) => Record<string, number>;
}

/** The periodic messages of qood-sim.dbc (cycle times as its GenMsgCycleTime attributes give them). */
export const SIM_MESSAGES: readonly SimMessage[] = [
  {
    name: 'ENGINE_DATA',
    periodMs: 20,
    signals: (s, counter) => ({
      EngineSpeed: s.engineRpm,
      ThrottlePosition: s.throttlePct,
      EngineLoad: s.engineLoadPct,
      CoolantTemperature: s.coolantTempC,
      IntakeAirTemperature: s.intakeAirTempC,
      EngineRunning: s.engineRunning ? 1 : 0,
      Counter: counter & 0xf,
    }),
  },
  {
    name: 'WHEEL_SPEEDS',
    periodMs: 20,
    signals: (s) => {
      // Outer wheels turn faster in a curve; a small spread keeps the four signals distinct.
      const spread = s.steeringAngleDeg * 0.0005 * s.speedKmh;
      return {
        WheelSpeedFL: Math.max(0, s.speedKmh + spread),
        WheelSpeedFR: Math.max(0, s.speedKmh - spread),
        WheelSpeedRL: Math.max(0, s.speedKmh + spread / 2),
        WheelSpeedRR: Math.max(0, s.speedKmh - spread / 2),
      };
    },
  },
  {
    name: 'VEHICLE_DYNAMICS',
    periodMs: 20,
    signals: (s) => ({
      VehicleSpeed: s.speedKmh,
      SteeringAngle: s.steeringAngleDeg,
      BrakePedalPosition: s.brakePct,
      Gear: s.gear,
      Heading: s.headingDeg,
    }),
  },
  {
    name: 'BODY_STATUS',
    periodMs: 100,
    signals: (s) => ({
      DoorsLocked: s.doorsLocked ? 1 : 0,
      FuelLevel: s.fuelLevelPct,
      BatteryVoltage: s.batteryVoltageV,
      Odometer: s.odometerKm,
    }),
  },
  {
    name: 'AMBIENT_CONDITIONS',
    periodMs: 1000,
    signals: () => ({ AmbientAirTemperature: 18.5, BarometricPressure: 96.5 }),
  },
];

/** A frame produced by the simulator, before a bus gives it timestamps. */
export interface SimFrame {
  readonly id: number;
  readonly extended: boolean;
  readonly data: Uint8Array;
  /** Simulation time at which it is sent. */
  readonly tMs: number;
}

/** Schedules the periodic messages and encodes those that are due. */
export class SimFrameScheduler {
  readonly #encoder: SimFrameEncoder;
  readonly #messages: readonly SimMessage[];
  readonly #nextDueMs: number[];
  #counter = 0;

  constructor(options: { encoder: SimFrameEncoder; messages?: readonly SimMessage[]; startMs?: number }) {
    this.#encoder = options.encoder;
    this.#messages = options.messages ?? SIM_MESSAGES;
    // Stagger first transmissions by a millisecond each, as real ECUs do not start in lockstep.
    this.#nextDueMs = this.#messages.map((_, i) => (options.startMs ?? 0) + i);
  }

  /** Every frame due at or before `tMs` (in time order), for the given state. */
  framesDue(tMs: number, state: VehicleState): SimFrame[] {
    const out: SimFrame[] = [];
    for (;;) {
      let k = -1;
      for (let i = 0; i < this.#messages.length; i++)
        if (this.#nextDueMs[i]! <= tMs && (k < 0 || this.#nextDueMs[i]! < this.#nextDueMs[k]!)) k = i;
      if (k < 0) return out;
      const msg = this.#messages[k]!;
      const due = this.#nextDueMs[k]!;
      this.#nextDueMs[k] = due + msg.periodMs;
      const frame = this.#encoder.encode(msg.name, msg.signals(state, this.#counter++));
      out.push({ ...frame, tMs: due });
    }
  }
}
