import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CompiledDbc, parseDbc } from '../../../../agent/decode/can/index.js';
import {
  conversion,
  FrameMapper,
  resolveSignalMap,
  SignalMapError,
} from '../../../../agent/decode/vss-map/index.js';
import { vssDictionary } from '../../../../agent/dictionary/index.js';
import type { Sample } from '../../../../chain/index.js';
import type { CanFrame } from '../../../../firmware-bridge/index.js';
import { readSimDbc, SimFrameScheduler } from '../../../../simulators/vehicle/can-frames.js';
import { VehicleModel } from '../../../../simulators/vehicle/model.js';
import { projectRoot } from '../../../support/system.js';

const simDir = join(projectRoot(), 'simulators/vehicle');
const dbc = new CompiledDbc(parseDbc(readSimDbc(), 'qood-sim.dbc'));
const mapText = readFileSync(join(simDir, 'qood-sim.vss.yaml'), 'utf8');

describe('data dictionary', () => {
  it('has VSS 6.0 and the OBD branch of VSS 4.0, with units and types', () => {
    const d = vssDictionary();
    expect(d.id).toBe('qood-vss-6.0+obd-4.0');
    expect(d.size).toBeGreaterThan(1300);
    expect(d.get('Vehicle.Speed')).toMatchObject({ datatype: 'float', unit: 'km/h', type: 'sensor' });
    expect(d.get('Vehicle.OBD.EngineLoad')?.unit).toBe('percent');
    expect(d.get('Vehicle.NoSuchThing')).toBeUndefined();
  });
});

describe('unit conversion', () => {
  it('converts within a dimension and refuses across dimensions', () => {
    const c = (a: string, b: string, v: number) => {
      const k = conversion(a, b);
      if (typeof k === 'string') throw new Error(k);
      return v * k.mul + k.add;
    };
    expect(c('km', 'm', 1.5)).toBeCloseTo(1500, 9);
    expect(c('degC', 'Celsius', 21)).toBe(21);
    expect(c('degF', 'Celsius', 212)).toBeCloseTo(100, 9);
    expect(c('mph', 'km/h', 100)).toBeCloseTo(160.9344, 6);
    expect(c('%', 'percent', 40)).toBe(40);
    expect(c('psi', 'kPa', 1)).toBeCloseTo(6.894757, 5);
    expect(conversion('km/h', 'Celsius')).toMatch(/cannot convert speed/);
    expect(conversion('furlong', 'm')).toBe("unknown unit 'furlong'");
  });
});

describe('signal map', () => {
  it('resolves the simulator map against its DBC and the dictionary', () => {
    const resolved = resolveSignalMap(mapText, 'qood-sim.vss.yaml', dbc, vssDictionary());
    expect(resolved).toHaveLength(20);
    const odo = resolved.find((r) => r.path === 'Vehicle.TraveledDistance')!;
    expect(odo.convert.mul).toBe(1000); // km in the DBC, m in VSS
  });

  it('reports every bad entry with file:line', () => {
    const bad = [
      'version: 1',
      'signals:',
      '  - message: NOPE',
      '    signal: X',
      '    path: Vehicle.Speed',
      '  - message: VEHICLE_DYNAMICS',
      '    signal: VehicleSpeed',
      '    path: Vehicle.Sped',
      '  - message: VEHICLE_DYNAMICS',
      '    signal: VehicleSpeed',
      '    path: Vehicle.Exterior.AirTemperature',
      '  - message: BODY_STATUS',
      '    signal: FuelLevel',
      '    path: Vehicle.VehicleIdentification.VIN',
      '',
    ].join('\n');
    let err: unknown;
    try {
      resolveSignalMap(bad, 'm.yaml', dbc, vssDictionary());
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SignalMapError);
    expect((err as SignalMapError).problems).toEqual([
      "m.yaml:3: message 'NOPE' is not in the DBC",
      "m.yaml:6: path 'Vehicle.Sped' is not in dictionary qood-vss-6.0+obd-4.0",
      "m.yaml:9: VEHICLE_DYNAMICS.VehicleSpeed in 'km/h' to Vehicle.Exterior.AirTemperature in 'Celsius': cannot convert speed ('km/h') to temperature ('Celsius'); set 'unit:' (and 'scale:') on the entry",
      'm.yaml:12: Vehicle.VehicleIdentification.VIN is a string but BODY_STATUS.FuelLevel has no value descriptions (VAL_)',
    ]);
    expect(() => resolveSignalMap('version: 2\nsignals: []\n', 'v.yaml', dbc, vssDictionary())).toThrow(
      /v\.yaml:1:10: version/,
    );
  });
});

describe('frames to samples', () => {
  const frameOf = (f: { id: number; extended: boolean; data: Uint8Array }, tUs: number): CanFrame => ({
    ...f,
    rtr: false,
    fd: false,
    bus: 'sim',
    wallUs: tUs,
    monoUs: tUs,
  });

  it('turns the vehicle model into VSS samples that match its state', () => {
    const model = new VehicleModel({ seed: 2 });
    const scheduler = new SimFrameScheduler({
      encoder: {
        encode: (name, values) => ({ ...dbc.byName(name)!.message, data: dbc.byName(name)!.encode(values) }),
      },
    });
    const mapper = new FrameMapper(dbc, resolveSignalMap(mapText, 'm', dbc, vssDictionary()));
    let state = model.current();
    for (let t = 0; t < 60_000; t += 100) state = model.step(100);
    const samples: Sample[] = [];
    for (const f of scheduler.framesDue(state.tMs, state)) mapper.map(frameOf(f, f.tMs * 1000), samples);
    const last = (p: string) => samples.filter((s) => s.path === p).at(-1)?.value;
    expect(last('Vehicle.Speed')).toBeCloseTo(state.speedKmh, 1);
    expect(last('Vehicle.Powertrain.CombustionEngine.Speed')).toBeCloseTo(state.engineRpm, 0);
    expect(last('Vehicle.TraveledDistance')).toBeCloseTo(state.odometerKm * 1000, -2);
    expect(last('Vehicle.Cabin.Door.Row1.DriverSide.IsLocked')).toBe(false);
    expect(last('Vehicle.Powertrain.Transmission.CurrentGear')).toBe(state.gear);
    expect(last('Vehicle.Exterior.AirTemperature')).toBeCloseTo(18.5, 1);
    expect(mapper.stats.unknownId).toBe(0);
  });

  it('names unmapped signals Dbc.<Message>.<Signal>, and counts unknown ids and short frames', () => {
    const mapper = new FrameMapper(dbc, undefined);
    const out: Sample[] = [];
    const data = dbc
      .byName('BODY_STATUS')!
      .encode({ DoorsLocked: 1, FuelLevel: 50, BatteryVoltage: 12.6, Odometer: 100 });
    mapper.map(frameOf({ id: 1000, extended: false, data }, 5), out);
    expect(out).toContainEqual({ path: 'Dbc.BODY_STATUS.FuelLevel', tUs: 5, value: 50 });
    mapper.map(frameOf({ id: 0x7ff, extended: false, data }, 6), out);
    mapper.map(frameOf({ id: 1000, extended: false, data: data.slice(0, 2) }, 7), out);
    expect(mapper.stats).toMatchObject({ frames: 3, unknownId: 1, lengthMismatch: 1 });
    // The short frame still gives the signals that fit in it (DoorsLocked, FuelLevel).
    expect(out.filter((s) => s.tUs === 7).map((s) => s.path)).toEqual([
      'Dbc.BODY_STATUS.DoorsLocked',
      'Dbc.BODY_STATUS.FuelLevel',
    ]);
  });
});
