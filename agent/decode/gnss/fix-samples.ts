/**
 * GNSS fix -> VSS samples, and the check of the device's wall clock against GNSS time.
 *
 * Paths and units are the dictionary's (VSS 6.0 `Vehicle.CurrentLocation`): Latitude/Longitude in
 * degrees, Altitude in m (above mean sea level), Heading in degrees (course over ground: the only
 * heading a GNSS receiver has; 0..360), Horizontal/VerticalAccuracy in m (the receiver's or gpsd's
 * error estimate, when it gives one), Timestamp as ISO 8601 (the GNSS time of the fix), and
 * GNSSReceiver.FixType from the fix mode and how it was corrected. Position, heading and altitude are
 * only sent while there is a fix; FixType is sent for every epoch, so a lost fix is visible as NONE.
 * VSS has no path for satellites used or DOP; they stay in the fix and the source's counters.
 */

import type { Sample } from '../../../chain/index.js';
import type { GnssFix } from '../../../firmware-bridge/index.js';

/** The VSS paths this module writes. */
export const GNSS_PATHS = {
  latitude: 'Vehicle.CurrentLocation.Latitude',
  longitude: 'Vehicle.CurrentLocation.Longitude',
  altitude: 'Vehicle.CurrentLocation.Altitude',
  heading: 'Vehicle.CurrentLocation.Heading',
  horizontalAccuracy: 'Vehicle.CurrentLocation.HorizontalAccuracy',
  verticalAccuracy: 'Vehicle.CurrentLocation.VerticalAccuracy',
  timestamp: 'Vehicle.CurrentLocation.Timestamp',
  fixType: 'Vehicle.CurrentLocation.GNSSReceiver.FixType',
  speed: 'Vehicle.Speed',
} as const;

export interface FixSampleOptions {
  /**
   * Also write speed over ground to `Vehicle.Speed` (km/h). Right for a tracker with no vehicle bus;
   * where CAN or OBD-II give the wheel speed, that is the better `Vehicle.Speed` and this stays off.
   */
  readonly speedToVehicleSpeed?: boolean;
}

/** VSS FixType: NONE, TWO_D / THREE_D, with _SATELLITE_BASED_AUGMENTATION (SBAS) or _GROUND_BASED_AUGMENTATION (DGPS, RTK). */
export function fixType(fix: GnssFix): string {
  if (fix.mode < 2) return 'NONE';
  const dim = fix.mode === 3 ? 'THREE_D' : 'TWO_D';
  switch (fix.quality) {
    case 'sbas':
      return `${dim}_SATELLITE_BASED_AUGMENTATION`;
    case 'dgps':
    case 'rtk-fixed':
    case 'rtk-float':
      return `${dim}_GROUND_BASED_AUGMENTATION`;
    default:
      return dim;
  }
}

/** Appends the samples of one fix to `out`, stamped with the host wall time the fix completed. */
export function fixToSamples(fix: GnssFix, out: Sample[], options: FixSampleOptions = {}): void {
  const tUs = Math.round(fix.wallMs * 1000);
  const add = (path: string, value: number | string) => out.push({ path, tUs, value });
  add(GNSS_PATHS.fixType, fixType(fix));
  if (fix.mode < 2) return;
  if (fix.latDeg !== undefined && fix.lonDeg !== undefined) {
    add(GNSS_PATHS.latitude, fix.latDeg);
    add(GNSS_PATHS.longitude, fix.lonDeg);
  }
  if (fix.altM !== undefined) add(GNSS_PATHS.altitude, fix.altM);
  if (fix.courseDeg !== undefined) add(GNSS_PATHS.heading, fix.courseDeg);
  if (fix.horizontalErrorM !== undefined) add(GNSS_PATHS.horizontalAccuracy, fix.horizontalErrorM);
  if (fix.verticalErrorM !== undefined) add(GNSS_PATHS.verticalAccuracy, fix.verticalErrorM);
  if (fix.timeMs !== undefined) add(GNSS_PATHS.timestamp, new Date(fix.timeMs).toISOString());
  if (options.speedToVehicleSpeed && fix.speedKmh !== undefined) add(GNSS_PATHS.speed, fix.speedKmh);
}

/** What the clock check found for one fix. */
export type SkewVerdict =
  | { readonly kind: 'unchecked' }
  | { readonly kind: 'ok'; readonly skewMs: number }
  | { readonly kind: 'skewed'; readonly skewMs: number; readonly started: boolean }
  | { readonly kind: 'recovered'; readonly skewMs: number };

/**
 * Compares the host wall clock with GNSS time. `skewMs` is wall minus GNSS: positive when the host
 * clock is ahead. Only fixes (mode >= 2) with a full date are checked: a receiver without a fix may
 * report its unsynchronised RTC. The few hundred ms a sentence takes to arrive are inside any sane
 * `maxClockSkewMs`. `started` marks the first skewed fix after good ones, so a caller logs once.
 */
export class ClockSkewCheck {
  #skewed = false;

  constructor(readonly maxClockSkewMs: number) {}

  check(fix: GnssFix): SkewVerdict {
    if (fix.mode < 2 || fix.timeMs === undefined) return { kind: 'unchecked' };
    const skewMs = fix.wallMs - fix.timeMs;
    if (Math.abs(skewMs) > this.maxClockSkewMs) {
      const started = !this.#skewed;
      this.#skewed = true;
      return { kind: 'skewed', skewMs, started };
    }
    if (this.#skewed) {
      this.#skewed = false;
      return { kind: 'recovered', skewMs };
    }
    return { kind: 'ok', skewMs };
  }
}
