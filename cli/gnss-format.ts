/**
 * How `qood gnss` prints a fix: one JSON object per epoch for scripts, or one aligned line for
 * people. JSON keys: t (GNSS UTC, seconds since the Unix epoch, null before the date is known), lat,
 * lon (degrees), altM, speedKmh, courseDeg, mode (1 no fix, 2, 3), sats (used), hdop; absent values
 * are left out rather than printed as 0.
 */
import type { GnssFix } from '../firmware-bridge/index.js';

const round = (v: number, digits: number): number => Number(v.toFixed(digits));

/** The JSON line of a fix (without the newline). */
export function fixJson(fix: GnssFix): string {
  const o: Record<string, number | null> = { t: fix.timeMs === undefined ? null : fix.timeMs / 1000 };
  if (fix.latDeg !== undefined && fix.lonDeg !== undefined) {
    o.lat = round(fix.latDeg, 9);
    o.lon = round(fix.lonDeg, 9);
  }
  if (fix.altM !== undefined) o.altM = round(fix.altM, 3);
  if (fix.speedKmh !== undefined) o.speedKmh = round(fix.speedKmh, 3);
  if (fix.courseDeg !== undefined) o.courseDeg = round(fix.courseDeg, 2);
  o.mode = fix.mode;
  if (fix.satsUsed !== undefined) o.sats = fix.satsUsed;
  if (fix.hdop !== undefined) o.hdop = fix.hdop;
  return JSON.stringify(o);
}

/** A human-readable line: time, mode, position, altitude, speed, course, satellites, HDOP. */
export function fixText(fix: GnssFix): string {
  const time =
    fix.timeMs !== undefined
      ? new Date(fix.timeMs).toISOString().replace('T', ' ').replace('Z', '')
      : fix.timeOfDayMs !== undefined
        ? `(no date) ${new Date(fix.timeOfDayMs).toISOString().slice(11, 23)}`
        : '(no time)';
  const mode = fix.mode === 3 ? '3D' : fix.mode === 2 ? '2D' : 'no fix';
  const parts = [time, mode.padEnd(6)];
  if (fix.latDeg !== undefined && fix.lonDeg !== undefined)
    parts.push(`${fix.latDeg.toFixed(6).padStart(11)} ${fix.lonDeg.toFixed(6).padStart(11)}`);
  if (fix.altM !== undefined) parts.push(`${fix.altM.toFixed(1)} m`);
  if (fix.speedKmh !== undefined) parts.push(`${fix.speedKmh.toFixed(1)} km/h`);
  if (fix.courseDeg !== undefined) parts.push(`${fix.courseDeg.toFixed(1)}°`);
  if (fix.satsUsed !== undefined) parts.push(`${fix.satsUsed} sats`);
  if (fix.hdop !== undefined) parts.push(`HDOP ${fix.hdop}`);
  return parts.join('  ');
}
