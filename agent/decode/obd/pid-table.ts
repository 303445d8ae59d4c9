/**
 * The SAE J1979 (ISO 15031-5) service 01 PID table as data: for each PID its data length and its
 * signals, each a linear formula `physical = raw * scale + offset` over a run of data bytes (A is
 * the first byte after the PID), with J1979's unit and range, and the VSS path it feeds. Main VSS
 * 6.0 paths are used where one means the same thing without losing resolution (Vehicle.Speed,
 * ...CombustionEngine.Speed, coolant, oil and ambient temperature, MAP, fuel level, odometer);
 * the rest go to VSS 4.0's Vehicle.OBD branch; the few with neither get `Obd.<PID>.<Signal>`.
 *
 * Where public tables disagree (../shared/data/obd/PID_TABLE_CROSSCHECK.md) the standard decides:
 * - 04, 11 and the other A*100/255 percentages use the exact 100/255 (CSS's 0.39216 overshoots to
 *   100.0008 % at 0xFF).
 * - Fuel trims (06-09, 14-1B B, 2D, 55-58) are (A-128)*100/128 = A*0.78125 - 100 (J1979's formula;
 *   OBDb's add-before-scale encoding contradicts its own other entries).
 * - 32 EVAP vapour pressure is a SIGNED 16-bit value in 1/4 Pa (J1979 gives -8192..8191.75 Pa);
 *   CSS decodes it unsigned, which is wrong for every negative pressure.
 * - 42 control module voltage ranges 0..65.535 V (OBDb's max of 65535 V is a unit slip).
 * - 54 is (256A+B) - 32767 Pa; 5D is (256A+B)/128 - 210 degrees (OBDb's offset gives nonsense).
 * - 5C oil temperature is A-40 with range -40..215 °C, what the formula yields (not 210).
 */

/** One signal inside a PID's data bytes. */
export interface PidSignal {
  /** Short name, used in `Obd.<PID>.<name>` when there is no VSS path. */
  readonly name: string;
  /** First data byte (0 = A). */
  readonly byte: number;
  /** Number of bytes, big-endian. */
  readonly bytes: 1 | 2 | 4;
  readonly signed?: boolean;
  /** Bit mask applied to the raw value (flags and counts inside a byte). */
  readonly mask?: number;
  /** `boolean`: non-zero after masking is true. Default numeric. */
  readonly type?: 'boolean';
  readonly scale: number;
  readonly offset: number;
  /** J1979 unit (this project's unit names: `km/h`, `Celsius`, `percent` ...); '' for none. */
  readonly unit: string;
  readonly min: number;
  readonly max: number;
  /** VSS path, or undefined for `Obd.<PID>.<name>`. */
  readonly path: string | undefined;
}

/** One service 01 PID. */
export interface PidDefinition {
  readonly pid: number;
  /** J1979 description. */
  readonly description: string;
  /** Data bytes after the PID. */
  readonly length: number;
  readonly signals: readonly PidSignal[];
}

const PCT = 100 / 255;
const TRIM = 100 / 128;

type SignalSpec = Omit<PidSignal, 'byte' | 'bytes' | 'scale' | 'offset'> &
  Partial<Pick<PidSignal, 'byte' | 'bytes' | 'scale' | 'offset'>>;

const sig = (s: SignalSpec): PidSignal => ({ byte: 0, bytes: 1, scale: 1, offset: 0, ...s });
const pid = (p: number, description: string, length: number, ...signals: PidSignal[]): PidDefinition => ({
  pid: p,
  description,
  length,
  signals,
});
const percent = (name: string, path: string | undefined, byte = 0) =>
  sig({ name, byte, scale: PCT, unit: 'percent', min: 0, max: 100, path });
const trim = (name: string, path: string | undefined, byte = 0) =>
  sig({ name, byte, scale: TRIM, offset: -100, unit: 'percent', min: -100, max: 99.21875, path });
const temp = (name: string, path: string | undefined) =>
  sig({ name, offset: -40, unit: 'Celsius', min: -40, max: 215, path });

const O2 = 'Vehicle.OBD.O2';
const O2WR = 'Vehicle.OBD.O2WR';

function o2Narrow(p: number, n: number): PidDefinition {
  return pid(
    p,
    `Oxygen sensor ${n}: voltage and short term fuel trim`,
    2,
    sig({ name: 'Voltage', scale: 0.005, unit: 'V', min: 0, max: 1.275, path: `${O2}.Sensor${n}.Voltage` }),
    trim('ShortTermFuelTrim', `${O2}.Sensor${n}.ShortTermFuelTrim`, 1),
  );
}

