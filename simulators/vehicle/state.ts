/**
 * What a simulated vehicle looks like at one instant. The vehicle model produces it; the CAN
 * frame generator, the ELM327 emulator and the NMEA emulator read it, so all three sources describe
 * the same drive.
 */
export interface VehicleState {
  /** Simulation time in ms since the model started. */
  readonly tMs: number;
  readonly engineRunning: boolean;
  readonly speedKmh: number;
  readonly engineRpm: number;
  readonly throttlePct: number;
  readonly brakePct: number;
  /** 0 = neutral/park, 1..6 forward gears, -1 reverse. */
  readonly gear: number;
  readonly steeringAngleDeg: number;
  readonly coolantTempC: number;
  readonly intakeAirTempC: number;
  readonly engineLoadPct: number;
  readonly fuelLevelPct: number;
  readonly batteryVoltageV: number;
  readonly odometerKm: number;
  readonly latDeg: number;
  readonly lonDeg: number;
  readonly altM: number;
  readonly headingDeg: number;
  readonly doorsLocked: boolean;
  /** 17-character VIN. */
  readonly vin: string;
  /** Stored diagnostic trouble codes such as `P0301`. */
  readonly dtcs: readonly string[];
  /** Pending (not yet confirmed) diagnostic trouble codes. */
  readonly pendingDtcs: readonly string[];
}

/** Anything that can say what the vehicle looks like now. */
export interface VehicleStateSource {
  current(): VehicleState;
}

/** A parked, idling car: a fixed state for tests that need a vehicle but not a drive. */
export const IDLE_VEHICLE: VehicleState = {
  tMs: 0,
  engineRunning: true,
  speedKmh: 0,
  engineRpm: 780,
  throttlePct: 0,
  brakePct: 0,
  gear: 0,
  steeringAngleDeg: 0,
  coolantTempC: 88,
  intakeAirTempC: 24,
  engineLoadPct: 18,
  fuelLevelPct: 62,
  batteryVoltageV: 14.1,
  odometerKm: 42_180.4,
  latDeg: 47.3769,
  lonDeg: 8.5417,
  altM: 408,
  headingDeg: 90,
  doorsLocked: true,
  vin: 'WQD0SIM1234567890',
  dtcs: [],
  pendingDtcs: [],
};
