/**
 * The vehicle model: a car that starts its engine, warms up and drives a route, with longitudinal
 * dynamics simple enough to reason about (bounded acceleration and braking towards each leg's
 * limit, stops at junctions, a gearbox mapping speed to engine speed) and deterministic for a given
 * seed and step size, so tests can replay a drive exactly. Time advances only through `step`.
 */
import { bearingDeg, distanceM, interpolate, type Route, ZURICH_LOOP } from './route.js';
import type { VehicleState, VehicleStateSource } from './state.js';

/** Gear ratios x final drive for a 6-speed manual, and the tyre's rolling circumference. */
const GEAR_RATIOS = [3.6, 2.1, 1.4, 1.0, 0.8, 0.65] as const;
const FINAL_DRIVE = 4.1;
const TYRE_CIRCUMFERENCE_M = 1.95;
const IDLE_RPM = 780;
const UPSHIFT_KMH = [18, 35, 55, 75, 95] as const;

export interface VehicleModelOptions {
  readonly route?: Route;
  /** Seed for the small random variations (driver's throttle, stop lengths). */
  readonly seed?: number;
  readonly vin?: string;
  /** Start with the engine off; `startEngine()` turns it on. Default: running. */
  readonly engineOff?: boolean;
  readonly startOdometerKm?: number;
}