function o2WideVoltage(p: number, n: number): PidDefinition {
  return pid(
    p,
    `Oxygen sensor ${n} (wide range): equivalence ratio and voltage`,
    4,
    sig({
      name: 'Lambda',
      bytes: 2,
      scale: 2 / 65536,
      unit: 'ratio',
      min: 0,
      max: 2,
      path: `${O2WR}.Sensor${n}.Lambda`,
    }),
    sig({
      name: 'Voltage',
      byte: 2,
      bytes: 2,
      scale: 8 / 65536,
      unit: 'V',
      min: 0,
      max: 8,
      path: `${O2WR}.Sensor${n}.Voltage`,
    }),
  );
}

function o2WideCurrent(p: number, n: number): PidDefinition {
  return pid(
    p,
    `Oxygen sensor ${n} (wide range): equivalence ratio and current`,
    4,
    sig({
      name: 'Lambda',
      bytes: 2,
      scale: 2 / 65536,
      unit: 'ratio',
      min: 0,
      max: 2,
      path: `${O2WR}.Sensor${n}.Lambda`,
    }),
    sig({
      name: 'Current',
      byte: 2,
      bytes: 2,
      scale: 1 / 256,
      offset: -128,
      unit: 'mA',
      min: -128,
      max: 128,
      path: `${O2WR}.Sensor${n}.Current`,
    }),
  );
}

const u16 = (
  name: string,
  scale: number,
  offset: number,
  unit: string,
  min: number,
  max: number,
  path: string | undefined,
) => sig({ name, bytes: 2, scale, offset, unit, min, max, path });

