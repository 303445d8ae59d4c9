import { describe, expect, it } from 'vitest';
import { VehicleModel } from '../../../simulators/vehicle/model.js';
import { bearingDeg, distanceM, ZURICH_LOOP } from '../../../simulators/vehicle/route.js';

/** Drives `seconds` in 100 ms steps and returns every state. */
function drive(model: VehicleModel, seconds: number) {
  const states = [];
  for (let i = 0; i < seconds * 10; i++) states.push(model.step(100));
  return states;
}

describe('route geometry', () => {
  it('measures a known distance and bearing', () => {
    // One degree of latitude is about 111.2 km on the mean sphere.
    expect(distanceM({ latDeg: 47, lonDeg: 8 }, { latDeg: 48, lonDeg: 8 })).toBeCloseTo(111_195, -1);
    expect(bearingDeg({ latDeg: 47, lonDeg: 8 }, { latDeg: 48, lonDeg: 8 })).toBeCloseTo(0, 6);
    expect(bearingDeg({ latDeg: 47, lonDeg: 8 }, { latDeg: 47, lonDeg: 9 })).toBeCloseTo(89.63, 1);
  });
});

describe('vehicle model', () => {
  it('is deterministic for a seed', () => {
    const a = drive(new VehicleModel({ seed: 7 }), 120).at(-1);
    const b = drive(new VehicleModel({ seed: 7 }), 120).at(-1);
    const c = drive(new VehicleModel({ seed: 8 }), 120).at(-1);
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
  });

  it('drives the route within its limits, uses the gearbox and stops at junctions', () => {
    const states = drive(new VehicleModel({ seed: 1 }), 600);
    const maxLimit = Math.max(...ZURICH_LOOP.waypoints.map((w) => w.limitKmh));
    const speeds = states.map((s) => s.speedKmh);
    expect(Math.max(...speeds)).toBeGreaterThan(100);
    expect(Math.max(...speeds)).toBeLessThanOrEqual(maxLimit);
    expect(new Set(states.map((s) => s.gear))).toEqual(new Set([0, 1, 2, 3, 4, 5, 6]));
    // It stopped somewhere after having moved (a junction), not only at the start.
    const firstMoving = states.findIndex((s) => s.speedKmh > 10);
    expect(states.slice(firstMoving).some((s) => s.speedKmh === 0)).toBe(true);
    // Acceleration stays physical: at most 2.2 m/s^2 up and 3.5 m/s^2 down, per 100 ms step.
    for (let i = 1; i < states.length; i++) {
      const dv = (states[i]!.speedKmh - states[i - 1]!.speedKmh) / 3.6;
      expect(dv).toBeLessThanOrEqual(0.2201);
      expect(dv).toBeGreaterThanOrEqual(-0.3501);
    }
  });

  it('keeps odometer, fuel and position consistent with the distance driven', () => {
    const model = new VehicleModel({ seed: 3 });
    const start = model.current();
    const states = drive(model, 300);
    const end = states.at(-1)!;
    let pathM = 0;
    for (let i = 1; i < states.length; i++) pathM += distanceM(states[i - 1]!, states[i]!);
    const odoM = (end.odometerKm - start.odometerKm) * 1000;
    expect(odoM).toBeGreaterThan(2000);
    // The position moves along straight legs, so the path measured between positions matches the odometer.
    expect(Math.abs(pathM - odoM) / odoM).toBeLessThan(0.02);
    expect(end.fuelLevelPct).toBeLessThan(start.fuelLevelPct);
    expect(end.coolantTempC).toBeGreaterThan(start.coolantTempC + 20);
    expect(end.coolantTempC).toBeLessThanOrEqual(90.5);
  });

  it('keeps engine speed between idle and the red line while running', () => {
    for (const s of drive(new VehicleModel({ seed: 5 }), 300)) {
      expect(s.engineRpm).toBeGreaterThanOrEqual(780);
      expect(s.engineRpm).toBeLessThan(6500);
    }
  });

  it('does not move with the engine off, and answers lock and engine commands', () => {
    const model = new VehicleModel({ engineOff: true });
    const states = drive(model, 10);
    expect(states.every((s) => s.speedKmh === 0 && s.engineRpm === 0)).toBe(true);
    model.setDoorsLocked(true);
    expect(model.current().doorsLocked).toBe(true);
    model.startEngine();
    expect(drive(model, 20).at(-1)!.speedKmh).toBeGreaterThan(5);
  });

  it('rejects a step outside 0 < dt <= 1000 ms', () => {
    const model = new VehicleModel();
    expect(() => model.step(0)).toThrow(RangeError);
    expect(() => model.step(5000)).toThrow(RangeError);
  });
});