/** Mulberry32: a tiny deterministic PRNG, good enough for driver noise. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class VehicleModel implements VehicleStateSource {
  readonly #route: Route;
  readonly #rand: () => number;
  #state: VehicleState;
  #leg = 0;
  #legProgressM = 0;
  #stopLeftMs = 0;
  #brakeDemandPct = 0;

  constructor(options: VehicleModelOptions = {}) {
    this.#route = options.route ?? ZURICH_LOOP;
    if (this.#route.waypoints.length < 2) throw new RangeError('a route needs at least two waypoints');
    this.#rand = mulberry32(options.seed ?? 1);
    const start = this.#route.waypoints[0]!;
    const next = this.#route.waypoints[1]!;
    const running = !(options.engineOff ?? false);
    this.#state = {
      tMs: 0,
      engineRunning: running,
      speedKmh: 0,
      engineRpm: running ? IDLE_RPM : 0,
      throttlePct: 0,
      brakePct: 0,
      gear: 0,
      steeringAngleDeg: 0,
      coolantTempC: 21,
      intakeAirTempC: 19,
      engineLoadPct: running ? 18 : 0,
      fuelLevelPct: 64,
      batteryVoltageV: running ? 14.2 : 12.6,
      odometerKm: options.startOdometerKm ?? 42_180.4,
      latDeg: start.latDeg,
      lonDeg: start.lonDeg,
      altM: start.altM,
      headingDeg: bearingDeg(start, next),
      doorsLocked: false,
      vin: options.vin ?? 'WQD0SIM1234567890',
      dtcs: [],
      pendingDtcs: [],
    };
  }

  current(): VehicleState {
    return this.#state;
  }

  /** Locks or unlocks the doors (what a body controller does on a lock command). */
  setDoorsLocked(locked: boolean): void {
    this.#state = { ...this.#state, doorsLocked: locked };
  }

  startEngine(): void {
    this.#state = { ...this.#state, engineRunning: true, engineRpm: IDLE_RPM, batteryVoltageV: 14.2 };
  }

  stopEngine(): void {
    this.#state = {
      ...this.#state,
      engineRunning: false,
      engineRpm: 0,
      speedKmh: 0,
      gear: 0,
      batteryVoltageV: 12.6,
    };
  }

  /** Adds a stored trouble code, as an ECU would after a misfire. */
  addDtc(code: string, pending = false): void {
    const s = this.#state;
    this.#state = pending
      ? { ...s, pendingDtcs: [...s.pendingDtcs, code] }
      : { ...s, dtcs: [...s.dtcs, code] };
  }

  clearDtcs(): void {
    this.#state = { ...this.#state, dtcs: [], pendingDtcs: [] };
  }

  /** Advances the model by `dtMs` (at most 1000 ms per call for stable dynamics) and returns the new state. */
  step(dtMs: number): VehicleState {
    if (!(dtMs > 0 && dtMs <= 1000)) throw new RangeError(`step of ${dtMs} ms; expected 0 < dt <= 1000`);
    const s = this.#state;
    const dt = dtMs / 1000;
    const wps = this.#route.waypoints;
    const from = wps[this.#leg]!;
    const to = wps[(this.#leg + 1) % wps.length]!;
    const legLengthM = distanceM(from, to);

    // Driver: hold at stops, otherwise aim for the leg's limit, braking early enough for the next stop.
    let targetKmh = s.engineRunning ? from.limitKmh * (0.92 + 0.06 * this.#rand()) : 0;
    if (this.#stopLeftMs > 0) {
      this.#stopLeftMs -= dtMs;
      targetKmh = 0;
    } else if (to.stopS !== undefined || to.limitKmh < from.limitKmh) {
      const remainingM = legLengthM - this.#legProgressM;
      const nextKmh = to.stopS !== undefined ? 0 : to.limitKmh;
      // v^2 = v0^2 + 2 a d with a comfortable 2.5 m/s^2.
      // Creep the last metres at walking pace so the car reaches the stop line instead of halting short.
      const allowedMs = Math.max(Math.sqrt((nextKmh / 3.6) ** 2 + 2 * 2.5 * Math.max(0, remainingM)), 1.5);
      targetKmh = Math.min(targetKmh, allowedMs * 3.6);
    }

    const speedMs = s.speedKmh / 3.6;
    const targetMs = targetKmh / 3.6;
    let accel = 0;
    let throttlePct = 0;
    let brakePct = 0;
    if (targetMs > speedMs + 0.1) {
      accel = Math.min(2.2, (targetMs - speedMs) / dt);
      throttlePct = Math.min(100, 15 + accel * 30);
    } else if (targetMs < speedMs - 0.1) {
      accel = -Math.min(3.5, (speedMs - targetMs) / dt);
      brakePct = Math.min(100, -accel * 25);
    }
    this.#brakeDemandPct = brakePct;
    const newSpeedMs = Math.max(0, speedMs + accel * dt);
    const travelledM = ((speedMs + newSpeedMs) / 2) * dt;

    // Move along the route; at the end of a leg, start the next one (and its stop, if any).
    this.#legProgressM += travelledM;
    let leg = this.#leg;
    let legFrom = from;
    let legTo = to;
    let legLen = legLengthM;
    while (this.#legProgressM >= legLen) {
      this.#legProgressM -= legLen;
      leg = (leg + 1) % wps.length;
      legFrom = wps[leg]!;
      legTo = wps[(leg + 1) % wps.length]!;
      legLen = distanceM(legFrom, legTo);
      if (legFrom.stopS !== undefined) {
        this.#stopLeftMs = legFrom.stopS * 1000 * (0.8 + 0.4 * this.#rand());
        this.#legProgressM = 0;
        break;
      }
    }
    this.#leg = leg;
    const pos = interpolate(legFrom, legTo, legLen > 0 ? this.#legProgressM / legLen : 0);
    const heading = bearingDeg(legFrom, legTo);
    const turn = ((heading - s.headingDeg + 540) % 360) - 180;

    const speedKmh = newSpeedMs * 3.6;
    const gear = !s.engineRunning
      ? 0
      : speedKmh < 0.5
        ? 0
        : 1 + UPSHIFT_KMH.filter((v) => speedKmh > v).length;
    const wheelRps = newSpeedMs / TYRE_CIRCUMFERENCE_M;
    const engineRpm = !s.engineRunning
      ? 0
      : gear === 0
        ? IDLE_RPM + throttlePct * 5
        : Math.max(IDLE_RPM, wheelRps * 60 * GEAR_RATIOS[gear - 1]! * FINAL_DRIVE);
    const engineLoadPct = s.engineRunning ? Math.min(100, 15 + throttlePct * 0.8) : 0;
    const warmRate = s.engineRunning ? (90 - s.coolantTempC) * 0.004 : (20 - s.coolantTempC) * 0.001;
    // Roughly 7 l/100 km from a 50 l tank: 0.14 % of the tank per km, plus idling.
    const fuelUsedPct = (travelledM / 1000) * 0.14 + (s.engineRunning ? dt * 0.00004 * engineRpm * 0.01 : 0);

    this.#state = {
      ...s,
      tMs: s.tMs + dtMs,
      speedKmh,
      engineRpm,
      throttlePct,
      brakePct: this.#brakeDemandPct,
      gear,
      steeringAngleDeg: Math.max(-450, Math.min(450, turn * 4)),
      coolantTempC: s.coolantTempC + warmRate * dt * 10,
      intakeAirTempC: 19 + (s.coolantTempC - 21) * 0.08,
      engineLoadPct,
      fuelLevelPct: Math.max(0, s.fuelLevelPct - fuelUsedPct),
      batteryVoltageV: s.engineRunning ? 14.1 + 0.1 * this.#rand() : 12.6,
      odometerKm: s.odometerKm + travelledM / 1000,
      latDeg: pos.latDeg,
      lonDeg: pos.lonDeg,
      altM: pos.altM,
      headingDeg: heading,
    };
    return this.#state;
  }
}