/** The service 01 PIDs this project decodes. */
export const SERVICE01_PIDS: readonly PidDefinition[] = [
  pid(
    0x01,
    'Monitor status since DTCs cleared',
    4,
    sig({
      name: 'IsMILOn',
      mask: 0x80,
      type: 'boolean',
      unit: '',
      min: 0,
      max: 1,
      path: 'Vehicle.OBD.Status.IsMILOn',
    }),
    sig({ name: 'DTCCount', mask: 0x7f, unit: '', min: 0, max: 127, path: 'Vehicle.Diagnostics.DTCCount' }),
  ),
  pid(0x04, 'Calculated engine load', 1, percent('EngineLoad', 'Vehicle.OBD.EngineLoad')),
  pid(
    0x05,
    'Engine coolant temperature',
    1,
    temp('CoolantTemperature', 'Vehicle.Powertrain.CombustionEngine.EngineCoolant.Temperature'),
  ),
  pid(0x06, 'Short term fuel trim, bank 1', 1, trim('ShortTermFuelTrim1', 'Vehicle.OBD.ShortTermFuelTrim1')),
  pid(0x07, 'Long term fuel trim, bank 1', 1, trim('LongTermFuelTrim1', 'Vehicle.OBD.LongTermFuelTrim1')),
  pid(0x08, 'Short term fuel trim, bank 2', 1, trim('ShortTermFuelTrim2', 'Vehicle.OBD.ShortTermFuelTrim2')),
  pid(0x09, 'Long term fuel trim, bank 2', 1, trim('LongTermFuelTrim2', 'Vehicle.OBD.LongTermFuelTrim2')),
  pid(
    0x0a,
    'Fuel pressure (gauge)',
    1,
    sig({ name: 'FuelPressure', scale: 3, unit: 'kPa', min: 0, max: 765, path: 'Vehicle.OBD.FuelPressure' }),
  ),
  pid(
    0x0b,
    'Intake manifold absolute pressure',
    1,
    sig({ name: 'MAP', unit: 'kPa', min: 0, max: 255, path: 'Vehicle.Powertrain.CombustionEngine.MAP' }),
  ),
  pid(
    0x0c,
    'Engine speed',
    2,
    u16('EngineSpeed', 0.25, 0, 'rpm', 0, 16383.75, 'Vehicle.Powertrain.CombustionEngine.Speed'),
  ),
  pid(
    0x0d,
    'Vehicle speed',
    1,
    sig({ name: 'Speed', unit: 'km/h', min: 0, max: 255, path: 'Vehicle.Speed' }),
  ),
  pid(
    0x0e,
    'Timing advance (before TDC)',
    1,
    sig({
      name: 'TimingAdvance',
      scale: 0.5,
      offset: -64,
      unit: 'degrees',
      min: -64,
      max: 63.5,
      path: 'Vehicle.OBD.TimingAdvance',
    }),
  ),
  pid(0x0f, 'Intake air temperature', 1, temp('IntakeTemp', 'Vehicle.OBD.IntakeTemp')),
  // MAF goes to the OBD branch: the main path is uint16 g/s and would drop the 0.01 g/s resolution.
  pid(0x10, 'Mass air flow rate', 2, u16('MAF', 0.01, 0, 'g/s', 0, 655.35, 'Vehicle.OBD.MAF')),
  // The main TPS path is uint8: whole percent would drop J1979's 0.4 % resolution.
  pid(0x11, 'Throttle position', 1, percent('ThrottlePosition', 'Vehicle.OBD.ThrottlePosition')),
  o2Narrow(0x14, 1),
  o2Narrow(0x15, 2),
  o2Narrow(0x16, 3),
  o2Narrow(0x17, 4),
  o2Narrow(0x18, 5),
  o2Narrow(0x19, 6),
  o2Narrow(0x1a, 7),
  o2Narrow(0x1b, 8),
  pid(
    0x1c,
    'OBD standards this vehicle conforms to',
    1,
    sig({ name: 'OBDStandards', unit: '', min: 0, max: 255, path: 'Vehicle.OBD.OBDStandards' }),
  ),
  pid(0x1f, 'Run time since engine start', 2, u16('RunTime', 1, 0, 's', 0, 65535, 'Vehicle.OBD.RunTime')),
  pid(
    0x21,
    'Distance travelled with MIL on',
    2,
    u16('DistanceWithMIL', 1, 0, 'km', 0, 65535, 'Vehicle.OBD.DistanceWithMIL'),
  ),
  pid(
    0x22,
    'Fuel rail pressure (relative to manifold vacuum)',
    2,
    u16('FuelRailPressureVac', 0.079, 0, 'kPa', 0, 5177.265, 'Vehicle.OBD.FuelRailPressureVac'),
  ),
  pid(
    0x23,
    'Fuel rail gauge pressure (diesel, direct injection)',
    2,
    u16('FuelRailPressureDirect', 10, 0, 'kPa', 0, 655350, 'Vehicle.OBD.FuelRailPressureDirect'),
  ),
  o2WideVoltage(0x24, 1),
  o2WideVoltage(0x25, 2),
  o2WideVoltage(0x26, 3),
  o2WideVoltage(0x27, 4),
  o2WideVoltage(0x28, 5),
  o2WideVoltage(0x29, 6),
  o2WideVoltage(0x2a, 7),
  o2WideVoltage(0x2b, 8),
  pid(0x2c, 'Commanded EGR', 1, percent('CommandedEGR', 'Vehicle.OBD.CommandedEGR')),
  pid(0x2d, 'EGR error', 1, trim('EGRError', 'Vehicle.OBD.EGRError')),
  pid(0x2e, 'Commanded evaporative purge', 1, percent('CommandedEVAP', 'Vehicle.OBD.CommandedEVAP')),
  // Fuel level in whole percent (the main path is uint8) is what consumers of a fuel gauge expect.
  pid(0x2f, 'Fuel tank level input', 1, percent('FuelLevel', 'Vehicle.Powertrain.FuelSystem.RelativeLevel')),
  pid(
    0x30,
    'Warm-ups since codes cleared',
    1,
    sig({
      name: 'WarmupsSinceDTCClear',
      unit: '',
      min: 0,
      max: 255,
      path: 'Vehicle.OBD.WarmupsSinceDTCClear',
    }),
  ),
  pid(
    0x31,
    'Distance travelled since codes cleared',
    2,
    u16('DistanceSinceDTCClear', 1, 0, 'km', 0, 65535, 'Vehicle.OBD.DistanceSinceDTCClear'),
  ),
  pid(
    0x32,
    'Evap. system vapour pressure',
    2,
    sig({
      name: 'EVAPVaporPressure',
      bytes: 2,
      signed: true,
      scale: 0.25,
      unit: 'Pa',
      min: -8192,
      max: 8191.75,
      path: 'Vehicle.OBD.EVAPVaporPressure',
    }),
  ),
  pid(
    0x33,
    'Absolute barometric pressure',
    1,
    sig({
      name: 'BarometricPressure',
      unit: 'kPa',
      min: 0,
      max: 255,
      path: 'Vehicle.OBD.BarometricPressure',
    }),
  ),
  o2WideCurrent(0x34, 1),
  o2WideCurrent(0x35, 2),
  o2WideCurrent(0x36, 3),
  o2WideCurrent(0x37, 4),
  o2WideCurrent(0x38, 5),
  o2WideCurrent(0x39, 6),
  o2WideCurrent(0x3a, 7),
  o2WideCurrent(0x3b, 8),
  pid(
    0x3c,
    'Catalyst temperature, bank 1 sensor 1',
    2,
    u16('CatalystB1S1', 0.1, -40, 'Celsius', -40, 6513.5, 'Vehicle.OBD.Catalyst.Bank1.Temperature1'),
  ),
  pid(
    0x3d,
    'Catalyst temperature, bank 2 sensor 1',
    2,
    u16('CatalystB2S1', 0.1, -40, 'Celsius', -40, 6513.5, 'Vehicle.OBD.Catalyst.Bank2.Temperature1'),
  ),
  pid(
    0x3e,
    'Catalyst temperature, bank 1 sensor 2',
    2,
    u16('CatalystB1S2', 0.1, -40, 'Celsius', -40, 6513.5, 'Vehicle.OBD.Catalyst.Bank1.Temperature2'),
  ),
  pid(
    0x3f,
    'Catalyst temperature, bank 2 sensor 2',
    2,
    u16('CatalystB2S2', 0.1, -40, 'Celsius', -40, 6513.5, 'Vehicle.OBD.Catalyst.Bank2.Temperature2'),
  ),
  // The ECU's supply, not the battery: the ELM327's ATRV (pin 16) feeds LowVoltageBattery instead.
  pid(
    0x42,
    'Control module voltage',
    2,
    u16('ControlModuleVoltage', 0.001, 0, 'V', 0, 65.535, 'Vehicle.OBD.ControlModuleVoltage'),
  ),
  pid(
    0x43,
    'Absolute load value',
    2,
    u16('AbsoluteLoad', PCT, 0, 'percent', 0, 25700, 'Vehicle.OBD.AbsoluteLoad'),
  ),
  pid(
    0x44,
    'Commanded air-fuel equivalence ratio',
    2,
    u16('CommandedEquivalenceRatio', 2 / 65536, 0, 'ratio', 0, 2, 'Vehicle.OBD.CommandedEquivalenceRatio'),
  ),
  pid(
    0x45,
    'Relative throttle position',
    1,
    percent('RelativeThrottlePosition', 'Vehicle.OBD.RelativeThrottlePosition'),
  ),
  pid(0x46, 'Ambient air temperature', 1, temp('AmbientAirTemperature', 'Vehicle.Exterior.AirTemperature')),
  pid(0x47, 'Absolute throttle position B', 1, percent('ThrottlePositionB', 'Vehicle.OBD.ThrottlePositionB')),
  pid(0x48, 'Absolute throttle position C', 1, percent('ThrottlePositionC', 'Vehicle.OBD.ThrottlePositionC')),
  pid(
    0x49,
    'Accelerator pedal position D',
    1,
    percent('AcceleratorPositionD', 'Vehicle.OBD.AcceleratorPositionD'),
  ),
  pid(
    0x4a,
    'Accelerator pedal position E',
    1,
    percent('AcceleratorPositionE', 'Vehicle.OBD.AcceleratorPositionE'),
  ),
  pid(
    0x4b,
    'Accelerator pedal position F',
    1,
    percent('AcceleratorPositionF', 'Vehicle.OBD.AcceleratorPositionF'),
  ),
  pid(0x4c, 'Commanded throttle actuator', 1, percent('ThrottleActuator', 'Vehicle.OBD.ThrottleActuator')),
  pid(0x4d, 'Time run with MIL on', 2, u16('RunTimeMIL', 1, 0, 'min', 0, 65535, 'Vehicle.OBD.RunTimeMIL')),
  pid(
    0x4e,
    'Time since trouble codes cleared',
    2,
    u16('TimeSinceDTCCleared', 1, 0, 'min', 0, 65535, 'Vehicle.OBD.TimeSinceDTCCleared'),
  ),
  pid(
    0x50,
    'Maximum air flow rate from MAF sensor',
    4,
    sig({ name: 'MaxMAF', scale: 10, unit: 'g/s', min: 0, max: 2550, path: 'Vehicle.OBD.MaxMAF' }),
  ),
  pid(
    0x51,
    'Fuel type',
    1,
    sig({ name: 'FuelType', unit: '', min: 0, max: 255, path: 'Vehicle.OBD.FuelType' }),
  ),
  pid(0x52, 'Ethanol fuel percentage', 1, percent('EthanolPercent', 'Vehicle.OBD.EthanolPercent')),
  pid(
    0x53,
    'Absolute evap. system vapour pressure',
    2,
    u16('EVAPVaporPressureAbsolute', 0.005, 0, 'kPa', 0, 327.675, 'Vehicle.OBD.EVAPVaporPressureAbsolute'),
  ),
  pid(
    0x54,
    'Evap. system vapour pressure (wide)',
    2,
    u16(
      'EVAPVaporPressureAlternate',
      1,
      -32767,
      'Pa',
      -32767,
      32768,
      'Vehicle.OBD.EVAPVaporPressureAlternate',
    ),
  ),
  pid(
    0x55,
    'Short term secondary O2 trim, banks 1 and 3',
    2,
    trim('ShortTermO2Trim1', 'Vehicle.OBD.ShortTermO2Trim1'),
    trim('ShortTermO2Trim3', 'Vehicle.OBD.ShortTermO2Trim3', 1),
  ),
  pid(
    0x56,
    'Long term secondary O2 trim, banks 1 and 3',
    2,
    trim('LongTermO2Trim1', 'Vehicle.OBD.LongTermO2Trim1'),
    trim('LongTermO2Trim3', 'Vehicle.OBD.LongTermO2Trim3', 1),
  ),
  pid(
    0x57,
    'Short term secondary O2 trim, banks 2 and 4',
    2,
    trim('ShortTermO2Trim2', 'Vehicle.OBD.ShortTermO2Trim2'),
    trim('ShortTermO2Trim4', 'Vehicle.OBD.ShortTermO2Trim4', 1),
  ),
  pid(
    0x58,
    'Long term secondary O2 trim, banks 2 and 4',
    2,
    trim('LongTermO2Trim2', 'Vehicle.OBD.LongTermO2Trim2'),
    trim('LongTermO2Trim4', 'Vehicle.OBD.LongTermO2Trim4', 1),
  ),
  pid(
    0x59,
    'Fuel rail absolute pressure',
    2,
    u16('FuelRailPressureAbsolute', 10, 0, 'kPa', 0, 655350, 'Vehicle.OBD.FuelRailPressureAbsolute'),
  ),
  pid(
    0x5a,
    'Relative accelerator pedal position',
    1,
    percent('RelativeAcceleratorPosition', 'Vehicle.OBD.RelativeAcceleratorPosition'),
  ),
  pid(
    0x5b,
    'Hybrid battery pack remaining life',
    1,
    percent('HybridBatteryRemaining', 'Vehicle.OBD.HybridBatteryRemaining'),
  ),
  pid(
    0x5c,
    'Engine oil temperature',
    1,
    temp('OilTemperature', 'Vehicle.Powertrain.CombustionEngine.EngineOil.Temperature'),
  ),
  pid(
    0x5d,
    'Fuel injection timing',
    2,
    u16(
      'FuelInjectionTiming',
      1 / 128,
      -210,
      'degrees',
      -210,
      301.9921875,
      'Vehicle.OBD.FuelInjectionTiming',
    ),
  ),
  pid(0x5e, 'Engine fuel rate', 2, u16('FuelRate', 0.05, 0, 'l/h', 0, 3276.75, 'Vehicle.OBD.FuelRate')),
  pid(
    0x61,
    "Driver's demand engine percent torque",
    1,
    sig({ name: 'DemandTorque', offset: -125, unit: 'percent', min: -125, max: 130, path: undefined }),
  ),
  pid(
    0x62,
    'Actual engine percent torque',
    1,
    sig({ name: 'ActualTorque', offset: -125, unit: 'percent', min: -125, max: 130, path: undefined }),
  ),
  pid(0x63, 'Engine reference torque', 2, u16('ReferenceTorque', 1, 0, 'Nm', 0, 65535, undefined)),
  pid(
    0x8e,
    'Engine friction percent torque',
    1,
    sig({ name: 'FrictionTorque', offset: -125, unit: 'percent', min: -125, max: 130, path: undefined }),
  ),
  pid(
    0xa6,
    'Odometer',
    4,
    sig({
      name: 'Odometer',
      bytes: 4,
      scale: 0.1,
      unit: 'km',
      min: 0,
      max: 429496729.5,
      path: 'Vehicle.TraveledDistance',
    }),
  ),
];

const BY_PID = new Map(SERVICE01_PIDS.map((p) => [p.pid, p]));

/** The definition of a service 01 PID, or undefined when this project does not decode it. */
export function pidDefinition(pid: number): PidDefinition | undefined {
  return BY_PID.get(pid);
}
